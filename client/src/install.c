/*
 * libstagedupdate: the installation. su_open() takes the lock, completes
 * an interrupted switch and reads the installed version; the client key
 * is made on first use and kept.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "su_internal.h"


/* a path under DIR/.launcher into buf (SU_PATH bytes); -1 if too long */

int
su_meta(su_install_t *in, char *buf, const char *fmt, ...)
{
    int      n, m;
    va_list  ap;

    n = snprintf(buf, SU_PATH, "%s/", in->meta);
    if (n < 0 || n >= SU_PATH) {
        return -1;
    }

    va_start(ap, fmt);
    m = vsnprintf(buf + n, SU_PATH - (size_t) n, fmt, ap);
    va_end(ap);

    return (m < 0 || n + m >= SU_PATH) ? -1 : 0;
}


su_status_t
su_open(su_install_t **inp, const su_options_t *opts, su_error_t *err)
{
    char           path[SU_PATH];
    su_status_t    rc;
    su_install_t  *in;

    *inp = NULL;
    su_ok(err);

    if (opts == NULL || opts->dir == NULL) {
        return su_fail(err, SU_EUSAGE, "no installation directory");
    }

    if (opts->server != NULL && strncmp(opts->server, "https://", 8) != 0
        && !(opts->allow_http && strncmp(opts->server, "http://", 7) == 0))
    {
        return su_fail(err, SU_EUSAGE, "the version server must be an "
                       "https:// URL");
    }

    in = calloc(1, sizeof(su_install_t));
    if (in == NULL) {
        return su_fail(err, SU_EUSAGE, "out of memory");
    }

    in->opts = *opts;
    in->lock = -1;
    su_fault_init(in);

    if (su_mkdirs(opts->dir) != 0
        || (in->dir = realpath(opts->dir, NULL)) == NULL)
    {
        rc = su_fail(err, SU_EUSAGE, "%s: %s", opts->dir, strerror(errno));
        goto failed;
    }

    if (asprintf(&in->meta, "%s/.launcher", in->dir) < 0) {
        in->meta = NULL;
        rc = su_fail(err, SU_EUSAGE, "out of memory");
        goto failed;
    }

    if (su_mkdirs(in->meta) != 0) {
        rc = su_fail(err, SU_EUSAGE, "%s: %s", in->meta, strerror(errno));
        goto failed;
    }

    if (su_meta(in, path, "lock") != 0) {
        rc = su_fail(err, SU_EUSAGE, "%s: path too long", in->meta);
        goto failed;
    }

    in->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (in->lock < 0 || flock(in->lock, LOCK_EX | LOCK_NB) != 0) {
        rc = su_fail(err, SU_EUSAGE, "another launcher works in %s", in->dir);
        goto failed;
    }

    rc = su_recover(in, err);
    if (rc != SU_OK) {
        goto failed;
    }

    rc = su_reread_version(in, err);
    if (rc != SU_OK) {
        goto failed;
    }

    *inp = in;
    return SU_OK;

failed:

    su_close(in);
    return rc;
}


void
su_close(su_install_t *in)
{
    if (in == NULL) {
        return;
    }

    if (in->lock >= 0) {
        close(in->lock);
    }

    EVP_PKEY_free(in->pkey);
    free(in->dir);
    free(in->meta);
    free(in->version);
    free(in->key);
    free(in);
}


/* reads .launcher/version */

su_status_t
su_reread_version(su_install_t *in, su_error_t *err)
{
    char  path[SU_PATH], *v;

    if (su_meta(in, path, "version") != 0) {
        return su_fail(err, SU_EUSAGE, "%s: path too long", in->meta);
    }

    v = su_read_line(path);

    if (v == NULL || !su_version_ok(v)) {
        free(v);
        return su_fail(err, SU_EUSAGE, "%s: no installed version (write it "
                       "there, e.g. 1.0.0)", path);
    }

    free(in->version);
    in->version = v;

    return SU_OK;
}


const char *
su_installed_version(su_install_t *in)
{
    return in->version;
}


const char *
su_dir(su_install_t *in)
{
    return in->dir;
}


const char *
su_client_key(su_install_t *in, su_error_t *err)
{
    char           path[SU_PATH], *key;
    unsigned char  rnd[16];

    if (in->key != NULL) {
        return in->key;
    }

    if (su_meta(in, path, "client") != 0) {
        su_fail(err, SU_EUSAGE, "client key: path too long");
        return NULL;
    }

    key = su_read_line(path);

    if (key != NULL && strlen(key) == 32
        && strspn(key, "0123456789abcdef") == 32)
    {
        in->key = key;
        return key;
    }

    free(key);
    key = malloc(33);

    if (key == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        free(key);
        su_fail(err, SU_EUSAGE, "client key: no random bytes");
        return NULL;
    }

    su_hex(rnd, sizeof(rnd), key);

    if (su_write_atomic(in, path, key, 32, 0600) != 0) {
        su_fail(err, SU_EUSAGE, "client key: %s", strerror(errno));
        free(key);
        return NULL;
    }

    in->key = key;
    return key;
}
