
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_ZONE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_ZONE_H_INCLUDED_


#include "ngx_http_staged_update_module.h"


char *ngx_http_staged_update_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_staged_update_zone_t *ngx_http_staged_update_zone_get(
    ngx_conf_t *cf, ngx_str_t *name);
ngx_int_t ngx_http_staged_update_zones_check(ngx_conf_t *cf);
void ngx_http_staged_update_zones_use(ngx_cycle_t *cycle, ngx_uint_t start);


#endif /* _NGX_HTTP_STAGED_UPDATE_ZONE_H_INCLUDED_ */
