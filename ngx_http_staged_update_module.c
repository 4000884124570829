
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * The version server of a staged software update system: answers a
 * launcher's "I run version V, am I current?" with an upgrade only with
 * the probability that the operator gives per version, and per business
 * server (see README.md and SYSTEM.md).
 */


#include "src/ngx_http_staged_update_module.h"
#include "src/ngx_http_staged_update_handler.h"
#include "src/ngx_http_staged_update_release.h"
#include "src/ngx_http_staged_update_zone.h"
#include "src/ngx_http_staged_update_explain.h"
#include "src/ngx_http_staged_update_control.h"
#include "src/ngx_http_staged_update_counters.h"
#include "src/ngx_http_staged_update_status.h"
#include "src/ngx_http_staged_update_shape.h"
#include "src/ngx_http_staged_update_report.h"

#include <openssl/pem.h>


/* a business server while its track block is parsed */

typedef struct {
    ngx_http_staged_update_scope_spec_t  spec;
    ngx_array_t                          rules;     /* rule_spec_t */
    ngx_str_t                            latest;
    ngx_str_t                            dir;
    ngx_str_t                            url;
    ngx_uint_t                           line;
    unsigned                             minimum:1;
    unsigned                             pct:1;
} ngx_http_staged_update_server_conf_t;


/* a track block while it is parsed */

typedef struct {
    ngx_http_staged_update_track_t        *track;
    ngx_http_staged_update_scope_spec_t    spec;
    ngx_array_t                            rules;    /* rule_spec_t */
    ngx_array_t                            servers;  /* server_conf_t */
    ngx_uint_t                             last;     /* server + 1 of
                                                        the last rule */
    ngx_str_t                              latest;
    ngx_str_t                              dir;
    ngx_str_t                              url;
    ngx_uint_t                             line;     /* of "latest" */
    unsigned                               minimum:1;
    unsigned                               pct:1;
    unsigned                               inline_set:1;
} ngx_http_staged_update_track_conf_t;


