
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * A cap on the rate of grants: a bucket shared by the workers (kept in
 * the zone, updated under its mutex), and the Retry-After of a client the
 * cap defers.
 *
 * The bucket is limit_req's arithmetic in other units: a debt in
 * millionths of a grant, paid back by the elapsed milliseconds times the
 * rate (thousandths of a grant per second, that is millionths per
 * millisecond: no rounding), and a grant adds one grant (1,000,000) of
 * debt if the debt then stays within the burst.  A refused grant changes
 * nothing, so the grants over any time T are at most rate * T + burst.
 *
 * A deferred client is given a slot: the slots follow each other at 1.25
 * times the rate, after the time the bucket needs to hold a grant again,
 * so the deferred clients come back spread at about the rate the cap lets
 * through (a little more: it stays busy), and a random jitter of a fifth
 * of the wait (at least 10 seconds) spreads the clients deferred in the
 * same moment.  The wait is the backlog of the slots already given, at
 * most a day.
 *
 * Pure logic: this file needs no running nginx (see tests/unit and fuzz/).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_RATE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_RATE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


/* grants per second, at most */
#define NGX_HTTP_STAGED_UPDATE_RATE_MAX      1000000

#define NGX_HTTP_STAGED_UPDATE_BURST_MAX     1000000

/* a Retry-After is at most a day (Omaha's bound) */
#define NGX_HTTP_STAGED_UPDATE_RETRY_MAX     86400

#define NGX_HTTP_STAGED_UPDATE_GRANT         1000000   /* millionths */


typedef struct {
    uint64_t    debt;       /* millionths of a grant */
    uint64_t    last;       /* ms of the last grant, 0: never */
    uint64_t    slot;       /* ms: the last deferred client's slot */
} ngx_http_staged_update_rate_state_t;


/*
 * "200/s", "12000/m": thousandths of a grant per second, 1/m .. 1000000/s.
 * Returns NULL or a sentence.
 */
const char *ngx_http_staged_update_rate_parse(const u_char *p, size_t len,
    uint32_t *rate);

/* "50": a number of grants, 1 .. 1000000 */
const char *ngx_http_staged_update_burst_parse(const u_char *p, size_t len,
    uint32_t *burst);

/*
 * The debt at now (ms) if a grant were taken, or 0 when the grant does
 * not fit: then *wait is the ms until it would.
 */
uint64_t ngx_http_staged_update_rate_try(
    const ngx_http_staged_update_rate_state_t *st, uint32_t rate,
    uint32_t burst, uint64_t now, uint64_t *wait);

/* takes the grant that rate_try() found room for */
void ngx_http_staged_update_rate_take(ngx_http_staged_update_rate_state_t *st,
    uint64_t debt, uint64_t now);

/*
 * A deferred client: the seconds of its Retry-After, 1 .. 86400, from the
 * slots already given and wait (from rate_try()), plus a jitter taken
 * from rnd; gives the client its slot.
 */
uint32_t ngx_http_staged_update_rate_retry(
    ngx_http_staged_update_rate_state_t *st, uint32_t rate, uint64_t wait,
    uint64_t now, uint32_t rnd);


#endif /* _NGX_HTTP_STAGED_UPDATE_RATE_H_INCLUDED_ */
