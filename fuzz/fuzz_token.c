/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * libFuzzer target: download tokens (token_sign, token_verify).
 *
 *  1. The input as a token, for a fixed path and two fixed secrets: never
 *     a crash or a read past the end; MALFORMED exactly when a reference
 *     reading of the grammar rejects its shape; the time only turns a
 *     result into EXPIRED; OK only if the input is, byte for byte, the
 *     token that one of the secrets signs for its fields and that path.
 *  2. The input as fields (flags, expiry, "version\nclient\npath"): the
 *     token that sign makes reads back as those fields, its mac is the
 *     HMAC-SHA256 that OpenSSL computes over "v\ne\nc\npath", and verify
 *     says OK until the expiry, EXPIRED after it, INVALID for another
 *     secret or path.
 *  3. Any single-byte change of that token (every position, the change
 *     chosen by the input), one byte less or one more: never OK.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ... -lcrypto
 *   gcc -DSTANDALONE_MAIN ... -lcrypto : replays files and directories
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "ngx_http_staged_update_token.h"
#include "ngx_http_staged_update_version.h"
#include "ngx_http_staged_update_table.h"


#define FUZZ_OK         NGX_HTTP_STAGED_UPDATE_TOKEN_OK
#define FUZZ_MALFORMED  NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED
#define FUZZ_EXPIRED    NGX_HTTP_STAGED_UPDATE_TOKEN_EXPIRED
#define FUZZ_INVALID    NGX_HTTP_STAGED_UPDATE_TOKEN_INVALID
#define FUZZ_MAXLEN     NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN
#define FUZZ_PATH_MAX   NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN
#define FUZZ_MAC_LEN    NGX_HTTP_STAGED_UPDATE_MAC_LEN
#define FUZZ_MAC_B64    NGX_HTTP_STAGED_UPDATE_MAC_B64LEN

/* the seeds in fuzz/corpus/fuzz_token are signed with A for this path */
#define FUZZ_SECRET_A   "fuzz-secret-A-0123456789abcdef0123456789"
#define FUZZ_SECRET_B   "fuzz-secret-B-0123456789abcdef0123456789"
#define FUZZ_PATH       "/releases/2.0.0/data/part10.pak"
#define FUZZ_NOW        ((time_t) 1700000000)
#define FUZZ_EXP_MAX    1000000000000000000ULL      /* 19 digits */


typedef struct {
    const uint8_t  *p;
    size_t          len;
} fuzz_str_t;


static int fuzz_verify(const uint8_t *t, size_t n,
    const ngx_http_staged_update_secret_t *secrets, size_t nsecrets,
    const uint8_t *path, size_t path_len, time_t now);
static int fuzz_b64_value(uint8_t c);
static int fuzz_ref_shape(const uint8_t *t, size_t n, fuzz_str_t *f,
    size_t *nf, long long *expires);
static void fuzz_as_token(const uint8_t *data, size_t size);
static void fuzz_as_fields(const uint8_t *data, size_t size);


static const ngx_http_staged_update_secret_t  fuzz_secrets[2] = {
    { (const u_char *) FUZZ_SECRET_A, sizeof(FUZZ_SECRET_A) - 1, NULL },
    { (const u_char *) FUZZ_SECRET_B, sizeof(FUZZ_SECRET_B) - 1, NULL }
};

