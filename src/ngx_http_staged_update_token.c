
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_staged_update_token.h"
#include "ngx_http_staged_update_version.h"
#include "ngx_http_staged_update_table.h"


static int ngx_http_staged_update_mac(u_char *mac,
    const ngx_http_staged_update_secret_t *secret,
    const u_char *version, size_t version_len,
    const u_char *expires, size_t expires_len,
    const u_char *client, size_t client_len,
    const u_char *path, size_t path_len);
static int ngx_http_staged_update_base64url_decode(u_char *dst,
    const u_char *src, size_t len);


static const u_char  ngx_http_staged_update_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
ngx_http_staged_update_secret_init(ngx_http_staged_update_secret_t *s)
{
    EVP_MAC      *mac;
    EVP_MAC_CTX  *ctx;
    OSSL_PARAM    params[2];

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) {
        return 0;
    }

    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (ctx == NULL) {
        return 0;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_init(ctx, s->data, s->len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return 0;
    }

    s->mac = ctx;

    return 1;
}


void
ngx_http_staged_update_secret_free(ngx_http_staged_update_secret_t *s)
{
    EVP_MAC_CTX_free(s->mac);
    s->mac = NULL;
}


size_t
ngx_http_staged_update_token_sign(u_char *dst,
    const ngx_http_staged_update_secret_t *secret,
    const u_char *version, size_t version_len, time_t expires,
    const u_char *client, size_t client_len,
    const u_char *path, size_t path_len)
{
    u_char  e[24], mac[NGX_HTTP_STAGED_UPDATE_MAC_LEN], *p;
    size_t  elen;

    elen = (size_t) snprintf((char *) e, sizeof(e), "%lld",
                             (long long) expires);

    if (!ngx_http_staged_update_mac(mac, secret, version, version_len,
                                    e, elen, client, client_len,
                                    path, path_len))
    {
        return 0;
    }

    p = dst;

    memcpy(p, version, version_len);
    p += version_len;
    *p++ = '~';

    memcpy(p, e, elen);
    p += elen;
    *p++ = '~';

    if (client_len) {
        memcpy(p, client, client_len);
        p += client_len;
        *p++ = '~';
    }

    p += ngx_http_staged_update_base64url(p, mac, sizeof(mac));

    return p - dst;
}


int
ngx_http_staged_update_token_verify(const u_char *token, size_t len,
    const ngx_http_staged_update_secret_t *secrets, size_t nsecrets,
    const u_char *path, size_t path_len, time_t now)
{
    size_t                            i, nf, f[4][2];
    int64_t                           expires;
    const u_char                     *p, *end;
    u_char                            mac[NGX_HTTP_STAGED_UPDATE_MAC_LEN];
    u_char                            got[NGX_HTTP_STAGED_UPDATE_MAC_LEN];
    ngx_http_staged_update_version_t  v;

    /* the length first: nothing longer is ever decoded */

    if (len == 0 || len > NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN
        || path_len > NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN)
    {
        return NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED;
    }

    /* version~expires[~client]~mac */

    end = token + len;
    nf = 0;
    f[0][0] = 0;

    for (p = token; p < end; p++) {
        if (*p == '~') {
            if (nf == 3) {
                return NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED;
            }

            f[nf][1] = (p - token) - f[nf][0];
            f[++nf][0] = (p - token) + 1;
        }
    }

    f[nf][1] = len - f[nf][0];

    if (nf < 2) {
        return NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED;
    }

    if (ngx_http_staged_update_version_parse(token + f[0][0], f[0][1], &v)
        != NULL)
    {
        return NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED;
    }

    if (f[1][1] == 0 || f[1][1] > 18) {
        return NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED;
    }

    expires = 0;

    for (i = 0; i < f[1][1]; i++) {
        p = token + f[1][0] + i;

        if (*p < '0' || *p > '9') {
            return NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED;
        }

        expires = expires * 10 + (*p - '0');
    }

    if (nf == 3
        && !ngx_http_staged_update_safe(token + f[2][0], f[2][1], 128))
    {
        return NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED;
    }

    if (f[nf][1] != NGX_HTTP_STAGED_UPDATE_MAC_B64LEN
        || !ngx_http_staged_update_base64url_decode(got, token + f[nf][0],
                                                    f[nf][1]))
    {
        return NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED;
    }

    if (expires < (int64_t) now) {
        return NGX_HTTP_STAGED_UPDATE_TOKEN_EXPIRED;
    }

    for (i = 0; i < nsecrets; i++) {

        if (!ngx_http_staged_update_mac(mac, &secrets[i],
                                        token + f[0][0], f[0][1],
                                        token + f[1][0], f[1][1],
                                        nf == 3 ? token + f[2][0] : NULL,
                                        nf == 3 ? f[2][1] : 0,
                                        path, path_len))
        {
            return NGX_HTTP_STAGED_UPDATE_TOKEN_INVALID;
        }

        if (CRYPTO_memcmp(mac, got, sizeof(mac)) == 0) {
            return NGX_HTTP_STAGED_UPDATE_TOKEN_OK;
        }
    }

    return NGX_HTTP_STAGED_UPDATE_TOKEN_INVALID;
}


