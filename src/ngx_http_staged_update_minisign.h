
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Minisign signatures and public keys from the track's Ed25519 keys, for
 * Tauri's updater, whose "signature" is the base64 of a minisign signature
 * file and whose "pubkey" the base64 of a minisign public key file.
 *
 * A signature file (minisign's "prehashed" algorithm "ED"):
 *
 *     untrusted comment: signature from staged_update key <KEY ID>
 *     base64("ED" || keynum || Ed25519(BLAKE2b-512(file)))
 *     trusted comment: <comment>
 *     base64(Ed25519(the signature above || comment))
 *
 * A public key file:
 *
 *     untrusted comment: minisign public key <KEY ID>
 *     base64("Ed" || keynum || raw public key)
 *
 * keynum is the first 8 bytes of the SHA-256 of the raw public key (the
 * "keyid" of a manifest's "signatures"); minisign shows it as <KEY ID>,
 * the hex of those bytes read as a little-endian number.
 *
 * Pure logic: OpenSSL only, no running nginx (see tests/unit).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_MINISIGN_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_MINISIGN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>


#define NGX_HTTP_STAGED_UPDATE_MINISIGN_HASH_LEN    64   /* BLAKE2b-512 */
#define NGX_HTTP_STAGED_UPDATE_MINISIGN_KEYNUM_LEN  8

#define NGX_HTTP_STAGED_UPDATE_MINISIGN_UNTRUSTED                             \
    "untrusted comment: signature from staged_update key "
#define NGX_HTTP_STAGED_UPDATE_MINISIGN_TRUSTED     "trusted comment: "

/* the bytes of a signature file with a trusted comment of n bytes */
#define NGX_HTTP_STAGED_UPDATE_MINISIGN_SIG_LEN(n)                            \
    (sizeof(NGX_HTTP_STAGED_UPDATE_MINISIGN_UNTRUSTED) - 1 + 16 + 1           \
     + 100 + 1 + sizeof(NGX_HTTP_STAGED_UPDATE_MINISIGN_TRUSTED) - 1 + (n)    \
     + 1 + 88 + 1)

/* the bytes of a public key file */
#define NGX_HTTP_STAGED_UPDATE_MINISIGN_PUB_LEN                               \
    (sizeof("untrusted comment: minisign public key ") - 1 + 16 + 1 + 56 + 1)


/* keynum of key; 0 on success, -1 if it is not an Ed25519 key */
int ngx_http_staged_update_minisign_keynum(EVP_PKEY *key, u_char *keynum);

/* the public key file of key, PUB_LEN bytes; 0 if it is not Ed25519 */
size_t ngx_http_staged_update_minisign_pubkey(u_char *dst, EVP_PKEY *key);

/*
 * The signature file of a file whose BLAKE2b-512 is hash, with a trusted
 * comment of one line (no "\n"): at most SIG_LEN(comment_len) bytes, the
 * length; 0 if the key cannot sign or the comment holds a "\n".
 */
size_t ngx_http_staged_update_minisign_sign(u_char *dst, EVP_PKEY *key,
    const u_char *hash, const u_char *comment, size_t comment_len);


#endif /* _NGX_HTTP_STAGED_UPDATE_MINISIGN_H_INCLUDED_ */
