
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * A launcher's check: read the version, the server ID and the client key,
 * decide, and answer 204 (no upgrade), 200 with the manifest, or 302 to
 * the release archive; 400 or 405 with a JSON body for a bad request.
 */


#include "ngx_http_staged_update_handler.h"


#define NGX_HTTP_STAGED_UPDATE_NONE       1
#define NGX_HTTP_STAGED_UPDATE_UPGRADE    2
#define NGX_HTTP_STAGED_UPDATE_MANDATORY  3
#define NGX_HTTP_STAGED_UPDATE_INVALID    4


typedef struct {
    ngx_uint_t                          decision;
    ngx_str_t                           target;
    ngx_str_t                           rule;
    u_char                              pct[NGX_HTTP_STAGED_UPDATE_PCT_LEN];
    size_t                              pct_len;
} ngx_http_staged_update_ctx_t;


static ngx_int_t ngx_http_staged_update_read(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf, ngx_str_t *value);
static ngx_int_t ngx_http_staged_update_answer(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf,
    ngx_http_staged_update_ctx_t *ctx,
    ngx_http_staged_update_release_t *rel, ngx_str_t *server,
    ngx_uint_t mandatory);
static ngx_int_t ngx_http_staged_update_trace(ngx_http_request_t *r,
    ngx_http_staged_update_ctx_t *ctx);
static ngx_int_t ngx_http_staged_update_error(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);
static ngx_table_elt_t *ngx_http_staged_update_header(ngx_http_request_t *r,
    ngx_str_t *key, u_char *data, size_t len);
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
    ngx_http_staged_update_json_error("unknown server")
};


static ngx_str_t  ngx_http_staged_update_decisions[] = {
    ngx_null_string,
    ngx_string("none"),
    ngx_string("upgrade"),
    ngx_string("mandatory"),
    ngx_string("invalid")
};


