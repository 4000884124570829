/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * libFuzzer target: the tables.  The input bytes describe a track and up
 * to 7 servers (IDs from a 4-letter alphabet, so that duplicates and
 * prefixes are common; bounds; defaults; up to 5 rules each, written as
 * text and parsed with range_parse).  The target runs rules_sort,
 * table_size and table_build into a buffer of exactly table_size bytes,
 * moves the block to another address, then looks servers up and decides
 * for versions at and around every bound and rule edge.
 *
 * Invariants: rules_sort leaves sorted, disjoint rules that cover the
 * same versions with the same percentages, or names two overlapping rules
 * of different percentages; table_build reports the first repeated ID by
 * its index; every offset lies inside the block; a lookup finds exactly
 * the server of that ID; every decision equals a literal reading of
 * SYSTEM.md over the specs (linear search), with pct <= 10000, MINIMUM
 * at 10000, LATEST at 0, and the track or the given server deciding.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ...
 *   gcc -DSTANDALONE_MAIN ... : replays files and directories given on argv
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ngx_http_staged_update_table.h"


#define FUZZ_SERVERS  7
#define FUZZ_RULES    5
#define FUZZ_PROBES   512
#define FUZZ_MAX9     999999999u
#define FUZZ_ANY      NGX_HTTP_STAGED_UPDATE_VERSION_ANY


typedef ngx_http_staged_update_version_t     fuzz_ver_t;
typedef ngx_http_staged_update_rule_spec_t   fuzz_rule_spec_t;
typedef ngx_http_staged_update_scope_spec_t  fuzz_scope_spec_t;
typedef ngx_http_staged_update_table_t       fuzz_table_t;
typedef ngx_http_staged_update_scope_t       fuzz_scope_t;
typedef ngx_http_staged_update_rule_t        fuzz_rule_t;
typedef ngx_http_staged_update_decision_t    fuzz_decision_t;
typedef ngx_http_staged_update_steps_t       fuzz_steps_t;


typedef struct {
    const uint8_t     *p;
    size_t             n;
} fuzz_in_t;


/* one table: its spec, its rules as given and as sorted */

typedef struct {
    fuzz_scope_spec_t  spec;
    fuzz_rule_spec_t   orig[FUZZ_RULES];
    fuzz_rule_spec_t   rules[FUZZ_RULES];
    size_t             norig;
    char               text[FUZZ_RULES][96];
    u_char             name[8];
} fuzz_table_spec_t;


/* what SYSTEM.md decides: scope -1 is the track */

typedef struct {
    uint32_t           reason;
    uint32_t           pct;
    long               scope;
    long               rule;
} fuzz_ref_t;


static unsigned fuzz_byte(fuzz_in_t *in);
static uint32_t fuzz_part(fuzz_in_t *in);
static int fuzz_version_text(fuzz_in_t *in, char *buf, size_t size,
    int wildcard);
static fuzz_ver_t fuzz_version(fuzz_in_t *in);
static uint32_t fuzz_pct(fuzz_in_t *in);
static void fuzz_scope(fuzz_in_t *in, fuzz_table_spec_t *ts, int server);
static void fuzz_sort(fuzz_table_spec_t *ts);
static int fuzz_cmp(const fuzz_ver_t *a, const fuzz_ver_t *b);
static int fuzz_in(const fuzz_ver_t *v, const fuzz_rule_spec_t *r);
static int fuzz_covered(const fuzz_rule_spec_t *rules, size_t n,
    const fuzz_ver_t *v);
static fuzz_ver_t fuzz_real(fuzz_ver_t v);
static int fuzz_succ(fuzz_ver_t *v);
static int fuzz_pred(fuzz_ver_t *v);
static void fuzz_probe(fuzz_ver_t *probes, size_t *n, fuzz_ver_t v);
static void fuzz_check_cover(const fuzz_table_spec_t *ts,
    const fuzz_ver_t *v);
static void fuzz_ref_decide(const fuzz_table_spec_t *track,
    const fuzz_table_spec_t *servers, long server, const fuzz_ver_t *v,
    fuzz_ref_t *ref);
