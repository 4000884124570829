/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * libFuzzer target: version_parse and range_parse on arbitrary bytes,
 * checked against a small reference parser written independently from
 * the grammar (1 to 4 dot-separated numbers of 1 to 9 digits; a range is
 * a pattern "1.7.*", "*", or "lo-hi" with an exact lo and a hi that may
 * end in "*").  Invariants: both parsers agree with the reference on
 * what is accepted and on the values; lo <= hi; a wildcard only fills a
 * suffix of hi; a parsed version compares equal to itself and to its
 * canonical text parsed again.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ...
 *   gcc -DSTANDALONE_MAIN ... : replays files and directories given on argv
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ngx_http_staged_update_version.h"


#define FUZZ_ANY    NGX_HTTP_STAGED_UPDATE_VERSION_ANY
#define FUZZ_PARTS  NGX_HTTP_STAGED_UPDATE_VERSION_PARTS


static int fuzz_ref_bound(const uint8_t *p, size_t len, uint32_t *part,
    int allow_wildcard);
static int fuzz_ref_range(const uint8_t *p, size_t len, uint32_t *lo,
    uint32_t *hi);
static int fuzz_ref_cmp(const uint32_t *a, const uint32_t *b);
static void fuzz_check_version(const uint8_t *data, size_t size);
static void fuzz_check_range(const uint8_t *data, size_t size);


/*
 * The reference: split on ".", each token 1-9 digits, or "*" as the last
 * token of a bound; 1 to 4 tokens.
 */

static int
fuzz_ref_bound(const uint8_t *p, size_t len, uint32_t *part,
    int allow_wildcard)
{
    size_t    i, start, n, k;
    uint32_t  value;

    n = 0;
    start = 0;

    for (i = 0; i <= len; i++) {

        if (i < len && p[i] != '.') {
            continue;
        }

        /* the token p[start .. i) */

        if (n == FUZZ_PARTS || i == start) {
            return 0;
        }

        if (i - start == 1 && p[start] == '*') {
            if (!allow_wildcard || i != len) {
                return 0;
            }

            for (k = n; k < FUZZ_PARTS; k++) {
                part[k] = FUZZ_ANY;
            }

            return 1;
        }

        if (i - start > 9) {
            return 0;
        }

        value = 0;

        for (k = start; k < i; k++) {
            if (p[k] < '0' || p[k] > '9') {
                return 0;
            }

            value = value * 10 + (uint32_t) (p[k] - '0');
        }

        part[n++] = value;
        start = i + 1;
    }

    for (k = n; k < FUZZ_PARTS; k++) {
        part[k] = 0;
    }

    return 1;
}


static int
fuzz_ref_range(const uint8_t *p, size_t len, uint32_t *lo, uint32_t *hi)
{
    size_t  i, k;

    for (i = 0; i < len; i++) {
        if (p[i] == '-') {
            break;
        }
    }

    if (i == len) {
        if (!fuzz_ref_bound(p, len, hi, 1)) {
            return 0;
        }

        for (k = 0; k < FUZZ_PARTS; k++) {
            lo[k] = hi[k] == FUZZ_ANY ? 0 : hi[k];
        }

        return 1;
    }

    if (!fuzz_ref_bound(p, i, lo, 0)
        || !fuzz_ref_bound(p + i + 1, len - i - 1, hi, 1))
    {
        return 0;
    }

    return fuzz_ref_cmp(lo, hi) <= 0;
}


static int
fuzz_ref_cmp(const uint32_t *a, const uint32_t *b)
{
    size_t  k;

    for (k = 0; k < FUZZ_PARTS; k++) {
        if (a[k] != b[k]) {
            return a[k] < b[k] ? -1 : 1;
        }
    }

    return 0;
}


static void
fuzz_check_version(const uint8_t *data, size_t size)
{
    int                               ok, len;
    char                              text[64];
    uint32_t                          ref[FUZZ_PARTS];
    const char                       *err;
    ngx_http_staged_update_version_t  v, w;

    err = ngx_http_staged_update_version_parse(data, size, &v);
    ok = fuzz_ref_bound(data, size, ref, 0);

    FUZZ_ASSERT((err == NULL) == ok);

    if (err) {
        FUZZ_ASSERT(err[0] != '\0');
        return;
    }

    FUZZ_ASSERT(memcmp(v.part, ref, sizeof(ref)) == 0);
    FUZZ_ASSERT(v.part[0] <= 999999999 && v.part[1] <= 999999999
                && v.part[2] <= 999999999 && v.part[3] <= 999999999);
    FUZZ_ASSERT(ngx_http_staged_update_version_cmp(&v, &v) == 0);

    /* the canonical text parses back to an equal version */

    len = snprintf(text, sizeof(text), "%u.%u.%u.%u",
                   v.part[0], v.part[1], v.part[2], v.part[3]);

    err = ngx_http_staged_update_version_parse((const u_char *) text,
                                               (size_t) len, &w);
    FUZZ_ASSERT(err == NULL);
    FUZZ_ASSERT(ngx_http_staged_update_version_cmp(&v, &w) == 0);
    FUZZ_ASSERT(ngx_http_staged_update_version_cmp(&w, &v) == 0);
}


static void
fuzz_check_range(const uint8_t *data, size_t size)
{
    int                              ok;
    size_t                           k;
    uint32_t                         lo[FUZZ_PARTS], hi[FUZZ_PARTS];
    const char                      *err;
    ngx_http_staged_update_range_t   r;

    err = ngx_http_staged_update_range_parse(data, size, &r);
    ok = fuzz_ref_range(data, size, lo, hi);

    FUZZ_ASSERT((err == NULL) == ok);

    if (err) {
        FUZZ_ASSERT(err[0] != '\0');
        return;
    }

    FUZZ_ASSERT(memcmp(r.lo.part, lo, sizeof(lo)) == 0);
    FUZZ_ASSERT(memcmp(r.hi.part, hi, sizeof(hi)) == 0);
    FUZZ_ASSERT(ngx_http_staged_update_version_cmp(&r.lo, &r.hi) <= 0);

    for (k = 0; k < FUZZ_PARTS; k++) {

        /* lo is a real version; a wildcard stretches a suffix of hi */

        FUZZ_ASSERT(r.lo.part[k] <= 999999999);

        if (k && r.hi.part[k - 1] == FUZZ_ANY) {
            FUZZ_ASSERT(r.hi.part[k] == FUZZ_ANY);
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                             i;
    const char                        *e1, *e2;
    ngx_http_staged_update_version_t   a, b;

    fuzz_check_version(data, size);
    fuzz_check_range(data, size);

    /* two versions on either side of a newline: cmp is antisymmetric */

    for (i = 0; i < size; i++) {
        if (data[i] == '\n') {
            break;
        }
    }

    if (i < size) {
        e1 = ngx_http_staged_update_version_parse(data, i, &a);
        e2 = ngx_http_staged_update_version_parse(data + i + 1,
                                                  size - i - 1, &b);

        if (e1 == NULL && e2 == NULL) {
            FUZZ_ASSERT(ngx_http_staged_update_version_cmp(&a, &b)
                        == -ngx_http_staged_update_version_cmp(&b, &a));
            FUZZ_ASSERT(ngx_http_staged_update_version_cmp(&a, &b)
                        == fuzz_ref_cmp(a.part, b.part));
        }
    }

    return 0;
}


#ifdef STANDALONE_MAIN
#include "fuzz_replay.h"
#endif
