
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * The control API (staged_update_api), JSON over HTTP, relative to its
 * location:
 *
 *   GET    tracks                              the tracks
 *   GET    tracks/<track>                      tables, overrides, ETag
 *   PATCH  tracks/<track>[/servers/<id>]       {"paused": true, ...}
 *   DELETE tracks/<track>[/servers/<id>]/overrides
 *
 * Writes need write=on; If-Match with a stale ETag is 412.  Every error
 * is a 4xx with {"error": "..."}.
 */


#include "ngx_http_staged_update_control.h"
#include "ngx_http_staged_update_state.h"
#include "ngx_http_staged_update_handler.h"
#include "ngx_http_staged_update_shape.h"


#define NGX_HTTP_STAGED_UPDATE_R_LIST       0
#define NGX_HTTP_STAGED_UPDATE_R_TRACK      1
#define NGX_HTTP_STAGED_UPDATE_R_OVERRIDES  2


typedef struct {
    ngx_uint_t                          what;
    ngx_http_staged_update_track_t     *track;
    ngx_str_t                           server;    /* len 0: the track */
} ngx_http_staged_update_route_t;


static ngx_int_t ngx_http_staged_update_api_handler(ngx_http_request_t *r);
static void ngx_http_staged_update_api_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_staged_update_api_patch(ngx_http_request_t *r,
    ngx_http_staged_update_route_t *rt, u_char *body, size_t len);
static ngx_uint_t ngx_http_staged_update_api_route(ngx_http_request_t *r,
    ngx_http_staged_update_route_t *rt, ngx_int_t *rc);
static ngx_int_t ngx_http_staged_update_api_change(ngx_http_request_t *r,
    ngx_http_staged_update_route_t *rt, ngx_http_staged_update_ov_t *ov,
    size_t n);
static ngx_int_t ngx_http_staged_update_api_track(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track);
static ngx_int_t ngx_http_staged_update_api_list(ngx_http_request_t *r);
static ngx_int_t ngx_http_staged_update_api_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len, uint32_t *etag);
static ngx_int_t ngx_http_staged_update_api_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *fmt, ...);
static ngx_int_t ngx_http_staged_update_api_header(ngx_http_request_t *r,
    const char *key, u_char *value, size_t len);


char *
ngx_http_staged_update_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_staged_update_loc_conf_t *slcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->api) {
        return "is duplicate";
    }

    value = cf->args->elts;
    slcf->api = NGX_HTTP_STAGED_UPDATE_API_READ;

    if (cf->args->nelts == 2) {

        if (value[1].len == sizeof("write=on") - 1
            && ngx_strncmp(value[1].data, "write=on", value[1].len) == 0)
        {
            slcf->api = NGX_HTTP_STAGED_UPDATE_API_WRITE;

        } else if (value[1].len != sizeof("write=off") - 1
                   || ngx_strncmp(value[1].data, "write=off", value[1].len)
                      != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update_api: invalid parameter \"%V\", "
                               "expected write=on or write=off", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_staged_update_api_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_staged_update_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                           rc;
    const char                         *allow;
    ngx_uint_t                          write;
    ngx_http_core_loc_conf_t           *clcf;
    ngx_http_staged_update_route_t      rt;
    ngx_http_staged_update_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_staged_update_module);

    if (!ngx_http_staged_update_api_route(r, &rt, &rc)) {
        return rc;
    }

    write = (slcf->api == NGX_HTTP_STAGED_UPDATE_API_WRITE);

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (rt.what == NGX_HTTP_STAGED_UPDATE_R_LIST) {
            return ngx_http_staged_update_api_list(r);
        }

        return ngx_http_staged_update_api_track(r, rt.track);
    }

    if (write && rt.what == NGX_HTTP_STAGED_UPDATE_R_OVERRIDES
        && r->method == NGX_HTTP_DELETE)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_staged_update_api_change(r, &rt, NULL, 0);
    }

    if (write && rt.what == NGX_HTTP_STAGED_UPDATE_R_TRACK
        && r->method == NGX_HTTP_PATCH)
    {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        if (r->headers_in.content_length_n
            > (off_t) clcf->client_body_buffer_size)
        {
            return ngx_http_staged_update_api_error(r,
                       NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                       "the body is larger than %uz bytes "
                       "(client_body_buffer_size)",
                       clcf->client_body_buffer_size);
        }

        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r,
                                           ngx_http_staged_update_api_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    switch (rt.what) {

    case NGX_HTTP_STAGED_UPDATE_R_LIST:
        allow = "GET, HEAD";
        break;

    case NGX_HTTP_STAGED_UPDATE_R_TRACK:
        allow = write ? "GET, HEAD, PATCH" : "GET, HEAD";
        break;

    default: /* NGX_HTTP_STAGED_UPDATE_R_OVERRIDES */
        allow = write ? "GET, HEAD, DELETE" : "GET, HEAD";
        break;
    }

    if (ngx_http_staged_update_api_header(r, "Allow", (u_char *) allow,
                                          ngx_strlen(allow))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!write && (r->method & (NGX_HTTP_PATCH|NGX_HTTP_DELETE))) {
        return ngx_http_staged_update_api_error(r, NGX_HTTP_NOT_ALLOWED,
                   "this API is read-only (staged_update_api write=off)");
    }

    return ngx_http_staged_update_api_error(r, NGX_HTTP_NOT_ALLOWED,
                                            "method not allowed, use %s",
                                            allow);
}


