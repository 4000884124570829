
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * A launcher's check: read the version, the server ID and the client key,
 * decide, and answer 204 (no upgrade), 200 with the manifest, or 302 to
 * the release archive; 400 or 405 with a JSON body for a bad request.
 */


#include "ngx_http_staged_update_handler.h"
#include "ngx_http_staged_update_release.h"
#include "ngx_http_staged_update_state.h"
#include "ngx_http_staged_update_report.h"


/*
 * The input is read and validated by one function, which the check
 * inlines (its hot path) and staged_update_explain calls.
 */
#if (defined __GNUC__ || defined __clang__)
#define ngx_http_staged_update_inline  __attribute__((always_inline)) inline
#else
#define ngx_http_staged_update_inline  ngx_inline
#endif

#include "ngx_http_staged_update_counters.h"
#include "ngx_http_staged_update_shape.h"


#define NGX_HTTP_STAGED_UPDATE_NONE       1
#define NGX_HTTP_STAGED_UPDATE_UPGRADE    2
#define NGX_HTTP_STAGED_UPDATE_MANDATORY  3
#define NGX_HTTP_STAGED_UPDATE_INVALID    4
#define NGX_HTTP_STAGED_UPDATE_DEFERRED   5


typedef struct {
    ngx_uint_t                          decision;
    ngx_str_t                           target;
    ngx_str_t                           rule;
    u_char                              pct[NGX_HTTP_STAGED_UPDATE_PCT_LEN];
    size_t                              pct_len;
    ngx_atomic_t                       *download; /* files, bytes */
} ngx_http_staged_update_ctx_t;


static ngx_http_staged_update_inline ngx_int_t ngx_http_staged_update_read(
    ngx_http_request_t *r, ngx_http_staged_update_loc_conf_t *slcf,
    ngx_str_t *value);
static ngx_http_staged_update_inline ngx_int_t
    ngx_http_staged_update_input_get(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf,
    ngx_http_staged_update_track_t *track, ngx_str_t *value,
    ngx_http_staged_update_version_t *v, ngx_http_staged_update_vcache_t **vc,
    const ngx_http_staged_update_scope_t **server, uint64_t **key,
    ngx_uint_t *e);
static ngx_int_t ngx_http_staged_update_answer(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf,
    ngx_http_staged_update_release_t *rel,
    ngx_http_staged_update_version_t *v, ngx_str_t *value,
    ngx_uint_t mandatory);
static ngx_int_t ngx_http_staged_update_tokens(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel, ngx_str_t *client,
    ngx_str_t *list, ngx_str_t *part, ngx_int_t artifact);
static time_t ngx_http_staged_update_expires(
    ngx_http_staged_update_track_t *track);
static ngx_int_t ngx_http_staged_update_redirect(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel,
    ngx_http_staged_update_artifact_t *a, ngx_str_t *client);
static ngx_int_t ngx_http_staged_update_trace(ngx_http_request_t *r,
    ngx_http_staged_update_ctx_t *ctx);
static ngx_int_t ngx_http_staged_update_download(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, ngx_str_t *token);
static ngx_int_t ngx_http_staged_update_error(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);
static ngx_inline ngx_table_elt_t *ngx_http_staged_update_header(
    ngx_http_request_t *r, ngx_str_t *key, u_char *data, size_t len);
static ngx_int_t ngx_http_staged_update_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* the bad requests, one JSON body each */

#define ngx_http_staged_update_json_error(s)                                  \
    ngx_string("{\"error\":\"" s "\"}\n")

