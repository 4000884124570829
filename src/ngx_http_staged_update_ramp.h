
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Ramp schedules: a percentage that rises in steps at fixed times,
 *
 *     1% 2% 5% 10% 20% 50% 100% every 24h from 2026-12-01T00:00:00Z
 *
 * step i is in force from "from" + i * "every" (absolute times, computed
 * at load), the last step for ever after, 0% before the first.  A pause
 * shifts the schedule: the time of a check is taken minus the seconds
 * the ramp was paused.
 *
 * Pure logic: this file needs no running nginx (see tests/unit and fuzz/).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_RAMP_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_RAMP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define NGX_HTTP_STAGED_UPDATE_RAMP_STEPS    32

/* "2026-12-01T00:00:00Z" */
#define NGX_HTTP_STAGED_UPDATE_TIME_LEN      20

/* at most a year between steps */
#define NGX_HTTP_STAGED_UPDATE_EVERY_MAX     (366 * 86400)


typedef struct {
    int64_t     from;       /* unix seconds */
    int64_t     every;      /* seconds */
    uint32_t    nsteps;
    uint32_t    pct[NGX_HTTP_STAGED_UPDATE_RAMP_STEPS];  /* hundredths */
} ngx_http_staged_update_ramp_t;


typedef struct {
    const u_char  *data;
    size_t         len;
} ngx_http_staged_update_word_t;


/*
 * "<pct>... every <interval> from <time>", as words.  Returns NULL, or a
 * sentence and in *bad the index of the word it is about.
 */
const char *ngx_http_staged_update_ramp_parse(
    const ngx_http_staged_update_word_t *w, size_t n,
    ngx_http_staged_update_ramp_t *ramp, size_t *bad);

/* "24h", "90s", "1h30m", "7d": seconds, 1 .. a year */
const char *ngx_http_staged_update_interval_parse(const u_char *p, size_t len,
    int64_t *sec);

/* "2026-12-01T00:00:00Z": unix seconds */
const char *ngx_http_staged_update_time_parse(const u_char *p, size_t len,
    int64_t *t);

/* the same text, TIME_LEN bytes */
size_t ngx_http_staged_update_time_print(u_char *buf, int64_t t);

/*
 * The step in force at t (-1 before the first), and the times between
 * which it stays: [*lo, *hi) (INT64_MIN and INT64_MAX at the ends).
 */
int ngx_http_staged_update_ramp_step(const ngx_http_staged_update_ramp_t *r,
    int64_t t, int64_t *lo, int64_t *hi);

/* the percentage of a step (0 for -1) */
uint32_t ngx_http_staged_update_ramp_pct(const ngx_http_staged_update_ramp_t *r,
    int step);


#endif /* _NGX_HTTP_STAGED_UPDATE_RAMP_H_INCLUDED_ */
