
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_http_staged_update_table.h"
#include "ngx_http_staged_update_hll.h"


#define ngx_http_staged_update_align(n)  (((n) + 3) & ~((size_t) 3))


static int ngx_http_staged_update_rule_cmp(const void *one, const void *two);
static void ngx_http_staged_update_version_next(
    ngx_http_staged_update_version_t *v);
static uint32_t ngx_http_staged_update_id_hash(const u_char *p, size_t len);
static uint32_t ngx_http_staged_update_buckets(size_t nservers);
static const ngx_http_staged_update_rule_t *ngx_http_staged_update_rule_find(
    const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *s,
    const ngx_http_staged_update_version_t *v);


/* 1 for the characters of a server ID or a client key */

static const u_char  ngx_http_staged_update_safe_chars[256] = {
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['.'] = 1, ['_'] = 1, ['-'] = 1, [':'] = 1
};


int
ngx_http_staged_update_safe(const u_char *p, size_t len, size_t max)
{
    const u_char  *end;

    if (len == 0 || len > max) {
        return 0;
    }

    for (end = p + len; p < end; p++) {
        if (!ngx_http_staged_update_safe_chars[*p]) {
            return 0;
        }
    }

    return 1;
}


int
ngx_http_staged_update_key_hash(const u_char *p, size_t len, size_t max,
    uint64_t *h)
{
    uint64_t       hash;
    const u_char  *end;

    if (len == 0 || len > max) {
        return 0;
    }

    hash = 0xcbf29ce484222325ULL;

    for (end = p + len; p < end; p++) {
        if (!ngx_http_staged_update_safe_chars[*p]) {
            return 0;
        }

        hash ^= *p;
        hash *= 0x100000001b3ULL;
    }

    *h = ngx_http_staged_update_mix64(hash);

    return 1;
}


/* "50%", "0.5%", "12.34%": hundredths of a percent, 0 .. 10000 */

const char *
ngx_http_staged_update_pct_parse(const u_char *p, size_t len, uint32_t *pct)
{
    size_t        digits, decimals;
    uint32_t      value;
    const u_char  *end;

    if (len == 0 || p[len - 1] != '%') {
        return "a percentage ends with \"%\", as in \"12.5%\"";
    }

    end = p + len - 1;
    value = 0;
    digits = 0;

    while (p < end && *p >= '0' && *p <= '9') {
        if (++digits > 3) {
            return "a percentage is between 0% and 100%";
        }

        value = value * 10 + (*p++ - '0');
    }

    if (digits == 0) {
        return "a percentage is a number followed by \"%\", as in \"12.5%\"";
    }

    decimals = 0;

    if (p < end && *p == '.') {
        p++;

        while (p < end && *p >= '0' && *p <= '9') {
            if (++decimals > 2) {
                return "a percentage has at most 2 decimals (0.01%)";
            }

            value = value * 10 + (*p++ - '0');
        }

        if (decimals == 0) {
            return "a percentage is a number followed by \"%\", as in \"12.5%\"";
        }
    }

    if (p != end) {
        return "a percentage is a number followed by \"%\", as in \"12.5%\"";
    }

    while (decimals++ < 2) {
        value *= 10;
    }

    if (value > NGX_HTTP_STAGED_UPDATE_PCT_MAX) {
        return "a percentage is between 0% and 100%";
    }

    *pct = value;

    return NULL;
}


size_t
ngx_http_staged_update_pct_print(u_char *buf, uint32_t pct)
{
    size_t    len;
    uint32_t  whole;

    whole = pct / 100;
    len = 0;

    if (whole >= 100) {
        buf[len++] = '1';
    }

    if (whole >= 10) {
        buf[len++] = (u_char) ('0' + whole / 10 % 10);
    }

    buf[len++] = (u_char) ('0' + whole % 10);
    buf[len++] = '.';
    buf[len++] = (u_char) ('0' + pct / 10 % 10);
    buf[len++] = (u_char) ('0' + pct % 10);

    return len;
}


