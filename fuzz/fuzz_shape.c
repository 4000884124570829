/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * libFuzzer target: load shaping's pure logic (rate.c, ramp.c).  The
 * input is a line of words (split on spaces) read as a ramp, and each
 * word as a rate, a burst, an interval and a time.  Invariants: a ramp
 * that parses has 1 to 32 steps that never go down and stay within 0 ..
 * 100%, an interval of 1 s .. a year and a time after 1970 that prints
 * back to itself; ramp_step() never goes back as time goes on and puts t
 * within [lo, hi); a rate is 1/m .. 1000000/s; the bucket never grants
 * more than rate * t + burst, and a Retry-After is 1 .. 86400.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ...
 *   gcc -DSTANDALONE_MAIN ... : replays files and directories given on argv
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ngx_http_staged_update_table.h"
#include "ngx_http_staged_update_rate.h"
#include "ngx_http_staged_update_ramp.h"


static void fuzz_ramp(const ngx_http_staged_update_word_t *w, size_t n);
static void fuzz_word(const u_char *p, size_t len, const uint8_t *data,
    size_t size);


static void
fuzz_ramp(const ngx_http_staged_update_word_t *w, size_t n)
{
    int                             step, prev;
    size_t                          i, bad;
    int64_t                         t, lo, hi, back;
    u_char                          buf[NGX_HTTP_STAGED_UPDATE_TIME_LEN];
    const char                     *err;
    ngx_http_staged_update_ramp_t   r;

    bad = (size_t) -1;
    err = ngx_http_staged_update_ramp_parse(w, n, &r, &bad);

    if (err) {
        FUZZ_ASSERT(err[0] != '\0');
        FUZZ_ASSERT(n == 0 || bad < n);
        return;
    }

    FUZZ_ASSERT(r.nsteps >= 1 && r.nsteps <= NGX_HTTP_STAGED_UPDATE_RAMP_STEPS);
    FUZZ_ASSERT(r.every >= 1 && r.every <= NGX_HTTP_STAGED_UPDATE_EVERY_MAX);
    FUZZ_ASSERT(r.from >= 0);

    for (i = 0; i < r.nsteps; i++) {
        FUZZ_ASSERT(r.pct[i] <= NGX_HTTP_STAGED_UPDATE_PCT_MAX);
        FUZZ_ASSERT(i == 0 || r.pct[i] >= r.pct[i - 1]);
    }

    ngx_http_staged_update_time_print(buf, r.from);
    FUZZ_ASSERT(ngx_http_staged_update_time_parse(buf, sizeof(buf), &back)
                == NULL);
    FUZZ_ASSERT(back == r.from);

    prev = -2;

    for (t = r.from - 2 * r.every; t < r.from + (r.nsteps + 2) * r.every;
         t += r.every / 3 + 1)
    {
        step = ngx_http_staged_update_ramp_step(&r, t, &lo, &hi);

        FUZZ_ASSERT(step >= prev);
        FUZZ_ASSERT(step >= -1 && step < (int) r.nsteps);
        FUZZ_ASSERT(lo <= t && t < hi);
        FUZZ_ASSERT(ngx_http_staged_update_ramp_pct(&r, step)
                    <= NGX_HTTP_STAGED_UPDATE_PCT_MAX);
        prev = step;
    }
}


static void
fuzz_word(const u_char *p, size_t len, const uint8_t *data, size_t size)
{
    size_t                               i;
    int64_t                              v;
    uint32_t                             rate, burst, s;
    uint64_t                             now, debt, wait, grants;
    ngx_http_staged_update_rate_state_t  st;

    if (ngx_http_staged_update_interval_parse(p, len, &v) == NULL) {
        FUZZ_ASSERT(v >= 1 && v <= NGX_HTTP_STAGED_UPDATE_EVERY_MAX);
    }

    if (ngx_http_staged_update_time_parse(p, len, &v) == NULL) {
        FUZZ_ASSERT(v >= 0);
    }

    if (ngx_http_staged_update_burst_parse(p, len, &burst) == NULL) {
        FUZZ_ASSERT(burst >= 1 && burst <= NGX_HTTP_STAGED_UPDATE_BURST_MAX);
    }

    if (ngx_http_staged_update_rate_parse(p, len, &rate) != NULL) {
        return;
    }

    FUZZ_ASSERT(rate >= 1 && rate <= NGX_HTTP_STAGED_UPDATE_RATE_MAX * 1000);

    /* the bucket, driven by the input's bytes as steps of time */

    memset(&st, 0, sizeof(st));
    burst = 1 + (size ? data[0] % 16 : 0);
    now = 1000;
    grants = 0;

    for (i = 0; i < size; i++) {
        now += data[i] % 8;
        debt = ngx_http_staged_update_rate_try(&st, rate, burst, now, &wait);

        if (debt) {
            FUZZ_ASSERT(wait == 0);
            ngx_http_staged_update_rate_take(&st, debt, now);
            grants++;

        } else {
            FUZZ_ASSERT(wait > 0);
            s = ngx_http_staged_update_rate_retry(&st, rate, wait, now,
                                                  data[i] * 2654435761u);
            FUZZ_ASSERT(s >= 1 && s <= NGX_HTTP_STAGED_UPDATE_RETRY_MAX);
        }

        FUZZ_ASSERT(grants * 1000000 <= (now - 1000) * rate
                                        + (uint64_t) burst * 1000000);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                          i, start, n;
    u_char                         *copy;
    ngx_http_staged_update_word_t   w[64];

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    n = 0;
    start = 0;

    for (i = 0; i <= size; i++) {
        if (i == size || copy[i] == ' ') {
            if (i > start && n < 64) {
                w[n].data = copy + start;
                w[n++].len = i - start;
            }

            start = i + 1;
        }
    }

    fuzz_ramp(w, n);

    for (i = 0; i < n; i++) {
        fuzz_word(w[i].data, w[i].len, data, size);
    }

    free(copy);

    return 0;
}


#ifdef STANDALONE_MAIN
#include "fuzz_replay.h"
#endif