static const char  fuzz_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char  fuzz_safe[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:";


/* exact-size heap copies: a read past either end is an ASan report */

static int
fuzz_verify(const uint8_t *t, size_t n,
    const ngx_http_staged_update_secret_t *secrets, size_t nsecrets,
    const uint8_t *path, size_t path_len, time_t now)
{
    int       rc;
    uint8_t  *tc, *pc;

    tc = malloc(n ? n : 1);
    pc = malloc(path_len ? path_len : 1);
    FUZZ_ASSERT(tc != NULL && pc != NULL);

    if (n) {
        memcpy(tc, t, n);
    }

    if (path_len) {
        memcpy(pc, path, path_len);
    }

    rc = ngx_http_staged_update_token_verify(tc, n, secrets, nsecrets,
                                             pc, path_len, now);
    free(tc);
    free(pc);

    FUZZ_ASSERT(rc == FUZZ_OK || rc == FUZZ_MALFORMED
                || rc == FUZZ_EXPIRED || rc == FUZZ_INVALID);

    return rc;
}


static int
fuzz_b64_value(uint8_t c)
{
    const char  *p;

    p = c ? strchr(fuzz_b64, c) : NULL;

    return p ? (int) (p - fuzz_b64) : -1;
}


/*
 * The reference reading of "version~expires[~client]~mac": 1 to
 * TOKEN_MAXLEN bytes; 3 or 4 fields; a version that version_parse takes;
 * an expiry of 1 to 18 digits; a client of 1 to 128 letters, digits,
 * ".", "_", "-", ":"; a mac of 43 base64url characters whose last one
 * has its 2 unused bits zero.
 */

static int
fuzz_ref_shape(const uint8_t *t, size_t n, fuzz_str_t *f, size_t *nf,
    long long *expires)
{
    size_t                            i, k, start;
    ngx_http_staged_update_version_t  v;

    if (n == 0 || n > FUZZ_MAXLEN) {
        return 0;
    }

    k = 0;
    start = 0;

    for (i = 0; i <= n; i++) {
        if (i < n && t[i] != '~') {
            continue;
        }

        if (k == 4) {
            return 0;
        }

        f[k].p = t + start;
        f[k].len = i - start;
        k++;
        start = i + 1;
    }

    if (k < 3) {
        return 0;
    }

    *nf = k;

    if (ngx_http_staged_update_version_parse(f[0].p, f[0].len, &v) != NULL) {
        return 0;
    }

    if (f[1].len < 1 || f[1].len > 18) {
        return 0;
    }

    *expires = 0;

    for (i = 0; i < f[1].len; i++) {
        if (f[1].p[i] < '0' || f[1].p[i] > '9') {
            return 0;
        }

        *expires = *expires * 10 + (f[1].p[i] - '0');
    }

    if (k == 4) {
        if (f[2].len < 1 || f[2].len > 128) {
            return 0;
        }

        for (i = 0; i < f[2].len; i++) {
            if (f[2].p[i] == '\0' || strchr(fuzz_safe, f[2].p[i]) == NULL) {
                return 0;
            }
        }
    }

    if (f[k - 1].len != FUZZ_MAC_B64) {
        return 0;
    }

    for (i = 0; i < FUZZ_MAC_B64; i++) {
        if (fuzz_b64_value(f[k - 1].p[i]) < 0) {
            return 0;
        }
    }

    return (fuzz_b64_value(f[k - 1].p[FUZZ_MAC_B64 - 1]) & 3) == 0;
}


/* 1. the input as a token */

static void
fuzz_as_token(const uint8_t *data, size_t size)
{
    int         r0, rt, rn, shape, matched;
    size_t      nf, i, n;
    uint8_t     tok[FUZZ_MAXLEN + 1];
    long long   expires;
    fuzz_str_t  f[4];

    r0 = fuzz_verify(data, size, fuzz_secrets, 2,
                     (const uint8_t *) FUZZ_PATH, sizeof(FUZZ_PATH) - 1, 0);
    rt = fuzz_verify(data, size, fuzz_secrets, 2,
                     (const uint8_t *) FUZZ_PATH, sizeof(FUZZ_PATH) - 1,
                     FUZZ_NOW);
    rn = fuzz_verify(data, size, fuzz_secrets, 0,
                     (const uint8_t *) FUZZ_PATH, sizeof(FUZZ_PATH) - 1, 0);

    expires = 0;
    nf = 0;
    shape = fuzz_ref_shape(data, size, f, &nf, &expires);

    /* the shape alone makes MALFORMED, whatever the time or the secrets */

    FUZZ_ASSERT((r0 == FUZZ_MALFORMED) == !shape);
    FUZZ_ASSERT((rt == FUZZ_MALFORMED) == !shape);
    FUZZ_ASSERT((rn == FUZZ_MALFORMED) == !shape);

    /* no secret opens nothing; at time 0 nothing has expired */

    FUZZ_ASSERT(rn != FUZZ_OK);

    if (!shape) {
        return;
    }

    FUZZ_ASSERT(r0 == FUZZ_OK || r0 == FUZZ_INVALID);
    FUZZ_ASSERT(rn == FUZZ_INVALID);

    /* the time turns a result into EXPIRED, and nothing else */

    if (expires < (long long) FUZZ_NOW) {
        FUZZ_ASSERT(rt == FUZZ_EXPIRED);

    } else {
        FUZZ_ASSERT(rt == r0);
    }

    if (r0 != FUZZ_OK) {
        return;
    }

    /* OK: the input is what one of the secrets signs for its fields */

    matched = 0;

    for (i = 0; i < 2; i++) {
        n = ngx_http_staged_update_token_sign(tok, &fuzz_secrets[i],
                                              f[0].p, f[0].len,
                                              (time_t) expires,
                                              nf == 4 ? f[2].p : NULL,
                                              nf == 4 ? f[2].len : 0,
                                              (const u_char *) FUZZ_PATH,
                                              sizeof(FUZZ_PATH) - 1);
        FUZZ_ASSERT(n > 0 && n <= FUZZ_MAXLEN);

        if (n == size && memcmp(tok, data, n) == 0) {
            matched = 1;
        }
    }

    FUZZ_ASSERT(matched);
}


/* 2 and 3. the input as the fields of a token */

static void
fuzz_as_fields(const uint8_t *data, size_t size)
{
    int                                       rc;
    char                                      vtext[64];
    size_t                                    i, k, n, vlen, clen, plen, mlen;
    size_t                                    nf;
    uint8_t                                   flags, delta, c;
    uint8_t                                   tok[FUZZ_MAXLEN + 2];
    uint8_t                                   bad[FUZZ_MAXLEN + 2];
    uint8_t                                   client[128], mac[EVP_MAX_MD_SIZE];
    uint8_t                                  *msg, *path;
    uint64_t                                  e;
    time_t                                    expires;
    long long                                 ref_expires;
    fuzz_str_t                                vt, ct, pt, f[4];
    unsigned int                              maclen;
    const ngx_http_staged_update_secret_t    *s, *other;
    ngx_http_staged_update_version_t          v;
    ngx_http_staged_update_secret_t           both[2];

    if (size < 10) {
        return;
    }

    flags = data[0];

    e = 0;

    for (i = 1; i < 9; i++) {
        e = (e << 8) | data[i];
    }

    expires = (time_t) (e % FUZZ_EXP_MAX);
    delta = data[9] ? data[9] : 0x01;

    data += 10;
    size -= 10;

    /* "version\nclient\npath" */

    vt.p = data;
    for (i = 0; i < size && data[i] != '\n'; i++) { /* void */ }
    vt.len = i;

    ct.p = data + i + (i < size);
    for (k = ct.p - data; k < size && data[k] != '\n'; k++) { /* void */ }
    ct.len = (data + k) - ct.p;

    pt.p = data + k + (k < size);
    pt.len = (data + size) - pt.p;

    /* the version as given if it parses, else made of its bytes */

    if (vt.len <= NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN
        && ngx_http_staged_update_version_parse(vt.p, vt.len, &v) == NULL)
    {
        memcpy(vtext, vt.p, vt.len);
        vlen = vt.len;

    } else {
        vlen = (size_t) snprintf(vtext, sizeof(vtext), "%u.%u.%u",
                                 vt.len ? vt.p[0] : 0u,
                                 vt.len > 1 ? vt.p[1] : 0u,
                                 (unsigned) (vt.len % 1000000000));
    }

    /* a client (flags & 1) as given if safe, else mapped to safe bytes */

    clen = 0;

    if (flags & 1) {
        if (ngx_http_staged_update_safe(ct.p, ct.len, 128)) {
            memcpy(client, ct.p, ct.len);
            clen = ct.len;

        } else {
            for (i = 0; i < ct.len && i < 128; i++) {
                client[i] = (uint8_t) fuzz_safe[ct.p[i] % 66];
            }

            clen = i;

            if (clen == 0) {
                client[clen++] = 'c';
            }
        }
    }

    /* any path bytes, up to PATH_MAXLEN */

    plen = pt.len < FUZZ_PATH_MAX ? pt.len : FUZZ_PATH_MAX;
    path = malloc(plen + 1);
    FUZZ_ASSERT(path != NULL);
    if (plen) {
        memcpy(path, pt.p, plen);
    }

    s = &fuzz_secrets[(flags >> 1) & 1];
    other = &fuzz_secrets[!((flags >> 1) & 1)];

    n = ngx_http_staged_update_token_sign(tok, s, (const u_char *) vtext,
                                          vlen, expires,
                                          clen ? client : NULL, clen,
                                          path, plen);

    FUZZ_ASSERT(n > 0 && n <= FUZZ_MAXLEN);

    /* it reads back as its fields */

    FUZZ_ASSERT(fuzz_ref_shape(tok, n, f, &nf, &ref_expires));
    FUZZ_ASSERT(nf == (clen ? 4 : 3));
    FUZZ_ASSERT(f[0].len == vlen && memcmp(f[0].p, vtext, vlen) == 0);
    FUZZ_ASSERT(ref_expires == (long long) expires);
    FUZZ_ASSERT(!clen || (f[2].len == clen
                          && memcmp(f[2].p, client, clen) == 0));

    /* the mac is HMAC-SHA256 of "version\nexpires\nclient\npath" */

    msg = malloc(vlen + 24 + clen + plen + 3);
    FUZZ_ASSERT(msg != NULL);

    mlen = (size_t) sprintf((char *) msg, "%.*s\n%lld\n", (int) vlen, vtext,
                            (long long) expires);
    memcpy(msg + mlen, client, clen);
    mlen += clen;
    msg[mlen++] = '\n';
    if (plen) {
        memcpy(msg + mlen, path, plen);
    }
    mlen += plen;

    maclen = 0;
    FUZZ_ASSERT(HMAC(EVP_sha256(), s->data, (int) s->len, msg, mlen,
                     mac, &maclen) != NULL);
    FUZZ_ASSERT(maclen == FUZZ_MAC_LEN);
    free(msg);

    {
        uint8_t   got[FUZZ_MAC_LEN];
        uint32_t  acc, bits;

        acc = 0;
        bits = 0;
        k = 0;

        for (i = 0; i < FUZZ_MAC_B64; i++) {
            acc = (acc << 6) | (uint32_t) fuzz_b64_value(f[nf - 1].p[i]);
            bits += 6;

            if (bits >= 8) {
                bits -= 8;
                got[k++] = (uint8_t) (acc >> bits);
                acc &= (1u << bits) - 1;
            }
        }

        FUZZ_ASSERT(k == FUZZ_MAC_LEN && acc == 0);
        FUZZ_ASSERT(memcmp(got, mac, FUZZ_MAC_LEN) == 0);
    }

    /* OK until its expiry, included; EXPIRED after */

    FUZZ_ASSERT(fuzz_verify(tok, n, s, 1, path, plen, expires) == FUZZ_OK);
    FUZZ_ASSERT(fuzz_verify(tok, n, s, 1, path, plen, 0) == FUZZ_OK);
    FUZZ_ASSERT(fuzz_verify(tok, n, s, 1, path, plen, expires + 1)
                == FUZZ_EXPIRED);

    /* another secret; both, in either order */

    FUZZ_ASSERT(fuzz_verify(tok, n, other, 1, path, plen, 0)
                == FUZZ_INVALID);

    both[0] = *other;
    both[1] = *s;
    FUZZ_ASSERT(fuzz_verify(tok, n, both, 2, path, plen, 0) == FUZZ_OK);
    FUZZ_ASSERT(fuzz_verify(tok, n, fuzz_secrets, 2, path, plen, 0)
                == FUZZ_OK);

    /* another path: one byte changed, one less, one more */

    if (plen) {
        c = path[plen - 1];
        path[plen - 1] ^= delta;
        FUZZ_ASSERT(fuzz_verify(tok, n, s, 1, path, plen, 0)
                    == FUZZ_INVALID);
        path[plen - 1] = c;

        FUZZ_ASSERT(fuzz_verify(tok, n, s, 1, path, plen - 1, 0)
                    == FUZZ_INVALID);
    }

    if (plen < FUZZ_PATH_MAX) {
        path[plen] = delta;
        FUZZ_ASSERT(fuzz_verify(tok, n, s, 1, path, plen + 1, 0)
                    == FUZZ_INVALID);
    }

    /* 3. every single-byte change, one byte less, one more: never OK */

    for (i = 0; i < n; i++) {
        memcpy(bad, tok, n);
        bad[i] ^= delta;

        rc = fuzz_verify(bad, n, s, 1, path, plen, 0);
        FUZZ_ASSERT(rc == FUZZ_MALFORMED || rc == FUZZ_INVALID);
    }

    FUZZ_ASSERT(fuzz_verify(tok, n - 1, fuzz_secrets, 2, path, plen, 0)
                != FUZZ_OK);

    memcpy(bad, tok, n);
    bad[n] = delta;
    FUZZ_ASSERT(fuzz_verify(bad, n + 1, fuzz_secrets, 2, path, plen, 0)
                != FUZZ_OK);

    free(path);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_as_token(data, size);
    fuzz_as_fields(data, size);

    return 0;
}


#ifdef STANDALONE_MAIN
#include "fuzz_replay.h"
#endif
