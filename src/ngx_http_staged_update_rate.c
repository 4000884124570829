
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include "ngx_http_staged_update_rate.h"


static const char *ngx_http_staged_update_number(const u_char *p, size_t len,
    uint32_t max, uint32_t *n);


static const char *
ngx_http_staged_update_number(const u_char *p, size_t len, uint32_t max,
    uint32_t *n)
{
    uint64_t  v;

    if (len == 0) {
        return "a number is missing";
    }

    v = 0;

    while (len--) {
        if (*p < '0' || *p > '9') {
            return "not a whole number";
        }

        v = v * 10 + (*p++ - '0');

        if (v > max) {
            return "too large";
        }
    }

    if (v == 0) {
        return "zero";
    }

    *n = (uint32_t) v;

    return NULL;
}


const char *
ngx_http_staged_update_rate_parse(const u_char *p, size_t len, uint32_t *rate)
{
    uint32_t  n;

    if (len < 3 || p[len - 2] != '/'
        || (p[len - 1] != 's' && p[len - 1] != 'm'))
    {
        return "a rate is a number of grants per second or minute, "
               "as in \"200/s\" or \"600/m\"";
    }

    if (ngx_http_staged_update_number(p, len - 2,
                                      NGX_HTTP_STAGED_UPDATE_RATE_MAX, &n)
        != NULL)
    {
        return "a rate is 1 to 1000000 grants per second or minute, "
               "as in \"200/s\" or \"600/m\"";
    }

    if (p[len - 1] == 's') {
        *rate = n * 1000;

    } else {
        *rate = (uint32_t) (((uint64_t) n * 1000 + 30) / 60);

        if (*rate == 0) {
            *rate = 1;
        }
    }

    return NULL;
}


const char *
ngx_http_staged_update_burst_parse(const u_char *p, size_t len,
    uint32_t *burst)
{
    if (ngx_http_staged_update_number(p, len,
                                      NGX_HTTP_STAGED_UPDATE_BURST_MAX, burst)
        != NULL)
    {
        return "a burst is a number of grants from 1 to 1000000";
    }

    return NULL;
}


uint64_t
ngx_http_staged_update_rate_try(const ngx_http_staged_update_rate_state_t *st,
    uint32_t rate, uint32_t burst, uint64_t now, uint64_t *wait)
{
    uint64_t  debt, paid, ms, limit;

    debt = st->debt;

    /* a worker whose clock is a little behind another's: no time passed */

    if (st->last && now > st->last) {
        ms = now - st->last;

        /* a long quiet time: the bucket is full (and no overflow) */

        if (ms > (uint64_t) 1000000000) {
            ms = 1000000000;
        }

        paid = ms * rate;
        debt = (paid >= debt) ? 0 : debt - paid;
    }

    limit = (uint64_t) burst * NGX_HTTP_STAGED_UPDATE_GRANT;
    debt += NGX_HTTP_STAGED_UPDATE_GRANT;

    if (debt <= limit) {
        *wait = 0;
        return debt;
    }

    /* the ms until enough of the debt is paid back */

    *wait = (debt - limit + rate - 1) / rate;

    return 0;
}


void
ngx_http_staged_update_rate_take(ngx_http_staged_update_rate_state_t *st,
    uint64_t debt, uint64_t now)
{
    st->debt = debt;

    if (now > st->last) {
        st->last = now;
    }
}


uint32_t
ngx_http_staged_update_rate_retry(ngx_http_staged_update_rate_state_t *st,
    uint32_t rate, uint64_t wait, uint64_t now, uint32_t rnd)
{
    uint64_t  slot, ahead, spacing, jitter, sec;

    /*
     * the slots of the clients deferred before, one each 0.8/rate s: the
     * clients come back a little faster than the cap lets through (not
     * all of them come back, and a cap that is offered just its rate
     * defers many), so that a backlog keeps the cap busy
     */

    spacing = ((uint64_t) NGX_HTTP_STAGED_UPDATE_GRANT * 4 + rate * 5 - 1)
              / ((uint64_t) rate * 5);

    slot = st->slot;

    if (slot < now + wait) {
        slot = now + wait;
    }

    slot += spacing;

    ahead = slot - now;

    if (ahead > (uint64_t) NGX_HTTP_STAGED_UPDATE_RETRY_MAX * 1000) {
        ahead = (uint64_t) NGX_HTTP_STAGED_UPDATE_RETRY_MAX * 1000;

    } else {
        st->slot = slot;
    }

    sec = (ahead + 999) / 1000;

    /*
     * a fifth of the wait, at least 10 seconds: the clients given the
     * slots of one second were deferred one after the other, in a moment,
     * and would come back together in that moment of the second, more
     * than a burst can take; spread over 10 seconds, each second has
     * clients deferred in moments 10 times as far apart
     */

    jitter = sec / 5;

    if (jitter < 10) {
        jitter = 10;
    }

    sec += rnd % (jitter + 1);

    if (sec == 0) {
        sec = 1;
    }

    if (sec > NGX_HTTP_STAGED_UPDATE_RETRY_MAX) {
        sec = NGX_HTTP_STAGED_UPDATE_RETRY_MAX;
    }

    return (uint32_t) sec;
}
