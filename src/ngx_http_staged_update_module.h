
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_MODULE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_staged_update_version.h"
#include "ngx_http_staged_update_table.h"
#include "ngx_http_staged_update_json.h"


#define NGX_HTTP_STAGED_UPDATE_CHECK      0
#define NGX_HTTP_STAGED_UPDATE_REDIRECT   1

#define NGX_HTTP_STAGED_UPDATE_VERSION    0
#define NGX_HTTP_STAGED_UPDATE_SERVER     1
#define NGX_HTTP_STAGED_UPDATE_CLIENT     2
#define NGX_HTTP_STAGED_UPDATE_NINPUTS    3

#define NGX_HTTP_STAGED_UPDATE_KEY_MAXLEN 128


/* one version's files, with the answers built from them at load */

typedef struct {
    ngx_str_t                          version;   /* as configured */
    ngx_http_staged_update_version_t   v;
    ngx_str_t                          dir;
    ngx_str_t                          url;       /* prefix, ends in "/" */
    ngx_str_t                          archive;   /* URL, or empty */
    ngx_uint_t                         nfiles;
    uint64_t                           salt;      /* hash state, see table.h */

    /* the manifest: body[mandatory] without a server ID; with one,
     * head[mandatory] + the ID + tail */
    ngx_str_t                          body[2];
    ngx_str_t                          head[2];
    ngx_str_t                          tail;

    u_char                            *conf_file;
    ngx_uint_t                         conf_line;
} ngx_http_staged_update_release_t;


typedef struct ngx_http_staged_update_zone_s  ngx_http_staged_update_zone_t;


typedef struct {
    ngx_str_t                          name;
    ngx_http_staged_update_zone_t     *zone;
    ngx_array_t                        releases;  /* release_t */

    ngx_http_staged_update_table_t    *table;     /* built, cycle pool */
    ngx_http_staged_update_table_t    *shared;    /* its copy in the zone */

    u_char                            *conf_file; /* the first mention */
    ngx_uint_t                         conf_line;

    unsigned                           defined:1;
    unsigned                           redirect:1;
} ngx_http_staged_update_track_t;


struct ngx_http_staged_update_zone_s {
    ngx_str_t                          name;
    ngx_cycle_t                       *cycle;
    ngx_shm_zone_t                    *shm_zone;  /* NULL: not declared */
    ngx_slab_pool_t                   *shpool;
    void                              *sh;
    void                              *set;       /* this cycle's tables */
    ngx_array_t                        tracks;    /* track_t * */
};


typedef struct {
    ngx_array_t                        tracks;    /* track_t * */
    ngx_array_t                        zones;     /* zone_t * */
} ngx_http_staged_update_main_conf_t;


/* where a value comes from: a query argument (fast path) or any value */

typedef struct {
    ngx_str_t                          arg;
    ngx_http_complex_value_t          *cv;
} ngx_http_staged_update_input_t;


typedef struct {
    ngx_http_staged_update_track_t    *track;
    ngx_uint_t                         mode;
    ngx_http_staged_update_input_t    *input;    /* NGX_HTTP_STAGED_UPDATE_NINPUTS */
    ngx_flag_t                         trace;
} ngx_http_staged_update_loc_conf_t;


extern ngx_module_t  ngx_http_staged_update_module;


#endif /* _NGX_HTTP_STAGED_UPDATE_MODULE_H_INCLUDED_ */
