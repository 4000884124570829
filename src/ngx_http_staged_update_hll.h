
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Distinct counts in fixed memory: a HyperLogLog sketch of 2^14 one-byte
 * registers (16k) over a 64-bit hash, read with Ertl's improved estimator
 * ("New cardinality estimation algorithms for HyperLogLog sketches",
 * 2017), which needs no bias table and no switch to linear counting.  Its
 * relative standard error is 1.04 / sqrt(2^14) = 0.81%.
 *
 * The registers are updated by several processes at once without a lock:
 * a register only grows, so an update is a compare-and-swap of the 64-bit
 * word that holds it, retried while the register is below the new value
 * (see ngx_http_staged_update_hll_rank() for what the caller stores).
 *
 * Pure logic: this file needs no running nginx (see tests/unit).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_HLL_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_HLL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define NGX_HTTP_STAGED_UPDATE_HLL_P      14
#define NGX_HTTP_STAGED_UPDATE_HLL_M      (1 << NGX_HTTP_STAGED_UPDATE_HLL_P)

/* the largest register value: 64 - p bits of hash, all zero, plus one */
#define NGX_HTTP_STAGED_UPDATE_HLL_Q      (64 - NGX_HTTP_STAGED_UPDATE_HLL_P)


/* a 64-bit hash of a client key (FNV-1a with a MurmurHash3 finalizer) */
uint64_t ngx_http_staged_update_hll_hash(const u_char *key, size_t len);

/* the register of a hash, and the value it must at least hold */
#define ngx_http_staged_update_hll_index(h)                                   \
    ((uint32_t) ((h) >> (64 - NGX_HTTP_STAGED_UPDATE_HLL_P)))

u_char ngx_http_staged_update_hll_rank(uint64_t h);

/* a single process's update of a sketch (tests, and the estimator's doc) */
void ngx_http_staged_update_hll_add(u_char *reg, uint64_t h);

/* the estimated number of distinct hashes added to the registers */
double ngx_http_staged_update_hll_estimate(const u_char *reg);

/* the MurmurHash3 finalizer: every bit of h moves every bit of the result */

static inline uint64_t
ngx_http_staged_update_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


/* a 64-bit hash of a version's four components, never 0 */

static inline uint64_t
ngx_http_staged_update_version_hash(const uint32_t *part)
{
    uint64_t  h;

    h = (((uint64_t) part[0] << 32) | part[1]) * 0x9e3779b97f4a7c15ULL;
    h ^= (((uint64_t) part[2] << 32) | part[3]) * 0xc2b2ae3d27d4eb4fULL;
    h = ngx_http_staged_update_mix64(h);

    return h ? h : 1;
}


#endif /* _NGX_HTTP_STAGED_UPDATE_HLL_H_INCLUDED_ */
