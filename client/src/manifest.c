/*
 * libstagedupdate: the manifest of an upgrade answer and its signature.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Only the "signed" text is trusted, once an Ed25519 signature of it by
 * the launcher's key verifies: its "version" line must be the offered
 * version, and its "file <sha256> <size> <path>" lines give each file's
 * size and hash. The JSON's "files" must list exactly the signed paths;
 * from it only a file's "url" or inline "content" is taken, and what they
 * deliver is checked against the signed size and hash (store.c).
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "su_internal.h"


static su_status_t su_pubkey(su_install_t *in, su_error_t *err);
static int su_signature_ok(su_install_t *in, json_t *m, const char *text);
static su_status_t su_signed_lines(su_offer_t *o, su_error_t *err);
static su_status_t su_files_urls(su_offer_t *o, json_t *files,
    su_error_t *err);


/* a path of the manifest that may be installed under DIR: relative, no
 * "." or ".." segment, no control character, not in .launcher */

int
su_path_ok(const char *p)
{
    size_t       n;
    const char  *c;

    if (*p == '\0' || *p == '/' || strncmp(p, ".launcher", 9) == 0) {
        return 0;
    }

    for (c = p; *c; c++) {
        if ((unsigned char) *c < 0x20 || *c == 0x7f || *c == '\\') {
            return 0;
        }
    }

    for (c = p; *c; c += n + (c[n] == '/')) {
        n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.')
            || (n == 2 && c[0] == '.' && c[1] == '.'))
        {
            return 0;
        }
        if (c[n] == '/' && c[n + 1] == '\0') {
            return 0;
        }
    }

    return 1;
}


/* standard base64 with padding; *out is malloc()ed */

int
su_b64_decode(const char *in, unsigned char **out, size_t *len)
{
    int     n;
    size_t  inlen, pad;

    inlen = strlen(in);
    if (inlen % 4 != 0 || inlen > SU_MAX_BODY) {
        return -1;
    }

    *out = malloc(inlen / 4 * 3 + 1);
    if (*out == NULL) {
        return -1;
    }

    n = inlen ? EVP_DecodeBlock(*out, (const unsigned char *) in, (int) inlen)
              : 0;
    if (n < 0) {
        free(*out);
        *out = NULL;
        return -1;
    }

    pad = (inlen > 0 && in[inlen - 1] == '=')
          + (inlen > 1 && in[inlen - 2] == '=');
    *len = (size_t) n - pad;

    return 0;
}


/* the launcher's Ed25519 public key, loaded once; its keyid is the hex of
 * the first 8 bytes of the SHA-256 of the raw key, as the server's */

static su_status_t
su_pubkey(su_install_t *in, su_error_t *err)
{
    BIO            *bio;
    FILE           *fp;
    size_t          rawlen;
    EVP_PKEY       *pkey;
    const char     *name;
    unsigned char   raw[64], digest[32];

    if (in->pkey != NULL) {
        return SU_OK;
    }

    name = in->opts.pubkey_pem ? "the PEM key" : in->opts.pubkey_file;
    pkey = NULL;

    if (in->opts.pubkey_pem != NULL) {
        bio = BIO_new_mem_buf(in->opts.pubkey_pem, -1);
        pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);

    } else if (in->opts.pubkey_file != NULL) {
        fp = fopen(in->opts.pubkey_file, "r");
        if (fp == NULL) {
            return su_fail(err, SU_EMANIFEST, "manifest refused: %s: %s",
                           name, strerror(errno));
        }
        pkey = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
        fclose(fp);

    } else {
        return su_fail(err, SU_EMANIFEST, "manifest refused: no public key "
                       "(pubkey_file or pubkey_pem)");
    }

    rawlen = sizeof(raw);

    if (pkey == NULL || EVP_PKEY_id(pkey) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1)
    {
        EVP_PKEY_free(pkey);
        return su_fail(err, SU_EMANIFEST, "manifest refused: %s: not an "
                       "Ed25519 public key (PEM)", name);
    }

    SHA256(raw, rawlen, digest);
    su_hex(digest, 8, in->keyid);
    in->pkey = pkey;

    return SU_OK;
}


/* one of "signatures" (with our keyid, or none) verifies text */