ssize_t
ngx_http_staged_update_rules_sort(ngx_http_staged_update_rule_spec_t *rules,
    size_t n, ngx_http_staged_update_rule_spec_t *a,
    ngx_http_staged_update_rule_spec_t *b)
{
    size_t                               i, last;
    ngx_http_staged_update_rule_spec_t  *r, *prev;

    if (n < 2) {
        return (ssize_t) n;
    }

    qsort(rules, n, sizeof(ngx_http_staged_update_rule_spec_t),
          ngx_http_staged_update_rule_cmp);

    last = 0;

    for (i = 1; i < n; i++) {
        prev = &rules[last];
        r = &rules[i];

        if (ngx_http_staged_update_version_cmp(&r->range.lo,
                                               &prev->range.hi) > 0)
        {
            rules[++last] = *r;
            continue;
        }

        /* r starts inside prev */

        if (r->pct != prev->pct) {
            *a = *prev;
            *b = *r;
            return -1;
        }

        if (ngx_http_staged_update_version_cmp(&r->range.hi,
                                               &prev->range.hi) <= 0)
        {
            continue;
        }

        /*
         * r goes on past prev: it keeps its own text, so that a trace
         * always names a pattern that holds the client's version, and
         * starts just after prev
         */

        r->range.lo = prev->range.hi;
        ngx_http_staged_update_version_next(&r->range.lo);

        rules[++last] = *r;
    }

    return (ssize_t) (last + 1);
}


/* the version right after v, where a wildcard component counts as the last */

static void
ngx_http_staged_update_version_next(ngx_http_staged_update_version_t *v)
{
    size_t  i;

    for (i = NGX_HTTP_STAGED_UPDATE_VERSION_PARTS; i--; /* void */) {

        if (v->part[i] != NGX_HTTP_STAGED_UPDATE_VERSION_ANY) {
            v->part[i]++;
            return;
        }

        v->part[i] = 0;
    }
}


static int
ngx_http_staged_update_rule_cmp(const void *one, const void *two)
{
    int                                        rc;
    const ngx_http_staged_update_rule_spec_t  *a, *b;

    a = one;
    b = two;

    rc = ngx_http_staged_update_version_cmp(&a->range.lo, &b->range.lo);
    if (rc) {
        return rc;
    }

    /* equal starts: keep the order of the configuration */

    return (a->data > b->data) - (a->data < b->data);
}


static uint32_t
ngx_http_staged_update_buckets(size_t nservers)
{
    uint32_t  n;

    n = 1;

    while (n < 2 * nservers) {
        n <<= 1;
    }

    return n;
}


size_t
ngx_http_staged_update_table_size(
    const ngx_http_staged_update_scope_spec_t *track,
    const ngx_http_staged_update_scope_spec_t *servers, size_t nservers)
{
    size_t  i, j, size, nrules, strings;

    nrules = track->nrules;
    strings = track->name_len;

    for (j = 0; j < track->nrules; j++) {
        strings += track->rules[j].text_len;
    }

    for (i = 0; i < nservers; i++) {
        nrules += servers[i].nrules;
        strings += servers[i].name_len;

        for (j = 0; j < servers[i].nrules; j++) {
            strings += servers[i].rules[j].text_len;
        }
    }

    size = sizeof(ngx_http_staged_update_table_t)
           + nservers * sizeof(ngx_http_staged_update_scope_t)
           + ngx_http_staged_update_buckets(nservers) * sizeof(uint32_t)
           + nrules * sizeof(ngx_http_staged_update_rule_t)
           + strings;

    return ngx_http_staged_update_align(size);
}