/* HMAC-SHA256 of "<version>\n<expires>\n<client>\n<path>" */

static int
ngx_http_staged_update_mac(u_char *mac,
    const ngx_http_staged_update_secret_t *secret,
    const u_char *version, size_t version_len,
    const u_char *expires, size_t expires_len,
    const u_char *client, size_t client_len,
    const u_char *path, size_t path_len)
{
    u_char        msg[NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN
                      + NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN];
    u_char       *p;
    size_t        len;
    unsigned int  n;

    if (version_len + expires_len + client_len + 3 > sizeof(msg) - path_len) {
        return 0;
    }

    p = msg;

    memcpy(p, version, version_len);
    p += version_len;
    *p++ = '\n';

    memcpy(p, expires, expires_len);
    p += expires_len;
    *p++ = '\n';

    if (client_len) {
        memcpy(p, client, client_len);
        p += client_len;
    }

    *p++ = '\n';

    memcpy(p, path, path_len);
    p += path_len;

    if (secret->mac) {

        /* a NULL key starts again with the key given at init */

        return EVP_MAC_init(secret->mac, NULL, 0, NULL) == 1
               && EVP_MAC_update(secret->mac, msg, p - msg) == 1
               && EVP_MAC_final(secret->mac, mac, &len,
                                NGX_HTTP_STAGED_UPDATE_MAC_LEN) == 1;
    }

    n = NGX_HTTP_STAGED_UPDATE_MAC_LEN;

    return HMAC(EVP_sha256(), secret->data, (int) secret->len, msg, p - msg,
                mac, &n)
           != NULL;
}


size_t
ngx_http_staged_update_base64url(u_char *dst, const u_char *src, size_t len)
{
    u_char  *d;

    d = dst;

    while (len > 2) {
        *d++ = ngx_http_staged_update_b64[src[0] >> 2];
        *d++ = ngx_http_staged_update_b64[((src[0] & 3) << 4) | (src[1] >> 4)];
        *d++ = ngx_http_staged_update_b64[((src[1] & 0x0f) << 2)
                                          | (src[2] >> 6)];
        *d++ = ngx_http_staged_update_b64[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len) {
        *d++ = ngx_http_staged_update_b64[src[0] >> 2];

        if (len == 1) {
            *d++ = ngx_http_staged_update_b64[(src[0] & 3) << 4];

        } else {
            *d++ = ngx_http_staged_update_b64[((src[0] & 3) << 4)
                                              | (src[1] >> 4)];
            *d++ = ngx_http_staged_update_b64[(src[1] & 0x0f) << 2];
        }
    }

    return d - dst;
}


/* exactly MAC_B64LEN characters into MAC_LEN bytes */

static int
ngx_http_staged_update_base64url_decode(u_char *dst, const u_char *src,
    size_t len)
{
    u_char    c;
    size_t    i, n;
    uint32_t  acc, bits, v;

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';

        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;

        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;

        } else if (c == '-') {
            v = 62;

        } else if (c == '_') {
            v = 63;

        } else {
            return 0;
        }

        acc = (acc << 6) | v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;

            if (n == NGX_HTTP_STAGED_UPDATE_MAC_LEN) {
                return 0;
            }

            dst[n++] = (u_char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    /* the unused low bits of the last character must be zero */

    return n == NGX_HTTP_STAGED_UPDATE_MAC_LEN && acc == 0;
}