static void fuzz_check_block(const fuzz_table_t *t,
    const fuzz_table_spec_t *track, const fuzz_table_spec_t *servers,
    size_t nservers, size_t size);
static void fuzz_check_scope(const fuzz_table_t *t, const fuzz_scope_t *s,
    const fuzz_table_spec_t *ts, size_t size);


static unsigned
fuzz_byte(fuzz_in_t *in)
{
    if (in->n == 0) {
        return 0;
    }

    in->n--;

    return *in->p++;
}


/* mostly small numbers, so that versions and rules meet */

static uint32_t
fuzz_part(fuzz_in_t *in)
{
    unsigned  b;

    b = fuzz_byte(in);

    if (b == 0xff) {
        return FUZZ_MAX9;
    }

    if (b >= 0xf0) {
        return b - 0xf0 + 5;
    }

    return b % 5;
}


/* "1.2.3", or with wildcard "1.2.*" and "*" */

static int
fuzz_version_text(fuzz_in_t *in, char *buf, size_t size, int wildcard)
{
    int       len;
    unsigned  b, n, k;

    b = fuzz_byte(in);
    n = 1 + b % 4;
    len = 0;

    if (wildcard) {
        n = (b >> 2) % 4;
    }

    for (k = 0; k < n; k++) {
        len += snprintf(buf + len, size - (size_t) len, k ? ".%u" : "%u",
                        fuzz_part(in));
    }

    if (wildcard) {
        len += snprintf(buf + len, size - (size_t) len, n ? ".*" : "*");
    }

    return len;
}


static fuzz_ver_t
fuzz_version(fuzz_in_t *in)
{
    int          len;
    char         text[64];
    fuzz_ver_t   v;
    const char  *err;

    len = fuzz_version_text(in, text, sizeof(text), 0);

    err = ngx_http_staged_update_version_parse((u_char *) text, (size_t) len,
                                               &v);
    FUZZ_ASSERT(err == NULL);

    return v;
}


static uint32_t
fuzz_pct(fuzz_in_t *in)
{
    static const uint32_t  pcts[] = { 5000, 5000, 0, 10000, 1, 9999, 2500 };

    return pcts[fuzz_byte(in) % (sizeof(pcts) / sizeof(pcts[0]))];
}


static void
fuzz_scope(fuzz_in_t *in, fuzz_table_spec_t *ts, int server)
{
    int                len;
    char              *text;
    size_t             i, n, k;
    unsigned           b, kind;
    fuzz_ver_t         v;
    const char        *err;
    fuzz_rule_spec_t  *r;

    memset(ts, 0, sizeof(fuzz_table_spec_t));

    if (server) {
        b = fuzz_byte(in);
        n = 1 + b % 3;

        for (k = 0; k < n; k++) {
            ts->name[k] = (u_char) "ab1-"[(b >> (2 + 2 * k)) & 3];
        }

    } else {
        n = 1;
        ts->name[0] = 't';
    }

    ts->spec.name = ts->name;
    ts->spec.name_len = n;
    ts->spec.latest = fuzz_version(in);
    ts->spec.minimum = fuzz_version(in);
    ts->spec.pct = fuzz_pct(in);

    /* the configuration refuses a minimum above the latest */

    if (fuzz_cmp(&ts->spec.minimum, &ts->spec.latest) > 0) {
        v = ts->spec.minimum;
        ts->spec.minimum = ts->spec.latest;
        ts->spec.latest = v;
    }

    n = fuzz_byte(in) % (FUZZ_RULES + 1);

    for (i = 0; i < n; i++) {
        r = &ts->orig[ts->norig];
        text = ts->text[ts->norig];
        kind = fuzz_byte(in) % 4;

        switch (kind) {

        case 0:
            len = fuzz_version_text(in, text, 48, 0);
            break;

        case 1:
            len = fuzz_version_text(in, text, 48, 1);
            break;

        default:

            /* at most 39 characters, "-", then at most 39 again */

            len = fuzz_version_text(in, text, 48, 0);
            text[len++] = '-';
            len += fuzz_version_text(in, text + len, 48, kind == 3);
        }

        err = ngx_http_staged_update_range_parse((u_char *) text,
                                                 (size_t) len, &r->range);

        if (err) {

            /* only "lo-hi" can be wrong: an empty range */

            FUZZ_ASSERT(kind >= 2);
            continue;
        }

        FUZZ_ASSERT(fuzz_cmp(&r->range.lo, &r->range.hi) <= 0);

        r->pct = fuzz_pct(in);
        r->text = (u_char *) text;
        r->text_len = (size_t) len;
        r->data = ts->norig;

        ts->norig++;
    }
}