const char *
ngx_http_staged_update_table_build(void *buf,
    const ngx_http_staged_update_scope_spec_t *track,
    const ngx_http_staged_update_scope_spec_t *servers, size_t nservers,
    size_t *dup)
{
    u_char                                    *base;
    size_t                                     i, j, off, rules, strings;
    uint32_t                                   h, *bucket;
    ngx_http_staged_update_rule_t             *rule;
    ngx_http_staged_update_table_t            *t;
    ngx_http_staged_update_scope_t            *scope, *s;
    const ngx_http_staged_update_scope_spec_t *spec;

    base = buf;
    t = buf;

    memset(t, 0, sizeof(ngx_http_staged_update_table_t));

    t->size = (uint32_t) ngx_http_staged_update_table_size(track, servers,
                                                           nservers);
    t->nservers = (uint32_t) nservers;
    t->mask = ngx_http_staged_update_buckets(nservers) - 1;

    off = sizeof(ngx_http_staged_update_table_t);
    t->servers = (uint32_t) off;

    off += nservers * sizeof(ngx_http_staged_update_scope_t);
    t->buckets = (uint32_t) off;

    bucket = (uint32_t *) (base + off);
    memset(bucket, 0, (t->mask + 1) * sizeof(uint32_t));

    rules = off + (t->mask + 1) * sizeof(uint32_t);

    strings = rules + track->nrules * sizeof(ngx_http_staged_update_rule_t);

    for (i = 0; i < nservers; i++) {
        strings += servers[i].nrules * sizeof(ngx_http_staged_update_rule_t);
    }

    for (i = 0; i <= nservers; i++) {

        if (i == 0) {
            spec = track;
            scope = &t->track;

        } else {
            spec = &servers[i - 1];
            scope = (ngx_http_staged_update_scope_t *) (base + t->servers)
                    + i - 1;
        }

        scope->latest = spec->latest;
        scope->minimum = spec->minimum;
        scope->pct = spec->pct;
        scope->release = spec->release;
        scope->next = 0;

        scope->name = (uint32_t) strings;
        scope->name_len = (uint32_t) spec->name_len;
        memcpy(base + strings, spec->name, spec->name_len);
        strings += spec->name_len;

        scope->nrules = (uint32_t) spec->nrules;
        scope->rules = (uint32_t) rules;

        for (j = 0; j < spec->nrules; j++) {
            rule = (ngx_http_staged_update_rule_t *) (base + rules);
            rules += sizeof(ngx_http_staged_update_rule_t);

            rule->range = spec->rules[j].range;
            rule->pct = spec->rules[j].pct;
            rule->text = (uint32_t) strings;
            rule->text_len = (uint32_t) spec->rules[j].text_len;

            memcpy(base + strings, spec->rules[j].text,
                   spec->rules[j].text_len);
            strings += spec->rules[j].text_len;
        }

        if (i == 0) {
            continue;
        }

        /* chain the server into its hash bucket, refusing a duplicate */

        h = ngx_http_staged_update_id_hash(spec->name, spec->name_len)
            & t->mask;

        for (j = bucket[h]; j; j = s->next) {
            s = (ngx_http_staged_update_scope_t *) (base + t->servers) + j - 1;

            if (s->name_len == spec->name_len
                && memcmp(base + s->name, spec->name, spec->name_len) == 0)
            {
                *dup = i - 1;
                return "the server ID is given twice";
            }
        }

        scope->next = bucket[h];
        bucket[h] = (uint32_t) i;
    }

    return NULL;
}


static uint32_t
ngx_http_staged_update_id_hash(const u_char *p, size_t len)
{
    uint32_t  h;

    h = 2166136261u;

    while (len--) {
        h ^= *p++;
        h *= 16777619u;
    }

    return h ^ (h >> 15);
}


const ngx_http_staged_update_scope_t *
ngx_http_staged_update_table_server(const ngx_http_staged_update_table_t *t,
    const u_char *id, size_t len)
{
    uint32_t                               i;
    const u_char                          *base;
    const ngx_http_staged_update_scope_t  *s;

    base = (const u_char *) t;

    i = ((const uint32_t *) (base + t->buckets))
            [ngx_http_staged_update_id_hash(id, len) & t->mask];

    while (i) {
        s = (const ngx_http_staged_update_scope_t *) (base + t->servers)
            + i - 1;

        if (s->name_len == len && memcmp(base + s->name, id, len) == 0) {
            return s;
        }

        i = s->next;
    }

    return NULL;
}


/* the last rule that starts at or below v, if v is inside it */

