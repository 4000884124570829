
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * The counters of every track are copied once into the request's pool
 * (the snapshot), then one writer renders the snapshot twice: to measure
 * the document, then into a buffer of that size, checking the bound at
 * every write.  JSON, Prometheus and the page render the same snapshot.
 */


#include "ngx_http_staged_update_status.h"
#include "ngx_http_staged_update_counters.h"
#include "ngx_http_staged_update_handler.h"
#include "ngx_http_staged_update_state.h"
#include "ngx_http_staged_update_shape.h"
#include "ngx_http_staged_update_report.h"


#define NGX_HTTP_STAGED_UPDATE_JSON       0
#define NGX_HTTP_STAGED_UPDATE_PROM       1
#define NGX_HTTP_STAGED_UPDATE_HTML       2


typedef struct {
    u_char                              *p;      /* NULL: measure */
    u_char                              *last;
    size_t                               len;
    ngx_uint_t                           overflow;
} ngx_http_staged_update_w_t;


typedef struct {
    ngx_http_staged_update_version_t     v;
    ngx_atomic_uint_t                    checks;
    ngx_int_t                            installations;  /* -1: none */
} ngx_http_staged_update_sversion_t;


typedef struct {
    ngx_http_staged_update_track_t      *track;
    ngx_uint_t                           on;
    ngx_atomic_uint_t                   *slots;   /* [slot][2] */
    ngx_atomic_uint_t                    errors[NGX_HTTP_STAGED_UPDATE_NERRORS];
    ngx_atomic_uint_t                    other;
    ngx_http_staged_update_sversion_t   *versions;
    ngx_uint_t                           nversions;
    ngx_atomic_uint_t                   *downloads;  /* [release][2] */
    ngx_atomic_uint_t                   *targets;    /* [release][3] */
    ngx_str_t                            live;       /* state.h's JSON */
    ngx_str_t                            shape;      /* shape.h's JSON */
    ngx_str_t                            reports;    /* report.h's JSON */
} ngx_http_staged_update_snap_t;


static ngx_int_t ngx_http_staged_update_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_staged_update_status_format(ngx_http_request_t *r,
    ngx_uint_t *format);
static ngx_int_t ngx_http_staged_update_snapshot(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, ngx_http_staged_update_snap_t *s);
static int ngx_libc_cdecl ngx_http_staged_update_sversion_cmp(const void *a,
    const void *b);
static void ngx_http_staged_update_render_json(ngx_http_staged_update_w_t *w,
    ngx_http_staged_update_snap_t *snap, ngx_uint_t n);
static void ngx_http_staged_update_render_prom(ngx_http_staged_update_w_t *w,
    ngx_http_staged_update_snap_t *snap, ngx_uint_t n);
static void ngx_http_staged_update_tables(ngx_http_staged_update_w_t *w,
    ngx_http_staged_update_track_t *track);
static void ngx_http_staged_update_w(ngx_http_staged_update_w_t *w,
    const void *s, size_t len);
static void ngx_http_staged_update_w_num(ngx_http_staged_update_w_t *w,
    uint64_t n);
static void ngx_http_staged_update_w_release(ngx_http_staged_update_w_t *w,
    ngx_uint_t k, ngx_str_t *version, const char **names,
    ngx_atomic_uint_t *values, ngx_uint_t n);
static void ngx_http_staged_update_w_pct(ngx_http_staged_update_w_t *w,
    uint32_t pct);
static void ngx_http_staged_update_w_str(ngx_http_staged_update_w_t *w,
    const u_char *s, size_t len);
static void ngx_http_staged_update_w_label(ngx_http_staged_update_w_t *w,
    const char *name, const u_char *s, size_t len);
static void ngx_http_staged_update_w_version(ngx_http_staged_update_w_t *w,
    const ngx_http_staged_update_version_t *v);
static ngx_int_t ngx_http_staged_update_status_error(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);
static ngx_int_t ngx_http_staged_update_status_send(ngx_http_request_t *r,
    ngx_str_t *type, u_char *data, size_t len);
static ngx_int_t ngx_http_staged_update_status_header(ngx_http_request_t *r,
    char *key, char *value);


/* a literal (the "" makes anything else a compile error) */
#define ngx_http_staged_update_ws(w, s)                                       \
    ngx_http_staged_update_w(w, "" s, sizeof(s) - 1)

#define ngx_http_staged_update_wz(w, s)                                       \
    ngx_http_staged_update_w(w, (s), ngx_strlen((s)))

#define ngx_http_staged_update_scope_at(t, i)                                 \
    ((i) ? (const ngx_http_staged_update_scope_t *)                           \
               ((const u_char *) (t) + (t)->servers) + (i) - 1                \
         : &(t)->track)

/* the index of a scope's first rule among all the rules of the table */
#define ngx_http_staged_update_rule_base(t, s)                                \
    (((s)->rules - (t)->track.rules) / sizeof(ngx_http_staged_update_rule_t))


static ngx_str_t  ngx_http_staged_update_status_errors[] = {
    ngx_string("{\"error\":\"method not allowed, use GET or HEAD\"}\n"),
    ngx_string("{\"error\":\"format is unknown: use json, prometheus or "
               "html\"}\n")
};


static ngx_str_t  ngx_http_staged_update_types[] = {
    ngx_string("application/json"),
    ngx_string("text/plain; version=0.0.4; charset=utf-8"),
    ngx_string("text/html; charset=utf-8")
};


/* the status page: it fetches ?format=json every 3 s and draws it */

