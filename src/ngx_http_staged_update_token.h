
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Download tokens: "<version>~<expires>[~<client>]~<mac>", where mac is
 * the base64url HMAC-SHA256 of "<version>\n<expires>\n<client>\n<path>"
 * under a secret that never leaves the server.  A token opens one path of
 * one version until it expires.
 *
 * Pure logic: OpenSSL's HMAC, no running nginx (see tests/unit, fuzz/).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_TOKEN_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_TOKEN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>


#define NGX_HTTP_STAGED_UPDATE_MAC_LEN        32
#define NGX_HTTP_STAGED_UPDATE_MAC_B64LEN     43      /* unpadded base64url */
#define NGX_HTTP_STAGED_UPDATE_SECRET_MIN     32

/* version 39, expires 20, client 128, mac 43, separators */
#define NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN   240

/* the paths that a token can name, in bytes */
#define NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN    4096


#define NGX_HTTP_STAGED_UPDATE_TOKEN_OK         0
#define NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED  1
#define NGX_HTTP_STAGED_UPDATE_TOKEN_EXPIRED    2
#define NGX_HTTP_STAGED_UPDATE_TOKEN_INVALID    3


typedef struct {
    const u_char  *data;
    size_t         len;
    void          *mac;        /* an HMAC context keyed once, or NULL */
} ngx_http_staged_update_secret_t;


/*
 * Keys an HMAC context with the secret once: a token then costs a fraction
 * of a one-shot HMAC().  Returns 0 on failure.  Not for several threads.
 */
int ngx_http_staged_update_secret_init(ngx_http_staged_update_secret_t *s);
void ngx_http_staged_update_secret_free(ngx_http_staged_update_secret_t *s);


/* writes the token (at most TOKEN_MAXLEN bytes), returns its length */
size_t ngx_http_staged_update_token_sign(u_char *dst,
    const ngx_http_staged_update_secret_t *secret,
    const u_char *version, size_t version_len, time_t expires,
    const u_char *client, size_t client_len,
    const u_char *path, size_t path_len);

/* TOKEN_OK if any of the secrets made the token for this path, now */
int ngx_http_staged_update_token_verify(const u_char *token, size_t len,
    const ngx_http_staged_update_secret_t *secrets, size_t nsecrets,
    const u_char *path, size_t path_len, time_t now);

size_t ngx_http_staged_update_base64url(u_char *dst, const u_char *src,
    size_t len);


#endif /* _NGX_HTTP_STAGED_UPDATE_TOKEN_H_INCLUDED_ */
