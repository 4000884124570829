
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Load shaping: a cap on the rate of grants for a track and for its
 * business servers, shared by every worker through the zone, and ramp
 * schedules that a default, a rule or a server's default follows
 * instead of a fixed percentage.  The pure arithmetic is in *_rate.c and
 * *_ramp.c; this file keeps its state in the zone, keyed by name so that
 * it outlives reloads of the same zone, and answers the handler.
 *
 * Integration points (one call each) for the control API, the state
 * file, the counters and explain: shape_set_rate(), shape_hold(),
 * shape_shift(), shape_json().
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_SHAPE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_SHAPE_H_INCLUDED_


#include "ngx_http_staged_update_module.h"
#include "ngx_http_staged_update_rate.h"
#include "ngx_http_staged_update_ramp.h"


/* a table percentage above PCT_MAX names a ramp: this bit | its index */
#define NGX_HTTP_STAGED_UPDATE_PCT_RAMP     0x80000000

/* the decision's reason when the cap defers a grant ("<table>:rate") */
#define NGX_HTTP_STAGED_UPDATE_RATE         6


/* configuration: the track block's lines and parameters */

char *ngx_http_staged_update_shape_line(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track);
ngx_int_t ngx_http_staged_update_shape_server(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track, ngx_uint_t server,
    ngx_str_t *id, ngx_str_t *arg);
ngx_int_t ngx_http_staged_update_shape_pct(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track, const char *what,
    ngx_str_t *value, uint32_t *pct);
ngx_int_t ngx_http_staged_update_shape_done(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track, ngx_uint_t nservers);

/* the zone: the bytes its nodes take, and finding or making them */

size_t ngx_http_staged_update_shape_size(
    ngx_http_staged_update_zone_t *zone);
ngx_int_t ngx_http_staged_update_shape_zone(
    ngx_http_staged_update_zone_t *zone, void **sh);

/* a check: the percentage a ramp gives now; a grant, or a Retry-After */

uint32_t ngx_http_staged_update_shape_ramp_pct(
    ngx_http_staged_update_track_t *track, uint32_t pct);
/* a table's percentage as it is now: a ramp's step (pct above 100%) */

static ngx_inline uint32_t
ngx_http_staged_update_pct_now(ngx_http_staged_update_track_t *track,
    uint32_t pct)
{
    return (pct > NGX_HTTP_STAGED_UPDATE_PCT_MAX)
           ? ngx_http_staged_update_shape_ramp_pct(track, pct) : pct;
}

ngx_uint_t ngx_http_staged_update_shape_grant(
    ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_scope_t *server, ngx_uint_t mandatory,
    const ngx_http_staged_update_scope_t **by);

/*
 * For the control API and the state file (issue 9):
 *
 * set_rate: a live cap of the track (id NULL) or of server id: rate in
 *     thousandths of a grant per second (rate_parse()), 0 lifts it;
 *     NGX_DECLINED when the scope has no cap configured (its bucket
 *     is made at load).  A reload goes back to the configuration.
 * hold: pause (on) and resume (off) the clocks of the track's ramps at
 *     now; the next step starts where it left off.
 * shift: adds seconds to the paused time of the track's ramps (restore
 *     it from the state file at start); paused: the seconds paused so
 *     far, to keep in the state file.
 * _locked: the same with the zone's mutex held (the state module calls
 *     them while it maps the overrides).  rate_get: the configured cap of the
 *     track (len 0) or of server id in *conf, and with live the cap and
 *     burst in force; NGX_DECLINED when the scope has none.  reset: every
 *     cap of the track back to the configuration.
 * json: {"rate":...,"servers":[...],"ramps":[...]}: the caps with their
 *     deferrals, each ramp's step in force, its percentage and when the
 *     next begins; json_len: an upper bound of its length.
 */

ngx_int_t ngx_http_staged_update_shape_set_rate(
    ngx_http_staged_update_track_t *track, ngx_str_t *id, uint32_t rate,
    uint32_t burst);
void ngx_http_staged_update_shape_hold(ngx_http_staged_update_track_t *track,
    ngx_uint_t on, time_t now);
ngx_int_t ngx_http_staged_update_shape_set_rate_locked(
    ngx_http_staged_update_track_t *track, ngx_str_t *id, uint32_t rate,
    uint32_t burst);
void ngx_http_staged_update_shape_hold_locked(
    ngx_http_staged_update_track_t *track, ngx_uint_t on, time_t now);
ngx_int_t ngx_http_staged_update_shape_rate_get(
    ngx_http_staged_update_track_t *track, const u_char *id, size_t len,
    uint32_t *conf, uint32_t *live, uint32_t *burst);
void ngx_http_staged_update_shape_reset_locked(
    ngx_http_staged_update_track_t *track);
void ngx_http_staged_update_shape_shift(
    ngx_http_staged_update_track_t *track, time_t seconds);
time_t ngx_http_staged_update_shape_paused(
    ngx_http_staged_update_track_t *track, time_t now);
size_t ngx_http_staged_update_shape_json_len(
    ngx_http_staged_update_track_t *track);
u_char *ngx_http_staged_update_shape_json(u_char *p,
    ngx_http_staged_update_track_t *track, time_t now);


#endif /* _NGX_HTTP_STAGED_UPDATE_SHAPE_H_INCLUDED_ */