static void
fuzz_sort(fuzz_table_spec_t *ts)
{
    size_t                   i, j;
    ssize_t                  n;
    fuzz_rule_spec_t         a, b;
    const fuzz_rule_spec_t  *o;

    memcpy(ts->rules, ts->orig, sizeof(ts->rules));

    n = ngx_http_staged_update_rules_sort(ts->rules, ts->norig, &a, &b);

    if (n < 0) {

        /*
         * Two rules of different percentages overlap: b as given, a as
         * given or starting later (after an equal rule), b starting inside
         * a as given.
         */

        FUZZ_ASSERT(a.data < ts->norig && b.data < ts->norig);
        FUZZ_ASSERT(a.data != b.data);
        FUZZ_ASSERT(a.pct != b.pct);
        FUZZ_ASSERT(a.pct == ts->orig[a.data].pct);
        FUZZ_ASSERT(memcmp(&b.range, &ts->orig[b.data].range,
                           sizeof(b.range)) == 0);
        FUZZ_ASSERT(fuzz_cmp(&a.range.lo, &ts->orig[a.data].range.lo) >= 0);
        FUZZ_ASSERT(fuzz_cmp(&a.range.hi, &ts->orig[a.data].range.hi) == 0);
        FUZZ_ASSERT(fuzz_cmp(&ts->orig[a.data].range.lo, &b.range.lo) <= 0);
        FUZZ_ASSERT(fuzz_cmp(&b.range.lo, &a.range.hi) <= 0);
        FUZZ_ASSERT(a.text == ts->orig[a.data].text);
        FUZZ_ASSERT(b.text == ts->orig[b.data].text);

        /* go on with one percentage: then no overlap is refused */

        for (i = 0; i < ts->norig; i++) {
            ts->orig[i].pct = ts->orig[0].pct;
        }

        memcpy(ts->rules, ts->orig, sizeof(ts->rules));

        n = ngx_http_staged_update_rules_sort(ts->rules, ts->norig, &a, &b);
        FUZZ_ASSERT(n > 0);
    }

    FUZZ_ASSERT((size_t) n <= ts->norig);

    /*
     * sorted and disjoint; each is a part of the rule it was given as,
     * ending where that rule does, so its text holds every version in it
     */

    for (i = 0; i < (size_t) n; i++) {
        FUZZ_ASSERT(fuzz_cmp(&ts->rules[i].range.lo, &ts->rules[i].range.hi)
                    <= 0);

        if (i + 1 < (size_t) n) {
            FUZZ_ASSERT(fuzz_cmp(&ts->rules[i].range.hi,
                                 &ts->rules[i + 1].range.lo) < 0);
        }

        o = &ts->orig[ts->rules[i].data];
        FUZZ_ASSERT(ts->rules[i].data < ts->norig);
        FUZZ_ASSERT(fuzz_cmp(&ts->rules[i].range.lo, &o->range.lo) >= 0);
        FUZZ_ASSERT(fuzz_cmp(&ts->rules[i].range.hi, &o->range.hi) == 0);
        FUZZ_ASSERT(ts->rules[i].pct == o->pct);
        FUZZ_ASSERT(ts->rules[i].text == o->text);
    }

    /* together they cover exactly the versions the given rules cover */

    for (j = 0; j < ts->norig; j++) {
        FUZZ_ASSERT(fuzz_covered(ts->rules, (size_t) n, &ts->orig[j].range.lo));
        FUZZ_ASSERT(fuzz_covered(ts->rules, (size_t) n, &ts->orig[j].range.hi));
    }

    ts->spec.rules = ts->rules;
    ts->spec.nrules = (size_t) n;
}