static ngx_int_t ngx_http_staged_update_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_staged_update_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_staged_update_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_staged_update_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_staged_update_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_staged_update_init_process(ngx_cycle_t *cycle);
static void ngx_http_staged_update_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_staged_update(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_staged_update_input(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_staged_update_track_block(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_staged_update_track_line(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_staged_update_track_server(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf);
static char *ngx_http_staged_update_track_rule(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf);
static ngx_int_t ngx_http_staged_update_track_done(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf);
static ngx_int_t ngx_http_staged_update_scope_done(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf,
    ngx_http_staged_update_scope_spec_t *spec, ngx_array_t *rules,
    ngx_str_t *latest, ngx_str_t *dir, ngx_str_t *url, ngx_uint_t line);
static ngx_int_t ngx_http_staged_update_release(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, ngx_str_t *version,
    ngx_http_staged_update_version_t *v, ngx_str_t *dir, ngx_str_t *url,
    ngx_uint_t line);
static char *ngx_http_staged_update_conf_version(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, const char *what,
    ngx_str_t *value, ngx_http_staged_update_version_t *v);
static char *ngx_http_staged_update_conf_pct(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, const char *what,
    ngx_str_t *value, uint32_t *pct);
static char *ngx_http_staged_update_conf_id(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, ngx_str_t *id);
static char *ngx_http_staged_update_conf_url(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, ngx_str_t *url);
static char *ngx_http_staged_update_track_token(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf);
static char *ngx_http_staged_update_track_sign(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf);
static char *ngx_http_staged_update_secret(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, ngx_str_t *file,
    ngx_http_staged_update_secret_t *secret);
static ngx_uint_t ngx_http_staged_update_opt(ngx_str_t *arg,
    const char *name, ngx_str_t *v);
static void ngx_http_staged_update_key_free(void *data);
static void ngx_http_staged_update_tokens_free(void *data);
static void ngx_http_staged_update_secret_cleanup(void *data);
static char *ngx_http_staged_update_verify(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_staged_update_explain(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_staged_update_origins(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf);


static ngx_conf_enum_t  ngx_http_staged_update_modes[] = {
    { ngx_string("check"), NGX_HTTP_STAGED_UPDATE_CHECK },
    { ngx_string("redirect"), NGX_HTTP_STAGED_UPDATE_REDIRECT },
    { ngx_null_string, 0 }
};


static ngx_str_t  ngx_http_staged_update_input_names[] = {
    ngx_string("version"),
    ngx_string("server"),
    ngx_string("client"),
    ngx_string("manual")
};


static ngx_command_t  ngx_http_staged_update_commands[] = {

    { ngx_string("staged_update_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_http_staged_update_zone,
      0,
      0,
      NULL },

    { ngx_string("staged_update_track"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_staged_update_track_block,
      0,
      0,
      NULL },

    { ngx_string("staged_update"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_staged_update,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("staged_update_verify"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_staged_update_verify,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("staged_update_explain"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_staged_update_explain,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("staged_update_input"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_staged_update_input,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("staged_update_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_staged_update_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("staged_update_trace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_staged_update_loc_conf_t, trace),
      NULL },

    { ngx_string("staged_update_report"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_staged_update_report,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("staged_update_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_staged_update_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_staged_update_module_ctx = {
    ngx_http_staged_update_preconfiguration,  /* preconfiguration */
    ngx_http_staged_update_postconfiguration, /* postconfiguration */

    ngx_http_staged_update_create_main_conf,  /* create main configuration */
    NULL,                                     /* init main configuration */

    NULL,                                     /* create server configuration */
    NULL,                                     /* merge server configuration */

    ngx_http_staged_update_create_loc_conf,   /* create location configuration */
    ngx_http_staged_update_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_staged_update_module = {
    NGX_MODULE_V1,
    &ngx_http_staged_update_module_ctx,       /* module context */
    ngx_http_staged_update_commands,          /* module directives */
    NGX_HTTP_MODULE,                          /* module type */
    NULL,                                     /* init master */
    NULL,                                     /* init module */
    ngx_http_staged_update_init_process,      /* init process */
    NULL,                                     /* init thread */
    NULL,                                     /* exit thread */
    ngx_http_staged_update_exit_process,      /* exit process */
    NULL,                                     /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_staged_update_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_staged_update_add_variables(cf);
}


static ngx_int_t
ngx_http_staged_update_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                           i;
    ngx_http_handler_pt                 *h;
    ngx_http_core_main_conf_t           *cmcf;
    ngx_http_staged_update_track_t     **tracks;
    ngx_http_staged_update_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_staged_update_module);
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    tracks = smcf->tracks.elts;

    for (i = 0; i < smcf->tracks.nelts; i++) {

        if (!tracks[i]->defined) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "%V: unknown track \"%V\", define it with "
                          "\"staged_update_track %V { ... }\" in %s:%ui",
                          &tracks[i]->directive, &tracks[i]->name,
                          &tracks[i]->name,
                          tracks[i]->conf_file, tracks[i]->conf_line);
            return NGX_ERROR;
        }

        if (tracks[i]->verified && !tracks[i]->token.on) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "staged_update_verify %V: the track has no "
                          "\"token secret=<file>;\" line in %s:%ui",
                          &tracks[i]->name, tracks[i]->conf_file,
                          tracks[i]->conf_line);
            return NGX_ERROR;
        }

        if (ngx_http_staged_update_report_check(cf, tracks[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* downloads: checked in the access phase, counted once sent; no
     * handler in the phases of every request when no location verifies */

    for (i = 0; i < smcf->tracks.nelts; i++) {
        if (tracks[i]->verified) {
            break;
        }
    }

    if (i == smcf->tracks.nelts) {
        return ngx_http_staged_update_zones_check(cf);
    }

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_staged_update_verify_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_staged_update_log_handler;

    return ngx_http_staged_update_zones_check(cf);
}


static void *
ngx_http_staged_update_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_staged_update_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_staged_update_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&smcf->tracks, cf->pool, 4,
                       sizeof(ngx_http_staged_update_track_t *))
        != NGX_OK
        || ngx_array_init(&smcf->zones, cf->pool, 2,
                          sizeof(ngx_http_staged_update_zone_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static void *
ngx_http_staged_update_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_staged_update_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_staged_update_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     slcf->track = NULL;
     *     slcf->explain = NULL;
     *     slcf->mode = NGX_HTTP_STAGED_UPDATE_CHECK;
     *     slcf->input = NULL;
     */

    slcf->trace = NGX_CONF_UNSET;

    return slcf;
}


static char *
ngx_http_staged_update_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_staged_update_loc_conf_t  *prev = parent;
    ngx_http_staged_update_loc_conf_t  *conf = child;

    ngx_uint_t                       i;
    ngx_http_staged_update_input_t  *input;

    ngx_conf_merge_value(conf->trace, prev->trace, 1);

    if (conf->verify == NULL) {
        conf->verify = prev->verify;
    }

    ngx_http_staged_update_report_merge(cf, prev, conf);

    if (conf->input == NULL) {

        if (prev->input == NULL) {

            /* the default: $arg_version, $arg_server, $arg_client */

            input = ngx_pcalloc(cf->pool, NGX_HTTP_STAGED_UPDATE_NINPUTS
                                * sizeof(ngx_http_staged_update_input_t));
            if (input == NULL) {
                return NGX_CONF_ERROR;
            }

            for (i = 0; i < NGX_HTTP_STAGED_UPDATE_NINPUTS; i++) {
                input[i].arg = ngx_http_staged_update_input_names[i];
            }

            prev->input = input;
        }

        conf->input = prev->input;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_staged_update_init_process(ngx_cycle_t *cycle)
{
    ngx_http_staged_update_zones_use(cycle, 1);

    return NGX_OK;
}


static void
ngx_http_staged_update_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_staged_update_zones_use(cycle, 0);
}


/* staged_update <track> [check|redirect]; */

static char *
ngx_http_staged_update(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_staged_update_loc_conf_t *slcf = conf;

    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->track) {
        return "is duplicate";
    }

    if (slcf->explain) {
        return "cannot share a location with \"staged_update_explain\"";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 3) {

        for (i = 0; ngx_http_staged_update_modes[i].name.len; i++) {
            if (ngx_http_staged_update_modes[i].name.len == value[2].len
                && ngx_strncmp(ngx_http_staged_update_modes[i].name.data,
                               value[2].data, value[2].len)
                   == 0)
            {
                slcf->mode = ngx_http_staged_update_modes[i].value;
                break;
            }
        }

        if (ngx_http_staged_update_modes[i].name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update %V: invalid mode \"%V\", it "
                               "must be \"check\" or \"redirect\"",
                               &value[1], &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    slcf->track = ngx_http_staged_update_track_get(cf, &value[1]);
    if (slcf->track == NULL) {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_staged_update_handler;

    return NGX_CONF_OK;
}


/* staged_update_verify <track>; */

static char *
ngx_http_staged_update_verify(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_staged_update_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->verify) {
        return "is duplicate";
    }

    value = cf->args->elts;

    slcf->verify = ngx_http_staged_update_track_get(cf, &value[1]);
    if (slcf->verify == NULL) {
        return NGX_CONF_ERROR;
    }

    slcf->verify->verified = 1;

    return NGX_CONF_OK;
}


/* staged_update_explain <track>; */

static char *
ngx_http_staged_update_explain(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_staged_update_loc_conf_t *slcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->explain) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (slcf->track) {
        return "cannot share a location with \"staged_update\"";
    }

    slcf->explain = ngx_http_staged_update_track_get(cf, &value[1]);
    if (slcf->explain == NULL) {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_staged_update_explain_handler;

    return NGX_CONF_OK;
}


/* staged_update_input [version=<value>] [server=<value>] [client=<value>]; */

static char *
ngx_http_staged_update_input(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_staged_update_loc_conf_t *slcf = conf;

    u_char                            *p;
    ngx_str_t                         *value, v;
    ngx_uint_t                         i, k;
    ngx_http_staged_update_input_t    *input;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->input) {
        return "is duplicate";
    }

    input = ngx_pcalloc(cf->pool, NGX_HTTP_STAGED_UPDATE_NINPUTS
                                  * sizeof(ngx_http_staged_update_input_t));
    if (input == NULL) {
        return NGX_CONF_ERROR;
    }

    for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NINPUTS; k++) {
        input[k].arg = ngx_http_staged_update_input_names[k];
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        p = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        for (k = 0; p && k < NGX_HTTP_STAGED_UPDATE_NINPUTS; k++) {
            if ((size_t) (p - value[i].data)
                    == ngx_http_staged_update_input_names[k].len
                && ngx_strncmp(value[i].data,
                               ngx_http_staged_update_input_names[k].data,
                               p - value[i].data)
                   == 0)
            {
                break;
            }
        }

        if (p == NULL || k == NGX_HTTP_STAGED_UPDATE_NINPUTS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update_input: invalid parameter "
                               "\"%V\", expected version=, server=, "
                               "client= or manual= and a value", &value[i]);
            return NGX_CONF_ERROR;
        }

        v.data = p + 1;
        v.len = value[i].data + value[i].len - v.data;

        if (v.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update_input: \"%V\" has an empty "
                               "value", &value[i]);
            return NGX_CONF_ERROR;
        }

        /* a plain "$arg_name" is read by the handler itself, which also
         * refuses the argument when it is given twice */

        if (v.len > sizeof("$arg_") - 1
            && ngx_strncmp(v.data, "$arg_", sizeof("$arg_") - 1) == 0)
        {
            for (p = v.data + sizeof("$arg_") - 1;
                 p < v.data + v.len;
                 p++)
            {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                      || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                {
                    break;
                }
            }

            if (p == v.data + v.len) {
                input[k].arg.data = v.data + sizeof("$arg_") - 1;
                input[k].arg.len = v.len - (sizeof("$arg_") - 1);
                continue;
            }
        }

        input[k].arg.len = 0;
        input[k].cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (input[k].cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &v;
        ccv.complex_value = input[k].cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    slcf->input = input;

    return NGX_CONF_OK;
}


ngx_http_staged_update_track_t *
ngx_http_staged_update_track_get(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                           i;
    ngx_http_staged_update_track_t      *track, **tracks;
    ngx_http_staged_update_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_staged_update_module);

    tracks = smcf->tracks.elts;

    for (i = 0; i < smcf->tracks.nelts; i++) {
        if (tracks[i]->name.len == name->len
            && ngx_strncmp(tracks[i]->name.data, name->data, name->len) == 0)
        {
            return tracks[i];
        }
    }

    track = ngx_pcalloc(cf->pool, sizeof(ngx_http_staged_update_track_t));
    if (track == NULL) {
        return NULL;
    }

    track->name = *name;
    track->conf_file = cf->conf_file->file.name.data;
    track->conf_line = cf->conf_file->line;
    track->directive = ((ngx_str_t *) cf->args->elts)[0];

    if (ngx_array_init(&track->releases, cf->pool, 2,
                       sizeof(ngx_http_staged_update_release_t))
        != NGX_OK)
    {
        return NULL;
    }

    tracks = ngx_array_push(&smcf->tracks);
    if (tracks == NULL) {
        return NULL;
    }

    *tracks = track;

    return track;
}


/* staged_update_track <name> { ... } */

static char *
ngx_http_staged_update_track_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char                                 *rv;
    ngx_str_t                            *value;
    ngx_conf_t                            save;
    ngx_http_staged_update_track_conf_t   tcf;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > NGX_HTTP_STAGED_UPDATE_ID_MAXLEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track: invalid name \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&tcf, sizeof(ngx_http_staged_update_track_conf_t));

    tcf.track = ngx_http_staged_update_track_get(cf, &value[1]);
    if (tcf.track == NULL) {
        return NGX_CONF_ERROR;
    }

    if (tcf.track->defined) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\" is duplicate",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    tcf.track->defined = 1;
    tcf.track->conf_file = cf->conf_file->file.name.data;
    tcf.track->conf_line = cf->conf_file->line;

    tcf.spec.name = value[1].data;
    tcf.spec.name_len = value[1].len;

    if (ngx_array_init(&tcf.rules, cf->temp_pool, 8,
                       sizeof(ngx_http_staged_update_rule_spec_t))
        != NGX_OK
        || ngx_array_init(&tcf.servers, cf->temp_pool, 8,
                          sizeof(ngx_http_staged_update_server_conf_t))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    save = *cf;
    cf->handler = ngx_http_staged_update_track_line;
    cf->handler_conf = (char *) &tcf;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (ngx_http_staged_update_track_done(cf, &tcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a line inside staged_update_track { ... } */

static char *
ngx_http_staged_update_track_line(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    ngx_http_staged_update_track_conf_t  *tcf;

    ngx_str_t                        *value, *name;
    ngx_uint_t                        n;
    ngx_http_staged_update_zone_t    *zone;
    ngx_http_staged_update_track_t  **tp;

    tcf = conf;
    value = cf->args->elts;
    n = cf->args->nelts;
    name = &tcf->track->name;

#define ngx_http_staged_update_is(s)                                          \
    (value[0].len == sizeof(s) - 1                                            \
     && ngx_strncmp(value[0].data, s, sizeof(s) - 1) == 0)

    if (ngx_http_staged_update_is("server")) {
        return ngx_http_staged_update_track_server(cf, tcf);
    }

    if (ngx_http_staged_update_is("rule")) {
        return ngx_http_staged_update_track_rule(cf, tcf);
    }

    if (ngx_http_staged_update_is("counters")) {
        return ngx_http_staged_update_counters_conf(cf, tcf->track);
    }

    if (ngx_http_staged_update_is("rate") || ngx_http_staged_update_is("ramp"))
    {
        return ngx_http_staged_update_shape_line(cf, tcf->track);
    }

    if (ngx_http_staged_update_is("include") && n == 2) {
        return ngx_conf_include(cf, dummy, conf);
    }

    if (ngx_http_staged_update_is("token")) {
        if (tcf->track->token.on) {
            goto duplicate;
        }

        return ngx_http_staged_update_track_token(cf, tcf);
    }

    if (ngx_http_staged_update_is("sign") && (n == 2 || n == 3)) {
        if (tcf->track->nkeys) {
            goto duplicate;
        }

        return ngx_http_staged_update_track_sign(cf, tcf);
    }

    if (ngx_http_staged_update_is("halt_on") && n >= 3 && n <= 5) {
        return ngx_http_staged_update_halt_on(cf, tcf->track);
    }

    if (ngx_http_staged_update_is("inline") && n == 2) {
        ssize_t  size;

        if (tcf->inline_set) {
            goto duplicate;
        }

        tcf->inline_set = 1;
        size = ngx_parse_size(&value[1]);

        if (size == NGX_ERROR || size > NGX_HTTP_STAGED_UPDATE_INLINE_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update_track \"%V\": \"inline\" has "
                               "an invalid size \"%V\", at most %dk",
                               name, &value[1],
                               NGX_HTTP_STAGED_UPDATE_INLINE_MAX / 1024);
            return NGX_CONF_ERROR;
        }

        tcf->track->inline_max = size;
        return NGX_CONF_OK;
    }

    if (ngx_http_staged_update_is("zone") && n == 2) {

        if (tcf->track->zone) {
            goto duplicate;
        }

        zone = ngx_http_staged_update_zone_get(cf, &value[1]);
        if (zone == NULL) {
            return NGX_CONF_ERROR;
        }

        tp = ngx_array_push(&zone->tracks);
        if (tp == NULL) {
            return NGX_CONF_ERROR;
        }

        *tp = tcf->track;
        tcf->track->zone = zone;

        return NGX_CONF_OK;
    }

    if (ngx_http_staged_update_is("latest") && (n == 3 || n == 4)) {

        if (tcf->latest.len) {
            goto duplicate;
        }

        if (ngx_http_staged_update_conf_version(cf, tcf, "latest", &value[1],
                                                &tcf->spec.latest)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        tcf->latest = value[1];
        tcf->dir = value[2];
        tcf->line = cf->conf_file->line;

        if (n == 4) {
            if (!ngx_http_staged_update_opt(&value[3], "url=", &tcf->url)
                || tcf->url.len == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "staged_update_track \"%V\": \"latest\" "
                                   "has an invalid parameter \"%V\", "
                                   "expected url=<prefix>", name, &value[3]);
                return NGX_CONF_ERROR;
            }

            return ngx_http_staged_update_conf_url(cf, tcf, &tcf->url);
        }

        return NGX_CONF_OK;
    }

    if (ngx_http_staged_update_is("minimum") && n == 2) {

        if (tcf->minimum) {
            goto duplicate;
        }

        tcf->minimum = 1;

        return ngx_http_staged_update_conf_version(cf, tcf, "minimum",
                                                   &value[1],
                                                   &tcf->spec.minimum);
    }

    if (ngx_http_staged_update_is("default") && n == 2) {

        if (tcf->pct) {
            goto duplicate;
        }

        tcf->pct = 1;

        return ngx_http_staged_update_conf_pct(cf, tcf, "default", &value[1],
                                               &tcf->spec.pct);
    }

#undef ngx_http_staged_update_is

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "staged_update_track \"%V\": unknown directive or "
                       "wrong number of arguments in \"%V\"; expected zone, "
                       "latest, minimum, default, rule, server, token, sign, "
                       "inline, counters, rate, ramp, halt_on or include",
                       name, &value[0]);
    return NGX_CONF_ERROR;

duplicate:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "staged_update_track \"%V\": \"%V\" is duplicate",
                       name, &value[0]);
    return NGX_CONF_ERROR;
}


/*
 * server <id> latest=<version> [release=<dir>] [url=<prefix>]
 *        [minimum=<version>] [default=<percent>];
 */

static char *
ngx_http_staged_update_track_server(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf)
{
    ngx_int_t                              rc;
    ngx_str_t                             *value, v;
    ngx_uint_t                             i;
    ngx_http_staged_update_server_conf_t  *scf;

    value = cf->args->elts;

    if (cf->args->nelts < 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"server\" needs an "
                           "ID and latest=<version>", &tcf->track->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_staged_update_conf_id(cf, tcf, &value[1]) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    scf = ngx_array_push(&tcf->servers);
    if (scf == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(scf, sizeof(ngx_http_staged_update_server_conf_t));

    scf->spec.name = value[1].data;
    scf->spec.name_len = value[1].len;
    scf->line = cf->conf_file->line;

    if (ngx_array_init(&scf->rules, cf->temp_pool, 2,
                       sizeof(ngx_http_staged_update_rule_spec_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_http_staged_update_opt(&value[i], "latest=", &v) && scf->latest.len == 0) {

            if (ngx_http_staged_update_conf_version(cf, tcf, "latest=", &v,
                                                    &scf->spec.latest)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            scf->latest = v;
            continue;
        }

        if (ngx_http_staged_update_opt(&value[i], "minimum=", &v) && !scf->minimum) {
            scf->minimum = 1;

            if (ngx_http_staged_update_conf_version(cf, tcf, "minimum=", &v,
                                                    &scf->spec.minimum)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_http_staged_update_opt(&value[i], "default=", &v) && !scf->pct) {
            scf->pct = 1;

            if (ngx_http_staged_update_conf_pct(cf, tcf, "default=", &v,
                                                &scf->spec.pct)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_http_staged_update_opt(&value[i], "release=", &v) && scf->dir.len == 0
            && v.len)
        {
            scf->dir = v;
            continue;
        }

        if (ngx_http_staged_update_opt(&value[i], "url=", &v) && scf->url.len == 0) {
            scf->url = v;

            if (ngx_http_staged_update_conf_url(cf, tcf, &v) != NGX_CONF_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        rc = ngx_http_staged_update_shape_server(cf, tcf->track,
                                                 tcf->servers.nelts - 1,
                                                 &value[1], &value[i]);
        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": server \"%V\" has "
                           "an invalid or repeated parameter \"%V\"; expected "
                           "latest=, release=, url=, minimum=, default=, "
                           "rate=, burst=",
                           &tcf->track->name, &value[1], &value[i]);
        return NGX_CONF_ERROR;
    }

    if (scf->latest.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": server \"%V\" has "
                           "no latest=<version>",
                           &tcf->track->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* rule [<server>] <version|range|wildcard> <percent>; */

static char *
ngx_http_staged_update_track_rule(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf)
{
    const char                            *err;
    ngx_str_t                             *value, *pattern;
    ngx_uint_t                             i;
    ngx_array_t                           *rules;
    ngx_http_staged_update_rule_spec_t    *rule;
    ngx_http_staged_update_server_conf_t  *scf;

    value = cf->args->elts;

    if (cf->args->nelts == 3) {
        rules = &tcf->rules;

    } else if (cf->args->nelts == 4) {

        /* the server of the previous rule, or the last one declared */

        scf = tcf->servers.elts;
        i = tcf->last;

        if (i == 0
            || scf[i - 1].spec.name_len != value[1].len
            || ngx_strncmp(scf[i - 1].spec.name, value[1].data, value[1].len)
               != 0)
        {
            for (i = tcf->servers.nelts; i; i--) {
                if (scf[i - 1].spec.name_len == value[1].len
                    && ngx_strncmp(scf[i - 1].spec.name, value[1].data,
                                   value[1].len)
                       == 0)
                {
                    break;
                }
            }

            if (i == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "staged_update_track \"%V\": \"rule\" "
                                   "names server \"%V\", which no \"server\" "
                                   "line above declares",
                                   &tcf->track->name, &value[1]);
                return NGX_CONF_ERROR;
            }

            tcf->last = i;
        }

        rules = &scf[i - 1].rules;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"rule\" takes "
                           "[<server>] <version> <percent>",
                           &tcf->track->name);
        return NGX_CONF_ERROR;
    }

    pattern = &value[cf->args->nelts - 2];

    rule = ngx_array_push(rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    rule->text = pattern->data;
    rule->text_len = pattern->len;
    rule->data = cf->conf_file->line;
    rule->file = cf->conf_file->file.name.data;

    err = ngx_http_staged_update_range_parse(pattern->data, pattern->len,
                                             &rule->range);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"rule\" has an "
                           "invalid version, range or wildcard \"%V\": %s",
                           &tcf->track->name, pattern, err);
        return NGX_CONF_ERROR;
    }

    return ngx_http_staged_update_conf_pct(cf, tcf, "rule", pattern + 1,
                                           &rule->pct);
}


static ngx_int_t
ngx_http_staged_update_track_done(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf)
{
    size_t                                 size, dup, len;
    u_char                                *p;
    ngx_str_t                             *name;
    ngx_uint_t                             i;
    const char                            *err;
    ngx_http_staged_update_track_t        *track;
    ngx_http_staged_update_release_t      *rel;
    ngx_pool_cleanup_t                    *cln;
    ngx_http_staged_update_scope_spec_t   *specs;
    ngx_http_staged_update_server_conf_t  *scf;

    track = tcf->track;
    name = &track->name;

    if (tcf->latest.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\" has no \"latest <version> "
                      "<directory>;\" in %s:%ui",
                      name, track->conf_file, track->conf_line);
        return NGX_ERROR;
    }

    if (track->zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\" has no \"zone <name>;\" "
                      "in %s:%ui", name, track->conf_file, track->conf_line);
        return NGX_ERROR;
    }

    /* the track's own table: minimum 0 and default 0% unless given */

    if (ngx_http_staged_update_scope_done(cf, tcf, &tcf->spec, &tcf->rules,
                                          &tcf->latest, &tcf->dir, &tcf->url,
                                          tcf->line)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    scf = tcf->servers.elts;
    specs = ngx_palloc(cf->temp_pool, (tcf->servers.nelts + 1)
                       * sizeof(ngx_http_staged_update_scope_spec_t));
    if (specs == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < tcf->servers.nelts; i++) {

        /* a server takes the track's minimum and default unless given */

        if (!scf[i].minimum) {
            scf[i].spec.minimum = tcf->spec.minimum;
        }

        if (!scf[i].pct) {
            scf[i].spec.pct = tcf->spec.pct;
        }

        if (ngx_http_staged_update_version_cmp(&scf[i].spec.latest,
                                               &tcf->spec.latest) > 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "staged_update_track \"%V\": server \"%*s\" has "
                          "latest=%V above the track's latest %V in %s:%ui",
                          name, scf[i].spec.name_len, scf[i].spec.name,
                          &scf[i].latest, &tcf->latest,
                          track->conf_file, scf[i].line);
            return NGX_ERROR;
        }

        if (ngx_http_staged_update_scope_done(cf, tcf, &scf[i].spec,
                                              &scf[i].rules, &scf[i].latest,
                                              &scf[i].dir, &scf[i].url,
                                              scf[i].line)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        specs[i] = scf[i].spec;
    }

    if (ngx_http_staged_update_shape_done(cf, track, tcf->servers.nelts)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_staged_update_origins(cf, tcf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the release files, read and hashed once */

    rel = track->releases.elts;

    for (i = 0; i < track->releases.nelts; i++) {

        if (ngx_http_staged_update_release_load(cf, track, &rel[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* a worker's tokens of this release go with its cycle */

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_staged_update_tokens_free;
        cln->data = &rel[i];

        /*
         * sticky draws: "<track>/<target>/<client>", the target normalized
         * ("2.0" and "2.0.0" draw alike)
         */

        p = ngx_pnalloc(cf->temp_pool,
                        name->len + NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN + 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = ngx_sprintf(p, "%V/", name) - p;
        len += ngx_http_staged_update_version_print(p + len, &rel[i].v);
        p[len++] = '/';

        rel[i].salt = ngx_http_staged_update_hash_init(p, len);
    }

    /* the tables, built into one block that init_zone copies */

    size = ngx_http_staged_update_table_size(&tcf->spec, specs,
                                             tcf->servers.nelts);

    track->table = ngx_palloc(cf->pool, size);
    if (track->table == NULL) {
        return NGX_ERROR;
    }

    err = ngx_http_staged_update_table_build(track->table, &tcf->spec, specs,
                                             tcf->servers.nelts, &dup);
    if (err) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\": server \"%*s\": %s "
                      "in %s:%ui", name, specs[dup].name_len,
                      specs[dup].name, err, track->conf_file, scf[dup].line);
        return NGX_ERROR;
    }

    if (ngx_http_staged_update_answers_init(cf, track) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_staged_update_counters_track(cf, track);
}


/*
 * Where each rule of the table is written, in the order of the table's
 * rules (the track's, then each server's, as sorted): the table in the
 * zone holds no file names.
 */

static ngx_int_t
ngx_http_staged_update_origins(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf)
{
    ngx_uint_t                             i, j, n;
    ngx_http_staged_update_origin_t       *o;
    ngx_http_staged_update_scope_spec_t   *spec;
    ngx_http_staged_update_server_conf_t  *scf;

    scf = tcf->servers.elts;
    n = tcf->spec.nrules;

    for (i = 0; i < tcf->servers.nelts; i++) {
        n += scf[i].spec.nrules;
    }

    o = ngx_palloc(cf->pool, (n + 1) * sizeof(ngx_http_staged_update_origin_t));
    if (o == NULL) {
        return NGX_ERROR;
    }

    tcf->track->origins = o;

    for (i = 0; i <= tcf->servers.nelts; i++) {
        spec = (i == 0) ? &tcf->spec : &scf[i - 1].spec;

        for (j = 0; j < spec->nrules; j++) {
            o->file = (u_char *) spec->rules[j].file;
            o->line = spec->rules[j].data;
            o++;
        }
    }

    return NGX_OK;
}


/* the checks and the release of a track or of one of its servers */

static ngx_int_t
ngx_http_staged_update_scope_done(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf,
    ngx_http_staged_update_scope_spec_t *spec, ngx_array_t *rules,
    ngx_str_t *latest, ngx_str_t *dir, ngx_str_t *url, ngx_uint_t line)
{
    ssize_t                              n;
    ngx_int_t                            release;
    ngx_http_staged_update_track_t      *track;
    ngx_http_staged_update_rule_spec_t   a, b;
    u_char      min[NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN];

    track = tcf->track;

    if (ngx_http_staged_update_version_cmp(&spec->minimum, &spec->latest)
        > 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\": the minimum %*s of "
                      "\"%*s\" is above its latest %V in %s:%ui",
                      &track->name,
                      ngx_http_staged_update_version_print(min,
                                                           &spec->minimum),
                      min, spec->name_len, spec->name, latest,
                      track->conf_file, line);
        return NGX_ERROR;
    }

    n = ngx_http_staged_update_rules_sort(rules->elts, rules->nelts, &a, &b);

    if (n < 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\": the rules of \"%*s\" "
                      "overlap with different percentages: \"%*s\" in %s:%ui "
                      "and \"%*s\" in %s:%ui",
                      &track->name, spec->name_len, spec->name,
                      a.text_len, a.text, track->conf_file, (ngx_uint_t) a.data,
                      b.text_len, b.text, track->conf_file,
                      (ngx_uint_t) b.data);
        return NGX_ERROR;
    }

    spec->rules = rules->elts;
    spec->nrules = n;

    release = ngx_http_staged_update_release(cf, tcf, latest, &spec->latest,
                                             dir, url, line);
    if (release == NGX_ERROR) {
        return NGX_ERROR;
    }

    spec->release = (uint32_t) release;

    return NGX_OK;
}


/* a version's release, one per version in a track: its index */

static ngx_int_t
ngx_http_staged_update_release(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, ngx_str_t *version,
    ngx_http_staged_update_version_t *v, ngx_str_t *dir, ngx_str_t *url,
    ngx_uint_t line)
{
    ngx_str_t                          full;
    ngx_uint_t                         i;
    ngx_http_staged_update_track_t    *track;
    ngx_http_staged_update_release_t  *rel;

    track = tcf->track;
    rel = track->releases.elts;

    /* a relative directory is relative to the prefix, as in "root" */

    full = *dir;

    if (full.len && ngx_conf_full_name(cf->cycle, &full, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    dir = &full;

    for (i = 0; i < track->releases.nelts; i++) {

        if (ngx_http_staged_update_version_cmp(&rel[i].v, v) != 0) {
            continue;
        }

        if ((dir->len
             && (dir->len != rel[i].dir.len
                 || ngx_strncmp(dir->data, rel[i].dir.data, dir->len) != 0))
            || (url->len
                && (url->len != rel[i].url.len
                    || ngx_strncmp(url->data, rel[i].url.data, url->len)
                       != 0)))
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "staged_update_track \"%V\": version %V is given "
                          "another release directory or url than in %s:%ui, "
                          "in %s:%ui", &track->name, version,
                          rel[i].conf_file, rel[i].conf_line,
                          track->conf_file, line);
            return NGX_ERROR;
        }

        return i;
    }

    if (dir->len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\": no release directory "
                      "for version %V, add release=<directory> in %s:%ui",
                      &track->name, version, track->conf_file, line);
        return NGX_ERROR;
    }

    rel = ngx_array_push(&track->releases);
    if (rel == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(rel, sizeof(ngx_http_staged_update_release_t));

    rel->version = *version;
    rel->v = *v;
    rel->dir = *dir;
    rel->conf_file = track->conf_file;
    rel->conf_line = line;

    if (url->len) {
        rel->url = *url;

    } else {
        /* the default: /releases/<version>/ */

        rel->url.len = sizeof("/releases//") - 1 + version->len;
        rel->url.data = ngx_pnalloc(cf->pool, rel->url.len);
        if (rel->url.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(rel->url.data, "/releases/%V/", version);
    }

    /* the path of the URL, which a token signs: "/releases/2.0.0/" */

    rel->path = rel->url;

    if (rel->path.data[0] != '/') {
        rel->path.data = ngx_strlchr(rel->url.data + sizeof("https://") - 1,
                                     rel->url.data + rel->url.len, '/');
        rel->path.len = rel->url.data + rel->url.len - rel->path.data;
    }

    return track->releases.nelts - 1;
}


static char *
ngx_http_staged_update_conf_version(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, const char *what,
    ngx_str_t *value, ngx_http_staged_update_version_t *v)
{
    const char  *err;

    err = ngx_http_staged_update_version_parse(value->data, value->len, v);

    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"%s\" has an "
                           "invalid version \"%V\": %s",
                           &tcf->track->name, what, value, err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_staged_update_conf_pct(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, const char *what,
    ngx_str_t *value, uint32_t *pct)
{
    ngx_int_t    rc;
    const char  *err;

    /* "ramp:<name>": a ramp schedule declared above */

    rc = ngx_http_staged_update_shape_pct(cf, tcf->track, what, value, pct);
    if (rc != NGX_DECLINED) {
        return (rc == NGX_OK) ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    err = ngx_http_staged_update_pct_parse(value->data, value->len, pct);

    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"%s\" has an "
                           "invalid percentage \"%V\": %s",
                           &tcf->track->name, what, value, err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_staged_update_conf_id(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, ngx_str_t *id)
{
    if (ngx_http_staged_update_safe(id->data, id->len,
                                    NGX_HTTP_STAGED_UPDATE_ID_MAXLEN))
    {
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "staged_update_track \"%V\": invalid server ID "
                       "\"%V\": 1 to %d letters, digits, \".\", \"_\", "
                       "\"-\" or \":\"", &tcf->track->name, id,
                       NGX_HTTP_STAGED_UPDATE_ID_MAXLEN);
    return NGX_CONF_ERROR;
}


/* a URL prefix ends in "/" and needs no escaping in JSON or a header */

static char *
ngx_http_staged_update_conf_url(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, ngx_str_t *url)
{
    ngx_uint_t  i;

    for (i = 0; i < url->len; i++) {
        if (url->data[i] <= 0x20 || url->data[i] >= 0x7f
            || url->data[i] == '"' || url->data[i] == '\\'
            || url->data[i] == '?' || url->data[i] == '#')
        {
            break;
        }
    }

    if (i == url->len && url->len && url->len <= 1024
        && url->data[url->len - 1] == '/'
        && (url->data[0] == '/'
            || ((ngx_strncmp(url->data, "http://", 7) == 0
                 || ngx_strncmp(url->data, "https://", 8) == 0)
                && ngx_strlchr(url->data + 8, url->data + url->len, '/'))))
    {
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "staged_update_track \"%V\": invalid url \"%V\": "
                       "a path or an http(s):// URL that ends in \"/\", "
                       "without spaces, quotes, backslashes, \"?\" or \"#\", "
                       "of at most 1024 bytes",
                       &tcf->track->name, url);
    return NGX_CONF_ERROR;
}


/*
 * token secret=<file> [previous=<file>] [grace=<time>] [ttl=<time>]
 *       [client];
 */

static char *
ngx_http_staged_update_track_token(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf)
{
    time_t                                grace;
    ngx_str_t                            *value, v, previous;
    ngx_uint_t                            i;
    ngx_http_staged_update_token_conf_t  *tc;

    value = cf->args->elts;
    tc = &tcf->track->token;

    tc->on = 1;
    tc->ttl = 3600;
    grace = NGX_CONF_UNSET;
    ngx_str_null(&previous);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_http_staged_update_opt(&value[i], "secret=", &v)
            && tc->secrets[0].len == 0)
        {
            if (ngx_http_staged_update_secret(cf, tcf, &v, &tc->secrets[0])
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_http_staged_update_opt(&value[i], "previous=", &v)
            && previous.len == 0)
        {
            previous = v;

            if (ngx_http_staged_update_secret(cf, tcf, &previous,
                                              &tc->secrets[1])
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_http_staged_update_opt(&value[i], "grace=", &v)
            && grace == NGX_CONF_UNSET)
        {
            grace = ngx_parse_time(&v, 1);

            if (grace == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "staged_update_track \"%V\": \"token\" "
                                   "has an invalid time \"%V\"",
                                   &tcf->track->name, &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_http_staged_update_opt(&value[i], "ttl=", &v)) {
            tc->ttl = ngx_parse_time(&v, 1);

            if (tc->ttl == NGX_ERROR || tc->ttl < 60) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "staged_update_track \"%V\": \"token\" "
                                   "has an invalid time \"%V\" (ttl is at "
                                   "least 60s)", &tcf->track->name,
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (value[i].len == 6 && ngx_strncmp(value[i].data, "client", 6) == 0)
        {
            tc->client = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"token\" has an "
                           "invalid or repeated parameter \"%V\"; expected "
                           "secret=, previous=, grace=, ttl=, client",
                           &tcf->track->name, &value[i]);
        return NGX_CONF_ERROR;
    }

    if (tc->secrets[0].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"token\" needs "
                           "secret=<file>", &tcf->track->name);
        return NGX_CONF_ERROR;
    }

    /* the previous secret opens downloads for a grace period from now */

    if (previous.len) {
        tc->previous_until = ngx_time()
                             + (grace == NGX_CONF_UNSET ? tc->ttl : grace);
    }

    return NGX_CONF_OK;
}


/* a "name=value" parameter: 1 and the value in v if arg is that one */

static ngx_uint_t
ngx_http_staged_update_opt(ngx_str_t *arg, const char *name, ngx_str_t *v)
{
    size_t  len;

    len = ngx_strlen(name);

    if (arg->len < len || ngx_strncmp(arg->data, name, len) != 0) {
        return 0;
    }

    v->data = arg->data + len;
    v->len = arg->len - len;

    return 1;
}


/* a secret: the whole file, its trailing newline left out */

static char *
ngx_http_staged_update_secret(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf, ngx_str_t *name,
    ngx_http_staged_update_secret_t *secret)
{
    u_char              *buf;
    ssize_t              n;
    ngx_str_t            file;
    ngx_file_t           f;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    file = *name;

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));

    f.name = file;
    f.log = cf->log;
    f.fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (f.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "staged_update_track \"%V\": \"token\" cannot "
                           "read the secret \"%V\"", &tcf->track->name, &file);
        return NGX_CONF_ERROR;
    }

    n = NGX_ERROR;
    buf = NULL;

    if (ngx_fd_info(f.fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) <= 4096)
    {
        buf = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);

        if (buf) {
            n = ngx_read_file(&f, buf, ngx_file_size(&fi), 0);
        }
    }

    ngx_close_file(f.fd);

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    if (n < NGX_HTTP_STAGED_UPDATE_SECRET_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": the secret \"%V\" "
                           "must hold %d to 4096 bytes, for example "
                           "\"openssl rand -hex 32 > %V\"",
                           &tcf->track->name, &file,
                           NGX_HTTP_STAGED_UPDATE_SECRET_MIN, &file);
        return NGX_CONF_ERROR;
    }

    secret->data = buf;
    secret->len = n;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    if (!ngx_http_staged_update_secret_init(secret)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": no HMAC-SHA256 in "
                           "OpenSSL", &tcf->track->name);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_staged_update_secret_cleanup;
    cln->data = secret;

    return NGX_CONF_OK;
}


/* sign <key.pem> [<key.pem>]: Ed25519 private keys, two while rotating */

static char *
ngx_http_staged_update_track_sign(ngx_conf_t *cf,
    ngx_http_staged_update_track_conf_t *tcf)
{
    BIO                 *bio;
    EVP_PKEY            *key;
    ngx_str_t           *value, file;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        file = value[i];

        if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        key = NULL;
        bio = BIO_new_file((char *) file.data, "r");

        if (bio) {
            key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
            BIO_free(bio);
        }

        if (key == NULL || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
            EVP_PKEY_free(key);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update_track \"%V\": \"sign\" cannot "
                               "read an Ed25519 private key in PEM from \"%V\" "
                               "(openssl genpkey -algorithm ed25519 -out %V)",
                               &tcf->track->name, &file, &file);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_staged_update_key_free;
        cln->data = key;

        tcf->track->keys[tcf->track->nkeys++] = key;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_staged_update_key_free(void *data)
{
    EVP_PKEY_free(data);
}


static void
ngx_http_staged_update_tokens_free(void *data)
{
    ngx_http_staged_update_release_t  *rel = data;

    if (rel->pool) {
        ngx_destroy_pool(rel->pool);
        rel->pool = NULL;
    }
}


static void
ngx_http_staged_update_secret_cleanup(void *data)
{
    ngx_http_staged_update_secret_free(data);
}