static int
su_signature_ok(su_install_t *in, json_t *m, const char *text)
{
    int             ok;
    size_t          i, siglen;
    json_t         *sigs, *s;
    EVP_MD_CTX     *md;
    const char     *id, *b64;
    unsigned char  *sig;

    sigs = json_object_get(m, "signatures");
    ok = 0;

    for (i = 0; json_is_array(sigs) && i < json_array_size(sigs) && !ok; i++)
    {
        s = json_array_get(sigs, i);
        id = json_string_value(json_object_get(s, "keyid"));
        b64 = json_string_value(json_object_get(s, "sig"));

        if (b64 == NULL || (id != NULL && strcmp(id, in->keyid) != 0)) {
            continue;
        }

        if (su_b64_decode(b64, &sig, &siglen) != 0) {
            continue;
        }

        md = EVP_MD_CTX_new();
        ok = md != NULL
             && EVP_DigestVerifyInit(md, NULL, NULL, NULL, in->pkey) == 1
             && EVP_DigestVerify(md, sig, siglen, (const unsigned char *) text,
                                 strlen(text)) == 1;
        EVP_MD_CTX_free(md);
        free(sig);
    }

    return ok;
}


/* the signed text's lines: its format, version and files */

static su_status_t
su_signed_lines(su_offer_t *o, su_error_t *err)
{
    char        *line, *next, *sp, *end;
    size_t       i, n;
    su_file_t   *f, *files;
    const char  *version = NULL;

    n = 0;

    for (line = o->text; *line; line = next) {
        next = strchr(line, '\n');
        if (next == NULL) {
            return su_fail(err, SU_EMANIFEST, "manifest refused: the signed "
                           "text does not end a line");
        }
        *next++ = '\0';

        if (line == o->text) {
            if (strcmp(line, "staged-update-manifest 1") != 0) {
                return su_fail(err, SU_EMANIFEST, "manifest refused: "
                               "unknown signed format \"%.64s\"", line);
            }
            continue;
        }

        if (strncmp(line, "version ", 8) == 0) {
            version = line + 8;
            continue;
        }

        if (strncmp(line, "file ", 5) != 0) {
            continue;                       /* track and later fields */
        }

        files = realloc(o->files, (n + 1) * sizeof(su_file_t));
        if (files == NULL) {
            return su_fail(err, SU_EMANIFEST, "out of memory");
        }
        o->files = files;
        f = &o->files[n];
        memset(f, 0, sizeof(su_file_t));

        sp = line + 5;
        if (strlen(sp) < 66 || sp[64] != ' ') {
            goto bad_line;
        }
        memcpy(f->sha256, sp, 64);
        f->sha256[64] = '\0';
        if (strspn(f->sha256, "0123456789abcdef") != 64) {
            goto bad_line;
        }

        sp += 65;
        if (!isdigit((unsigned char) *sp)) {
            goto bad_line;
        }
        errno = 0;
        f->size = strtoull(sp, &end, 10);
        if (errno || *end != ' ' || !su_path_ok(end + 1)) {
            goto bad_line;
        }
        f->path = end + 1;

        for (i = 0; i < n; i++) {
            if (strcmp(o->files[i].path, f->path) == 0) {
                goto bad_line;
            }
        }

        o->bytes += f->size;
        n++;
        continue;

    bad_line:

        return su_fail(err, SU_EMANIFEST, "manifest refused: bad signed line "
                       "\"file %.200s\"", line + 5);
    }

    o->nfiles = n;

    if (version == NULL || strcmp(version, o->version) != 0) {
        return su_fail(err, SU_EMANIFEST, "manifest refused: it offers %s "
                       "but its signed text names %.32s", o->version,
                       version ? version : "no version");
    }

    return SU_OK;
}


/* "files" lists exactly the signed paths; each has a url or content */

static su_status_t
su_files_urls(su_offer_t *o, json_t *files, su_error_t *err)
{
    size_t       i, k;
    json_t      *f;
    const char  *path;

    for (k = 0; json_is_array(files) && k < json_array_size(files); k++) {
        f = json_array_get(files, k);
        path = json_string_value(json_object_get(f, "path"));

        for (i = 0; i < o->nfiles; i++) {
            if (path && strcmp(o->files[i].path, path) == 0) {
                break;
            }
        }

        if (i == o->nfiles) {
            return su_fail(err, SU_EMANIFEST, "manifest refused: \"%.200s\" "
                           "is not in the signed text",
                           path ? path : "(no path)");
        }

        o->files[i].url = json_string_value(json_object_get(f, "url"));
        o->files[i].content = json_string_value(json_object_get(f,
                                                                "content"));
    }

    for (i = 0; i < o->nfiles; i++) {
        if (o->files[i].url == NULL && o->files[i].content == NULL) {
            return su_fail(err, SU_EMANIFEST, "manifest refused: no url for "
                           "%s", o->files[i].path);
        }
    }

    return SU_OK;
}