static const char  ngx_http_staged_update_page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>staged update status</title>\n"
    "<style>\n"
    "body{margin:0;font:14px/1.4 system-ui,-apple-system,\"Segoe UI\",sans-serif;background:#f4f5f7;color:#1d2330}\n"
    "header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;align-items:baseline;gap:16px}\n"
    "header h1{font-size:18px;margin:0;font-weight:600}\n"
    "header span{color:#aab2c0;font-size:13px}\n"
    "main{padding:16px 24px;max-width:1200px}\n"
    ".track{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 20px;margin-bottom:20px}\n"
    ".track h2{margin:0 0 4px;font-size:20px}\n"
    ".meta{color:#5b6475;margin-bottom:12px}\n"
    ".meta b{color:#1d2330}\n"
    ".tiles{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}\n"
    ".tile{flex:1;min-width:120px;border-radius:6px;padding:10px 14px;background:#eef1f6}\n"
    ".tile .n{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}\n"
    ".tile .l{color:#5b6475;font-size:12px;text-transform:uppercase;letter-spacing:.05em}\n"
    ".none{border-left:4px solid #8a94a6}.upgrade{border-left:4px solid #2f7de1}\n"
    ".mandatory{border-left:4px solid #e0871b}.invalid{border-left:4px solid #d64545}.deferred{border-left:4px solid #7b61c9}\n"
    ".grid{display:grid;grid-template-columns:1fr 1fr;gap:20px}\n"
    "@media (max-width:900px){.grid{grid-template-columns:1fr}}\n"
    "h3{font-size:14px;margin:8px 0;color:#3a4252}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "th,td{text-align:right;padding:3px 8px;border-bottom:1px solid #e6e9ef}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "th{color:#5b6475;font-weight:500;font-size:12px}\n"
    "tr.scope td{font-weight:600;background:#f7f8fa}\n"
    "td.rule{padding-left:22px;color:#3a4252}\n"
    "svg text{font:11px system-ui,sans-serif;fill:#3a4252}\n"
    ".legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;border-radius:2px}\n"
    "#err{color:#d64545;padding:8px 24px}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<header><h1>staged update</h1><span id=\"when\">loading&hellip;</span></header>\n"
    "<div id=\"err\"></div>\n"
    "<main id=\"main\"></main>\n"
    "<script>\n"
    "(function () {\n"
    "  \"use strict\";\n"
    "  var url = location.pathname + \"?format=json\";\n"
    "\n"
    "  function esc(s) {\n"
    "    return String(s).replace(/[&<>\"']/g, function (c) {\n"
    "      return \"&#\" + c.charCodeAt(0) + \";\";\n"
    "    });\n"
    "  }\n"
    "\n"
    "  function num(path, n) {\n"
    "    return '<span data-k=\"' + esc(path) + '\">' + esc(n) + \"</span>\";\n"
    "  }\n"
    "\n"
    "  function pct(p) { return Number(p).toFixed(2) + \"%\"; }\n"
    "\n"
    "  function plural(n, w) { return n + \" \" + w + (n === 1 ? \"\" : \"s\"); }\n"
    "\n"
    "  function tile(cls, label, path, n) {\n"
    "    return '<div class=\"tile ' + cls + '\"><div class=\"n\">' + num(path, n) +\n"
    "           '</div><div class=\"l\">' + label + \"</div></div>\";\n"
    "  }\n"
    "\n"
    "  function chart(t, k) {\n"
    "    var v = t.versions, w = 560, row = 22, left = 90, h, i, max = 1, s, y;\n"
    "    if (!v.length) { return \"<p>no checks yet</p>\"; }\n"
    "    for (i = 0; i < v.length; i++) {\n"
    "      max = Math.max(max, v[i].checks, v[i].installations || 0);\n"
    "    }\n"
    "    h = v.length * row + 8;\n"
    "    s = '<svg width=\"100%\" viewBox=\"0 0 ' + w + \" \" + h + '\" role=\"img\">';\n"
    "    for (i = 0; i < v.length; i++) {\n"
    "      y = i * row + 4;\n"
    "      s += '<text x=\"' + (left - 6) + '\" y=\"' + (y + 13) +\n"
    "           '\" text-anchor=\"end\">' + esc(v[i].version) + \"</text>\";\n"
    "      s += '<rect x=\"' + left + '\" y=\"' + y + '\" height=\"8\" rx=\"2\" fill=\"#2f7de1\" width=\"' +\n"
    "           Math.max(1, (w - left - 60) * v[i].checks / max) + '\"></rect>';\n"
    "      if (v[i].installations !== null) {\n"
    "        s += '<rect x=\"' + left + '\" y=\"' + (y + 9) + '\" height=\"8\" rx=\"2\" fill=\"#2fae6a\" width=\"' +\n"
    "             Math.max(1, (w - left - 60) * v[i].installations / max) + '\"></rect>';\n"
    "      }\n"
    "      s += '<text x=\"' + (left + 4 + (w - left - 60) * v[i].checks / max) + '\" y=\"' + (y + 8) +\n"
    "           '\">' + esc(v[i].checks) + \"</text>\";\n"
    "    }\n"
    "    return s + \"</svg>\";\n"
    "  }\n"
    "\n"
    "  function track(t, k) {\n"
    "    var p = \"tracks.\" + k + \".\", s = \"\", i, j, sc, r, tb = t.tables;\n"
    "    s += '<section class=\"track\"><h2>' + esc(t.track) + \"</h2>\";\n"
    "    s += '<div class=\"meta\">latest <b>' + esc(tb.latest) + \"</b> &middot; minimum <b>\" +\n"
    "         esc(tb.minimum) + \"</b> &middot; default <b>\" + pct(tb[\"default\"]) + \"</b> &middot; \" +\n"
    "         plural(tb.rules.length, \"rule\") + \" &middot; \" + plural(tb.servers.length, \"server\") + \"</div>\";\n"
    "    if (t.live) {\n"
    "      s += '<div class=\"meta live\">' + (t.live.halted ? \"<b>halted</b>\" : t.live.paused ? \"<b>paused</b>\" : \"running\");\n"
    "      for (i = 0; i < t.live.overrides.length; i++) {\n"
    "        r = t.live.overrides[i];\n"
    "        s += \" &middot; \" + esc(r.server || t.track) + \" \" + esc(r.field) + (r.pattern ? \" \" + esc(r.pattern) : \"\") +\n"
    "             \" \" + esc(r.value) + (r.configured !== undefined ? \" (nginx.conf \" + esc(r.configured) + \")\" : \"\") +\n"
    "             \" by \" + esc(r.from) + \" at \" + esc(r.when);\n"
    "      }\n"
    "      s += \"</div>\";\n"
    "    }\n"
    "    if (!t.counters) { return s + \"<p>counters off</p></section>\"; }\n"
    "    s += '<div class=\"tiles\">' +\n"
    "         tile(\"none\", \"no upgrade\", p + \"checks.none\", t.checks.none) +\n"
    "         tile(\"upgrade\", \"upgrade\", p + \"checks.upgrade\", t.checks.upgrade) +\n"
    "         tile(\"mandatory\", \"mandatory\", p + \"checks.mandatory\", t.checks.mandatory) +\n"
    "         tile(\"deferred\", \"deferred\", p + \"checks.deferred\", t.checks.deferred) +\n"
    "         tile(\"invalid\", \"invalid\", p + \"checks.invalid\", t.checks.invalid) + \"</div>\";\n"
    "    s += '<div class=\"grid\"><div><h3>Rules</h3><table><tr><th>scope / rule</th><th>chance</th>' +\n"
    "         \"<th>checks</th><th>upgrades</th></tr>\";\n"
    "    for (i = 0; i < t.scopes.length && i < 200; i++) {\n"
    "      sc = t.scopes[i];\n"
    "      s += '<tr class=\"scope\"><td>' + esc(sc.scope) + \" &rarr; \" + esc(sc.target) +\n"
    "           \"</td><td></td><td>\" + num(p + \"scopes.\" + i + \".none\", sc.none) + \" none</td><td>\" +\n"
    "           num(p + \"scopes.\" + i + \".upgrade\", sc.upgrade) + \" + \" +\n"
    "           num(p + \"scopes.\" + i + \".mandatory\", sc.mandatory) + \" mand. + \" +\n"
    "           num(p + \"scopes.\" + i + \".deferred\", sc.deferred) + \" def.</td></tr>\";\n"
    "      for (j = 0; j < sc.rules.length; j++) {\n"
    "        r = sc.rules[j];\n"
    "        s += '<tr><td class=\"rule\">' + esc(r.rule) + \"</td><td>\" + pct(r.percent) + \"</td><td>\" +\n"
    "             num(p + \"scopes.\" + i + \".rules.\" + j + \".checks\", r.checks) + \"</td><td>\" +\n"
    "             num(p + \"scopes.\" + i + \".rules.\" + j + \".upgrades\", r.upgrades) + \"</td></tr>\";\n"
    "      }\n"
    "    }\n"
    "    s += \"</table>\";\n"
    "    s += \"<h3>Invalid checks</h3><table>\";\n"
    "    for (i in t.invalid) {\n"
    "      s += \"<tr><td>\" + esc(i.replace(/_/g, \" \")) + \"</td><td>\" +\n"
    "           num(p + \"invalid.\" + i, t.invalid[i]) + \"</td></tr>\";\n"
    "    }\n"
    "    s += \"</table></div><div><h3>Client versions</h3>\" +\n"
    "         '<div class=\"legend\"><span style=\"background:#2f7de1\"></span>checks' +\n"
    "         '<span style=\"background:#2fae6a\"></span>installations (estimate)</div>' + chart(t, k);\n"
    "    s += \"<table><tr><th>version</th><th>checks</th><th>installations</th></tr>\";\n"
    "    for (i = 0; i < t.versions.length; i++) {\n"
    "      s += \"<tr><td>\" + esc(t.versions[i].version) + \"</td><td>\" +\n"
    "           num(p + \"versions.\" + i + \".checks\", t.versions[i].checks) + \"</td><td>\" +\n"
    "           (t.versions[i].installations === null ? \"&ndash;\" :\n"
    "            num(p + \"versions.\" + i + \".installations\", t.versions[i].installations)) + \"</td></tr>\";\n"
    "    }\n"
    "    s += \"<tr><td>other</td><td>\" + num(p + \"versions_other\", t.versions_other) + \"</td><td></td></tr></table>\";\n"
    "    s += \"<h3>Targets</h3><table><tr><th>version</th><th>none</th><th>upgrade</th><th>mandatory</th></tr>\";\n"
    "    for (i = 0; i < t.targets.length; i++) {\n"
    "      s += \"<tr><td>\" + esc(t.targets[i].version) + \"</td><td>\" +\n"
    "           num(p + \"targets.\" + i + \".none\", t.targets[i].none) + \"</td><td>\" +\n"
    "           num(p + \"targets.\" + i + \".upgrade\", t.targets[i].upgrade) + \"</td><td>\" +\n"
    "           num(p + \"targets.\" + i + \".mandatory\", t.targets[i].mandatory) + \"</td></tr>\";\n"
    "    }\n"
    "    s += \"</table><h3>Downloads</h3><table><tr><th>release</th><th>files</th><th>bytes</th></tr>\";\n"
    "    for (i = 0; i < t.downloads.length; i++) {\n"
    "      s += \"<tr><td>\" + esc(t.downloads[i].version) + \"</td><td>\" +\n"
    "           num(p + \"downloads.\" + i + \".files\", t.downloads[i].files) + \"</td><td>\" +\n"
    "           num(p + \"downloads.\" + i + \".bytes\", t.downloads[i].bytes) + \"</td></tr>\";\n"
    "    }\n"
    "    return s + \"</table></div></div></section>\";\n"
    "  }\n"
    "\n"
    "  function refresh() {\n"
    "    fetch(url, { cache: \"no-store\" }).then(function (r) {\n"
    "      if (!r.ok) { throw new Error(\"HTTP \" + r.status); }\n"
    "      return r.json();\n"
    "    }).then(function (d) {\n"
    "      var s = \"\", i;\n"
    "      for (i = 0; i < d.tracks.length; i++) { s += track(d.tracks[i], i); }\n"
    "      document.getElementById(\"main\").innerHTML = s;\n"
    "      document.getElementById(\"err\").textContent = \"\";\n"
    "      document.getElementById(\"when\").textContent =\n"
    "        \"updated \" + new Date().toLocaleTimeString() + \", every 3 s\";\n"
    "      document.body.setAttribute(\"data-loaded\", \"1\");\n"
    "    }).catch(function (e) {\n"
    "      document.getElementById(\"err\").textContent = \"refresh failed: \" + e.message;\n"
    "    });\n"
    "  }\n"
    "\n"
    "  refresh();\n"
    "  setInterval(refresh, 3000);\n"
    "})();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";


char *
ngx_http_staged_update_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_staged_update_status_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_staged_update_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_staged_update_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_str_t                             funnels;
    ngx_uint_t                            i, n, format;
    ngx_http_staged_update_w_t            w;
    ngx_http_staged_update_snap_t        *snap;
    ngx_http_staged_update_track_t      **tracks;
    ngx_http_staged_update_main_conf_t   *smcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_staged_update_status_header(r, "Allow", "GET, HEAD")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_staged_update_status_error(r, NGX_HTTP_NOT_ALLOWED,
                   &ngx_http_staged_update_status_errors[0]);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_staged_update_status_format(r, &format) != NGX_OK) {
        return ngx_http_staged_update_status_error(r, NGX_HTTP_BAD_REQUEST,
                   &ngx_http_staged_update_status_errors[1]);
    }

    if (format == NGX_HTTP_STAGED_UPDATE_HTML) {
        return ngx_http_staged_update_status_send(r,
                   &ngx_http_staged_update_types[format],
                   (u_char *) ngx_http_staged_update_page,
                   sizeof(ngx_http_staged_update_page) - 1);
    }

    /* the counters, read once */

    smcf = ngx_http_get_module_main_conf(r, ngx_http_staged_update_module);

    tracks = smcf->tracks.elts;
    n = smcf->tracks.nelts;

    snap = ngx_pcalloc(r->pool,
                       (n + 1) * sizeof(ngx_http_staged_update_snap_t));
    if (snap == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_staged_update_snapshot(r, tracks[i], &snap[i]) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* the install reports' funnels, in Prometheus text (report.c) */

    ngx_str_null(&funnels);

    if (format != NGX_HTTP_STAGED_UPDATE_JSON
        && ngx_http_staged_update_report_prometheus(r->pool, smcf, &funnels)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* measured, then written */

    ngx_memzero(&w, sizeof(ngx_http_staged_update_w_t));

    if (format == NGX_HTTP_STAGED_UPDATE_JSON) {
        ngx_http_staged_update_render_json(&w, snap, n);

    } else {
        ngx_http_staged_update_render_prom(&w, snap, n);
        ngx_http_staged_update_w(&w, funnels.data, funnels.len);
    }

    w.p = ngx_pnalloc(r->pool, w.len);
    if (w.p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w.last = w.p + w.len;
    w.len = 0;

    if (format == NGX_HTTP_STAGED_UPDATE_JSON) {
        ngx_http_staged_update_render_json(&w, snap, n);

    } else {
        ngx_http_staged_update_render_prom(&w, snap, n);
        ngx_http_staged_update_w(&w, funnels.data, funnels.len);
    }

    if (w.overflow) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "staged_update_status: the document outgrew its "
                      "measure");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_staged_update_status_send(r,
               &ngx_http_staged_update_types[format], w.last - w.len, w.len);
}


/*
 * ?format=json|prometheus|html, else the Accept header: text/html is the
 * page, text/plain (as Prometheus asks) the metrics, anything else JSON.
 */

static ngx_int_t
ngx_http_staged_update_status_format(ngx_http_request_t *r,
    ngx_uint_t *format)
{
    ngx_str_t         value;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  names[] = {
        ngx_string("json"), ngx_string("prometheus"), ngx_string("html")
    };

    if (ngx_http_arg(r, (u_char *) "format", 6, &value) == NGX_OK) {

        for (i = 0; i < 3; i++) {
            if (value.len == names[i].len
                && ngx_strncmp(value.data, names[i].data, value.len) == 0)
            {
                *format = i;
                return NGX_OK;
            }
        }

        return NGX_DECLINED;
    }

    *format = NGX_HTTP_STAGED_UPDATE_JSON;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != 6
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Accept", 6) != 0)
        {
            continue;
        }

        if (ngx_strlcasestrn(h[i].value.data, h[i].value.data + h[i].value.len,
                             (u_char *) "text/html", 9 - 1)
            != NULL)
        {
            *format = NGX_HTTP_STAGED_UPDATE_HTML;
            return NGX_OK;
        }

        if (ngx_strlcasestrn(h[i].value.data, h[i].value.data + h[i].value.len,
                             (u_char *) "text/plain", 10 - 1)
            != NULL)
        {
            *format = NGX_HTTP_STAGED_UPDATE_PROM;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_snapshot(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, ngx_http_staged_update_snap_t *s)
{
    u_char                              *regs;
    uint32_t                             etag;
    ngx_uint_t                           i, k, r0, nslots, nrel, state;
    const ngx_http_staged_update_scope_t *scope;
    ngx_http_staged_update_vslot_t      *vs;
    ngx_http_staged_update_counters_t   *c;

    c = track->counters;
    s->track = track;
    s->on = (c->sh != NULL);

    /* the live overrides: paused, halted, changed percentages */

    if (ngx_http_staged_update_state_json(r->pool, track, 0, &s->live, &etag)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the install reports' funnel */

    if (track->report
        && ngx_http_staged_update_report_json(r->pool, track, &s->reports)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the rate caps and ramps: deferrals, the step in force */

    if (track->shape) {
        s->shape.data = ngx_pnalloc(r->pool,
                            ngx_http_staged_update_shape_json_len(track));
        if (s->shape.data == NULL) {
            return NGX_ERROR;
        }

        s->shape.len = ngx_http_staged_update_shape_json(s->shape.data, track,
                                                         ngx_time())
                       - s->shape.data;
    }

    if (!s->on) {
        return NGX_OK;
    }

    nslots = NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes + c->nrules;
    nrel = track->releases.nelts;

    s->slots = ngx_palloc(r->pool, 2 * nslots * sizeof(ngx_atomic_uint_t));
    s->downloads = ngx_palloc(r->pool, 2 * nrel * sizeof(ngx_atomic_uint_t));
    s->targets = ngx_pcalloc(r->pool, 3 * nrel * sizeof(ngx_atomic_uint_t));
    s->versions = ngx_palloc(r->pool, (c->versions + 1)
                             * sizeof(ngx_http_staged_update_sversion_t));
    regs = ngx_palloc(r->pool, NGX_HTTP_STAGED_UPDATE_HLL_M);

    if (s->slots == NULL || s->downloads == NULL || s->targets == NULL
        || s->versions == NULL || regs == NULL)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < nslots; i++) {
        if (i < NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes) {
            s->slots[2 * i] = c->scopes[i].n[0];
            s->slots[2 * i + 1] = c->scopes[i].n[1];

        } else {
            s->slots[2 * i] = c->rules[i - NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes].n[0];
            s->slots[2 * i + 1] = c->rules[i - NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes].n[1];
        }
    }

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_NERRORS; i++) {
        s->errors[i] = c->sh->errors[i];
    }

    s->other = c->sh->other;

    for (i = 0; i < nrel; i++) {
        s->downloads[2 * i] = c->downloads[i][0];
        s->downloads[2 * i + 1] = c->downloads[i][1];
    }

    s->nversions = 0;

    for (i = 0; i < c->cap && s->nversions < c->versions; i++) {
        vs = &c->vslots[i];
        state = vs->state;

        if (vs->hash == 0 || state == 0) {
            continue;
        }

        ngx_http_staged_update_vslot_version(vs,
                                         &s->versions[s->nversions].v);
        s->versions[s->nversions].checks = vs->checks;
        s->versions[s->nversions].installations = -1;

        if (state >= 2 && state - 2 < c->installations) {
            ngx_memcpy(regs, c->sketches
                             + (state - 2) * NGX_HTTP_STAGED_UPDATE_HLL_M,
                       NGX_HTTP_STAGED_UPDATE_HLL_M);
            s->versions[s->nversions].installations = (ngx_int_t)
                (ngx_http_staged_update_hll_estimate(regs) + 0.5);
        }

        s->nversions++;
    }

    ngx_qsort(s->versions, s->nversions,
              sizeof(ngx_http_staged_update_sversion_t),
              ngx_http_staged_update_sversion_cmp);

    /* the targets: the checks of the scopes whose release it is */

    for (i = 0; i < c->nscopes; i++) {
        scope = ngx_http_staged_update_scope_at(track->table, i);

        for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NREASONS; k++) {
            s->targets[3 * scope->release] += s->slots[2 * (NGX_HTTP_STAGED_UPDATE_NREASONS * i + k)];

            if (k == NGX_HTTP_STAGED_UPDATE_MINIMUM) {
                s->targets[3 * scope->release + 2]
                    += s->slots[2 * (NGX_HTTP_STAGED_UPDATE_NREASONS * i + k) + 1];

            } else {
                s->targets[3 * scope->release + 1]
                    += s->slots[2 * (NGX_HTTP_STAGED_UPDATE_NREASONS * i + k) + 1];
            }
        }
    }

    for (i = 0; i < c->nscopes; i++) {
        scope = ngx_http_staged_update_scope_at(track->table, i);
        r0 = NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes + ngx_http_staged_update_rule_base(track->table,
                                                               scope);

        for (k = r0; k < r0 + scope->nrules; k++) {
            s->targets[3 * scope->release] += s->slots[2 * k];
            s->targets[3 * scope->release + 1] += s->slots[2 * k + 1];
        }
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_staged_update_sversion_cmp(const void *a, const void *b)
{
    const ngx_http_staged_update_sversion_t  *x = a, *y = b;

    return ngx_http_staged_update_version_cmp(&x->v, &y->v);
}


static void
ngx_http_staged_update_render_json(ngx_http_staged_update_w_t *w,
    ngx_http_staged_update_snap_t *snap, ngx_uint_t n)
{
    ngx_uint_t                             i, j, k, r0, slot;
    ngx_atomic_uint_t                      sum[4], invalid, *v;
    ngx_http_staged_update_snap_t         *s;
    ngx_http_staged_update_table_t        *t;
    ngx_http_staged_update_release_t      *rel;
    ngx_http_staged_update_counters_t     *c;
    const ngx_http_staged_update_rule_t   *rules;
    const ngx_http_staged_update_scope_t  *scope;

    static const char  *target_names[] = { "none", "upgrade", "mandatory" };
    static const char  *download_names[] = { "files", "bytes" };

    ngx_http_staged_update_ws(w, "{\"tracks\":[");

    for (i = 0; i < n; i++) {
        s = &snap[i];
        t = s->track->table;
        c = s->track->counters;
        rel = s->track->releases.elts;

        if (i) {
            ngx_http_staged_update_ws(w, ",");
        }

        ngx_http_staged_update_ws(w, "{\"track\":");
        ngx_http_staged_update_w_str(w, s->track->name.data,
                                     s->track->name.len);
        ngx_http_staged_update_ws(w, ",\"tables\":");
        ngx_http_staged_update_tables(w, s->track);
        ngx_http_staged_update_ws(w, ",\"live\":");
        ngx_http_staged_update_w(w, s->live.data, s->live.len);

        if (s->shape.len) {
            ngx_http_staged_update_ws(w, ",\"shape\":");
            ngx_http_staged_update_w(w, s->shape.data, s->shape.len);
        }

        if (s->reports.len) {
            ngx_http_staged_update_ws(w, ",\"reports\":");
            ngx_http_staged_update_w(w, s->reports.data, s->reports.len);
        }

        if (!s->on) {
            ngx_http_staged_update_ws(w, ",\"counters\":false}");
            continue;
        }

        ngx_http_staged_update_ws(w, ",\"counters\":true");

        /* the scopes, each with its slots */

        ngx_http_staged_update_ws(w, ",\"scopes\":[");
        ngx_memzero(sum, sizeof(sum));

        for (j = 0; j < c->nscopes; j++) {
            scope = ngx_http_staged_update_scope_at(t, j);
            rules = (const ngx_http_staged_update_rule_t *)
                        ((u_char *) t + scope->rules);
            r0 = NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes + ngx_http_staged_update_rule_base(t, scope);

            if (j) {
                ngx_http_staged_update_ws(w, ",");
            }

            ngx_http_staged_update_ws(w, "{\"scope\":");
            ngx_http_staged_update_w_str(w, (u_char *) t + scope->name,
                                         scope->name_len);
            ngx_http_staged_update_ws(w, ",\"target\":");
            ngx_http_staged_update_w_str(w, rel[scope->release].version.data,
                                         rel[scope->release].version.len);

            /* none, upgrade, mandatory */

            v = &s->slots[2 * NGX_HTTP_STAGED_UPDATE_NREASONS * j];
            ngx_http_staged_update_ws(w, ",\"none\":");
            k = v[0] + v[2] + v[6] + v[8] + v[10];

            for (slot = r0; slot < r0 + scope->nrules; slot++) {
                k += s->slots[2 * slot];
            }

            sum[0] += k;
            ngx_http_staged_update_w_num(w, k);

            ngx_http_staged_update_ws(w, ",\"upgrade\":");
            k = v[1] + v[7];

            for (slot = r0; slot < r0 + scope->nrules; slot++) {
                k += s->slots[2 * slot + 1];
            }

            sum[1] += k;
            ngx_http_staged_update_w_num(w, k);

            ngx_http_staged_update_ws(w, ",\"mandatory\":");
            sum[2] += v[3];
            ngx_http_staged_update_w_num(w, v[3]);

            /* deferred by a rate cap: no upgrade now, Retry-After */

            k = v[2 * NGX_HTTP_STAGED_UPDATE_RATE];
            ngx_http_staged_update_ws(w, ",\"deferred\":");
            sum[3] += k;
            ngx_http_staged_update_w_num(w, k);

            ngx_http_staged_update_ws(w, ",\"rules\":[");

            for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NREASONS + scope->nrules; k++) {
                if (k == NGX_HTTP_STAGED_UPDATE_RULE) {
                    continue;
                }

                if (k) {
                    ngx_http_staged_update_ws(w, ",");
                }

                ngx_http_staged_update_ws(w, "{\"rule\":");

                if (k < NGX_HTTP_STAGED_UPDATE_NREASONS) {
                    ngx_http_staged_update_w_str(w,
                        ngx_http_staged_update_reasons[k].data,
                        ngx_http_staged_update_reasons[k].len);
                    v = &s->slots[2 * (NGX_HTTP_STAGED_UPDATE_NREASONS * j + k)];

                } else {
                    ngx_http_staged_update_w_str(w,
                        (u_char *) t + rules[k - NGX_HTTP_STAGED_UPDATE_NREASONS].text,
                        rules[k - NGX_HTTP_STAGED_UPDATE_NREASONS].text_len);
                    v = &s->slots[2 * (r0 + k - NGX_HTTP_STAGED_UPDATE_NREASONS)];
                }

                ngx_http_staged_update_ws(w, ",\"percent\":");
                ngx_http_staged_update_w_pct(w,
                    k == NGX_HTTP_STAGED_UPDATE_LATEST ? 0
                    : k == NGX_HTTP_STAGED_UPDATE_MINIMUM
                      ? NGX_HTTP_STAGED_UPDATE_PCT_MAX
                    : k == NGX_HTTP_STAGED_UPDATE_DEFAULT
                      ? ngx_http_staged_update_pct_now(s->track, scope->pct)
                    : k < NGX_HTTP_STAGED_UPDATE_NREASONS ? 0
                    : ngx_http_staged_update_pct_now(s->track,
                          rules[k - NGX_HTTP_STAGED_UPDATE_NREASONS].pct));

                ngx_http_staged_update_ws(w, ",\"checks\":");
                ngx_http_staged_update_w_num(w, v[0] + v[1]);
                ngx_http_staged_update_ws(w, ",\"upgrades\":");
                ngx_http_staged_update_w_num(w, v[1]);
                ngx_http_staged_update_ws(w, "}");
            }

            ngx_http_staged_update_ws(w, "]}");
        }

        ngx_http_staged_update_ws(w, "]");

        /* the track's totals and its invalid checks */

        invalid = 0;

        for (k = 0; ngx_http_staged_update_error_names[k].len; k++) {
            invalid += s->errors[k];
        }

        ngx_http_staged_update_ws(w, ",\"checks\":{\"none\":");
        ngx_http_staged_update_w_num(w, sum[0]);
        ngx_http_staged_update_ws(w, ",\"upgrade\":");
        ngx_http_staged_update_w_num(w, sum[1]);
        ngx_http_staged_update_ws(w, ",\"mandatory\":");
        ngx_http_staged_update_w_num(w, sum[2]);
        ngx_http_staged_update_ws(w, ",\"deferred\":");
        ngx_http_staged_update_w_num(w, sum[3]);
        ngx_http_staged_update_ws(w, ",\"invalid\":");
        ngx_http_staged_update_w_num(w, invalid);
        ngx_http_staged_update_ws(w, "},\"invalid\":{");

        for (k = 0; ngx_http_staged_update_error_names[k].len; k++) {
            if (k) {
                ngx_http_staged_update_ws(w, ",");
            }

            ngx_http_staged_update_w_str(w,
                ngx_http_staged_update_error_names[k].data,
                ngx_http_staged_update_error_names[k].len);
            ngx_http_staged_update_ws(w, ":");
            ngx_http_staged_update_w_num(w, s->errors[k]);
        }

        /* per target version, the client versions, the downloads */

        ngx_http_staged_update_ws(w, "},\"targets\":[");

        for (k = 0; k < s->track->releases.nelts; k++) {
            ngx_http_staged_update_w_release(w, k, &rel[k].version,
                                             target_names, &s->targets[3 * k],
                                             3);
        }

        ngx_http_staged_update_ws(w, "],\"versions\":[");

        for (k = 0; k < s->nversions; k++) {
            if (k) {
                ngx_http_staged_update_ws(w, ",");
            }

            ngx_http_staged_update_ws(w, "{\"version\":\"");
            ngx_http_staged_update_w_version(w, &s->versions[k].v);
            ngx_http_staged_update_ws(w, "\",\"checks\":");
            ngx_http_staged_update_w_num(w, s->versions[k].checks);
            ngx_http_staged_update_ws(w, ",\"installations\":");

            if (s->versions[k].installations < 0) {
                ngx_http_staged_update_ws(w, "null");

            } else {
                ngx_http_staged_update_w_num(w, s->versions[k].installations);
            }

            ngx_http_staged_update_ws(w, "}");
        }

        ngx_http_staged_update_ws(w, "],\"versions_other\":");
        ngx_http_staged_update_w_num(w, s->other);
        ngx_http_staged_update_ws(w, ",\"versions_limit\":");
        ngx_http_staged_update_w_num(w, c->versions);
        ngx_http_staged_update_ws(w, ",\"installations_limit\":");
        ngx_http_staged_update_w_num(w, c->installations);

        ngx_http_staged_update_ws(w, ",\"downloads\":[");

        for (k = 0; k < s->track->releases.nelts; k++) {
            ngx_http_staged_update_w_release(w, k, &rel[k].version,
                                             download_names,
                                             &s->downloads[2 * k], 2);
        }

        ngx_http_staged_update_ws(w, "]}");
    }

    ngx_http_staged_update_ws(w, "]}\n");
}


size_t
ngx_http_staged_update_tables_json(u_char *dst,
    ngx_http_staged_update_track_t *track)
{
    ngx_http_staged_update_w_t  w;

    ngx_memzero(&w, sizeof(ngx_http_staged_update_w_t));

    ngx_http_staged_update_tables(&w, track);

    if (dst == NULL) {
        return w.len;
    }

    w.p = dst;
    w.last = dst + w.len;
    w.len = 0;

    ngx_http_staged_update_tables(&w, track);

    return w.len;
}


static void
ngx_http_staged_update_tables(ngx_http_staged_update_w_t *w,
    ngx_http_staged_update_track_t *track)
{
    ngx_uint_t                             i, j;
    ngx_http_staged_update_table_t        *t;
    const ngx_http_staged_update_rule_t   *rules;
    const ngx_http_staged_update_scope_t  *scope;

    t = track->table;

    for (i = 0; i <= t->nservers; i++) {
        scope = ngx_http_staged_update_scope_at(t, i);
        rules = (const ngx_http_staged_update_rule_t *)
                    ((u_char *) t + scope->rules);

        if (i == 0) {
            ngx_http_staged_update_ws(w, "{");

        } else {
            ngx_http_staged_update_wz(w, i == 1 ? ",\"servers\":[{\"id\":"
                                                : ",{\"id\":");
            ngx_http_staged_update_w_str(w, (u_char *) t + scope->name,
                                         scope->name_len);
            ngx_http_staged_update_ws(w, ",");
        }

        ngx_http_staged_update_ws(w, "\"latest\":\"");
        ngx_http_staged_update_w_version(w, &scope->latest);
        ngx_http_staged_update_ws(w, "\",\"minimum\":\"");
        ngx_http_staged_update_w_version(w, &scope->minimum);
        ngx_http_staged_update_ws(w, "\",\"default\":");
        ngx_http_staged_update_w_pct(w,
            ngx_http_staged_update_pct_now(track, scope->pct));
        ngx_http_staged_update_ws(w, ",\"rules\":[");

        for (j = 0; j < scope->nrules; j++) {
            ngx_http_staged_update_wz(w, j ? ",{\"pattern\":"
                                           : "{\"pattern\":");
            ngx_http_staged_update_w_str(w, (u_char *) t + rules[j].text,
                                         rules[j].text_len);
            ngx_http_staged_update_ws(w, ",\"percent\":");
            ngx_http_staged_update_w_pct(w,
                ngx_http_staged_update_pct_now(track, rules[j].pct));
            ngx_http_staged_update_ws(w, "}");
        }

        ngx_http_staged_update_wz(w, i ? "]}" : "]");
    }

    ngx_http_staged_update_wz(w, t->nservers ? "]}" : ",\"servers\":[]}");
}


/*
 * Prometheus text 0.0.4: one HELP and TYPE per name, then all its samples
 * (of every track) together.
 */

static void
ngx_http_staged_update_render_prom(ngx_http_staged_update_w_t *w,
    ngx_http_staged_update_snap_t *snap, ngx_uint_t n)
{
    ngx_uint_t                             m, i, j, k, r0, d;
    ngx_atomic_uint_t                      sum[4], *v;
    ngx_http_staged_update_snap_t         *s;
    ngx_http_staged_update_table_t        *t;
    ngx_http_staged_update_release_t      *rel;
    ngx_http_staged_update_counters_t     *c;
    const ngx_http_staged_update_rule_t   *rules;
    const ngx_http_staged_update_scope_t  *scope;

    static ngx_str_t  decisions[] = {
        ngx_string("none"), ngx_string("upgrade"), ngx_string("mandatory"),
        ngx_string("deferred")
    };

    for (m = 0; m < 8; m++) {

        switch (m) {
        case 0:
            ngx_http_staged_update_ws(w,
                "# HELP staged_update_checks_total Checks answered, by "
                "track, scope (the track or a business server) and "
                "decision.\n"
                "# TYPE staged_update_checks_total counter\n");
            break;
        case 1:
            ngx_http_staged_update_ws(w,
                "# HELP staged_update_rule_checks_total Checks by what "
                "decided them: latest, minimum, default or a rule.\n"
                "# TYPE staged_update_rule_checks_total counter\n");
            break;
        case 2:
            ngx_http_staged_update_ws(w,
                "# HELP staged_update_invalid_checks_total Refused checks, "
                "by error.\n"
                "# TYPE staged_update_invalid_checks_total counter\n");
            break;
        case 3:
            ngx_http_staged_update_ws(w,
                "# HELP staged_update_target_checks_total Checks by the "
                "version they would move the client to.\n"
                "# TYPE staged_update_target_checks_total counter\n");
            break;
        case 4:
            ngx_http_staged_update_ws(w,
                "# HELP staged_update_version_checks_total Checks by the "
                "client's version (\"other\" beyond the versions counted).\n"
                "# TYPE staged_update_version_checks_total counter\n");
            break;
        case 5:
            ngx_http_staged_update_ws(w,
                "# HELP staged_update_installations Distinct client keys "
                "seen per client version (HyperLogLog estimate, 0.81% "
                "standard error).\n"
                "# TYPE staged_update_installations gauge\n");
            break;
        case 6:
            ngx_http_staged_update_ws(w,
                "# HELP staged_update_downloads_total Files served through "
                "staged_update_verify, by release.\n"
                "# TYPE staged_update_downloads_total counter\n");
            break;
        default:
            ngx_http_staged_update_ws(w,
                "# HELP staged_update_download_bytes_total Bytes of files "
                "sent through staged_update_verify, by release.\n"
                "# TYPE staged_update_download_bytes_total counter\n");
            break;
        }

        for (i = 0; i < n; i++) {
            s = &snap[i];

            if (!s->on) {
                continue;
            }

            t = s->track->table;
            c = s->track->counters;
            rel = s->track->releases.elts;

#define ngx_http_staged_update_track_label()                                  \
            ngx_http_staged_update_w_label(w, "{track=\"",                    \
                                           s->track->name.data,               \
                                           s->track->name.len)

            switch (m) {

            case 0:
            case 1:
                for (j = 0; j < c->nscopes; j++) {
                    scope = ngx_http_staged_update_scope_at(t, j);
                    rules = (const ngx_http_staged_update_rule_t *)
                                ((u_char *) t + scope->rules);
                    r0 = NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes
                         + ngx_http_staged_update_rule_base(t, scope);
                    ngx_memzero(sum, sizeof(sum));

                    for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NREASONS + scope->nrules; k++) {
                        if (k == NGX_HTTP_STAGED_UPDATE_RULE) {
                            continue;
                        }

                        v = (k < NGX_HTTP_STAGED_UPDATE_NREASONS) ? &s->slots[2 * (NGX_HTTP_STAGED_UPDATE_NREASONS * j + k)]
                                    : &s->slots[2 * (r0 + k - NGX_HTTP_STAGED_UPDATE_NREASONS)];
                        d = (k == NGX_HTTP_STAGED_UPDATE_MINIMUM) ? 2 : 1;

                        sum[k == NGX_HTTP_STAGED_UPDATE_RATE ? 3 : 0] += v[0];
                        sum[d] += v[1];

                        if (m == 0) {
                            continue;
                        }

                        for (d = 0; d < 2; d++) {
                            if ((d && (k == NGX_HTTP_STAGED_UPDATE_LATEST
                                       || k == NGX_HTTP_STAGED_UPDATE_PAUSED
                                       || k == NGX_HTTP_STAGED_UPDATE_HALTED
                                       || k == NGX_HTTP_STAGED_UPDATE_RATE))
                                || (k == NGX_HTTP_STAGED_UPDATE_MINIMUM
                                    && !d))
                            {
                                continue;
                            }

                            ngx_http_staged_update_ws(w,
                                "staged_update_rule_checks_total");
                            ngx_http_staged_update_track_label();
                            ngx_http_staged_update_w_label(w, ",scope=\"",
                                (u_char *) t + scope->name, scope->name_len);

                            if (k < NGX_HTTP_STAGED_UPDATE_NREASONS) {
                                ngx_http_staged_update_w_label(w, ",rule=\"",
                                    ngx_http_staged_update_reasons[k].data,
                                    ngx_http_staged_update_reasons[k].len);

                            } else {
                                ngx_http_staged_update_w_label(w, ",rule=\"",
                                    (u_char *) t + rules[k - NGX_HTTP_STAGED_UPDATE_NREASONS].text,
                                    rules[k - NGX_HTTP_STAGED_UPDATE_NREASONS].text_len);
                            }

                            ngx_http_staged_update_w_label(w,
                                ",decision=\"",
                                decisions[d == 0
                                          ? (k == NGX_HTTP_STAGED_UPDATE_RATE
                                             ? 3 : 0)
                                          : k == NGX_HTTP_STAGED_UPDATE_MINIMUM
                                            ? 2 : 1].data,
                                decisions[d == 0
                                          ? (k == NGX_HTTP_STAGED_UPDATE_RATE
                                             ? 3 : 0)
                                          : k == NGX_HTTP_STAGED_UPDATE_MINIMUM
                                            ? 2 : 1].len);
                            ngx_http_staged_update_ws(w, "} ");
                            ngx_http_staged_update_w_num(w, v[d]);
                            ngx_http_staged_update_ws(w, "\n");
                        }
                    }

                    if (m == 1) {
                        continue;
                    }

                    for (d = 0; d < 4; d++) {
                        ngx_http_staged_update_ws(w,
                                                  "staged_update_checks_total");
                        ngx_http_staged_update_track_label();
                        ngx_http_staged_update_w_label(w, ",scope=\"",
                            (u_char *) t + scope->name, scope->name_len);
                        ngx_http_staged_update_w_label(w, ",decision=\"",
                                                       decisions[d].data,
                                                       decisions[d].len);
                        ngx_http_staged_update_ws(w, "} ");
                        ngx_http_staged_update_w_num(w, sum[d]);
                        ngx_http_staged_update_ws(w, "\n");
                    }
                }

                if (m == 0) {
                    sum[0] = 0;

                    for (k = 0; ngx_http_staged_update_error_names[k].len;
                         k++)
                    {
                        sum[0] += s->errors[k];
                    }

                    ngx_http_staged_update_ws(w, "staged_update_checks_total");
                    ngx_http_staged_update_track_label();
                    ngx_http_staged_update_w_label(w, ",scope=\"",
                                                   s->track->name.data,
                                                   s->track->name.len);
                    ngx_http_staged_update_ws(w, ",decision=\"invalid\"} ");
                    ngx_http_staged_update_w_num(w, sum[0]);
                    ngx_http_staged_update_ws(w, "\n");
                }

                break;

            case 2:
                for (k = 0; ngx_http_staged_update_error_names[k].len; k++) {
                    ngx_http_staged_update_ws(w,
                        "staged_update_invalid_checks_total");
                    ngx_http_staged_update_track_label();
                    ngx_http_staged_update_w_label(w, ",error=\"",
                        ngx_http_staged_update_error_names[k].data,
                        ngx_http_staged_update_error_names[k].len);
                    ngx_http_staged_update_ws(w, "} ");
                    ngx_http_staged_update_w_num(w, s->errors[k]);
                    ngx_http_staged_update_ws(w, "\n");
                }

                break;

            case 3:
                for (k = 0; k < s->track->releases.nelts; k++) {
                    for (d = 0; d < 3; d++) {
                        ngx_http_staged_update_ws(w,
                            "staged_update_target_checks_total");
                        ngx_http_staged_update_track_label();
                        ngx_http_staged_update_w_label(w, ",version=\"",
                                                       rel[k].version.data,
                                                       rel[k].version.len);
                        ngx_http_staged_update_w_label(w, ",decision=\"",
                                                       decisions[d].data,
                                                       decisions[d].len);
                        ngx_http_staged_update_ws(w, "} ");
                        ngx_http_staged_update_w_num(w,
                                                     s->targets[3 * k + d]);
                        ngx_http_staged_update_ws(w, "\n");
                    }
                }

                break;

            case 4:
            case 5:
                for (k = 0; k <= s->nversions; k++) {

                    if (m == 5 && (k == s->nversions
                                   || s->versions[k].installations < 0))
                    {
                        continue;
                    }

                    ngx_http_staged_update_ws(w, "staged_update_");

                    if (m == 4) {
                        ngx_http_staged_update_ws(w, "version_checks_total");

                    } else {
                        ngx_http_staged_update_ws(w, "installations");
                    }

                    ngx_http_staged_update_track_label();

                    if (k == s->nversions) {
                        ngx_http_staged_update_ws(w,
                                                  ",version=\"other\"} ");
                        ngx_http_staged_update_w_num(w, s->other);

                    } else {
                        ngx_http_staged_update_ws(w, ",version=\"");
                        ngx_http_staged_update_w_version(w,
                                                         &s->versions[k].v);
                        ngx_http_staged_update_ws(w, "\"} ");
                        ngx_http_staged_update_w_num(w, m == 4
                            ? s->versions[k].checks
                            : (ngx_atomic_uint_t)
                              s->versions[k].installations);
                    }

                    ngx_http_staged_update_ws(w, "\n");
                }

                break;

            default:
                for (k = 0; k < s->track->releases.nelts; k++) {
                    ngx_http_staged_update_ws(w, "staged_update_download");
                    ngx_http_staged_update_wz(w, m == 6 ? "s_total"
                                                        : "_bytes_total");
                    ngx_http_staged_update_track_label();
                    ngx_http_staged_update_w_label(w, ",version=\"",
                                                   rel[k].version.data,
                                                   rel[k].version.len);
                    ngx_http_staged_update_ws(w, "} ");
                    ngx_http_staged_update_w_num(w,
                        s->downloads[2 * k + (m == 6 ? 0 : 1)]);
                    ngx_http_staged_update_ws(w, "\n");
                }

                break;
            }

#undef ngx_http_staged_update_track_label
        }
    }
}


/* the writer: measures when w->p is NULL, never writes past w->last */

static void
ngx_http_staged_update_w(ngx_http_staged_update_w_t *w, const void *s,
    size_t len)
{
    w->len += len;

    if (w->p == NULL) {
        return;
    }

    if ((size_t) (w->last - w->p) < len) {
        w->overflow = 1;
        w->p = NULL;
        return;
    }

    w->p = ngx_cpymem(w->p, s, len);
}


static void
ngx_http_staged_update_w_num(ngx_http_staged_update_w_t *w, uint64_t n)
{
    u_char  buf[NGX_INT64_LEN];

    ngx_http_staged_update_w(w, buf, ngx_sprintf(buf, "%uL", n) - buf);
}


/* [,]{"version":"<version>","<name>":<value>,...} */

static void
ngx_http_staged_update_w_release(ngx_http_staged_update_w_t *w, ngx_uint_t k,
    ngx_str_t *version, const char **names, ngx_atomic_uint_t *values,
    ngx_uint_t n)
{
    ngx_uint_t  i;

    ngx_http_staged_update_wz(w, k ? ",{\"version\":" : "{\"version\":");
    ngx_http_staged_update_w_str(w, version->data, version->len);

    for (i = 0; i < n; i++) {
        ngx_http_staged_update_ws(w, ",\"");
        ngx_http_staged_update_wz(w, names[i]);
        ngx_http_staged_update_ws(w, "\":");
        ngx_http_staged_update_w_num(w, values[i]);
    }

    ngx_http_staged_update_ws(w, "}");
}


static void
ngx_http_staged_update_w_pct(ngx_http_staged_update_w_t *w, uint32_t pct)
{
    u_char  buf[NGX_HTTP_STAGED_UPDATE_PCT_LEN];

    ngx_http_staged_update_w(w, buf,
                             ngx_http_staged_update_pct_print(buf, pct));
}


static void
ngx_http_staged_update_w_str(ngx_http_staged_update_w_t *w, const u_char *s,
    size_t len)
{
    size_t  n;

    n = ngx_http_staged_update_json_str(NULL, s, len);
    w->len += n;

    if (w->p == NULL) {
        return;
    }

    if ((size_t) (w->last - w->p) < n) {
        w->overflow = 1;
        w->p = NULL;
        return;
    }

    w->p += ngx_http_staged_update_json_str(w->p, s, len);
}


/* name="value" with \\, \" and \n escaped, as Prometheus reads it */

static void
ngx_http_staged_update_w_label(ngx_http_staged_update_w_t *w,
    const char *name, const u_char *s, size_t len)
{
    size_t  i;

    ngx_http_staged_update_w(w, name, ngx_strlen(name));

    for (i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\':
            ngx_http_staged_update_ws(w, "\\\\");
            break;
        case '"':
            ngx_http_staged_update_ws(w, "\\\"");
            break;
        case '\n':
            ngx_http_staged_update_ws(w, "\\n");
            break;
        default:
            ngx_http_staged_update_w(w, &s[i], 1);
        }
    }

    ngx_http_staged_update_ws(w, "\"");
}


/* a version: its components, trailing zeros left out after the third */

static void
ngx_http_staged_update_w_version(ngx_http_staged_update_w_t *w,
    const ngx_http_staged_update_version_t *v)
{
    u_char      buf[NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN + 8], *p;
    ngx_uint_t  i, n;

    n = NGX_HTTP_STAGED_UPDATE_VERSION_PARTS;

    while (n > 3 && v->part[n - 1] == 0) {
        n--;
    }

    p = buf;

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, i ? ".%uD" : "%uD", v->part[i]);
    }

    ngx_http_staged_update_w(w, buf, p - buf);
}


static ngx_int_t
ngx_http_staged_update_status_error(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    r->headers_out.status = status;

    return ngx_http_staged_update_status_send(r,
               &ngx_http_staged_update_types[NGX_HTTP_STAGED_UPDATE_JSON],
               body->data, body->len);
}


static ngx_int_t
ngx_http_staged_update_status_send(ngx_http_request_t *r, ngx_str_t *type,
    u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (ngx_http_staged_update_status_header(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->headers_out.status == 0) {
        r->headers_out.status = NGX_HTTP_OK;
    }

    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || len == 0) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_staged_update_status_header(ngx_http_request_t *r, char *key,
    char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}