static ngx_str_t  ngx_http_staged_update_errors[] = {
#define NGX_HTTP_STAGED_UPDATE_E_METHOD      0
    ngx_http_staged_update_json_error("method not allowed, use GET or HEAD"),
#define NGX_HTTP_STAGED_UPDATE_E_DUP         1
    ngx_http_staged_update_json_error("a parameter is given more than once"),
#define NGX_HTTP_STAGED_UPDATE_E_NOVERSION   2
    ngx_http_staged_update_json_error("version is missing"),
#define NGX_HTTP_STAGED_UPDATE_E_VERSION     3
    ngx_http_staged_update_json_error("version is malformed: 1 to 4 "
                                      "dot-separated numbers of at most 9 "
                                      "digits, such as 1.2.3"),
#define NGX_HTTP_STAGED_UPDATE_E_SERVER      4
    ngx_http_staged_update_json_error("server is malformed: 1 to 64 "
                                      "letters, digits, '.', '_', '-' or ':'"),
#define NGX_HTTP_STAGED_UPDATE_E_CLIENT      5
    ngx_http_staged_update_json_error("client is malformed: 1 to 128 "
                                      "letters, digits, '.', '_', '-' or ':'"),
#define NGX_HTTP_STAGED_UPDATE_E_UNKNOWN     6
    ngx_http_staged_update_json_error("unknown server"),
#define NGX_HTTP_STAGED_UPDATE_E_ESCAPE      7
    ngx_http_staged_update_json_error("a parameter has a malformed percent "
                                      "escape: a % is followed by two hex "
                                      "digits"),
#define NGX_HTTP_STAGED_UPDATE_E_NOCLIENT    8
    ngx_http_staged_update_json_error("client is missing: the download "
                                      "tokens of this track are bound to a "
                                      "client key"),
#define NGX_HTTP_STAGED_UPDATE_E_NOTOKEN     9
    ngx_http_staged_update_json_error("download token is missing"),
#define NGX_HTTP_STAGED_UPDATE_E_TOKEN       10
    ngx_http_staged_update_json_error("download token is malformed"),
#define NGX_HTTP_STAGED_UPDATE_E_EXPIRED     11
    ngx_http_staged_update_json_error("download token has expired"),
#define NGX_HTTP_STAGED_UPDATE_E_INVALID     12
    ngx_http_staged_update_json_error("download token does not open this "
                                      "file")
};


static ngx_str_t  ngx_http_staged_update_decisions[] = {
    ngx_null_string,
    ngx_string("none"),
    ngx_string("upgrade"),
    ngx_string("mandatory"),
    ngx_string("invalid"),
    ngx_string("deferred")
};


ngx_str_t  ngx_http_staged_update_reasons[] = {
    ngx_string("latest"),
    ngx_string("minimum"),
    ngx_null_string,                                 /* the rule's text */
    ngx_string("default"),
    ngx_string("paused"),                            /* overrides */
    ngx_string("halted"),
    ngx_string("rate")                               /* the cap deferred */
};


