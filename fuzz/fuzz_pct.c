/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * libFuzzer target: pct_parse on arbitrary bytes, checked against a
 * reference written from the grammar (1 to 3 digits, optionally "." and
 * 1 or 2 digits, then "%"; at most 100%).  Invariants: the parser agrees
 * with the reference; a value is at most 10000; pct_print of it fits
 * PCT_LEN bytes and, with "%" appended, parses back to the same value.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ...
 *   gcc -DSTANDALONE_MAIN ... : replays files and directories given on argv
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ngx_http_staged_update_table.h"


static int fuzz_ref_pct(const uint8_t *p, size_t len, uint32_t *pct);
static void fuzz_round_trip(uint32_t pct);


static int
fuzz_ref_pct(const uint8_t *p, size_t len, uint32_t *pct)
{
    size_t    i, whole, frac;
    uint32_t  value, scale;

    if (len < 2 || p[len - 1] != '%') {
        return 0;
    }

    len--;

    for (whole = 0; whole < len && p[whole] >= '0' && p[whole] <= '9';
         whole++)
    {
        /* void */
    }

    if (whole == 0 || whole > 3) {
        return 0;
    }

    frac = 0;

    if (whole < len) {
        if (p[whole] != '.') {
            return 0;
        }

        frac = len - whole - 1;

        if (frac == 0 || frac > 2) {
            return 0;
        }

        for (i = whole + 1; i < len; i++) {
            if (p[i] < '0' || p[i] > '9') {
                return 0;
            }
        }
    }

    value = 0;

    for (i = 0; i < whole; i++) {
        value = value * 10 + (uint32_t) (p[i] - '0');
    }

    value *= 100;
    scale = 10;

    for (i = 0; i < frac; i++) {
        value += (uint32_t) (p[whole + 1 + i] - '0') * scale;
        scale /= 10;
    }

    if (value > 10000) {
        return 0;
    }

    *pct = value;

    return 1;
}


static void
fuzz_round_trip(uint32_t pct)
{
    u_char       buf[NGX_HTTP_STAGED_UPDATE_PCT_LEN + 2];
    size_t       n;
    uint32_t     back;
    const char  *err;

    n = ngx_http_staged_update_pct_print(buf, pct);
    FUZZ_ASSERT(n >= 4 && n <= NGX_HTTP_STAGED_UPDATE_PCT_LEN);
    FUZZ_ASSERT(buf[n - 3] == '.');

    buf[n++] = '%';

    back = 0xdeadbeef;
    err = ngx_http_staged_update_pct_parse(buf, n, &back);
    FUZZ_ASSERT(err == NULL);
    FUZZ_ASSERT(back == pct);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          ok;
    uint32_t     pct, ref;
    const char  *err;

    pct = 0xdeadbeef;
    ref = 0;
    err = ngx_http_staged_update_pct_parse(data, size, &pct);
    ok = fuzz_ref_pct(data, size, &ref);

    FUZZ_ASSERT((err == NULL) == ok);

    if (err == NULL) {
        FUZZ_ASSERT(pct <= NGX_HTTP_STAGED_UPDATE_PCT_MAX);
        FUZZ_ASSERT(pct == ref);
        fuzz_round_trip(pct);

    } else {
        FUZZ_ASSERT(err[0] != '\0');
    }

    /* the first two bytes as any value 0 .. 10000 */

    if (size >= 2) {
        fuzz_round_trip(((uint32_t) data[0] << 8 | data[1])
                        % (NGX_HTTP_STAGED_UPDATE_PCT_MAX + 1));
    }

    return 0;
}


#ifdef STANDALONE_MAIN
#include "fuzz_replay.h"
#endif
