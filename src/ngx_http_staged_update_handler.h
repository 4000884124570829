
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

/* what the check and staged_update_explain share */
extern ngx_str_t  ngx_http_staged_update_reasons[];  /* by decision.reason */

ngx_int_t ngx_http_staged_update_validate(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf,
    ngx_http_staged_update_track_t *track, ngx_str_t *value,
    ngx_http_staged_update_version_t *v,
    const ngx_http_staged_update_scope_t **server, ngx_uint_t *e);
ngx_int_t ngx_http_staged_update_refuse(ngx_http_request_t *r,
    ngx_uint_t e);
ngx_int_t ngx_http_staged_update_send(ngx_http_request_t *r,
    ngx_str_t *part, ngx_uint_t n);
ngx_int_t ngx_http_staged_update_no_store(ngx_http_request_t *r);

/*
 * A request body read by ngx_http_read_client_request_body(), in one
 * buffer of the request's pool with a '\0' after it: NGX_OK, NGX_DECLINED
 * when it is larger than max (or went to a file), NGX_ERROR.  For the
 * control API and staged_update_report.
 */
ngx_int_t ngx_http_staged_update_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);


#endif /* _NGX_HTTP_STAGED_UPDATE_HANDLER_H_INCLUDED_ */