static ngx_str_t  ngx_http_staged_update_reasons[] = {
    ngx_string("latest"),
    ngx_string("minimum"),
    ngx_null_string,                                 /* the rule's text */
    ngx_string("default")
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
    ngx_int_t                              rc;
    ngx_str_t                              value[NGX_HTTP_STAGED_UPDATE_NINPUTS];
    ngx_uint_t                             e, mandatory;
    ngx_http_staged_update_ctx_t          *ctx;
    ngx_http_staged_update_track_t        *track;
    ngx_http_staged_update_release_t      *rel;
    ngx_http_staged_update_version_t       v;
    ngx_http_staged_update_decision_t      d;
    ngx_http_staged_update_loc_conf_t     *slcf;
    const ngx_http_staged_update_scope_t  *server;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_staged_update_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_staged_update_module);

    ctx->decision = NGX_HTTP_STAGED_UPDATE_INVALID;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {

        if (ngx_http_staged_update_header(r, &(ngx_str_t) ngx_string("Allow"),
                                          (u_char *) "GET, HEAD", 9)
            == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_staged_update_error(r, NGX_HTTP_NOT_ALLOWED,
                   &ngx_http_staged_update_errors
                       [NGX_HTTP_STAGED_UPDATE_E_METHOD]);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_staged_update_module);
    track = slcf->track;

    rc = ngx_http_staged_update_read(r, slcf, value);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        e = NGX_HTTP_STAGED_UPDATE_E_DUP;
        goto invalid;
    }

    if (value[NGX_HTTP_STAGED_UPDATE_VERSION].len == 0) {
        e = NGX_HTTP_STAGED_UPDATE_E_NOVERSION;
        goto invalid;
    }

    if (ngx_http_staged_update_version_parse(
            value[NGX_HTTP_STAGED_UPDATE_VERSION].data,
            value[NGX_HTTP_STAGED_UPDATE_VERSION].len, &v)
        != NULL)
    {
        e = NGX_HTTP_STAGED_UPDATE_E_VERSION;
        goto invalid;
    }

    server = NULL;

    if (value[NGX_HTTP_STAGED_UPDATE_SERVER].len) {

        if (!ngx_http_staged_update_safe(
                 value[NGX_HTTP_STAGED_UPDATE_SERVER].data,
                 value[NGX_HTTP_STAGED_UPDATE_SERVER].len,
                 NGX_HTTP_STAGED_UPDATE_ID_MAXLEN))
        {
            e = NGX_HTTP_STAGED_UPDATE_E_SERVER;
            goto invalid;
        }

        server = ngx_http_staged_update_table_server(track->shared,
                     value[NGX_HTTP_STAGED_UPDATE_SERVER].data,
                     value[NGX_HTTP_STAGED_UPDATE_SERVER].len);

        if (server == NULL) {
            e = NGX_HTTP_STAGED_UPDATE_E_UNKNOWN;
            goto invalid;
        }
    }

    if (value[NGX_HTTP_STAGED_UPDATE_CLIENT].len
        && !ngx_http_staged_update_safe(
                value[NGX_HTTP_STAGED_UPDATE_CLIENT].data,
                value[NGX_HTTP_STAGED_UPDATE_CLIENT].len,
                NGX_HTTP_STAGED_UPDATE_KEY_MAXLEN))
    {
        e = NGX_HTTP_STAGED_UPDATE_E_CLIENT;
        goto invalid;
    }

    ngx_http_staged_update_decide(track->shared, server, &v, &d);

    rel = (ngx_http_staged_update_release_t *) track->releases.elts
          + d.scope->release;

    /* the draw: sticky with a client key, otherwise fresh */

    if (d.pct == 0 || d.pct == NGX_HTTP_STAGED_UPDATE_PCT_MAX) {
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

    if (bucket < d.pct) {
        ctx->decision = mandatory ? NGX_HTTP_STAGED_UPDATE_MANDATORY
                                  : NGX_HTTP_STAGED_UPDATE_UPGRADE;

    } else {
        ctx->decision = NGX_HTTP_STAGED_UPDATE_NONE;
    }

    /* the trace: "<table>:<latest|minimum|default|rule>" and "50.00" */

    ctx->target = rel->version;
    ctx->pct_len = ngx_http_staged_update_pct_print(ctx->pct, d.pct);

    if (d.rule) {
        ctx->rule.len = d.rule->text_len;
        ctx->rule.data = (u_char *) ngx_http_staged_update_str(track->shared,
                                                           d.rule->text);

    } else {
        ctx->rule = ngx_http_staged_update_reasons[d.reason];
    }

    p = ngx_pnalloc(r->pool, d.scope->name_len + 1 + ctx->rule.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->rule.len = ngx_sprintf(p, "%*s:%V", (size_t) d.scope->name_len,
                                ngx_http_staged_update_str(track->shared,
                                                        d.scope->name),
                                &ctx->rule)
                    - p;
    ctx->rule.data = p;

    if (slcf->trace && ngx_http_staged_update_trace(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_staged_update_answer(r, slcf, ctx, rel,
                                         server
                                         ? &value[NGX_HTTP_STAGED_UPDATE_SERVER]
                                         : NULL,
                                         mandatory);

invalid:

    return ngx_http_staged_update_error(r, NGX_HTTP_BAD_REQUEST,
                                        &ngx_http_staged_update_errors[e]);
}


/*
 * The version, server and client values.  A "$arg_name" input is read
 * here, in one pass over the query string: an argument given twice is
 * NGX_DECLINED.
 */

static ngx_int_t
ngx_http_staged_update_read(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf, ngx_str_t *value)
{
    u_char                          *p, *last, *name, *eq;
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
        eq = NULL;

        while (p < last && *p != '&') {
            if (eq == NULL && *p == '=') {
                eq = p;
            }

            p++;
        }

        if (eq == NULL) {
            eq = p;
        }

        for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NINPUTS; k++) {

            if (input[k].cv == NULL
                && (size_t) (eq - name) == input[k].arg.len
                && ngx_strncasecmp(name, input[k].arg.data, input[k].arg.len)
                   == 0)
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

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_answer(ngx_http_request_t *r,
    ngx_http_staged_update_loc_conf_t *slcf,
    ngx_http_staged_update_ctx_t *ctx,
    ngx_http_staged_update_release_t *rel, ngx_str_t *server,
    ngx_uint_t mandatory)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_uint_t    i, n;
    ngx_str_t     part[3];
    ngx_chain_t   out[3];

    if (ngx_http_staged_update_header(r, &(ngx_str_t)
                                      ngx_string("Cache-Control"),
                                      (u_char *) "no-store", 8)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->decision == NGX_HTTP_STAGED_UPDATE_NONE) {
        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    if (slcf->mode == NGX_HTTP_STAGED_UPDATE_REDIRECT) {
        ngx_http_clear_location(r);

        r->headers_out.location = ngx_http_staged_update_header(r,
                                      &(ngx_str_t) ngx_string("Location"),
                                      rel->archive.data, rel->archive.len);
        if (r->headers_out.location == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.status = NGX_HTTP_MOVED_TEMPORARILY;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    /* the manifest, built at load: one part, or three with a server ID */

    if (server == NULL) {
        part[0] = rel->body[mandatory];
        n = 1;

    } else {
        part[0] = rel->head[mandatory];
        part[1] = *server;
        part[2] = rel->tail;
        n = 3;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = ngx_http_staged_update_json;
    r->headers_out.content_type_len = ngx_http_staged_update_json.len;
    r->headers_out.content_length_n = 0;

    for (i = 0; i < n; i++) {
        r->headers_out.content_length_n += part[i].len;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    for (i = 0; i < n; i++) {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos = part[i].data;
        b->last = part[i].data + part[i].len;
        b->memory = 1;

        out[i].buf = b;
        out[i].next = (i + 1 < n) ? &out[i + 1] : NULL;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    return ngx_http_output_filter(r, &out[0]);
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
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    if (ngx_http_staged_update_header(r, &(ngx_str_t)
                                      ngx_string("Cache-Control"),
                                      (u_char *) "no-store", 8)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_type = ngx_http_staged_update_json;
    r->headers_out.content_type_len = ngx_http_staged_update_json.len;
    r->headers_out.content_length_n = body->len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_table_elt_t *
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
