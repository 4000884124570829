
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include "ngx_http_staged_update_hll.h"


static double ngx_http_staged_update_hll_sigma(double x);
static double ngx_http_staged_update_hll_tau(double x);
static double ngx_http_staged_update_hll_sqrt(double x);


uint64_t
ngx_http_staged_update_hll_hash(const u_char *key, size_t len)
{
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;

    while (len--) {
        h ^= *key++;
        h *= 0x100000001b3ULL;
    }

    return ngx_http_staged_update_mix64(h);
}


/* 1 + the leading zeros of the hash bits below the register index */

u_char
ngx_http_staged_update_hll_rank(uint64_t h)
{
    u_char    rank;
    uint64_t  w;

    w = h << NGX_HTTP_STAGED_UPDATE_HLL_P;

    if (w == 0) {
        return NGX_HTTP_STAGED_UPDATE_HLL_Q + 1;
    }

#if defined(__GNUC__) || defined(__clang__)
    rank = (u_char) (__builtin_clzll(w) + 1);
#else
    rank = 1;

    while (!(w & 0x8000000000000000ULL)) {
        w <<= 1;
        rank++;
    }
#endif

    return rank;
}


void
ngx_http_staged_update_hll_add(u_char *reg, uint64_t h)
{
    u_char    rank;
    uint32_t  i;

    i = ngx_http_staged_update_hll_index(h);
    rank = ngx_http_staged_update_hll_rank(h);

    if (reg[i] < rank) {
        reg[i] = rank;
    }
}


/*
 * Ertl's improved raw estimator (his algorithm 6):
 *
 *   m^2 / (2 ln 2) / (m sigma(C0 / m) + sum_k C_k 2^-k
 *                     + m tau(1 - C_{q+1} / m) 2^-q)
 *
 * where C_k is the number of registers that hold k.
 */

double
ngx_http_staged_update_hll_estimate(const u_char *reg)
{
    double    z, m;
    uint32_t  i, c[NGX_HTTP_STAGED_UPDATE_HLL_Q + 2];

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_HLL_Q + 2; i++) {
        c[i] = 0;
    }

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_HLL_M; i++) {
        c[reg[i] <= NGX_HTTP_STAGED_UPDATE_HLL_Q + 1
          ? reg[i] : NGX_HTTP_STAGED_UPDATE_HLL_Q + 1]++;
    }

    m = NGX_HTTP_STAGED_UPDATE_HLL_M;

    if (c[0] == NGX_HTTP_STAGED_UPDATE_HLL_M) {
        return 0;
    }

    z = m * ngx_http_staged_update_hll_tau(
                1 - c[NGX_HTTP_STAGED_UPDATE_HLL_Q + 1] / m);

    for (i = NGX_HTTP_STAGED_UPDATE_HLL_Q; i >= 1; i--) {
        z = (z + c[i]) * 0.5;
    }

    z += m * ngx_http_staged_update_hll_sigma(c[0] / m);

    /* 1 / (2 ln 2) */

    return 0.72134752044448170368 * m * m / z;
}


static double
ngx_http_staged_update_hll_sigma(double x)
{
    double  y, z, prev;

    if (x == 1) {
        return 1e300;
    }

    y = 1;
    z = x;

    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);

    return z;
}


static double
ngx_http_staged_update_hll_tau(double x)
{
    double  y, z, prev;

    if (x == 0 || x == 1) {
        return 0;
    }

    y = 1;
    z = 1 - x;

    do {
        x = ngx_http_staged_update_hll_sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
    } while (z != prev);

    return z / 3;
}


/* Newton's method, for 0 < x < 1: no libm in the module */

static double
ngx_http_staged_update_hll_sqrt(double x)
{
    int     i;
    double  r;

    r = (x + 1) * 0.5;

    for (i = 0; i < 100; i++) {
        double  next = 0.5 * (r + x / r);

        if (next >= r) {
            break;
        }

        r = next;
    }

    return r;
}

