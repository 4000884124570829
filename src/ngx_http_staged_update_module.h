
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
#include "ngx_http_staged_update_token.h"

#include <openssl/evp.h>


#define NGX_HTTP_STAGED_UPDATE_CHECK      0
#define NGX_HTTP_STAGED_UPDATE_REDIRECT   1

#define NGX_HTTP_STAGED_UPDATE_VERSION    0
#define NGX_HTTP_STAGED_UPDATE_SERVER     1
#define NGX_HTTP_STAGED_UPDATE_CLIENT     2
#define NGX_HTTP_STAGED_UPDATE_MANUAL     3
#define NGX_HTTP_STAGED_UPDATE_NINPUTS    4

#define NGX_HTTP_STAGED_UPDATE_KEY_MAXLEN 128

#define NGX_HTTP_STAGED_UPDATE_INLINE_MAX 65536
#define NGX_HTTP_STAGED_UPDATE_MAX_KEYS   2


/* what takes a client to a release at once: a delta or the full archive */

typedef struct {
    ngx_http_staged_update_version_t   from;      /* a delta's base */
    ngx_str_t                          path;      /* URL path, to sign */
    ngx_str_t                          url;       /* escaped */
    ngx_str_t                          part;      /* ,"url":...,"artifact"
                                                     ...: without tokens */
    ngx_str_t                          info;      /* ,"artifact":...: the
                                                     part after the url */
    unsigned                           delta:1;
} ngx_http_staged_update_artifact_t;


/* one version's files, with the answers built from them at load */

typedef struct {
    ngx_str_t                          version;   /* as configured */
    ngx_http_staged_update_version_t   v;
    ngx_str_t                          dir;
    ngx_str_t                          url;       /* prefix, ends in "/" */
    ngx_str_t                          path;      /* the prefix's path */
    uint64_t                           salt;      /* hash state, see table.h */

    ngx_http_staged_update_file_t     *files;
    ngx_uint_t                         nfiles;

    /* the deltas sorted by their base, then the full archive if any */
    ngx_http_staged_update_artifact_t *artifacts;
    ngx_uint_t                         ndeltas;
    ngx_uint_t                         nartifacts;

    /*
     * the manifest: head[mandatory], the server ID if one was sent,
     * an artifact's part, mid, files, tail
     */
    ngx_str_t                          head[2];
    ngx_str_t                          mid;
    ngx_str_t                          list;      /* ,"files":[...] */
    ngx_str_t                          tail;

    /* [2 * (a + 1) + mandatory]: the whole manifest without a server ID
     * or tokens, made at load when it is at most 64k, for artifact a */
    ngx_str_t                         *whole;

    /* this worker's tokens for the current expiry (no client binding) */
    time_t                             expires;
    ngx_pool_t                        *pool;
    ngx_str_t                          tok_list;
    ngx_str_t                         *tok_parts; /* nartifacts */

    u_char                            *conf_file;
    ngx_uint_t                         conf_line;
} ngx_http_staged_update_release_t;


typedef struct {
    ngx_http_staged_update_secret_t    secrets[2];  /* current, previous */
    time_t                             previous_until;
    time_t                             ttl;
    unsigned                           client:1;
    unsigned                           on:1;
} ngx_http_staged_update_token_conf_t;


typedef struct ngx_http_staged_update_zone_s  ngx_http_staged_update_zone_t;
typedef struct ngx_http_staged_update_counters_s
    ngx_http_staged_update_counters_t;


/* where a rule is written, for staged_update_explain */

typedef struct {
    u_char                            *file;
    ngx_uint_t                         line;
} ngx_http_staged_update_origin_t;


typedef struct {
    ngx_str_t                          name;
    ngx_http_staged_update_zone_t     *zone;
    ngx_array_t                        releases;  /* release_t */

    ngx_http_staged_update_table_t    *table;     /* built, cycle pool */
    ngx_http_staged_update_table_t    *shared;    /* its copy in the zone */
    ngx_http_staged_update_origin_t   *origins;   /* of the table's rules,
                                                     by rule_index() */
    void                              *live;      /* its overrides, beside */
    ngx_http_staged_update_counters_t *counters;  /* see counters.h */
    void                              *report;    /* reports, halt_on */

    ngx_http_staged_update_token_conf_t  token;
    EVP_PKEY                          *keys[NGX_HTTP_STAGED_UPDATE_MAX_KEYS];
    ngx_uint_t                         nkeys;
    size_t                             inline_max;
    void                              *shape;     /* caps and ramps, or
                                                     NULL: see *_shape.c */

    u_char                            *conf_file; /* the first mention */
    ngx_uint_t                         conf_line;
    ngx_str_t                          directive; /* of the first mention */

    unsigned                           defined:1;
    unsigned                           verified:1;
} ngx_http_staged_update_track_t;


struct ngx_http_staged_update_zone_s {
    ngx_str_t                          name;
    ngx_cycle_t                       *cycle;
    ngx_shm_zone_t                    *shm_zone;  /* NULL: not declared */
    ngx_slab_pool_t                   *shpool;
    void                              *sh;
    void                              *set;       /* this cycle's tables */
    ngx_array_t                        tracks;    /* track_t * */
    void                              *state;     /* overrides, in the zone */
    ngx_str_t                          state_file;
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
    ngx_http_staged_update_track_t    *verify;
    ngx_http_staged_update_track_t    *explain;
    ngx_uint_t                         mode;
    ngx_http_staged_update_input_t    *input;    /* NGX_HTTP_STAGED_UPDATE_NINPUTS */
    ngx_flag_t                         trace;
    ngx_uint_t                         api;      /* 0, API_READ, API_WRITE */
    ngx_http_staged_update_track_t    *report;   /* staged_update_report */
} ngx_http_staged_update_loc_conf_t;


/* a track by name, created on first mention */
ngx_http_staged_update_track_t *ngx_http_staged_update_track_get(
    ngx_conf_t *cf, ngx_str_t *name);


extern ngx_module_t  ngx_http_staged_update_module;


#endif /* _NGX_HTTP_STAGED_UPDATE_MODULE_H_INCLUDED_ */