static int
fuzz_cmp(const fuzz_ver_t *a, const fuzz_ver_t *b)
{
    return ngx_http_staged_update_version_cmp(a, b);
}


static int
fuzz_covered(const fuzz_rule_spec_t *rules, size_t n, const fuzz_ver_t *v)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (fuzz_in(v, &rules[i])) {
            return 1;
        }
    }

    return 0;
}


static int
fuzz_in(const fuzz_ver_t *v, const fuzz_rule_spec_t *r)
{
    return fuzz_cmp(&r->range.lo, v) <= 0 && fuzz_cmp(v, &r->range.hi) <= 0;
}


/* the highest real version at or below a bound with wildcards */

static fuzz_ver_t
fuzz_real(fuzz_ver_t v)
{
    size_t  k;

    for (k = 0; k < NGX_HTTP_STAGED_UPDATE_VERSION_PARTS; k++) {
        if (v.part[k] == FUZZ_ANY) {
            v.part[k] = FUZZ_MAX9;
        }
    }

    return v;
}


/* the next and the previous version of the 4-part space */

static int
fuzz_succ(fuzz_ver_t *v)
{
    int  k;

    for (k = NGX_HTTP_STAGED_UPDATE_VERSION_PARTS - 1; k >= 0; k--) {
        if (v->part[k] < FUZZ_MAX9) {
            v->part[k]++;
            return 1;
        }

        v->part[k] = 0;
    }

    return 0;
}


static int
fuzz_pred(fuzz_ver_t *v)
{
    int  k;

    for (k = NGX_HTTP_STAGED_UPDATE_VERSION_PARTS - 1; k >= 0; k--) {
        if (v->part[k] > 0) {
            v->part[k]--;
            return 1;
        }

        v->part[k] = FUZZ_MAX9;
    }

    return 0;
}


/* v and its two neighbours */

static void
fuzz_probe(fuzz_ver_t *probes, size_t *n, fuzz_ver_t v)
{
    fuzz_ver_t  w;

    if (*n + 3 > FUZZ_PROBES) {
        return;
    }

    v = fuzz_real(v);
    probes[(*n)++] = v;

    w = v;
    if (fuzz_succ(&w)) {
        probes[(*n)++] = w;
    }

    w = v;
    if (fuzz_pred(&w)) {
        probes[(*n)++] = w;
    }
}


/* the sorted rules cover v with the percentage of the given ones */

static void
fuzz_check_cover(const fuzz_table_spec_t *ts, const fuzz_ver_t *v)
{
    size_t    i, merged, given;
    uint32_t  pct;

    merged = 0;
    pct = 0;

    for (i = 0; i < ts->spec.nrules; i++) {
        if (fuzz_in(v, &ts->rules[i])) {
            merged++;
            pct = ts->rules[i].pct;
        }
    }

    FUZZ_ASSERT(merged <= 1);

    given = 0;

    for (i = 0; i < ts->norig; i++) {
        if (fuzz_in(v, &ts->orig[i])) {
            given++;
            FUZZ_ASSERT(merged && ts->orig[i].pct == pct);
        }
    }

    FUZZ_ASSERT(merged == 0 || given > 0);
}


/* SYSTEM.md, "What the version server decides", read literally */

