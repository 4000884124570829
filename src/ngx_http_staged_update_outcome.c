
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ngx_http_staged_update_outcome.h"
#include "ngx_http_staged_update_json.h"


static const char *ngx_http_staged_update_field(json_t *root,
    const char *name, int required, const u_char **p, size_t *len);
static const char *ngx_http_staged_update_grant(const u_char *p, size_t len,
    ngx_http_staged_update_outcome_t *o);


const char  *ngx_http_staged_update_result_names[] = {
    "installed", "started", "failed", "rolled-back"
};


static const char  *ngx_http_staged_update_report_fields[] = {
    "version", "from", "result", "reason", "client", "server", "grant", NULL
};


const char *
ngx_http_staged_update_outcome_parse(const u_char *body, size_t len,
    ngx_http_staged_update_outcome_t *o, char *err, size_t errlen)
{
    size_t         n, i;
    json_t        *root, *value;
    const char    *e, *key;
    const u_char  *p;
    json_error_t   jerr;

    memset(o, 0, offsetof(ngx_http_staged_update_outcome_t, reason));

    if (len > NGX_HTTP_STAGED_UPDATE_REPORT_MAX) {
        return "the body is too large";
    }

    root = json_loadb((const char *) body, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        snprintf(err, errlen, "the body is not JSON: %s (at %d)", jerr.text,
                 jerr.position);
        return err;
    }

    e = NULL;

    if (!json_is_object(root)) {
        e = "the body is not a JSON object";
        goto done;
    }

    json_object_foreach(root, key, value) {
        for (i = 0; ngx_http_staged_update_report_fields[i]; i++) {
            if (strcmp(key, ngx_http_staged_update_report_fields[i]) == 0) {
                break;
            }
        }

        if (ngx_http_staged_update_report_fields[i] == NULL) {
            snprintf(err, errlen, "unknown field \"%.64s\": a report has "
                     "version, from, result, reason, client, server and "
                     "grant", key);
            e = err;
            goto done;
        }
    }

    e = ngx_http_staged_update_field(root, "version", 1, &p, &n);
    if (e) {
        goto done;
    }

    if (ngx_http_staged_update_version_parse(p, n, &o->version) != NULL) {
        e = "version is malformed";
        goto done;
    }

    e = ngx_http_staged_update_field(root, "from", 1, &p, &n);
    if (e) {
        goto done;
    }

    if (ngx_http_staged_update_version_parse(p, n, &o->from) != NULL) {
        e = "from is malformed";
        goto done;
    }

    if (ngx_http_staged_update_version_cmp(&o->from, &o->version) >= 0) {
        e = "from is not below version";
        goto done;
    }

    e = ngx_http_staged_update_field(root, "result", 1, &p, &n);
    if (e) {
        goto done;
    }

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_NRESULTS; i++) {
        if (n == strlen(ngx_http_staged_update_result_names[i])
            && memcmp(p, ngx_http_staged_update_result_names[i], n) == 0)
        {
            break;
        }
    }

    if (i == NGX_HTTP_STAGED_UPDATE_NRESULTS) {
        e = "result is not one of installed, started, failed, rolled-back";
        goto done;
    }

    o->result = (uint32_t) i;

    e = ngx_http_staged_update_field(root, "reason", 0, &p, &n);
    if (e) {
        goto done;
    }

    if (n > NGX_HTTP_STAGED_UPDATE_REASON_MAXLEN
        || !ngx_http_staged_update_utf8_valid(p, n))
    {
        e = "reason is malformed: at most 128 bytes of UTF-8";
        goto done;
    }

    for (i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            e = "reason is malformed: it has a control character";
            goto done;
        }
    }

    memcpy(o->reason, p, n);
    o->reason_len = n;

    e = ngx_http_staged_update_field(root, "client", 1, &p, &n);
    if (e) {
        goto done;
    }

    if (!ngx_http_staged_update_safe(p, n, sizeof(o->client))) {
        e = "client is malformed: 1 to 128 letters, digits, '.', '_', '-' "
            "or ':'";
        goto done;
    }

    memcpy(o->client, p, n);
    o->client_len = n;

    e = ngx_http_staged_update_field(root, "server", 0, &p, &n);
    if (e) {
        goto done;
    }

    if (n && !ngx_http_staged_update_safe(p, n, sizeof(o->server))) {
        e = "server is malformed: 1 to 64 letters, digits, '.', '_', '-' "
            "or ':'";
        goto done;
    }

    memcpy(o->server, p, n);
    o->server_len = n;

    /* no grant, or one without a token: token_len 0, for a 403 */

    e = ngx_http_staged_update_field(root, "grant", 0, &p, &n);
    if (e || n == 0) {
        goto done;
    }

    e = ngx_http_staged_update_grant(p, n, o);

done:

    json_decref(root);

    return e;
}


/* a string field; absent (or null, when optional) is length 0 */

