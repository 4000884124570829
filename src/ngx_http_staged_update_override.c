
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                 /* timegm() */
#endif

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "ngx_http_staged_update_override.h"


static const char *ngx_http_staged_update_ov_fields[] = {
    "paused", "halted", "default", "rule", "rate"
};

#define NGX_HTTP_STAGED_UPDATE_OV_KINDS                                     \
    (sizeof(ngx_http_staged_update_ov_fields)                               \
     / sizeof(ngx_http_staged_update_ov_fields[0]))


static const char *ngx_http_staged_update_json_pct(json_t *value,
    uint32_t *pct);
static const char *ngx_http_staged_update_json_rate(json_t *value,
    uint32_t *rate);
static const char *ngx_http_staged_update_json_burst(json_t *value,
    uint32_t *burst);
static const char *ngx_http_staged_update_ov_read(json_t *o,
    ngx_http_staged_update_ov_t *ov, char *err, size_t errlen);
static size_t ngx_http_staged_update_put(u_char *dst, size_t at,
    const char *s, size_t len);
static int ngx_http_staged_update_time_parse(const char *s, int64_t *t);


int
ngx_http_staged_update_truthy(const u_char *p, size_t len)
{
    static const char  *yes[] = { "1", "true", "yes", "on" };

    size_t  i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (len == strlen(yes[i]) && strncasecmp((const char *) p, yes[i], len)
                                     == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* a JSON string "12.5%": hundredths of a percent */

static const char *
ngx_http_staged_update_json_pct(json_t *value, uint32_t *pct)
{
    if (!json_is_string(value)) {
        return "a percentage is a string such as \"12.5%\"";
    }

    return ngx_http_staged_update_pct_parse(
               (const u_char *) json_string_value(value),
               json_string_length(value), pct);
}


/* a JSON string "200/s": thousandths of a grant a second; "0/s": 0 */

static const char *
ngx_http_staged_update_json_rate(json_t *value, uint32_t *rate)
{
    size_t       i, len;
    const char  *s;

    if (!json_is_string(value)) {
        return "a rate is a string such as \"200/s\"";
    }

    s = json_string_value(value);
    len = json_string_length(value);

    for (i = 0; i + 2 < len && s[i] == '0'; i++) {
        /* void */
    }

    if (i > 0 && i + 2 == len && s[i] == '/' && (s[i + 1] == 's'
                                                 || s[i + 1] == 'm'))
    {
        *rate = 0;
        return NULL;
    }

    return ngx_http_staged_update_rate_parse((const u_char *) s, len, rate);
}


/* a JSON integer 1 .. 1000000 */

static const char *
ngx_http_staged_update_json_burst(json_t *value, uint32_t *burst)
{
    if (!json_is_integer(value) || json_integer_value(value) < 1
        || json_integer_value(value) > NGX_HTTP_STAGED_UPDATE_BURST_MAX)
    {
        return "a burst is a number of grants from 1 to 1000000";
    }

    *burst = (uint32_t) json_integer_value(value);

    return NULL;
}


const char *
ngx_http_staged_update_patch_parse(const u_char *body, size_t len,
    ngx_http_staged_update_ov_t *ov, size_t max, size_t *n, char *err,
    size_t errlen)
{
    size_t                        k, plen;
    json_t                       *root, *value, *rv, *burst;
    const char                   *key, *rkey, *e;
    json_error_t                  jerr;
    ngx_http_staged_update_ov_t  *o, *rate;

    *n = 0;
    rate = NULL;
    burst = NULL;

    root = json_loadb((const char *) body, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        snprintf(err, errlen, "the body is not JSON: %s at character %d",
                 jerr.text, jerr.position);
        return err;
    }

    if (!json_is_object(root) || json_object_size(root) == 0) {
        snprintf(err, errlen, "the body is a JSON object with at least one "
                 "of \"paused\", \"halted\", \"default\", \"rules\", "
                 "\"rate\"");
        goto failed;
    }

    k = 0;

    json_object_foreach(root, key, value) {

        if (k == max) {
            snprintf(err, errlen, "more than %zu changes in one request", max);
            goto failed;
        }

        o = &ov[k];
        memset(o, 0, sizeof(ngx_http_staged_update_ov_t));

        if (strcmp(key, "paused") == 0 || strcmp(key, "halted") == 0) {

            if (!json_is_boolean(value)) {
                snprintf(err, errlen, "\"%s\" is true or false", key);
                goto failed;
            }

            o->kind = key[0] == 'p' ? NGX_HTTP_STAGED_UPDATE_OV_PAUSED
                                    : NGX_HTTP_STAGED_UPDATE_OV_HALTED;
            o->value = 1;
            o->remove = json_is_false(value);
            k++;
            continue;
        }

        if (strcmp(key, "default") == 0) {
            o->kind = NGX_HTTP_STAGED_UPDATE_OV_DEFAULT;

            if (json_is_null(value)) {
                o->remove = 1;

            } else {
                e = ngx_http_staged_update_json_pct(value, &o->value);
                if (e) {
                    snprintf(err, errlen, "\"default\": %s", e);
                    goto failed;
                }
            }

            k++;
            continue;
        }

        if (strcmp(key, "rate") == 0) {
            o->kind = NGX_HTTP_STAGED_UPDATE_OV_RATE;

            if (!json_is_null(value)) {
                e = ngx_http_staged_update_json_rate(value, &o->value);
                if (e) {
                    snprintf(err, errlen, "\"rate\": %s", e);
                    goto failed;
                }
            }

            o->remove = (o->value == 0);
            rate = o;
            k++;
            continue;
        }

        if (strcmp(key, "burst") == 0) {
            burst = value;
            continue;
        }

        if (strcmp(key, "rules") != 0) {
            snprintf(err, errlen, "unknown field \"%.64s\", expected "
                     "\"paused\", \"halted\", \"default\", \"rules\", "
                     "\"rate\" or \"burst\"", key);
            goto failed;
        }

        if (!json_is_object(value) || json_object_size(value) == 0) {
            snprintf(err, errlen, "\"rules\" is an object of patterns and "
                     "percentages, such as {\"1.7.*\": \"10%%\"}");
            goto failed;
        }

        json_object_foreach(value, rkey, rv) {

            if (k == max) {
                snprintf(err, errlen, "more than %zu changes in one request",
                         max);
                goto failed;
            }

            o = &ov[k];
            memset(o, 0, sizeof(ngx_http_staged_update_ov_t));
            o->kind = NGX_HTTP_STAGED_UPDATE_OV_RULE;

            plen = strlen(rkey);

            if (plen == 0 || plen > NGX_HTTP_STAGED_UPDATE_PATTERN_MAXLEN) {
                snprintf(err, errlen, "a rule pattern has 1 to %d characters",
                         NGX_HTTP_STAGED_UPDATE_PATTERN_MAXLEN);
                goto failed;
            }

            memcpy(o->pattern, rkey, plen);
            o->pattern_len = (uint32_t) plen;

            if (json_is_null(rv)) {
                o->remove = 1;

            } else {
                e = ngx_http_staged_update_json_pct(rv, &o->value);
                if (e) {
                    snprintf(err, errlen, "rule \"%.*s\": %s", (int) plen,
                             rkey, e);
                    goto failed;
                }
            }

            k++;
        }
    }

    if (burst) {
        if (rate == NULL || rate->remove) {
            snprintf(err, errlen, "\"burst\" goes with a \"rate\" "
                     "such as \"200/s\" in the same request");
            goto failed;
        }

        e = ngx_http_staged_update_json_burst(burst, &rate->burst);
        if (e) {
            snprintf(err, errlen, "\"burst\": %s", e);
            goto failed;
        }
    }

    if (k == 0) {
        snprintf(err, errlen, "\"burst\" goes with a \"rate\" such as "
                 "\"200/s\" in the same request");
        goto failed;
    }

    json_decref(root);

    *n = k;

    return NULL;

failed:

    json_decref(root);

    return err;
}


const ngx_http_staged_update_rule_t *
ngx_http_staged_update_rule_named(const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *scope, const u_char *p, size_t len)
{
    uint32_t                              i;
    const ngx_http_staged_update_rule_t  *rules;

    rules = (const ngx_http_staged_update_rule_t *)
                ((const u_char *) t + scope->rules);

    for (i = 0; i < scope->nrules; i++) {
        if (rules[i].text_len == len
            && memcmp(ngx_http_staged_update_str(t, rules[i].text), p, len)
               == 0)
        {
            return &rules[i];
        }
    }

    return NULL;
}


const char *
ngx_http_staged_update_patch_check(const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *scope,
    ngx_http_staged_update_ov_t *ov, size_t n, char *err, size_t errlen)
{
    size_t                                i;
    const ngx_http_staged_update_rule_t  *rule;

    for (i = 0; i < n; i++) {

        switch (ov[i].kind) {

        case NGX_HTTP_STAGED_UPDATE_OV_DEFAULT:
            ov[i].conf = scope->pct;
            break;

        case NGX_HTTP_STAGED_UPDATE_OV_RULE:
            rule = ngx_http_staged_update_rule_named(t, scope, ov[i].pattern,
                                                     ov[i].pattern_len);
            if (rule == NULL) {
                snprintf(err, errlen, "the table of \"%.*s\" has no rule "
                         "\"%.*s\"", (int) scope->name_len,
                         ngx_http_staged_update_str(t, scope->name),
                         (int) ov[i].pattern_len, ov[i].pattern);
                return err;
            }

            ov[i].conf = rule->pct;
            break;

        case NGX_HTTP_STAGED_UPDATE_OV_RATE:
            break;              /* the caller's: the configured cap */

        default:
            ov[i].conf = 0;
            break;
        }
    }

    return NULL;
}


int
ngx_http_staged_update_ov_same(const ngx_http_staged_update_ov_t *a,
    const ngx_http_staged_update_ov_t *b)
{
    return a->kind == b->kind
           && a->server_len == b->server_len
           && memcmp(a->server, b->server, a->server_len) == 0
           && (a->kind != NGX_HTTP_STAGED_UPDATE_OV_RULE
               || (a->pattern_len == b->pattern_len
                   && memcmp(a->pattern, b->pattern, a->pattern_len) == 0));
}


static size_t
ngx_http_staged_update_put(u_char *dst, size_t at, const char *s, size_t len)
{
    if (dst) {
        memcpy(dst + at, s, len);
    }

    return len;
}


size_t
ngx_http_staged_update_pct_json(u_char *dst, uint32_t pct)
{
    u_char  buf[NGX_HTTP_STAGED_UPDATE_PCT_LEN];
    size_t  n;

    n = ngx_http_staged_update_pct_print(buf, pct);

    if (dst) {
        dst[0] = '"';
        memcpy(dst + 1, buf, n);
        dst[n + 1] = '%';
        dst[n + 2] = '"';
    }

    return n + 3;
}


size_t
ngx_http_staged_update_rate_json(u_char *dst, uint32_t rate)
{
    char    buf[32];
    size_t  n;

    if (rate % 1000 == 0) {
        n = (size_t) snprintf(buf, sizeof(buf), "\"%u/s\"", rate / 1000);

    } else {
        n = (size_t) snprintf(buf, sizeof(buf), "\"%u/m\"",
                              (unsigned) (((uint64_t) rate * 60 + 500)
                                          / 1000));
    }

    if (dst) {
        memcpy(dst, buf, n);
    }

    return n;
}


size_t
ngx_http_staged_update_ov_json(u_char *dst,
    const ngx_http_staged_update_ov_t *ov)
{
    char        when[32], num[16];
    size_t      n;
    time_t      t;
    struct tm   tm;

#define put(s)  n += ngx_http_staged_update_put(dst, n, s, sizeof(s) - 1)
#define at      (dst ? dst + n : NULL)

    n = 0;

    put("{\"server\":");

    if (ov->server_len) {
        n += ngx_http_staged_update_json_str(at, ov->server, ov->server_len);

    } else {
        put("null");
    }

    put(",\"field\":\"");
    n += ngx_http_staged_update_put(dst, n,
                                    ngx_http_staged_update_ov_fields[ov->kind],
                                    strlen(ngx_http_staged_update_ov_fields
                                           [ov->kind]));
    put("\"");

    if (ov->kind == NGX_HTTP_STAGED_UPDATE_OV_RULE) {
        put(",\"pattern\":");
        n += ngx_http_staged_update_json_str(at, ov->pattern, ov->pattern_len);
    }

    put(",\"value\":");

    if (ov->kind == NGX_HTTP_STAGED_UPDATE_OV_PAUSED
        || ov->kind == NGX_HTTP_STAGED_UPDATE_OV_HALTED)
    {
        put("true");

    } else if (ov->kind == NGX_HTTP_STAGED_UPDATE_OV_RATE) {
        n += ngx_http_staged_update_rate_json(at, ov->value);
        put(",\"configured\":");
        n += ngx_http_staged_update_rate_json(at, ov->conf);

        if (ov->burst) {
            put(",\"burst\":");
            n += ngx_http_staged_update_put(dst, n, num,
                     (size_t) snprintf(num, sizeof(num), "%u", ov->burst));
        }

    } else {
        n += ngx_http_staged_update_pct_json(at, ov->value);
        put(",\"configured\":");
        n += ngx_http_staged_update_pct_json(at, ov->conf);
    }

    t = (time_t) ov->when;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

    put(",\"when\":\"");
    n += ngx_http_staged_update_put(dst, n, when, strlen(when));
    put("\",\"from\":");
    n += ngx_http_staged_update_json_str(at, ov->from, ov->from_len);
    put("}");

#undef put
#undef at

    return n;
}


static int
ngx_http_staged_update_time_parse(const char *s, int64_t *t)
{
    int        len;
    struct tm  tm;

    memset(&tm, 0, sizeof(struct tm));
    len = 0;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &len)
        != 6
        || len != 20 || s[len] != '\0'
        || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1
        || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59
        || tm.tm_sec > 60)
    {
        return -1;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    *t = (int64_t) timegm(&tm);

    return 0;
}


/* one override of a state file, written by ov_json() */

static const char *
ngx_http_staged_update_ov_read(json_t *o, ngx_http_staged_update_ov_t *ov,
    char *err, size_t errlen)
{
    size_t       i, len;
    json_t      *server, *field, *pattern, *value, *conf, *when, *from,
                *burst;
    const char  *e, *s;

    memset(ov, 0, sizeof(ngx_http_staged_update_ov_t));

    if (!json_is_object(o)) {
        return "an override is not an object";
    }

    server = json_object_get(o, "server");
    field = json_object_get(o, "field");
    pattern = json_object_get(o, "pattern");
    value = json_object_get(o, "value");
    conf = json_object_get(o, "configured");
    when = json_object_get(o, "when");
    from = json_object_get(o, "from");
    burst = json_object_get(o, "burst");

    if (!json_is_string(field) || !json_is_string(when)
        || !json_is_string(from) || (server && !json_is_null(server)
                                     && !json_is_string(server)))
    {
        return "an override lacks \"field\", \"when\" or \"from\"";
    }

    s = json_string_value(field);

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_OV_KINDS; i++) {
        if (strcmp(s, ngx_http_staged_update_ov_fields[i]) == 0) {
            break;
        }
    }

    if (i == NGX_HTTP_STAGED_UPDATE_OV_KINDS) {
        return "an override has an unknown \"field\"";
    }

    ov->kind = (uint32_t) i;

    if (json_is_string(server)) {
        len = json_string_length(server);

        if (!ngx_http_staged_update_safe(
                 (const u_char *) json_string_value(server), len,
                 NGX_HTTP_STAGED_UPDATE_ID_MAXLEN))
        {
            return "an override has a malformed \"server\"";
        }

        memcpy(ov->server, json_string_value(server), len);
        ov->server_len = (uint32_t) len;
    }

    if (ov->kind == NGX_HTTP_STAGED_UPDATE_OV_RULE) {
        if (!json_is_string(pattern)
            || json_string_length(pattern) == 0
            || json_string_length(pattern)
               > NGX_HTTP_STAGED_UPDATE_PATTERN_MAXLEN)
        {
            return "a rule override has no valid \"pattern\"";
        }

        ov->pattern_len = (uint32_t) json_string_length(pattern);
        memcpy(ov->pattern, json_string_value(pattern), ov->pattern_len);
    }

    if (ov->kind == NGX_HTTP_STAGED_UPDATE_OV_PAUSED
        || ov->kind == NGX_HTTP_STAGED_UPDATE_OV_HALTED)
    {
        if (!json_is_true(value)) {
            return "a paused or halted override has the value true";
        }

        ov->value = 1;

    } else if (ov->kind == NGX_HTTP_STAGED_UPDATE_OV_RATE) {
        e = ngx_http_staged_update_rate_parse(
                (const u_char *) json_string_value(value),
                json_string_length(value), &ov->value);

        if (e == NULL && json_is_string(conf)) {
            e = ngx_http_staged_update_rate_parse(
                    (const u_char *) json_string_value(conf),
                    json_string_length(conf), &ov->conf);

        } else if (e == NULL) {
            e = "no \"configured\" rate";
        }

        if (e == NULL && burst) {
            e = ngx_http_staged_update_json_burst(burst, &ov->burst);
        }

        if (e) {
            snprintf(err, errlen, "an override's rate: %s", e);
            return err;
        }

    } else {
        e = ngx_http_staged_update_json_pct(value, &ov->value);
        if (e == NULL) {
            e = ngx_http_staged_update_json_pct(conf, &ov->conf);
        }

        if (e) {
            snprintf(err, errlen, "an override's percentage: %s", e);
            return err;
        }
    }

    if (ngx_http_staged_update_time_parse(json_string_value(when), &ov->when)
        != 0)
    {
        return "an override has a malformed \"when\"";
    }

    len = json_string_length(from);

    if (len > NGX_HTTP_STAGED_UPDATE_FROM_MAXLEN) {
        return "an override has an over-long \"from\"";
    }

    memcpy(ov->from, json_string_value(from), len);
    ov->from_len = (uint32_t) len;

    return NULL;
}