static void
ngx_http_staged_update_api_body(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_str_t                        body;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_staged_update_route_t   rt;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (!ngx_http_staged_update_api_route(r, &rt, &rc)) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    rc = ngx_http_staged_update_body(r, clcf->client_body_buffer_size, &body);

    if (rc == NGX_DECLINED) {
        rc = ngx_http_staged_update_api_error(r,
                 NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                 "the body is larger than %uz bytes "
                 "(client_body_buffer_size)", clcf->client_body_buffer_size);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
        ngx_http_staged_update_api_patch(r, &rt, body.data, body.len));
}


static ngx_int_t
ngx_http_staged_update_api_patch(ngx_http_request_t *r,
    ngx_http_staged_update_route_t *rt, u_char *body, size_t len)
{
    char                                   err[NGX_HTTP_STAGED_UPDATE_ERR_LEN];
    size_t                                 i, n;
    const char                            *e;
    ngx_http_staged_update_ov_t           *ov;
    const ngx_http_staged_update_scope_t  *scope;

    ov = ngx_palloc(r->pool, NGX_HTTP_STAGED_UPDATE_PATCH_MAX
                             * sizeof(ngx_http_staged_update_ov_t));
    if (ov == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (len == 0) {
        return ngx_http_staged_update_api_error(r, NGX_HTTP_BAD_REQUEST,
                   "the body is empty: send a JSON object such as "
                   "{\"paused\": true}");
    }

    e = ngx_http_staged_update_patch_parse(body, len, ov,
                                           NGX_HTTP_STAGED_UPDATE_PATCH_MAX,
                                           &n, err, sizeof(err));
    if (e) {
        return ngx_http_staged_update_api_error(r, NGX_HTTP_BAD_REQUEST,
                                                "%s", e);
    }

    scope = &rt->track->shared->track;

    if (rt->server.len) {
        scope = ngx_http_staged_update_table_server(rt->track->shared,
                                                    rt->server.data,
                                                    rt->server.len);
    }

    e = ngx_http_staged_update_patch_check(rt->track->shared, scope, ov, n,
                                           err, sizeof(err));
    if (e) {
        return ngx_http_staged_update_api_error(r, NGX_HTTP_BAD_REQUEST,
                                                "%s", e);
    }

    /* a live rate replaces a cap of nginx.conf: its bucket is made at load */

    for (i = 0; i < n; i++) {
        if (ov[i].kind == NGX_HTTP_STAGED_UPDATE_OV_RATE
            && ngx_http_staged_update_shape_rate_get(rt->track, rt->server.data,
                                                 rt->server.len, &ov[i].conf,
                                                 NULL, NULL)
               != NGX_OK
            && !ov[i].remove)
        {
            return ngx_http_staged_update_api_error(r, NGX_HTTP_BAD_REQUEST,
                       "\"rate\": %s \"%V\" has no rate cap in nginx.conf; "
                       "a live rate changes a configured cap: add \"%s\" "
                       "there first", rt->server.len ? "server" : "track",
                       rt->server.len ? &rt->server : &rt->track->name,
                       rt->server.len ? "rate=" : "rate");
        }
    }

    return ngx_http_staged_update_api_change(r, rt, ov, n);
}


/* a PATCH's overrides, or ov NULL: DELETE .../overrides */

static ngx_int_t
ngx_http_staged_update_api_change(ngx_http_request_t *r,
    ngx_http_staged_update_route_t *rt, ngx_http_staged_update_ov_t *ov,
    size_t n)
{
    size_t       i, from_len;
    uint32_t     etag;
    ngx_int_t    rc;
    ngx_str_t   *if_match, *server;

    from_len = ngx_min(r->connection->addr_text.len,
                       NGX_HTTP_STAGED_UPDATE_FROM_MAXLEN);

    for (i = 0; i < n; i++) {
        ov[i].server_len = (uint32_t) rt->server.len;
        ngx_memcpy(ov[i].server, rt->server.data, rt->server.len);
        ov[i].when = ngx_time();
        ov[i].from_len = (uint32_t) from_len;
        ngx_memcpy(ov[i].from, r->connection->addr_text.data, from_len);
    }

    if_match = r->headers_in.if_match ? &r->headers_in.if_match->value : NULL;
    server = rt->server.len ? &rt->server : NULL;

    rc = ngx_http_staged_update_state_change(r->connection->log, rt->track,
                                             server, ov, n, if_match,
                                             &r->connection->addr_text, &etag);

    if (rc == NGX_DECLINED) {
        return ngx_http_staged_update_api_error(r,
                   NGX_HTTP_PRECONDITION_FAILED,
                   "If-Match: the track changed, its ETag is now "
                   "\"%uD\": read it again", etag);
    }

    if (rc == NGX_BUSY) {
        return ngx_http_staged_update_api_error(r, NGX_HTTP_CONFLICT,
                   "staged_update_zone \"%V\" has no room for more "
                   "overrides", &rt->track->zone->name);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_staged_update_api_track(r, rt->track);
}


/*
 * tracks, tracks/<track>, tracks/<track>/overrides,
 * tracks/<track>/servers/<id>, tracks/<track>/servers/<id>/overrides;
 * relative to the location's prefix.  Otherwise 0, after a 404 with a
 * JSON body whose result is in *rc.
 */

static ngx_uint_t
ngx_http_staged_update_api_route(ngx_http_request_t *r,
    ngx_http_staged_update_route_t *rt, ngx_int_t *rc)
{
    u_char                              *p, *last, *s;
    ngx_str_t                            seg[6];
    ngx_uint_t                           i, n;
    ngx_http_core_loc_conf_t            *clcf;
    ngx_http_staged_update_track_t     **tracks;
    ngx_http_staged_update_main_conf_t  *smcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    p = r->uri.data;
    last = p + r->uri.len;

    if (r->uri.len >= clcf->name.len
        && ngx_strncmp(p, clcf->name.data, clcf->name.len) == 0)
    {
        p += clcf->name.len;
    }

    n = 0;

    while (p < last) {
        while (p < last && *p == '/') {
            p++;
        }

        if (p == last) {
            break;
        }

        s = p;

        while (p < last && *p != '/') {
            p++;
        }

        if (n == 6) {
            goto unknown;
        }

        seg[n].data = s;
        seg[n++].len = p - s;
    }

    ngx_memzero(rt, sizeof(ngx_http_staged_update_route_t));

    if (n == 0 || seg[0].len != 6 || ngx_strncmp(seg[0].data, "tracks", 6))
    {
        goto unknown;
    }

    if (n == 1) {
        rt->what = NGX_HTTP_STAGED_UPDATE_R_LIST;
        return 1;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_staged_update_module);
    tracks = smcf->tracks.elts;

    for (i = 0; i < smcf->tracks.nelts; i++) {
        if (tracks[i]->name.len == seg[1].len
            && ngx_strncmp(tracks[i]->name.data, seg[1].data, seg[1].len)
               == 0)
        {
            rt->track = tracks[i];
            break;
        }
    }

    if (rt->track == NULL) {
        *rc = ngx_http_staged_update_api_error(r, NGX_HTTP_NOT_FOUND,
                                               "unknown track \"%V\"",
                                               &seg[1]);
        return 0;
    }

    i = 2;

    if (n >= 4 && seg[2].len == 7
        && ngx_strncmp(seg[2].data, "servers", 7) == 0)
    {
        if (ngx_http_staged_update_table_server(rt->track->shared,
                                                seg[3].data, seg[3].len)
            == NULL)
        {
            *rc = ngx_http_staged_update_api_error(r, NGX_HTTP_NOT_FOUND,
                      "track \"%V\" has no server \"%V\"", &seg[1],
                      &seg[3]);
            return 0;
        }

        rt->server = seg[3];
        i = 4;
    }

    if (i == n) {
        rt->what = NGX_HTTP_STAGED_UPDATE_R_TRACK;
        return 1;
    }

    if (i + 1 == n && seg[i].len == 9
        && ngx_strncmp(seg[i].data, "overrides", 9) == 0)
    {
        rt->what = NGX_HTTP_STAGED_UPDATE_R_OVERRIDES;
        return 1;
    }

unknown:

    *rc = ngx_http_staged_update_api_error(r, NGX_HTTP_NOT_FOUND,
               "unknown API path: use tracks, tracks/<track>, "
               "tracks/<track>/overrides, tracks/<track>/servers/<id> or "
               "tracks/<track>/servers/<id>/overrides");

    return 0;
}


static ngx_int_t
ngx_http_staged_update_api_track(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track)
{
    uint32_t   etag;
    ngx_str_t  doc;

    if (ngx_http_staged_update_state_json(r->pool, track, 1, &doc, &etag)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_staged_update_api_send(r, NGX_HTTP_OK, doc.data, doc.len,
                                           &etag);
}


static ngx_int_t
ngx_http_staged_update_api_list(ngx_http_request_t *r)
{
    u_char                              *p, *body;
    size_t                               len;
    ngx_uint_t                           i;
    ngx_http_staged_update_track_t     **tracks;
    ngx_http_staged_update_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_staged_update_module);
    tracks = smcf->tracks.elts;

    len = sizeof("{\"tracks\":[]}\n");

    for (i = 0; i < smcf->tracks.nelts; i++) {
        len += 1 + ngx_http_staged_update_json_str(NULL, tracks[i]->name.data,
                                                   tracks[i]->name.len);
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"tracks\":[", sizeof("{\"tracks\":[") - 1);

    for (i = 0; i < smcf->tracks.nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        p += ngx_http_staged_update_json_str(p, tracks[i]->name.data,
                                             tracks[i]->name.len);
    }

    p = ngx_cpymem(p, "]}", 2);

    return ngx_http_staged_update_api_send(r, NGX_HTTP_OK, body, p - body,
                                           NULL);
}


static ngx_int_t
ngx_http_staged_update_api_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len, uint32_t *etag)
{
    u_char       *p, *tag;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (ngx_http_staged_update_api_header(r, "Cache-Control",
                                          (u_char *) "no-store", 8)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (etag) {
        tag = ngx_pnalloc(r->pool, NGX_INT32_LEN + 2);
        if (tag == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_sprintf(tag, "\"%uD\"", *etag);

        if (ngx_http_staged_update_api_header(r, "ETag", tag, p - tag)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, body, len);
    *b->last++ = '\n';
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    /* If-Match is this API's own: not for the not_modified filter */

    r->disable_not_modified = 1;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_staged_update_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char    text[NGX_HTTP_STAGED_UPDATE_ERR_LEN * 2], *p, *body;
    size_t    len, tlen;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(text, text + sizeof(text), fmt, args);
    va_end(args);

    tlen = p - text;
    len = ngx_http_staged_update_json_str(NULL, text, tlen);

    body = ngx_pnalloc(r->pool, sizeof("{\"error\":}") + len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"error\":", sizeof("{\"error\":") - 1);
    p += ngx_http_staged_update_json_str(p, text, tlen);
    *p++ = '}';

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    return ngx_http_staged_update_api_send(r, status, body, p - body, NULL);
}


static ngx_int_t
ngx_http_staged_update_api_header(ngx_http_request_t *r, const char *key,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = value;
    h->value.len = len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}