static const char *
ngx_http_staged_update_field(json_t *root, const char *name, int required,
    const u_char **p, size_t *len)
{
    json_t  *value;

    static char  err[64];

    value = json_object_get(root, name);

    if (value == NULL || (!required && json_is_null(value))) {
        if (required) {
            snprintf(err, sizeof(err), "%s is missing", name);
            return err;
        }

        *p = (const u_char *) "";
        *len = 0;
        return NULL;
    }

    if (!json_is_string(value) || json_string_length(value) == 0) {
        snprintf(err, sizeof(err), "%s is not a non-empty string", name);
        return err;
    }

    *p = (const u_char *) json_string_value(value);
    *len = json_string_length(value);

    return NULL;
}


/* [scheme://host]/path?...token=...: the path decoded, the token */

static const char *
ngx_http_staged_update_grant(const u_char *p, size_t len,
    ngx_http_staged_update_outcome_t *o)
{
    ssize_t        n;
    const u_char  *last, *q, *s, *amp;

    last = p + len;

    for (s = p; s + 2 < last && *s != '/' && *s != '?'; s++) {
        if (s[0] == ':' && s[1] == '/' && s[2] == '/') {
            for (s += 3; s < last && *s != '/'; s++) {
                /* the host */
            }

            p = s;
            break;
        }
    }

    if (p == last || *p != '/') {
        return "grant is malformed: the URL of the upgrade answer, with its "
               "token";
    }

    q = memchr(p, '?', last - p);

    if (q == NULL) {
        return NULL;
    }

    if ((size_t) (q - p) > sizeof(o->path)) {
        return "grant is malformed: its path is too long";
    }

    n = ngx_http_staged_update_unescape(o->path, p, q - p);

    if (n <= 0) {
        return "grant is malformed: a bad percent escape in its path";
    }

    o->path_len = (size_t) n;

    for (s = q + 1; s < last; s = amp + 1) {
        amp = memchr(s, '&', last - s);
        if (amp == NULL) {
            amp = last;
        }

        if (amp - s > 6 && memcmp(s, "token=", 6) == 0) {
            s += 6;

            if ((size_t) (amp - s) > sizeof(o->token)) {
                return "grant is malformed: its token is too long";
            }

            n = ngx_http_staged_update_unescape(o->token, s, amp - s);

            if (n <= 0) {
                return "grant is malformed: a bad percent escape in its "
                       "token";
            }

            o->token_len = (size_t) n;

            return NULL;
        }

        if (amp == last) {
            break;
        }
    }

    return NULL;
}


int
ngx_http_staged_update_token_fields(const u_char *token, size_t len,
    const u_char **version, size_t *version_len, const u_char **client,
    size_t *client_len)
{
    size_t         n;
    const u_char  *sep[4], *p;

    n = 0;

    for (p = token; p < token + len; p++) {
        if (*p == '~') {
            if (n == 3) {
                return 0;
            }

            sep[n++] = p;
        }
    }

    if (n < 2) {
        return 0;
    }

    *version = token;
    *version_len = sep[0] - token;

    if (n == 3) {
        *client = sep[1] + 1;
        *client_len = sep[2] - sep[1] - 1;

    } else {
        *client = NULL;
        *client_len = 0;
    }

    return *version_len > 0;
}


int
ngx_http_staged_update_outcome_apply(uint32_t *mask, uint32_t result,
    uint32_t *dn, uint32_t *dk)
{
    uint32_t  bit, fail, old, m;

    fail = (1u << NGX_HTTP_STAGED_UPDATE_FAILED)
           | (1u << NGX_HTTP_STAGED_UPDATE_ROLLED_BACK);
    bit = 1u << result;
    old = *mask;

    *dn = 0;
    *dk = 0;

    if (old & bit) {
        return 0;
    }

    m = old | bit;
    *mask = m;

    /* the sample: outcome = started, failed or rolled-back */

    if (!(old & (fail | (1u << NGX_HTTP_STAGED_UPDATE_STARTED)))
        && (m & (fail | (1u << NGX_HTTP_STAGED_UPDATE_STARTED))))
    {
        *dn = 1;
    }

    if (!(old & fail) && (m & fail)) {
        *dk = 1;
    }

    return 1;
}


double
ngx_http_staged_update_z(double c)
{
    int     i;
    double  lo, hi, mid;

    /* 0.5 * erfc(z / sqrt 2) = 1 - c, by bisection */

    lo = 0.0;
    hi = 10.0;

    for (i = 0; i < 100; i++) {
        mid = (lo + hi) / 2;

        if (0.5 * erfc(mid / sqrt(2.0)) > 1.0 - c) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return (lo + hi) / 2;
}


double
ngx_http_staged_update_wilson_lower(uint64_t k, uint64_t n, double z)
{
    double  p, z2, d, c, r;

    if (n == 0) {
        return 0.0;
    }

    p = (double) k / (double) n;
    z2 = z * z;
    d = 1.0 + z2 / n;
    c = p + z2 / (2.0 * n);
    r = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));

    return (c - r) / d;
}


int
ngx_http_staged_update_halt_due(uint64_t k, uint64_t n, uint32_t threshold,
    uint64_t min, double z)
{
    if (n < min || n == 0) {
        return 0;
    }

    return ngx_http_staged_update_wilson_lower(k, n, z)
           > (double) threshold / NGX_HTTP_STAGED_UPDATE_PCT_MAX;
}
