
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_RELEASE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_RELEASE_H_INCLUDED_


#include "ngx_http_staged_update_module.h"


/* the release directory's reserved top-level folder: archives, patches */
#define NGX_HTTP_STAGED_UPDATE_META        ".update"


ngx_int_t ngx_http_staged_update_release_load(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel);
ngx_int_t ngx_http_staged_update_release_tokens(ngx_pool_t *pool,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel, time_t expires, ngx_str_t *client,
    ngx_str_t *list, ngx_str_t *parts);


#endif /* _NGX_HTTP_STAGED_UPDATE_RELEASE_H_INCLUDED_ */