/* a manifest (JSON) into a verified offer */

su_status_t
su_manifest_parse(su_install_t *in, const char *json, size_t len,
    su_offer_t **offer, su_error_t *err)
{
    json_t        *m;
    su_offer_t    *o;
    su_status_t    rc;
    const char    *signd;
    json_error_t   jerr;

    *offer = NULL;

    m = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!json_is_object(m)) {
        json_decref(m);
        return su_fail(err, SU_EMANIFEST, "manifest refused: not a JSON "
                       "object");
    }

    o = calloc(1, sizeof(su_offer_t));
    if (o == NULL) {
        json_decref(m);
        return su_fail(err, SU_EMANIFEST, "out of memory");
    }

    o->root = m;
    o->version = json_string_value(json_object_get(m, "version"));
    signd = json_string_value(json_object_get(m, "signed"));

    if (o->version == NULL || !su_version_ok(o->version) || signd == NULL) {
        rc = su_fail(err, SU_EMANIFEST, "manifest refused: no valid "
                     "\"version\" or no \"signed\" text");
        goto failed;
    }

    rc = su_pubkey(in, err);
    if (rc != SU_OK) {
        goto failed;
    }

    if (!su_signature_ok(in, m, signd)) {
        rc = su_fail(err, SU_EMANIFEST, "manifest refused: no valid signature "
                     "by key %s (%s)", in->keyid,
                     in->opts.pubkey_pem ? "the PEM key"
                                         : in->opts.pubkey_file);
        goto failed;
    }

    o->text = strdup(signd);
    if (o->text == NULL) {
        rc = su_fail(err, SU_EMANIFEST, "out of memory");
        goto failed;
    }

    rc = su_signed_lines(o, err);
    if (rc != SU_OK) {
        goto failed;
    }

    rc = su_files_urls(o, json_object_get(m, "files"), err);
    if (rc != SU_OK) {
        goto failed;
    }

    o->mandatory = json_is_true(json_object_get(m, "mandatory"));
    o->server = json_string_value(json_object_get(m, "server"));

    su_log(in, SU_LOG_INFO, "manifest of %s: signature ok (key %s), %zu files",
           o->version, in->keyid, o->nfiles);

    *offer = o;
    return SU_OK;

failed:

    su_offer_free(o);
    return rc;
}


/* a verified manifest that is an upgrade of this installation */

su_status_t
su_offer_parse(su_install_t *in, const char *json, size_t len,
    const char *server_id, su_offer_t **offer, su_error_t *err)
{
    su_offer_t   *o;
    su_status_t   rc;

    su_ok(err);

    rc = su_manifest_parse(in, json, len, &o, err);
    if (rc != SU_OK) {
        return rc;
    }

    if (su_version_cmp(o->version, in->version) <= 0) {
        rc = su_fail(err, SU_EMANIFEST, "manifest refused: %s is not newer "
                     "than %s", o->version, in->version);
        su_offer_free(o);
        return rc;
    }

    if (server_id != NULL
        && (o->server == NULL || strcmp(o->server, server_id) != 0))
    {
        rc = su_fail(err, SU_EMANIFEST, "manifest refused: it is not for "
                     "server %.64s", server_id);
        su_offer_free(o);
        return rc;
    }

    *offer = o;
    return SU_OK;
}


const char *
su_offer_version(const su_offer_t *offer)
{
    return offer->version;
}


int
su_offer_mandatory(const su_offer_t *offer)
{
    return offer->mandatory;
}


const char *
su_offer_server(const su_offer_t *offer)
{
    return offer->server;
}


size_t
su_offer_files(const su_offer_t *offer)
{
    return offer->nfiles;
}


uint64_t
su_offer_bytes(const su_offer_t *offer)
{
    return offer->bytes;
}


void
su_offer_free(su_offer_t *offer)
{
    if (offer == NULL) {
        return;
    }

    json_decref(offer->root);
    free(offer->text);
    free(offer->files);
    free(offer);
}