static void
fuzz_ref_decide(const fuzz_table_spec_t *track,
    const fuzz_table_spec_t *servers, long server, const fuzz_ver_t *v,
    fuzz_ref_t *ref)
{
    size_t                    i;
    const fuzz_table_spec_t  *s;

    ref->rule = -1;

    if (fuzz_cmp(v, &track->spec.latest) >= 0) {
        ref->reason = NGX_HTTP_STAGED_UPDATE_LATEST;
        ref->pct = 0;
        ref->scope = -1;
        return;
    }

    s = server < 0 ? track : &servers[server];
    ref->scope = server;

    if (server >= 0 && fuzz_cmp(v, &s->spec.latest) >= 0) {
        ref->reason = NGX_HTTP_STAGED_UPDATE_LATEST;
        ref->pct = 0;
        return;
    }

    if (fuzz_cmp(v, &s->spec.minimum) < 0) {
        ref->reason = NGX_HTTP_STAGED_UPDATE_MINIMUM;
        ref->pct = NGX_HTTP_STAGED_UPDATE_PCT_MAX;
        return;
    }

    for (i = 0; i < s->spec.nrules; i++) {
        if (fuzz_in(v, &s->rules[i])) {
            ref->reason = NGX_HTTP_STAGED_UPDATE_RULE;
            ref->pct = s->rules[i].pct;
            ref->rule = (long) i;
            return;
        }
    }

    ref->reason = NGX_HTTP_STAGED_UPDATE_DEFAULT;
    ref->pct = s->spec.pct;
}


static void
fuzz_check_scope(const fuzz_table_t *t, const fuzz_scope_t *s,
    const fuzz_table_spec_t *ts, size_t size)
{
    size_t              i;
    const fuzz_rule_t  *rules;

    FUZZ_ASSERT((size_t) s->name + s->name_len <= size);
    FUZZ_ASSERT(s->name_len == ts->spec.name_len);
    FUZZ_ASSERT(memcmp(ngx_http_staged_update_str(t, s->name),
                       ts->spec.name, s->name_len) == 0);

    FUZZ_ASSERT(fuzz_cmp(&s->latest, &ts->spec.latest) == 0);
    FUZZ_ASSERT(fuzz_cmp(&s->minimum, &ts->spec.minimum) == 0);
    FUZZ_ASSERT(s->pct == ts->spec.pct);
    FUZZ_ASSERT(s->release == ts->spec.release);
    FUZZ_ASSERT(s->nrules == ts->spec.nrules);
    FUZZ_ASSERT(s->rules % sizeof(uint32_t) == 0);
    FUZZ_ASSERT((size_t) s->rules + s->nrules * sizeof(fuzz_rule_t) <= size);

    rules = (const fuzz_rule_t *) ngx_http_staged_update_str(t, s->rules);

    for (i = 0; i < s->nrules; i++) {
        FUZZ_ASSERT(memcmp(&rules[i].range, &ts->rules[i].range,
                           sizeof(rules[i].range)) == 0);
        FUZZ_ASSERT(rules[i].pct == ts->rules[i].pct);
        FUZZ_ASSERT((size_t) rules[i].text + rules[i].text_len <= size);
        FUZZ_ASSERT(rules[i].text_len == ts->rules[i].text_len);
        FUZZ_ASSERT(memcmp(ngx_http_staged_update_str(t, rules[i].text),
                           ts->rules[i].text, rules[i].text_len) == 0);
    }
}


