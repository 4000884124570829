
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * staged_update_status: the tracks' tables and counters, read once, as
 * JSON, Prometheus text 0.0.4 or a status page that refreshes itself.
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_STATUS_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_STATUS_H_INCLUDED_


#include "ngx_http_staged_update_module.h"


char *ngx_http_staged_update_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * A track's configured tables as a JSON object:
 * {"latest":"2.0.0","minimum":"1.0.0","default":10.00,
 *  "rules":[{"pattern":"1.5.0-1.9.*","percent":50.00}],
 *  "servers":[{"id":"shard-1","latest":...,"minimum":...,"default":...,
 *              "rules":[...]}]}
 * dst == NULL: the length only.
 */
size_t ngx_http_staged_update_tables_json(u_char *dst,
    ngx_http_staged_update_track_t *track);


#endif /* _NGX_HTTP_STAGED_UPDATE_STATUS_H_INCLUDED_ */
