
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include <string.h>

#include "ngx_http_staged_update_minisign.h"


static size_t ngx_http_staged_update_minisign_id(u_char *dst,
    const u_char *keynum);
static int ngx_http_staged_update_minisign_ed25519(EVP_PKEY *key,
    u_char *sig, const u_char *data, size_t len);


int
ngx_http_staged_update_minisign_keynum(EVP_PKEY *key, u_char *keynum)
{
    size_t    len;
    u_char    raw[32], sha[32];

    len = sizeof(raw);

    if (EVP_PKEY_id(key) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_public_key(key, raw, &len) != 1
        || len != sizeof(raw)
        || EVP_Digest(raw, len, sha, NULL, EVP_sha256(), NULL) != 1)
    {
        return -1;
    }

    memcpy(keynum, sha, NGX_HTTP_STAGED_UPDATE_MINISIGN_KEYNUM_LEN);

    return 0;
}


size_t
ngx_http_staged_update_minisign_pubkey(u_char *dst, EVP_PKEY *key)
{
    u_char  *p;
    size_t   len;
    u_char   bin[2 + NGX_HTTP_STAGED_UPDATE_MINISIGN_KEYNUM_LEN + 32];

    len = 32;

    if (ngx_http_staged_update_minisign_keynum(key, bin + 2) != 0
        || EVP_PKEY_get_raw_public_key(key, bin + 10, &len) != 1)
    {
        return 0;
    }

    bin[0] = 'E';
    bin[1] = 'd';

    p = dst;

    len = sizeof("untrusted comment: minisign public key ") - 1;
    memcpy(p, "untrusted comment: minisign public key ", len);
    p += len;
    p += ngx_http_staged_update_minisign_id(p, bin + 2);
    *p++ = '\n';
    p += EVP_EncodeBlock(p, bin, sizeof(bin));
    *p++ = '\n';

    return p - dst;
}


size_t
ngx_http_staged_update_minisign_sign(u_char *dst, EVP_PKEY *key,
    const u_char *hash, const u_char *comment, size_t comment_len)
{
    u_char  *p, *global;
    size_t   len;
    u_char   bin[2 + NGX_HTTP_STAGED_UPDATE_MINISIGN_KEYNUM_LEN + 64];
    u_char   gsig[64];

    if (memchr(comment, '\n', comment_len) != NULL
        || ngx_http_staged_update_minisign_keynum(key, bin + 2) != 0
        || ngx_http_staged_update_minisign_ed25519(key, bin + 10, hash,
                                  NGX_HTTP_STAGED_UPDATE_MINISIGN_HASH_LEN)
           != 0)
    {
        return 0;
    }

    bin[0] = 'E';
    bin[1] = 'D';

    /* the global signature: over the signature and the trusted comment */

    global = OPENSSL_malloc(64 + comment_len);
    if (global == NULL) {
        return 0;
    }

    memcpy(global, bin + 10, 64);
    memcpy(global + 64, comment, comment_len);

    if (ngx_http_staged_update_minisign_ed25519(key, gsig, global,
                                                64 + comment_len)
        != 0)
    {
        OPENSSL_free(global);
        return 0;
    }

    OPENSSL_free(global);

    p = dst;

    len = sizeof(NGX_HTTP_STAGED_UPDATE_MINISIGN_UNTRUSTED) - 1;
    memcpy(p, NGX_HTTP_STAGED_UPDATE_MINISIGN_UNTRUSTED, len);
    p += len;
    p += ngx_http_staged_update_minisign_id(p, bin + 2);
    *p++ = '\n';
    p += EVP_EncodeBlock(p, bin, sizeof(bin));
    *p++ = '\n';

    len = sizeof(NGX_HTTP_STAGED_UPDATE_MINISIGN_TRUSTED) - 1;
    memcpy(p, NGX_HTTP_STAGED_UPDATE_MINISIGN_TRUSTED, len);
    p += len;
    memcpy(p, comment, comment_len);
    p += comment_len;
    *p++ = '\n';
    p += EVP_EncodeBlock(p, gsig, sizeof(gsig));
    *p++ = '\n';

    return p - dst;
}


/* minisign's key ID: keynum as a little-endian number, in hex */

static size_t
ngx_http_staged_update_minisign_id(u_char *dst, const u_char *keynum)
{
    size_t                i;
    static const u_char   hex[] = "0123456789ABCDEF";

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_MINISIGN_KEYNUM_LEN; i++) {
        dst[2 * i] = hex[keynum[7 - i] >> 4];
        dst[2 * i + 1] = hex[keynum[7 - i] & 0xf];
    }

    return 2 * NGX_HTTP_STAGED_UPDATE_MINISIGN_KEYNUM_LEN;
}


static int
ngx_http_staged_update_minisign_ed25519(EVP_PKEY *key, u_char *sig,
    const u_char *data, size_t len)
{
    int          rc;
    size_t       siglen;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    siglen = 64;

    rc = (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1
          && EVP_DigestSign(ctx, sig, &siglen, data, len) == 1
          && siglen == 64) ? 0 : -1;

    EVP_MD_CTX_free(ctx);

    return rc;
}