const char *
ngx_http_staged_update_state_parse(const u_char *p, size_t len,
    ngx_http_staged_update_track_pt track, ngx_http_staged_update_ov_pt ov,
    void *data, char *err, size_t errlen)
{
    size_t                        i;
    int64_t                       paused, at;
    json_t                       *root, *tracks, *t, *etag, *list, *v;
    const char                   *name, *e;
    json_error_t                  jerr;
    ngx_http_staged_update_ov_t   o;

    root = json_loadb((const char *) p, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        snprintf(err, errlen, "not JSON: %s at character %d", jerr.text,
                 jerr.position);
        return err;
    }

    e = NULL;

    if (!json_is_object(root)
        || json_integer_value(json_object_get(root, "staged_update_state"))
           != 1)
    {
        e = "not a staged_update state (\"staged_update_state\": 1)";
        goto done;
    }

    tracks = json_object_get(root, "tracks");

    if (!json_is_object(tracks)) {
        e = "no \"tracks\" object";
        goto done;
    }

    json_object_foreach(tracks, name, t) {
        etag = json_object_get(t, "etag");
        list = json_object_get(t, "overrides");

        if (!json_is_integer(etag) || json_integer_value(etag) < 0
            || json_integer_value(etag) > 0xffffffffLL
            || !json_is_array(list) || strlen(name) == 0)
        {
            e = "a track lacks its \"etag\" or \"overrides\"";
            goto done;
        }

        paused = 0;
        at = 0;
        v = json_object_get(t, "ramp_paused");

        if (v) {
            if (!json_is_integer(v) || json_integer_value(v) < 0
                || json_integer_value(v) > 0x7fffffffLL)
            {
                e = "a track has a malformed \"ramp_paused\"";
                goto done;
            }

            paused = json_integer_value(v);
        }

        v = json_object_get(t, "ramp_at");

        if (v) {
            if (!json_is_integer(v) || json_integer_value(v) < 0
                || json_integer_value(v) > 0x7fffffffffffLL)
            {
                e = "a track has a malformed \"ramp_at\"";
                goto done;
            }

            at = json_integer_value(v);
        }

        if (track(data, (const u_char *) name, strlen(name),
                  (uint32_t) json_integer_value(etag), paused, at)
            != 0)
        {
            e = "a track could not be kept";
            goto done;
        }

        for (i = 0; i < json_array_size(list); i++) {
            e = ngx_http_staged_update_ov_read(json_array_get(list, i), &o,
                                               err, errlen);
            if (e) {
                goto done;
            }

            if (ov(data, &o) != 0) {
                e = "an override could not be kept";
                goto done;
            }
        }
    }

done:

    json_decref(root);

    if (e && e != err) {
        snprintf(err, errlen, "%s", e);
    }

    return e ? err : NULL;
}
