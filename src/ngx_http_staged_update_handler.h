
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_HANDLER_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_HANDLER_H_INCLUDED_


#include "ngx_http_staged_update_module.h"


ngx_int_t ngx_http_staged_update_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_staged_update_verify_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_staged_update_log_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_staged_update_answers_init(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track);
ngx_int_t ngx_http_staged_update_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_STAGED_UPDATE_HANDLER_H_INCLUDED_ */
