
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_CONTROL_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_CONTROL_H_INCLUDED_


#include "ngx_http_staged_update_module.h"


#define NGX_HTTP_STAGED_UPDATE_API_READ    1
#define NGX_HTTP_STAGED_UPDATE_API_WRITE   2


/* staged_update_api [write=on|off]; */
char *ngx_http_staged_update_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_STAGED_UPDATE_CONTROL_H_INCLUDED_ */
