
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_EXPLAIN_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_EXPLAIN_H_INCLUDED_


#include "ngx_http_staged_update_module.h"


ngx_int_t ngx_http_staged_update_explain_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_STAGED_UPDATE_EXPLAIN_H_INCLUDED_ */
