/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Unit tests of the load shaping's pure logic: the rate cap's bucket and
 * Retry-After (rate.c), ramp schedules (ramp.c).  Built by
 * "make unit" with the pure sources under ASan and UBSan, like unit.c;
 * the last line is "N passed, N failed", the exit code 1 on a failure.
 * Every parser gets an exact-size heap copy of its input.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_staged_update_version.h"
#include "ngx_http_staged_update_table.h"
#include "ngx_http_staged_update_rate.h"
#include "ngx_http_staged_update_ramp.h"


#define CHECK(e)                                                              \
    shape_check((e) != 0, __FILE__, __LINE__, #e, 0, 0)
#define CHECK_INT(a, b)                                                       \
    shape_check((long long) (a) == (long long) (b), __FILE__, __LINE__,       \
                #a " == " #b, (long long) (a), (long long) (b))


typedef ngx_http_staged_update_rate_state_t  shape_state_t;
typedef ngx_http_staged_update_ramp_t        shape_ramp_t;
typedef ngx_http_staged_update_word_t        shape_word_t;


static unsigned long  shape_passed, shape_failed;


static void
shape_check(int ok, const char *file, int line, const char *what,
    long long a, long long b)
{
    if (ok) {
        shape_passed++;
        return;
    }

    shape_failed++;
    printf("%s:%d: FAILED: %s (%lld, %lld)\n", file, line, what, a, b);
}


static u_char *
shape_dup(const char *s, size_t len)
{
    u_char  *p;

    p = malloc(len ? len : 1);
    if (p == NULL) {
        exit(2);
    }

    memcpy(p, s, len);
    return p;
}


/*
 * An exact-size heap copy of s for a parser; the copy before is freed
 * then (and the last one at the end), so that a read past the end of the
 * input is an ASan report.
 */

static u_char *
shape_copy(const char *s)
{
    static u_char  *last;

    free(last);
    last = (s == NULL) ? NULL : shape_dup(s, strlen(s));

    return last;
}


#define shape_rate(s, out)                                                    \
    ngx_http_staged_update_rate_parse(shape_copy(s), strlen(s), out)
#define shape_interval(s, out)                                                \
    ngx_http_staged_update_interval_parse(shape_copy(s), strlen(s), out)
#define shape_time(s, out)                                                    \
    ngx_http_staged_update_time_parse(shape_copy(s), strlen(s), out)


/* a ramp from one line of words separated by spaces */

static const char *
shape_ramp(const char *line, shape_ramp_t *r, size_t *bad)
{
    char          *copy, *w;
    size_t         n, i;
    const char    *err;
    shape_word_t   words[64];

    copy = strdup(line);
    n = 0;

    for (w = strtok(copy, " "); w && n < 64; w = strtok(NULL, " ")) {
        words[n].data = shape_dup(w, strlen(w));
        words[n++].len = strlen(w);
    }

    err = ngx_http_staged_update_ramp_parse(words, n, r, bad);

    for (i = 0; i < n; i++) {
        free((void *) words[i].data);
    }

    free(copy);
    return err;
}


static void
shape_rates(void)
{
    uint32_t  rate, burst;
    u_char   *p;

    CHECK(shape_rate("200/s", &rate) == NULL);
    CHECK_INT(rate, 200000);
    CHECK(shape_rate("1/s", &rate) == NULL);
    CHECK_INT(rate, 1000);
    CHECK(shape_rate("600/m", &rate) == NULL);
    CHECK_INT(rate, 10000);
    CHECK(shape_rate("1/m", &rate) == NULL);
    CHECK_INT(rate, 17);
    CHECK(shape_rate("1000000/s", &rate) == NULL);
    CHECK_INT(rate, 1000000000);

    CHECK(shape_rate("1000001/s", &rate) != NULL);
    CHECK(shape_rate("0/s", &rate) != NULL);
    CHECK(shape_rate("200", &rate) != NULL);
    CHECK(shape_rate("200/h", &rate) != NULL);
    CHECK(shape_rate("/s", &rate) != NULL);
    CHECK(shape_rate("-5/s", &rate) != NULL);
    CHECK(shape_rate("2.5/s", &rate) != NULL);
    CHECK(shape_rate("", &rate) != NULL);
    CHECK(shape_rate("99999999999999999999/s", &rate) != NULL);

    p = shape_dup("50", 2);
    CHECK(ngx_http_staged_update_burst_parse(p, 2, &burst) == NULL);
    CHECK_INT(burst, 50);
    free(p);

    p = shape_dup("0", 1);
    CHECK(ngx_http_staged_update_burst_parse(p, 1, &burst) != NULL);
    free(p);

    p = shape_dup("5x", 2);
    CHECK(ngx_http_staged_update_burst_parse(p, 2, &burst) != NULL);
    free(p);
}


/*
 * A bucket offered a grant every "every" ms for "ms" ms: the grants never
 * exceed rate * t + burst at any time, and reach it when offered more.
 */

static void
shape_bucket_run(uint32_t per_s, uint32_t burst, uint64_t every, uint64_t ms)
{
    uint64_t       now, debt, wait, grants, bound, start;
    shape_state_t  st;

    memset(&st, 0, sizeof(st));
    start = 1000000;
    grants = 0;

    for (now = start; now < start + ms; now += every) {
        debt = ngx_http_staged_update_rate_try(&st, per_s * 1000, burst, now,
                                               &wait);
        if (debt) {
            ngx_http_staged_update_rate_take(&st, debt, now);
            grants++;
            CHECK_INT(wait, 0);

        } else {
            CHECK(wait > 0);
        }

        bound = per_s * (now - start) / 1000 + burst;

        if (grants > bound) {
            CHECK_INT(grants, bound);
            return;
        }
    }

    bound = per_s * (now - every - start) / 1000 + burst;

    /* offered at least 2x the rate: within one grant of the bound */

    if (1000 / every >= 2 * per_s) {
        CHECK(grants + 1 >= bound);
    }

    CHECK(grants <= bound);
}


static void
shape_bucket(void)
{
    uint64_t       debt, wait;
    shape_state_t  st;

    shape_bucket_run(200, 1, 1, 30000);
    shape_bucket_run(200, 50, 1, 30000);
    shape_bucket_run(7, 3, 1, 60000);
    shape_bucket_run(1000, 1, 1, 10000);
    shape_bucket_run(300, 10, 7, 10000);
    shape_bucket_run(100, 1, 20, 10000);       /* under the cap: all */

    /* a burst: 50 at once after a quiet time, then one per 1/rate */

    memset(&st, 0, sizeof(st));

    for (int i = 0; i < 50; i++) {
        debt = ngx_http_staged_update_rate_try(&st, 200000, 50, 5000, &wait);
        CHECK(debt != 0);
        ngx_http_staged_update_rate_take(&st, debt, 5000);
    }

    CHECK_INT(ngx_http_staged_update_rate_try(&st, 200000, 50, 5000, &wait),
              0);
    CHECK_INT(wait, 5);
    CHECK_INT(ngx_http_staged_update_rate_try(&st, 200000, 50, 5004, &wait),
              0);
    CHECK_INT(wait, 1);
    CHECK(ngx_http_staged_update_rate_try(&st, 200000, 50, 5005, &wait) != 0);

    /* a worker with an older clock: no time goes back, no underflow */

    CHECK_INT(ngx_http_staged_update_rate_try(&st, 200000, 50, 4000, &wait),
              0);

    /* a quiet year: a full bucket, no overflow */

    debt = ngx_http_staged_update_rate_try(&st, 1000000000, 1000000,
                                           5000 + 365ULL * 86400000, &wait);
    CHECK_INT(debt, 1000000);
}


static void
shape_retry(void)
{
    int            distinct;
    uint32_t       s, prev, seen[200];
    uint64_t       now;
    unsigned       i, k;
    shape_state_t  st;

    /* 1/s: deferred clients of the same moment get slots 0.8 s apart */

    memset(&st, 0, sizeof(st));
    now = 100000;

    prev = 0;

    for (i = 0; i < 20; i++) {
        s = ngx_http_staged_update_rate_retry(&st, 1000, 0, now, 0);
        CHECK(s >= prev && s <= prev + 1);
        prev = s;
    }

    CHECK_INT(prev, 16);

    /* 200/s: 200 deferrals with random jitter spread over seconds */

    memset(&st, 0, sizeof(st));
    srand(7);
    distinct = 0;

    for (i = 0; i < 200; i++) {
        s = ngx_http_staged_update_rate_retry(&st, 200000, 0, now, rand());
        seen[i] = s;
        CHECK(s >= 1 && s <= NGX_HTTP_STAGED_UPDATE_RETRY_MAX);
    }

    for (i = 0; i < 200; i++) {
        for (k = 0; k < i && seen[k] != seen[i]; k++) { /* void */ }
        distinct += (k == i);
    }

    CHECK(distinct >= 2);

    /* the wait for the bucket counts; the slots restart after a pause */

    memset(&st, 0, sizeof(st));
    s = ngx_http_staged_update_rate_retry(&st, 1000, 30000, now, 0);
    CHECK_INT(s, 31);
    s = ngx_http_staged_update_rate_retry(&st, 1000, 0, now + 1000000, 0);
    CHECK_INT(s, 1);

    /* a backlog beyond a day: a day, and no further slots are given */

    memset(&st, 0, sizeof(st));

    for (i = 0; i < 100000; i++) {
        s = ngx_http_staged_update_rate_retry(&st, 1, 0, now, rand());
        CHECK(s >= 1 && s <= NGX_HTTP_STAGED_UPDATE_RETRY_MAX);
    }

    CHECK_INT(s, NGX_HTTP_STAGED_UPDATE_RETRY_MAX);
    CHECK(st.slot <= now + 86400000ULL);
}


static void
shape_times(void)
{
    int64_t  t, sec;
    u_char   buf[NGX_HTTP_STAGED_UPDATE_TIME_LEN];

    CHECK(shape_time("1970-01-01T00:00:00Z", &t) == NULL);
    CHECK_INT(t, 0);
    CHECK(shape_time("2026-12-01T00:00:00Z", &t) == NULL);
    CHECK_INT(t, 1796083200);
    CHECK(shape_time("2024-02-29T23:59:59Z", &t) == NULL);
    CHECK_INT(t, 1709251199);

    ngx_http_staged_update_time_print(buf, 1796083200);
    CHECK(memcmp(buf, "2026-12-01T00:00:00Z", 20) == 0);
    ngx_http_staged_update_time_print(buf, 1709251199);
    CHECK(memcmp(buf, "2024-02-29T23:59:59Z", 20) == 0);

    /* every day of 1970..2100 prints back to itself */

    for (t = 0; t < 4102444800LL; t += 86400 + 3661) {
        int64_t  back;

        ngx_http_staged_update_time_print(buf, t);
        back = -1;
        ngx_http_staged_update_time_parse(buf, sizeof(buf), &back);
        if (back != t) {
            CHECK_INT(back, t);
            break;
        }
    }

    CHECK(shape_time("2023-02-29T00:00:00Z", &t) != NULL);
    CHECK(shape_time("2026-13-01T00:00:00Z", &t) != NULL);
    CHECK(shape_time("2026-12-01T24:00:00Z", &t) != NULL);
    CHECK(shape_time("2026-12-01 00:00:00Z", &t) != NULL);
    CHECK(shape_time("2026-12-01T00:00:00", &t) != NULL);
    CHECK(shape_time("2026-12-01T00:00:00+01:00", &t) != NULL);
    CHECK(shape_time("1969-12-31T23:59:59Z", &t) != NULL);
    CHECK(shape_time("2026-12-0xT00:00:00Z", &t) != NULL);
    CHECK(shape_time("", &t) != NULL);

    CHECK(shape_interval("24h", &sec) == NULL);
    CHECK_INT(sec, 86400);
    CHECK(shape_interval("1h30m", &sec) == NULL);
    CHECK_INT(sec, 5400);
    CHECK(shape_interval("2s", &sec) == NULL);
    CHECK_INT(sec, 2);
    CHECK(shape_interval("7d", &sec) == NULL);
    CHECK_INT(sec, 604800);

    CHECK(shape_interval("0s", &sec) != NULL);
    CHECK(shape_interval("24", &sec) != NULL);
    CHECK(shape_interval("h", &sec) != NULL);
    CHECK(shape_interval("24x", &sec) != NULL);
    CHECK(shape_interval("367d", &sec) != NULL);
    CHECK(shape_interval("9999999999s", &sec) != NULL);
    CHECK(shape_interval("", &sec) != NULL);
}


static void
shape_ramps(void)
{
    int            step;
    size_t         bad;
    int64_t        lo, hi, from;
    shape_ramp_t   r;

    CHECK(shape_ramp("1% 2% 5% 10% 20% 50% 100% every 24h from "
                     "2026-12-01T00:00:00Z", &r, &bad) == NULL);
    CHECK_INT(r.nsteps, 7);
    CHECK_INT(r.every, 86400);
    from = 1796083200;
    CHECK_INT(r.from, from);
    CHECK_INT(r.pct[0], 100);
    CHECK_INT(r.pct[6], 10000);

    step = ngx_http_staged_update_ramp_step(&r, from - 1, &lo, &hi);
    CHECK_INT(step, -1);
    CHECK_INT(hi, from);
    CHECK_INT(ngx_http_staged_update_ramp_pct(&r, step), 0);

    step = ngx_http_staged_update_ramp_step(&r, from, &lo, &hi);
    CHECK_INT(step, 0);
    CHECK_INT(lo, from);
    CHECK_INT(hi, from + 86400);
    CHECK_INT(ngx_http_staged_update_ramp_pct(&r, step), 100);

    step = ngx_http_staged_update_ramp_step(&r, from + 3 * 86400 - 1, &lo,
                                            &hi);
    CHECK_INT(step, 2);
    CHECK_INT(ngx_http_staged_update_ramp_pct(&r, step), 500);

    step = ngx_http_staged_update_ramp_step(&r, from + 6 * 86400, &lo, &hi);
    CHECK_INT(step, 6);
    CHECK_INT(hi, INT64_MAX);
    CHECK_INT(ngx_http_staged_update_ramp_pct(&r, step), 10000);

    step = ngx_http_staged_update_ramp_step(&r, from + 600 * 86400, &lo, &hi);
    CHECK_INT(step, 6);
    CHECK_INT(lo, from + 6 * 86400);

    /* one step: in force from "from" on */

    CHECK(shape_ramp("50% every 1s from 2026-12-01T00:00:00Z", &r, &bad)
          == NULL);
    CHECK_INT(ngx_http_staged_update_ramp_step(&r, from + 5, &lo, &hi), 0);

    /* equal steps hold; refusals name the word */

    CHECK(shape_ramp("1% 1% 2% every 1h from 2026-12-01T00:00:00Z", &r, &bad)
          == NULL);

    CHECK(shape_ramp("1% 5% 2% every 1h from 2026-12-01T00:00:00Z", &r, &bad)
          != NULL);
    CHECK_INT(bad, 2);
    CHECK(shape_ramp("1% 150% every 1h from 2026-12-01T00:00:00Z", &r, &bad)
          != NULL);
    CHECK_INT(bad, 1);
    CHECK(shape_ramp("1% -5% every 1h from 2026-12-01T00:00:00Z", &r, &bad)
          != NULL);
    CHECK(shape_ramp("1% 5 every 1h from 2026-12-01T00:00:00Z", &r, &bad)
          != NULL);
    CHECK(shape_ramp("1% 5% every 1x from 2026-12-01T00:00:00Z", &r, &bad)
          != NULL);
    CHECK_INT(bad, 3);
    CHECK(shape_ramp("1% 5% every 1h from 2026-12-01", &r, &bad) != NULL);
    CHECK_INT(bad, 5);
    CHECK(shape_ramp("1% 5% every 1h", &r, &bad) != NULL);
    CHECK(shape_ramp("1% 5% from 2026-12-01T00:00:00Z", &r, &bad) != NULL);
    CHECK(shape_ramp("every 1h from 2026-12-01T00:00:00Z", &r, &bad)
          != NULL);
    CHECK(shape_ramp("1% every 1h from 2026-12-01T00:00:00Z extra", &r, &bad)
          != NULL);
    CHECK(shape_ramp("1% 2% 3% 4% 5% 6% 7% 8% 9% 10% 11% 12% 13% 14% 15% "
                     "16% 17% 18% 19% 20% 21% 22% 23% 24% 25% 26% 27% 28% "
                     "29% 30% 31% 32% 33% every 1h from "
                     "2026-12-01T00:00:00Z", &r, &bad) != NULL);
    CHECK_INT(bad, 32);
}


int
main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    shape_rates();
    shape_bucket();
    shape_retry();
    shape_times();
    shape_ramps();
    shape_copy(NULL);

    printf("%lu passed, %lu failed\n", shape_passed, shape_failed);

    return shape_failed ? 1 : 0;
}