static void
fuzz_check_block(const fuzz_table_t *t, const fuzz_table_spec_t *track,
    const fuzz_table_spec_t *servers, size_t nservers, size_t size)
{
    size_t               i;
    const fuzz_scope_t  *base;

    FUZZ_ASSERT(t->size == size);
    FUZZ_ASSERT(t->nservers == nservers);
    FUZZ_ASSERT(((t->mask + 1) & t->mask) == 0);
    FUZZ_ASSERT(t->mask + 1 >= nservers);
    FUZZ_ASSERT((size_t) t->servers + nservers * sizeof(fuzz_scope_t)
                <= size);
    FUZZ_ASSERT((size_t) t->buckets + (t->mask + 1) * sizeof(uint32_t)
                <= size);

    fuzz_check_scope(t, &t->track, track, size);

    base = (const fuzz_scope_t *) ngx_http_staged_update_str(t, t->servers);

    for (i = 0; i < nservers; i++) {
        FUZZ_ASSERT(base[i].next <= nservers);
        fuzz_check_scope(t, &base[i], &servers[i], size);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long                      server, want;
    u_char                   *buf, *copy, miss[4];
    size_t                    i, j, k, n, nservers, tsize, dup, first,
                              nprobes, miss_len;
    fuzz_in_t                 in;
    fuzz_ref_t                ref;
    fuzz_ver_t               *probes;
    const char               *err;
    fuzz_table_t             *t;
    fuzz_decision_t           d, e;
    fuzz_steps_t              steps;
    fuzz_scope_spec_t         specs[FUZZ_SERVERS];
    fuzz_table_spec_t         track, servers[FUZZ_SERVERS];
    const fuzz_rule_t        *rules;
    const fuzz_scope_t       *base, *s, *scope;
    const fuzz_table_spec_t  *ts;

    in.p = data;
    in.n = size;

    nservers = fuzz_byte(&in) % (FUZZ_SERVERS + 1);

    fuzz_scope(&in, &track, 0);
    fuzz_sort(&track);

    for (i = 0; i < nservers; i++) {
        fuzz_scope(&in, &servers[i], 1);
        servers[i].spec.release = (uint32_t) i + 1;
        fuzz_sort(&servers[i]);
        specs[i] = servers[i].spec;
    }

    /* the first ID that repeats an earlier one */

    first = nservers;

    for (i = 1; i < nservers && first == nservers; i++) {
        for (j = 0; j < i; j++) {
            if (specs[i].name_len == specs[j].name_len
                && memcmp(specs[i].name, specs[j].name, specs[i].name_len)
                   == 0)
            {
                first = i;
                break;
            }
        }
    }

    tsize = ngx_http_staged_update_table_size(&track.spec, specs, nservers);
    FUZZ_ASSERT(tsize % sizeof(uint32_t) == 0);

    buf = malloc(tsize);
    FUZZ_ASSERT(buf != NULL);

    dup = (size_t) -1;
    err = ngx_http_staged_update_table_build(buf, &track.spec, specs,
                                             nservers, &dup);

    if (first < nservers) {
        FUZZ_ASSERT(err != NULL && dup == first);

        /* make the IDs unique with a digit of their index, and go on */

        for (i = 0; i < nservers; i++) {
            servers[i].name[servers[i].spec.name_len] = (u_char) ('0' + i);
            servers[i].spec.name_len++;
            specs[i] = servers[i].spec;
        }

        free(buf);

        tsize = ngx_http_staged_update_table_size(&track.spec, specs,
                                                  nservers);
        buf = malloc(tsize);
        FUZZ_ASSERT(buf != NULL);

        dup = (size_t) -1;
        err = ngx_http_staged_update_table_build(buf, &track.spec, specs,
                                                 nservers, &dup);
    }

    FUZZ_ASSERT(err == NULL && dup == (size_t) -1);

    /* the block is relocatable: read it at another address only */

    copy = malloc(tsize);
    FUZZ_ASSERT(copy != NULL);
    memcpy(copy, buf, tsize);
    memset(buf, 0xa5, tsize);
    free(buf);

    t = (fuzz_table_t *) copy;

    fuzz_check_block(t, &track, servers, nservers, tsize);

    base = (const fuzz_scope_t *) ngx_http_staged_update_str(t, t->servers);

    /* lookups: every server as itself; an ID from the input or nothing */

    for (i = 0; i < nservers; i++) {
        s = ngx_http_staged_update_table_server(t, servers[i].spec.name,
                                                servers[i].spec.name_len);
        FUZZ_ASSERT(s == base + i);
    }

    miss_len = fuzz_byte(&in) % 4;

    for (k = 0; k < miss_len; k++) {
        miss[k] = (u_char) "ab1-0"[fuzz_byte(&in) % 5];
    }

    for (want = -1, i = 0; i < nservers; i++) {
        if (servers[i].spec.name_len == miss_len
            && memcmp(servers[i].spec.name, miss, miss_len) == 0)
        {
            want = (long) i;
        }
    }

    s = ngx_http_staged_update_table_server(t, miss, miss_len);
    FUZZ_ASSERT(s == (want < 0 ? NULL : base + want));

    /* versions at and around every bound and rule edge, and some others */

    probes = malloc(FUZZ_PROBES * sizeof(fuzz_ver_t));
    FUZZ_ASSERT(probes != NULL);

    nprobes = 0;

    for (i = 0; i <= nservers; i++) {
        ts = i ? &servers[i - 1] : &track;

        fuzz_probe(probes, &nprobes, ts->spec.latest);
        fuzz_probe(probes, &nprobes, ts->spec.minimum);

        for (j = 0; j < ts->norig; j++) {
            fuzz_probe(probes, &nprobes, ts->orig[j].range.lo);
            fuzz_probe(probes, &nprobes, ts->orig[j].range.hi);
        }
    }

    for (i = 0; i < 4 && nprobes < FUZZ_PROBES; i++) {
        probes[nprobes++] = fuzz_version(&in);
    }

    for (n = 0; n < nprobes; n++) {

        fuzz_check_cover(&track, &probes[n]);

        for (i = 0; i < nservers; i++) {
            fuzz_check_cover(&servers[i], &probes[n]);
        }

        for (server = -1; server < (long) nservers; server++) {
            s = server < 0 ? NULL : base + server;

            memset(&d, 0x5a, sizeof(d));
            ngx_http_staged_update_decide(t, s, &probes[n], &d);

            /* what holds of any decision */

            FUZZ_ASSERT(d.pct <= NGX_HTTP_STAGED_UPDATE_PCT_MAX);
            FUZZ_ASSERT(d.scope == &t->track || (s && d.scope == s));
            FUZZ_ASSERT(d.reason != NGX_HTTP_STAGED_UPDATE_MINIMUM
                        || d.pct == NGX_HTTP_STAGED_UPDATE_PCT_MAX);
            FUZZ_ASSERT(d.reason != NGX_HTTP_STAGED_UPDATE_LATEST
                        || d.pct == 0);
            FUZZ_ASSERT((d.rule != NULL)
                        == (d.reason == NGX_HTTP_STAGED_UPDATE_RULE));

            if (d.reason == NGX_HTTP_STAGED_UPDATE_DEFAULT) {
                FUZZ_ASSERT(d.pct == d.scope->pct);
            }

            /* staged_update_explain's walk: the same, its last step decided */

            ngx_http_staged_update_decide_steps(t, s, &probes[n], &e, &steps);

            FUZZ_ASSERT(e.scope == d.scope && e.rule == d.rule
                        && e.pct == d.pct && e.reason == d.reason);
            FUZZ_ASSERT(steps.n >= 1 && steps.n <= 5);
            FUZZ_ASSERT(steps.step[steps.n - 1].scope == d.scope);
            FUZZ_ASSERT(steps.step[steps.n - 1].rule == d.rule);
            FUZZ_ASSERT((steps.step[steps.n - 1].what
                         == NGX_HTTP_STAGED_UPDATE_STEP_MINIMUM)
                        == (d.reason == NGX_HTTP_STAGED_UPDATE_MINIMUM));
            FUZZ_ASSERT((steps.step[steps.n - 1].what
                         == NGX_HTTP_STAGED_UPDATE_STEP_DEFAULT)
                        == (d.reason == NGX_HTTP_STAGED_UPDATE_DEFAULT));

            /* and exactly what SYSTEM.md says */

            fuzz_ref_decide(&track, servers, server, &probes[n], &ref);

            scope = ref.scope < 0 ? &t->track : base + ref.scope;

            FUZZ_ASSERT(d.reason == ref.reason);
            FUZZ_ASSERT(d.pct == ref.pct);
            FUZZ_ASSERT(d.scope == scope);

            if (ref.rule >= 0) {
                rules = (const fuzz_rule_t *)
                            ngx_http_staged_update_str(t, scope->rules);

                FUZZ_ASSERT(d.rule == rules + ref.rule);
                FUZZ_ASSERT(d.rule->pct == d.pct);
            }
        }
    }

    free(probes);
    free(copy);

    return 0;
}


#ifdef STANDALONE_MAIN
#include "fuzz_replay.h"
#endif