static ngx_http_variable_t  ngx_http_staged_update_vars[] = {

    { ngx_string("staged_update_decision"), NULL,
      ngx_http_staged_update_variable,
      offsetof(ngx_http_staged_update_ctx_t, decision), 0, 0 },

    { ngx_string("staged_update_target"), NULL,
      ngx_http_staged_update_variable,
      offsetof(ngx_http_staged_update_ctx_t, target), 0, 0 },

    { ngx_string("staged_update_rule"), NULL,
      ngx_http_staged_update_variable,
      offsetof(ngx_http_staged_update_ctx_t, rule), 0, 0 },

    { ngx_string("staged_update_percent"), NULL,
      ngx_http_staged_update_variable,
      offsetof(ngx_http_staged_update_ctx_t, pct), 0, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_staged_update_json = ngx_string("application/json");


ngx_int_t
ngx_http_staged_update_handler(ngx_http_request_t *r)
{
    u_char                                *p;
    uint32_t                               bucket;
    uint64_t                               key_hash, *key;
    ngx_int_t                              rc;
    ngx_str_t                              value[NGX_HTTP_STAGED_UPDATE_NINPUTS];
    ngx_uint_t                             e, mandatory, retry;
    ngx_http_staged_update_ctx_t          *ctx;
    ngx_http_staged_update_track_t        *track;
    ngx_http_staged_update_release_t      *rel;
    ngx_http_staged_update_version_t       v;
    ngx_http_staged_update_decision_t      d;
    ngx_http_staged_update_loc_conf_t     *slcf;
    ngx_http_staged_update_slot_t         *slot;
    ngx_http_staged_update_vcache_t       *vc;
    const ngx_http_staged_update_scope_t  *server;

    ctx = ngx_palloc(r->pool, sizeof(ngx_http_staged_update_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_staged_update_module);

    ctx->decision = NGX_HTTP_STAGED_UPDATE_INVALID;
    ngx_str_null(&ctx->target);
    ngx_str_null(&ctx->rule);
    ctx->pct_len = 0;
    ctx->download = NULL;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_staged_update_module);
    track = slcf->track;

    key = &key_hash;

    rc = ngx_http_staged_update_input_get(r, slcf, track, value, &v, &vc,
                                          &server, &key, &e);

    if (rc == NGX_DECLINED) {
        goto invalid;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_staged_update_decide(track->shared, server, &v, &d);

    /* a ramp's percentage in force now (see *_shape.c) */

    d.pct = ngx_http_staged_update_pct_now(track, d.pct);

    rel = (ngx_http_staged_update_release_t *) track->releases.elts
          + d.scope->release;

    ngx_http_staged_update_state_apply(track, &d);

    /* the draw: sticky with a client key, otherwise fresh; none when manual */

    if (d.pct == 0 || d.pct == NGX_HTTP_STAGED_UPDATE_PCT_MAX
        || (value[NGX_HTTP_STAGED_UPDATE_MANUAL].len
            && ngx_http_staged_update_truthy(
                   value[NGX_HTTP_STAGED_UPDATE_MANUAL].data,
                   value[NGX_HTTP_STAGED_UPDATE_MANUAL].len)))
    {
        bucket = 0;

    } else if (value[NGX_HTTP_STAGED_UPDATE_CLIENT].len) {
        bucket = ngx_http_staged_update_bucket(rel->salt,
                     value[NGX_HTTP_STAGED_UPDATE_CLIENT].data,
                     value[NGX_HTTP_STAGED_UPDATE_CLIENT].len);

    } else {
        bucket = (uint32_t) (((uint64_t) (ngx_random() & 0x7fffffff)
                              * NGX_HTTP_STAGED_UPDATE_PCT_MAX) >> 31);
    }

    mandatory = (d.reason == NGX_HTTP_STAGED_UPDATE_MINIMUM);

    if (ngx_http_staged_update_granted(bucket, d.pct)) {
        ctx->decision = mandatory ? NGX_HTTP_STAGED_UPDATE_MANDATORY
                                  : NGX_HTTP_STAGED_UPDATE_UPGRADE;

    } else {
        ctx->decision = NGX_HTTP_STAGED_UPDATE_NONE;
    }

    /* a grant the rate cap has no room for: deferred, with Retry-After */

    retry = 0;

    if (track->shape && ctx->decision != NGX_HTTP_STAGED_UPDATE_NONE) {
        retry = ngx_http_staged_update_shape_grant(track, server, mandatory,
                                                   &d.scope);
        if (retry) {
            ctx->decision = NGX_HTTP_STAGED_UPDATE_DEFERRED;
            d.rule = NULL;
            d.reason = NGX_HTTP_STAGED_UPDATE_RATE;

            p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
            if (p == NULL
                || ngx_http_staged_update_header(r, &(ngx_str_t)
                                                 ngx_string("Retry-After"), p,
                                                 ngx_sprintf(p, "%ui", retry)
                                                 - p)
                   == NULL)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    if (ctx->decision == NGX_HTTP_STAGED_UPDATE_UPGRADE
        || ctx->decision == NGX_HTTP_STAGED_UPDATE_MANDATORY)
    {
        ngx_http_staged_update_report_grant(track, d.scope);
    }

    /* the trace: "<table>:<latest|minimum|default|rule>" and "50.00" */

    ctx->target = rel->version;

    /* the rule's text, percentage and counters, made at load (counters.c) */

    slot = ngx_http_staged_update_slot(track, &d);
    ctx->rule = slot->rule;

    if (d.pct == slot->pct) {
        ngx_memcpy(ctx->pct, slot->pct_text, NGX_HTTP_STAGED_UPDATE_PCT_LEN);
        ctx->pct_len = slot->pct_len;

    } else {
        ctx->pct_len = ngx_http_staged_update_pct_print(ctx->pct, d.pct);
    }

    ngx_http_staged_update_count(track, slot,
                                 ctx->decision
                                     == NGX_HTTP_STAGED_UPDATE_UPGRADE
                                 || ctx->decision
                                     == NGX_HTTP_STAGED_UPDATE_MANDATORY,
                                 &v, key, vc);

    if (slcf->trace && ngx_http_staged_update_trace(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_staged_update_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->decision == NGX_HTTP_STAGED_UPDATE_NONE || retry) {
        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    return ngx_http_staged_update_answer(r, slcf, rel, &v, value, mandatory);

invalid:

    ngx_http_staged_update_count_error(track, e);

    return ngx_http_staged_update_refuse(r, e);
}


/*
 * What a check takes, read and validated: the method, the version parsed
 * (or taken from this worker's cache: *vc), the server looked up in
 * track's tables, the client key checked and hashed (*key: NULL without
 * one).  NGX_OK; NGX_DECLINED with the error in *e for a bad request (see
 * ngx_http_staged_update_refuse()); or a status for the handler to return.
 * The check and staged_update_explain share it (the check inlines it).
 */

static ngx_http_staged_update_inline ngx_int_t
ngx_http_staged_update_input_get(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf,
    ngx_http_staged_update_track_t *track, ngx_str_t *value,
    ngx_http_staged_update_version_t *v, ngx_http_staged_update_vcache_t **vc,
    const ngx_http_staged_update_scope_t **server, uint64_t **key,
    ngx_uint_t *e)
{
    ngx_int_t  rc;

    /* an answer is a decision, not a document: no 304 or 412 for it */

    r->disable_not_modified = 1;

    *e = NGX_HTTP_STAGED_UPDATE_E_METHOD;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_DECLINED;
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    rc = ngx_http_staged_update_read(r, slcf, value);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        *e = NGX_HTTP_STAGED_UPDATE_E_DUP;
        return NGX_DECLINED;
    }

    if (rc == NGX_DONE) {
        *e = NGX_HTTP_STAGED_UPDATE_E_ESCAPE;
        return NGX_DECLINED;
    }

    if (value[NGX_HTTP_STAGED_UPDATE_VERSION].len == 0) {
        *e = NGX_HTTP_STAGED_UPDATE_E_NOVERSION;
        return NGX_DECLINED;
    }

    if (ngx_http_staged_update_version_get(track,
            value[NGX_HTTP_STAGED_UPDATE_VERSION].data,
            value[NGX_HTTP_STAGED_UPDATE_VERSION].len, v, vc)
        != NULL)
    {
        *e = NGX_HTTP_STAGED_UPDATE_E_VERSION;
        return NGX_DECLINED;
    }

    *server = NULL;

    if (value[NGX_HTTP_STAGED_UPDATE_SERVER].len) {

        if (!ngx_http_staged_update_safe(
                 value[NGX_HTTP_STAGED_UPDATE_SERVER].data,
                 value[NGX_HTTP_STAGED_UPDATE_SERVER].len,
                 NGX_HTTP_STAGED_UPDATE_ID_MAXLEN))
        {
            *e = NGX_HTTP_STAGED_UPDATE_E_SERVER;
            return NGX_DECLINED;
        }

        *server = ngx_http_staged_update_table_server(track->shared,
                      value[NGX_HTTP_STAGED_UPDATE_SERVER].data,
                      value[NGX_HTTP_STAGED_UPDATE_SERVER].len);

        if (*server == NULL) {
            *e = NGX_HTTP_STAGED_UPDATE_E_UNKNOWN;
            return NGX_DECLINED;
        }
    }

    if (value[NGX_HTTP_STAGED_UPDATE_CLIENT].len == 0) {
        *key = NULL;

        /* tokens bound to a client, and no client: tokens anyone could use */

        if (track->token.client) {
            *e = NGX_HTTP_STAGED_UPDATE_E_NOCLIENT;
            return NGX_DECLINED;
        }

    } else if (!ngx_http_staged_update_key_hash(
                    value[NGX_HTTP_STAGED_UPDATE_CLIENT].data,
                    value[NGX_HTTP_STAGED_UPDATE_CLIENT].len,
                    NGX_HTTP_STAGED_UPDATE_KEY_MAXLEN, *key))
    {
        *e = NGX_HTTP_STAGED_UPDATE_E_CLIENT;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_staged_update_validate(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf,
    ngx_http_staged_update_track_t *track, ngx_str_t *value,
    ngx_http_staged_update_version_t *v,
    const ngx_http_staged_update_scope_t **server, ngx_uint_t *e)
{
    uint64_t                          key_hash, *key;
    ngx_http_staged_update_vcache_t  *vc;

    key = &key_hash;

    return ngx_http_staged_update_input_get(r, slcf, track, value, v, &vc,
                                            server, &key, e);
}


/*
 * The version, server and client values.  A "$arg_name" input is read
 * here, in one pass over the query string: an argument given twice is
 * NGX_DECLINED; its value is percent-decoded, and a malformed escape is
 * NGX_DONE.
 */

static ngx_http_staged_update_inline ngx_int_t
ngx_http_staged_update_read(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf, ngx_str_t *value)
{
    u_char                          *p, *last, *name, *eq;
    ssize_t                          n;
    ngx_uint_t                       k, fast, seen;
    ngx_http_staged_update_input_t  *input;

    input = slcf->input;
    fast = 0;

    for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NINPUTS; k++) {
        ngx_str_null(&value[k]);

        if (input[k].cv) {
            if (ngx_http_complex_value(r, input[k].cv, &value[k]) != NGX_OK) {
                return NGX_ERROR;
            }

        } else {
            fast = 1;
        }
    }

    if (!fast || r->args.len == 0) {
        return NGX_OK;
    }

    seen = 0;
    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        name = p;

        p = memchr(p, '&', last - p);

        if (p == NULL) {
            p = last;
        }

        eq = memchr(name, '=', p - name);

        if (eq == NULL) {
            eq = p;
        }

        for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NINPUTS; k++) {

            if (input[k].cv == NULL
                && (size_t) (eq - name) == input[k].arg.len
                && ((name[0] ^ input[k].arg.data[0]) & ~0x20) == 0
                && (ngx_memcmp(name, input[k].arg.data, input[k].arg.len)
                    == 0
                    || ngx_strncasecmp(name, input[k].arg.data,
                                       input[k].arg.len)
                       == 0))
            {
                if (seen & (1 << k)) {
                    return NGX_DECLINED;
                }

                seen |= 1 << k;

                value[k].data = (eq < p) ? eq + 1 : eq;
                value[k].len = p - value[k].data;
            }
        }

        p++;
    }

    /*
     * launchers' URL libraries escape ":" and more; one memchr() over the
     * query keeps the decoding off the common path
     */

    if (memchr(r->args.data, '%', r->args.len) == NULL) {
        return NGX_OK;
    }

    for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NINPUTS; k++) {

        if (input[k].cv
            || ngx_strlchr(value[k].data, value[k].data + value[k].len, '%')
               == NULL)
        {
            continue;
        }

        p = ngx_pnalloc(r->pool, value[k].len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        n = ngx_http_staged_update_unescape(p, value[k].data, value[k].len);

        if (n < 0) {
            return NGX_DONE;
        }

        value[k].data = p;
        value[k].len = n;
    }

    return NGX_OK;
}


/*
 * An upgrade: the manifest, or in redirect mode a 302 to the artifact
 * that takes this client there (its delta, else the full archive; the
 * manifest when the release has neither).
 */

static ngx_int_t
ngx_http_staged_update_answer(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf,
    ngx_http_staged_update_release_t *rel,
    ngx_http_staged_update_version_t *v, ngx_str_t *value,
    ngx_uint_t mandatory)
{
    u_char                             *p;
    ngx_int_t                           a;
    ngx_str_t                           part[6], list, art, *server, *client;
    ngx_uint_t                          n;
    ngx_http_staged_update_track_t     *track;

    track = slcf->track;
    server = &value[NGX_HTTP_STAGED_UPDATE_SERVER];
    client = &value[NGX_HTTP_STAGED_UPDATE_CLIENT];

    /* the artifact: a delta from v, else the full archive, else none */

    a = ngx_http_staged_update_release_artifact(rel, v);

    if (slcf->mode == NGX_HTTP_STAGED_UPDATE_REDIRECT && a != -1) {
        return ngx_http_staged_update_redirect(r, track, rel,
                                               &rel->artifacts[a], client);
    }

    /* without a server ID or tokens: one piece, made at load */

    if (server->len == 0 && !track->token.on && rel->whole
        && rel->whole[2 * (a + 1) + mandatory].len)
    {
        return ngx_http_staged_update_send(r,
                                           &rel->whole[2 * (a + 1) + mandatory],
                                           1);
    }

    /* head, the server ID, the artifact, mid, the files, the tail */

    n = 0;
    part[n++] = rel->head[mandatory];

    if (server->len) {
        p = ngx_pnalloc(r->pool, sizeof(",\"server\":\"\"") - 1 + server->len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        part[n].data = p;
        p = ngx_cpymem(p, ",\"server\":\"", sizeof(",\"server\":\"") - 1);
        p = ngx_cpymem(p, server->data, server->len);
        *p++ = '"';
        part[n].len = p - part[n].data;
        n++;
    }

    if (track->token.on) {
        if (ngx_http_staged_update_tokens(r, track, rel, client, &list, &art,
                                          a)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        list = rel->list;

        if (a != -1) {
            art = rel->artifacts[a].part;
        }
    }

    if (a != -1) {
        part[n++] = art;
    }

    part[n++] = rel->mid;
    part[n++] = list;
    part[n++] = rel->tail;

    return ngx_http_staged_update_send(r, part, n);
}


/*
 * The whole manifests of a track's releases, for each artifact (and none)
 * and with "mandatory" false and true: an answer without a server ID or
 * tokens is then sent in one piece.  Left out above 64k.
 */

ngx_int_t
ngx_http_staged_update_answers_init(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    u_char                            *p;
    size_t                             len;
    ngx_int_t                          a;
    ngx_uint_t                         i, m;
    ngx_str_t                         *w;
    ngx_http_staged_update_release_t  *rel;

    if (track->token.on) {
        return NGX_OK;
    }

    rel = track->releases.elts;

    for (i = 0; i < track->releases.nelts; i++) {
        rel[i].whole = ngx_pcalloc(cf->pool, 2 * (rel[i].nartifacts + 1)
                                             * sizeof(ngx_str_t));
        if (rel[i].whole == NULL) {
            return NGX_ERROR;
        }

        for (a = -1; a < (ngx_int_t) rel[i].nartifacts; a++) {
            for (m = 0; m < 2; m++) {
                len = rel[i].head[m].len + rel[i].mid.len + rel[i].list.len
                      + rel[i].tail.len
                      + (a == -1 ? 0 : rel[i].artifacts[a].part.len);

                if (len > 65536) {
                    continue;
                }

                p = ngx_pnalloc(cf->pool, len);
                if (p == NULL) {
                    return NGX_ERROR;
                }

                w = &rel[i].whole[2 * (a + 1) + m];
                w->data = p;

                p = ngx_cpymem(p, rel[i].head[m].data, rel[i].head[m].len);

                if (a != -1) {
                    p = ngx_cpymem(p, rel[i].artifacts[a].part.data,
                                   rel[i].artifacts[a].part.len);
                }

                p = ngx_cpymem(p, rel[i].mid.data, rel[i].mid.len);
                p = ngx_cpymem(p, rel[i].list.data, rel[i].list.len);
                p = ngx_cpymem(p, rel[i].tail.data, rel[i].tail.len);

                w->len = p - w->data;
            }
        }
    }

    return NGX_OK;
}


/*
 * A token's expiry: at least the track's ttl from now, rounded up to a
 * minute, so that a worker makes a release's tokens once a minute (without
 * a client binding), not once a request.
 */

static time_t
ngx_http_staged_update_expires(ngx_http_staged_update_track_t *track)
{
    return (ngx_time() + track->token.ttl) / 60 * 60 + 60;
}


/*
 * The files and the artifact with tokens, in the request's pool.  Without
 * a client binding, the tokens of this worker are made once for each
 * expiry (see ngx_http_staged_update_expires()).
 */

static ngx_int_t
ngx_http_staged_update_tokens(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel, ngx_str_t *client,
    ngx_str_t *list, ngx_str_t *part, ngx_int_t artifact)
{
    time_t       expires;
    ngx_str_t   *parts, none;
    ngx_pool_t  *pool;

    expires = ngx_http_staged_update_expires(track);

    if (track->token.client && client->len) {
        parts = ngx_palloc(r->pool, (rel->nartifacts + 1) * sizeof(ngx_str_t));
        if (parts == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_staged_update_release_tokens(r->pool, track, rel,
                                                  expires, client, list,
                                                  parts)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (artifact != -1) {
            *part = parts[artifact];
        }

        return NGX_OK;
    }

    if (rel->expires != expires) {
        pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
        if (pool == NULL) {
            return NGX_ERROR;
        }

        parts = ngx_palloc(pool, (rel->nartifacts + 1) * sizeof(ngx_str_t));
        ngx_str_null(&none);

        if (parts == NULL
            || ngx_http_staged_update_release_tokens(pool, track, rel,
                                                     expires, &none,
                                                     &rel->tok_list, parts)
               != NGX_OK)
        {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        if (rel->pool) {
            ngx_destroy_pool(rel->pool);
        }

        rel->pool = pool;
        rel->tok_parts = parts;
        rel->expires = expires;
    }

    /* a copy: the next minute's tokens replace these while we send */

    list->len = rel->tok_list.len;
    list->data = ngx_pstrdup(r->pool, &rel->tok_list);

    if (list->data == NULL) {
        return NGX_ERROR;
    }

    if (artifact != -1) {
        part->len = rel->tok_parts[artifact].len;
        part->data = ngx_pstrdup(r->pool, &rel->tok_parts[artifact]);

        if (part->data == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_redirect(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel,
    ngx_http_staged_update_artifact_t *a, ngx_str_t *client)
{
    u_char      *p;
    time_t       expires;
    ngx_str_t    location;

    location = a->url;

    if (track->token.on) {
        expires = ngx_http_staged_update_expires(track);

        p = ngx_pnalloc(r->pool, a->url.len + sizeof("?token=") - 1
                                 + NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        location.data = p;
        p = ngx_sprintf(p, "%V?token=", &a->url);
        p += ngx_http_staged_update_token_sign(p, &track->token.secrets[0],
                 rel->version.data, rel->version.len, expires,
                 track->token.client ? client->data : NULL,
                 track->token.client ? client->len : 0,
                 a->path.data, a->path.len);
        location.len = p - location.data;
    }

    ngx_http_clear_location(r);

    r->headers_out.location = ngx_http_staged_update_header(r,
                                  &(ngx_str_t) ngx_string("Location"),
                                  location.data, location.len);
    if (r->headers_out.location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_MOVED_TEMPORARILY;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* a JSON answer (unless typed otherwise) of n parts, sent as they are */

ngx_int_t
ngx_http_staged_update_send(ngx_http_request_t *r, ngx_str_t *part,
    ngx_uint_t n)
{
    off_t         len;
    u_char       *p, *last;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_uint_t    i;
    ngx_chain_t  *out, *cl, **ll;

    if (r->headers_out.content_type.len == 0) {
        r->headers_out.content_type = ngx_http_staged_update_json;
        r->headers_out.content_type_len = ngx_http_staged_update_json.len;
    }
    r->headers_out.content_length_n = 0;

    if (r->headers_out.status == 0) {
        r->headers_out.status = NGX_HTTP_OK;
    }

    for (i = 0; i < n; i++) {
        r->headers_out.content_length_n += part[i].len;
    }

    /* the header's digits here: cheaper than the filter's ngx_sprintf() */

    p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    len = r->headers_out.content_length_n;
    last = p + NGX_OFF_T_LEN;
    p = last;

    do {
        *--p = (u_char) ('0' + len % 10);
        len /= 10;
    } while (len);

    r->headers_out.content_length = ngx_http_staged_update_header(r,
                                  &(ngx_str_t) ngx_string("Content-Length"),
                                  p, last - p);
    if (r->headers_out.content_length == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out = NULL;
    ll = &out;
    b = NULL;

    for (i = 0; i < n; i++) {
        if (part[i].len == 0) {
            continue;
        }

        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);

        if (b == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        b->pos = part[i].data;
        b->last = part[i].data + part[i].len;
        b->memory = 1;

        cl->buf = b;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
    }

    if (b == NULL) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    return ngx_http_output_filter(r, out);
}


/*
 * staged_update_verify: a download must carry a token that the track's
 * secret (or, for a grace period, the previous one) made for this path,
 * and that has not expired; 403 with a JSON body otherwise.
 */

ngx_int_t
ngx_http_staged_update_verify_handler(ngx_http_request_t *r)
{
    u_char                              *p, *src;
    size_t                               n;
    ngx_int_t                            rc;
    ngx_str_t                            token;
    ngx_uint_t                           e;
    ngx_http_staged_update_track_t      *track;
    ngx_http_staged_update_loc_conf_t   *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_staged_update_module);

    if (slcf->verify == NULL) {
        return NGX_DECLINED;
    }

    track = slcf->verify;

    if (ngx_http_arg(r, (u_char *) "token", 5, &token) != NGX_OK) {
        e = NGX_HTTP_STAGED_UPDATE_E_NOTOKEN;
        goto forbidden;
    }

    /* some HTTP clients escape "~" */

    if (token.len <= NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN
        && ngx_strlchr(token.data, token.data + token.len, '%'))
    {
        p = ngx_pnalloc(r->pool, token.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        src = token.data;
        token.data = p;
        ngx_unescape_uri(&p, &src, token.len, NGX_UNESCAPE_URI);
        token.len = p - token.data;
    }

    n = (track->token.secrets[1].len && ngx_time() < track->token.previous_until)
        ? 2 : 1;

    switch (ngx_http_staged_update_token_verify(token.data, token.len,
                                                track->token.secrets, n,
                                                r->uri.data, r->uri.len,
                                                ngx_time()))
    {
    case NGX_HTTP_STAGED_UPDATE_TOKEN_OK:
        ngx_http_staged_update_report_download(r, track, &token);
        return ngx_http_staged_update_download(r, track, &token);

    case NGX_HTTP_STAGED_UPDATE_TOKEN_EXPIRED:
        e = NGX_HTTP_STAGED_UPDATE_E_EXPIRED;
        break;

    case NGX_HTTP_STAGED_UPDATE_TOKEN_INVALID:
        e = NGX_HTTP_STAGED_UPDATE_E_INVALID;
        break;

    default: /* NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED */
        e = NGX_HTTP_STAGED_UPDATE_E_TOKEN;
        break;
    }

forbidden:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "staged_update_verify: %V",
                  &ngx_http_staged_update_errors[e]);

    rc = ngx_http_staged_update_error(r, NGX_HTTP_FORBIDDEN,
                                      &ngx_http_staged_update_errors[e]);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/* a download that a token opened: counted once it is sent */

static ngx_int_t
ngx_http_staged_update_download(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, ngx_str_t *token)
{
    ngx_atomic_t                  *n;
    ngx_http_staged_update_ctx_t  *ctx;

    n = ngx_http_staged_update_count_download(track, token->data, token->len);

    if (n == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_staged_update_ctx_t));
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    ctx->download = n;

    ngx_http_set_ctx(r, ctx, ngx_http_staged_update_module);

    return NGX_DECLINED;
}


/* the log phase: a download's file and the bytes of its body sent */

ngx_int_t
ngx_http_staged_update_log_handler(ngx_http_request_t *r)
{
    off_t                          sent;
    ngx_http_staged_update_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_staged_update_module);

    if (ctx == NULL || ctx->download == NULL) {
        return NGX_OK;
    }

    sent = r->connection->sent - r->header_size;

    if (r->headers_out.status == NGX_HTTP_OK
        || r->headers_out.status == NGX_HTTP_PARTIAL_CONTENT)
    {
        (void) ngx_atomic_fetch_add(&ctx->download[0], 1);
    }

    if (sent > 0) {
        (void) ngx_atomic_fetch_add(&ctx->download[1], sent);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_trace(ngx_http_request_t *r,
    ngx_http_staged_update_ctx_t *ctx)
{
    if (ngx_http_staged_update_header(r, &(ngx_str_t)
                                      ngx_string("X-Update-Rule"),
                                      ctx->rule.data, ctx->rule.len)
        == NULL
        || ngx_http_staged_update_header(r, &(ngx_str_t)
                                         ngx_string("X-Update-Percent"),
                                         ctx->pct, ctx->pct_len)
           == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_error(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    if (ngx_http_staged_update_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;

    return ngx_http_staged_update_send(r, body, 1);
}


/*
 * A bad request: 400 with the error e of ngx_http_staged_update_validate(),
 * or 405 with "Allow" for another method than GET or HEAD.
 */

ngx_int_t
ngx_http_staged_update_refuse(ngx_http_request_t *r, ngx_uint_t e)
{
    if (e != NGX_HTTP_STAGED_UPDATE_E_METHOD) {
        return ngx_http_staged_update_error(r, NGX_HTTP_BAD_REQUEST,
                                            &ngx_http_staged_update_errors[e]);
    }

    if (ngx_http_staged_update_header(r, &(ngx_str_t) ngx_string("Allow"),
                                      (u_char *) "GET, HEAD", 9)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_staged_update_error(r, NGX_HTTP_NOT_ALLOWED,
                                        &ngx_http_staged_update_errors[e]);
}


ngx_int_t
ngx_http_staged_update_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body)
{
    u_char       *p;
    size_t        len;
    ngx_chain_t  *cl;

    len = 0;

    if (r->request_body && r->request_body->temp_file) {
        return NGX_DECLINED;
    }

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        if (cl->buf->in_file) {
            return NGX_DECLINED;
        }

        len += cl->buf->last - cl->buf->pos;
    }

    if (len > max) {
        return NGX_DECLINED;
    }

    body->data = ngx_pnalloc(r->pool, len + 1);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    *p = '\0';
    body->len = len;

    return NGX_OK;
}


/* every answer is for one client at one moment: no cache keeps it */

ngx_int_t
ngx_http_staged_update_no_store(ngx_http_request_t *r)
{
    if (ngx_http_staged_update_header(r, &(ngx_str_t)
                                      ngx_string("Cache-Control"),
                                      (u_char *) "no-store", 8)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_inline ngx_table_elt_t *
ngx_http_staged_update_header(ngx_http_request_t *r, ngx_str_t *key,
    u_char *data, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key = *key;
    h->value.data = data;
    h->value.len = len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


ngx_int_t
ngx_http_staged_update_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_staged_update_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                      *s, pct;
    ngx_http_staged_update_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_staged_update_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case offsetof(ngx_http_staged_update_ctx_t, decision):
        s = &ngx_http_staged_update_decisions[ctx->decision];
        break;

    case offsetof(ngx_http_staged_update_ctx_t, pct):
        pct.data = ctx->pct;
        pct.len = ctx->pct_len;
        s = &pct;
        break;

    default: /* target, rule */
        s = (ngx_str_t *) ((u_char *) ctx + data);
        break;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}
