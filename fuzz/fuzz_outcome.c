/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * libFuzzer target: install reports (outcome_parse, token_fields,
 * outcome_apply, the Wilson bound).
 *
 *  1. The input as a report body: never a crash or a read past the end;
 *     accepted, every field is within its bound (client and server safe
 *     IDs, a path and token no longer than their buffers, from below
 *     version, a known result); refused, a non-empty sentence.
 *  2. The grant's token (when any) through token_fields: the version and
 *     client it names lie inside the token.
 *  3. The input's bytes as a sequence of results of one client: every
 *     result counts once, the sample grows by at most one outcome and one
 *     failure, failures never exceed outcomes.
 *  4. The first bytes as (k, n): the lower bound lies in [0, k/n].
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ... -ljansson -lm
 *   gcc -DSTANDALONE_MAIN ... : replays files and directories given on argv
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ngx_http_staged_update_outcome.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                               err[256];
    size_t                             i, vlen, clen;
    uint32_t                           mask, dn, dk, seen, n, k;
    uint64_t                           kk, nn;
    double                             lo;
    const char                        *e;
    const u_char                      *ver, *client;
    ngx_http_staged_update_outcome_t  *o;

    o = malloc(sizeof(*o));
    if (o == NULL) {
        return 0;
    }

    e = ngx_http_staged_update_outcome_parse(data, size, o, err,
                                             sizeof(err));

    if (e) {
        FUZZ_ASSERT(e[0] != '\0');

    } else {
        FUZZ_ASSERT(o->result < NGX_HTTP_STAGED_UPDATE_NRESULTS);
        FUZZ_ASSERT(ngx_http_staged_update_safe(o->client, o->client_len,
                                                sizeof(o->client)));
        FUZZ_ASSERT(o->server_len == 0
                    || ngx_http_staged_update_safe(o->server, o->server_len,
                                                   sizeof(o->server)));
        FUZZ_ASSERT(o->reason_len <= sizeof(o->reason));
        FUZZ_ASSERT(o->path_len <= sizeof(o->path));
        FUZZ_ASSERT(o->token_len <= sizeof(o->token));
        FUZZ_ASSERT(ngx_http_staged_update_version_cmp(&o->from,
                                                       &o->version) < 0);

        if (o->token_len
            && ngx_http_staged_update_token_fields(o->token, o->token_len,
                                                   &ver, &vlen, &client,
                                                   &clen))
        {
            FUZZ_ASSERT(ver == o->token && vlen < o->token_len);
            FUZZ_ASSERT(clen == 0
                        || (client > o->token
                            && client + clen < o->token + o->token_len));
        }
    }

    free(o);

    /* the bytes as one client's results */

    mask = 0;
    seen = 0;
    n = 0;
    k = 0;

    for (i = 0; i < size; i++) {
        uint32_t  r = data[i] % NGX_HTTP_STAGED_UPDATE_NRESULTS;

        if (ngx_http_staged_update_outcome_apply(&mask, r, &dn, &dk)) {
            FUZZ_ASSERT(!(seen & (1u << r)));
            seen |= 1u << r;

        } else {
            FUZZ_ASSERT(seen & (1u << r));
            FUZZ_ASSERT(dn == 0 && dk == 0);
        }

        n += dn;
        k += dk;
        FUZZ_ASSERT(n <= 1 && k <= 1 && k <= n);
        FUZZ_ASSERT(mask == seen);
    }

    /* the bound */

    if (size >= 4) {
        nn = (uint64_t) (data[0] | data[1] << 8) + 1;
        kk = (uint64_t) (data[2] | data[3] << 8) % (nn + 1);
        lo = ngx_http_staged_update_wilson_lower(kk, nn, 1.6448536);
        FUZZ_ASSERT(lo >= -1e-12 && lo <= (double) kk / nn + 1e-12);
    }

    return 0;
}


#ifdef STANDALONE_MAIN
#include "fuzz_replay.h"
#endif