static const ngx_http_staged_update_rule_t *
ngx_http_staged_update_rule_find(const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *s,
    const ngx_http_staged_update_version_t *v)
{
    uint32_t                              lo, hi, mid;
    const ngx_http_staged_update_rule_t  *rules;

    rules = (const ngx_http_staged_update_rule_t *)
                ((const u_char *) t + s->rules);

    lo = 0;
    hi = s->nrules;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (ngx_http_staged_update_version_cmp(&rules[mid].range.lo, v) <= 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    if (lo == 0
        || ngx_http_staged_update_version_cmp(v, &rules[lo - 1].range.hi) > 0)
    {
        return NULL;
    }

    return &rules[lo - 1];
}


/*
 * SYSTEM.md, "What the version server decides": at or above the track's
 * latest, and with a server at or above the server's latest: no upgrade;
 * below the minimum of the table that applies: an upgrade; otherwise the
 * table's rule for v, or its default.
 *
 * The one walk of the decision, for a check (steps == NULL: inlined
 * without them) and for staged_update_explain (each step recorded).
 */

#define ngx_http_staged_update_step(steps, w, c, s, b, r)                     \
    if (steps) {                                                              \
        steps->step[steps->n].what = w;                                       \
        steps->step[steps->n].cmp = c;                                        \
        steps->step[steps->n].scope = s;                                      \
        steps->step[steps->n].bound = b;                                      \
        steps->step[steps->n].rule = r;                                       \
        steps->n++;                                                           \
    }

static inline void
ngx_http_staged_update_decide_walk(const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *server,
    const ngx_http_staged_update_version_t *v,
    ngx_http_staged_update_decision_t *d,
    ngx_http_staged_update_steps_t *steps)
{
    int                                    rc;
    const ngx_http_staged_update_scope_t  *s;

    d->rule = NULL;

    s = &t->track;

    rc = ngx_http_staged_update_version_cmp(v, &s->latest);

    ngx_http_staged_update_step(steps, NGX_HTTP_STAGED_UPDATE_STEP_LATEST,
                                rc, s, &s->latest, NULL);

    if (rc >= 0) {
        d->scope = s;
        d->pct = 0;
        d->reason = NGX_HTTP_STAGED_UPDATE_LATEST;
        return;
    }

    if (server) {
        s = server;

        rc = ngx_http_staged_update_version_cmp(v, &s->latest);

        ngx_http_staged_update_step(steps,
                                    NGX_HTTP_STAGED_UPDATE_STEP_SERVER,
                                    rc, s, &s->latest, NULL);

        if (rc >= 0) {
            d->scope = s;
            d->pct = 0;
            d->reason = NGX_HTTP_STAGED_UPDATE_LATEST;
            return;
        }
    }

    d->scope = s;

    rc = ngx_http_staged_update_version_cmp(v, &s->minimum);

    ngx_http_staged_update_step(steps, NGX_HTTP_STAGED_UPDATE_STEP_MINIMUM,
                                rc, s, &s->minimum, NULL);

    if (rc < 0) {
        d->pct = NGX_HTTP_STAGED_UPDATE_PCT_MAX;
        d->reason = NGX_HTTP_STAGED_UPDATE_MINIMUM;
        return;
    }

    d->rule = ngx_http_staged_update_rule_find(t, s, v);

    ngx_http_staged_update_step(steps, NGX_HTTP_STAGED_UPDATE_STEP_RULE,
                                0, s, NULL, d->rule);

    if (d->rule) {
        d->pct = d->rule->pct;
        d->reason = NGX_HTTP_STAGED_UPDATE_RULE;
        return;
    }

    ngx_http_staged_update_step(steps, NGX_HTTP_STAGED_UPDATE_STEP_DEFAULT,
                                0, s, NULL, NULL);

    d->pct = s->pct;
    d->reason = NGX_HTTP_STAGED_UPDATE_DEFAULT;
}


void
ngx_http_staged_update_decide(const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *server,
    const ngx_http_staged_update_version_t *v,
    ngx_http_staged_update_decision_t *d)
{
    ngx_http_staged_update_decide_walk(t, server, v, d, NULL);
}


void
ngx_http_staged_update_decide_steps(const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *server,
    const ngx_http_staged_update_version_t *v,
    ngx_http_staged_update_decision_t *d,
    ngx_http_staged_update_steps_t *steps)
{
    steps->n = 0;

    ngx_http_staged_update_decide_walk(t, server, v, d, steps);
}


uint32_t
ngx_http_staged_update_rule_index(const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_rule_t *rule)
{
    return (uint32_t) (((const u_char *) rule - (const u_char *) t
                        - t->track.rules)
                       / sizeof(ngx_http_staged_update_rule_t));
}


/* FNV-1a, 64 bits, with the MurmurHash3 finalizer for the high bits */

uint64_t
ngx_http_staged_update_hash_init(const u_char *salt, size_t len)
{
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;

    while (len--) {
        h ^= *salt++;
        h *= 0x100000001b3ULL;
    }

    return h;
}


uint32_t
ngx_http_staged_update_bucket(uint64_t state, const u_char *key, size_t len)
{
    uint64_t  h;

    h = state;

    while (len--) {
        h ^= *key++;
        h *= 0x100000001b3ULL;
    }

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return (uint32_t) (((h >> 32) * NGX_HTTP_STAGED_UPDATE_PCT_MAX) >> 32);
}
