
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_STATE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_STATE_H_INCLUDED_


#include "ngx_http_staged_update_module.h"
#include "ngx_http_staged_update_override.h"


/* why a decision was taken, after those of table.h: an override */
#define NGX_HTTP_STAGED_UPDATE_PAUSED       4
#define NGX_HTTP_STAGED_UPDATE_HALTED       5


/* staged_update_zone state=: the file's directory must exist */
ngx_int_t ngx_http_staged_update_state_dir(ngx_conf_t *cf, ngx_str_t *zone,
    ngx_str_t *file);

/* the bytes of a track's effective values beside its table in a set */
size_t ngx_http_staged_update_state_size(
    const ngx_http_staged_update_table_t *t);

/*
 * init_zone: *state is the zone header's pointer to the overrides (NULL
 * in a new zone: the state file is read); maps the overrides onto the
 * tables of this cycle, whose effective values init_zone placed in
 * track->live.
 */
ngx_int_t ngx_http_staged_update_state_init(
    ngx_http_staged_update_zone_t *zone, void **state, ngx_log_t *log);

/* the check's path: the overrides of the track applied to a decision */
void ngx_http_staged_update_state_apply(
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_decision_t *d);

/*
 * The track's override state as a JSON object, made under one hold of
 * the zone's lock: {"etag":"\"5\"","paused":false,"halted":false,
 * "overrides":[...]}; with tables, also the track's and every server's
 * configured and effective percentages (the API's GET).  For
 * staged_update_status and staged_update_explain.
 */
ngx_int_t ngx_http_staged_update_state_json(ngx_pool_t *pool,
    ngx_http_staged_update_track_t *track, ngx_uint_t tables,
    ngx_str_t *out, uint32_t *etag);

/*
 * A change of the API: the n overrides of a PATCH (ov NULL: back to
 * nginx.conf), for the track (server NULL) or one of its servers, applied
 * together under the zone's lock if if_match (NULL: any) is the track's
 * ETag.  NGX_OK with the new ETag, NGX_DECLINED for a stale If-Match,
 * NGX_BUSY when the zone has no room.
 */
ngx_int_t ngx_http_staged_update_state_change(ngx_log_t *log,
    ngx_http_staged_update_track_t *track, ngx_str_t *server,
    ngx_http_staged_update_ov_t *ov, size_t n, ngx_str_t *if_match,
    ngx_str_t *from, uint32_t *etag);


#endif /* _NGX_HTTP_STAGED_UPDATE_STATE_H_INCLUDED_ */
