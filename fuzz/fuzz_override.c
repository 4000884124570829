/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * libFuzzer target: the control API's body handling.  The same bytes go to
 * patch_parse (a PATCH body) and to state_parse (a state file).
 * Invariants: at most PATCH_MAX changes, each percentage at most 10000
 * (a rate at most 1000000/s, a burst only with a rate),
 * patterns within their bound, an error is a non-empty sentence; every
 * override read from a state file is written by ov_json and read back
 * unchanged.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ... -ljansson
 *   gcc -DSTANDALONE_MAIN ... : replays files and directories given on argv
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ngx_http_staged_update_override.h"


static int fuzz_track(void *data, const u_char *name, size_t len,
    uint32_t etag, int64_t paused, int64_t at);
static int fuzz_ov(void *data, const ngx_http_staged_update_ov_t *ov);
static uint32_t fuzz_max(const ngx_http_staged_update_ov_t *ov);
static int fuzz_again(void *data, const ngx_http_staged_update_ov_t *ov);


static int
fuzz_track(void *data, const u_char *name, size_t len, uint32_t etag,
    int64_t paused, int64_t at)
{
    FUZZ_ASSERT(len > 0);
    FUZZ_ASSERT(paused >= 0 && paused <= 0x7fffffffLL);
    FUZZ_ASSERT(at >= 0);

    return 0;
}


/* a percentage, or a rate in thousandths of a grant a second */

static uint32_t
fuzz_max(const ngx_http_staged_update_ov_t *ov)
{
    return ov->kind == NGX_HTTP_STAGED_UPDATE_OV_RATE
           ? NGX_HTTP_STAGED_UPDATE_RATE_MAX * 1000
           : NGX_HTTP_STAGED_UPDATE_PCT_MAX;
}


static int
fuzz_again(void *data, const ngx_http_staged_update_ov_t *ov)
{
    FUZZ_ASSERT(memcmp(data, ov, sizeof(ngx_http_staged_update_ov_t)) == 0);

    return 0;
}


/* the override as ov_json() writes it, in a state file of its own */

static int
fuzz_ov(void *data, const ngx_http_staged_update_ov_t *ov)
{
    char         err[NGX_HTTP_STAGED_UPDATE_ERR_LEN];
    u_char      *doc, *p;
    size_t       n;
    const char  *e;
    static const char  head[] = "{\"staged_update_state\":1,\"tracks\":"
                                "{\"t\":{\"etag\":1,\"overrides\":[";

    FUZZ_ASSERT(ov->kind <= NGX_HTTP_STAGED_UPDATE_OV_RATE);
    FUZZ_ASSERT(ov->value <= fuzz_max(ov));
    FUZZ_ASSERT(ov->conf <= fuzz_max(ov));
    FUZZ_ASSERT(ov->burst <= NGX_HTTP_STAGED_UPDATE_BURST_MAX);
    FUZZ_ASSERT(ov->kind == NGX_HTTP_STAGED_UPDATE_OV_RATE
                || ov->burst == 0);
    FUZZ_ASSERT(ov->pattern_len <= NGX_HTTP_STAGED_UPDATE_PATTERN_MAXLEN);
    FUZZ_ASSERT(ov->from_len <= NGX_HTTP_STAGED_UPDATE_FROM_MAXLEN);
    FUZZ_ASSERT(ov->server_len <= NGX_HTTP_STAGED_UPDATE_ID_MAXLEN);

    /* times before 1970 or after 9999 do not print as 20 characters */

    if (ov->when < 0 || ov->when > 253402300799LL) {
        return 0;
    }

    n = ngx_http_staged_update_ov_json(NULL, ov);
    doc = malloc(sizeof(head) + n + 8);
    FUZZ_ASSERT(doc != NULL);

    p = doc;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    FUZZ_ASSERT(ngx_http_staged_update_ov_json(p, ov) == n);
    p += n;
    memcpy(p, "]}}}", 4);
    p += 4;

    e = ngx_http_staged_update_state_parse(doc, (size_t) (p - doc),
                                           fuzz_track, fuzz_again,
                                           (void *) ov, err, sizeof(err));
    /* "from" may hold bytes that are not UTF-8: jansson refuses those */
    FUZZ_ASSERT(e == NULL || ov->from_len);

    free(doc);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                          err[NGX_HTTP_STAGED_UPDATE_ERR_LEN];
    size_t                        i, n;
    const char                   *e;
    ngx_http_staged_update_ov_t   ov[NGX_HTTP_STAGED_UPDATE_PATCH_MAX];

    n = 12345;
    e = ngx_http_staged_update_patch_parse(data, size, ov,
                                           NGX_HTTP_STAGED_UPDATE_PATCH_MAX,
                                           &n, err, sizeof(err));
    if (e) {
        FUZZ_ASSERT(e[0] != '\0');
        FUZZ_ASSERT(n == 0);

    } else {
        FUZZ_ASSERT(n >= 1 && n <= NGX_HTTP_STAGED_UPDATE_PATCH_MAX);

        for (i = 0; i < n; i++) {
            FUZZ_ASSERT(ov[i].kind <= NGX_HTTP_STAGED_UPDATE_OV_RATE);
            FUZZ_ASSERT(ov[i].value <= fuzz_max(&ov[i]));
            FUZZ_ASSERT(ov[i].burst <= NGX_HTTP_STAGED_UPDATE_BURST_MAX);
            FUZZ_ASSERT(ov[i].burst == 0
                        || (ov[i].kind == NGX_HTTP_STAGED_UPDATE_OV_RATE
                            && !ov[i].remove));
            FUZZ_ASSERT(ov[i].kind != NGX_HTTP_STAGED_UPDATE_OV_RATE
                        || ov[i].remove == (ov[i].value == 0));
            FUZZ_ASSERT(ov[i].pattern_len
                        <= NGX_HTTP_STAGED_UPDATE_PATTERN_MAXLEN);
            FUZZ_ASSERT((ov[i].kind == NGX_HTTP_STAGED_UPDATE_OV_RULE)
                        == (ov[i].pattern_len > 0));
        }
    }

    e = ngx_http_staged_update_state_parse(data, size, fuzz_track, fuzz_ov,
                                           NULL, err, sizeof(err));
    FUZZ_ASSERT(e == NULL || e[0] != '\0');

    return 0;
}


#ifdef STANDALONE_MAIN
#include "fuzz_replay.h"
#endif
