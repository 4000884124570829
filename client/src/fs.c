/*
 * libstagedupdate: files. Every write of the library goes through
 * su_write_all() (fault injection); what must never be half written is
 * written beside, fsynced and renamed into place.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "su_internal.h"


int
su_write_all(su_install_t *in, int fd, const void *buf, size_t n)
{
    ssize_t      w;
    const char  *p = buf;

    if (su_fault_write(in) != 0) {
        return -1;
    }

    while (n > 0) {
        w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }

    return 0;
}


/* dir/rel into buf (SU_PATH bytes); -1 with ENAMETOOLONG if too long */

int
su_join(char *buf, const char *dir, const char *rel)
{
    int  n;

    n = snprintf(buf, SU_PATH, "%s/%s", dir, rel);

    if (n < 0 || n >= SU_PATH) {
        errno = ENAMETOOLONG;
        return -1;
    }

    return 0;
}


int
su_fsync_dir(const char *dir)
{
    int  fd, rc;

    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -1;
    }

    rc = fsync(fd);
    close(fd);

    return rc;
}


int
su_fsync_parent(const char *path)
{
    char         d[SU_PATH];
    const char  *slash;

    slash = strrchr(path, '/');
    if (slash == NULL) {
        return su_fsync_dir(".");
    }

    if ((size_t) (slash - path) >= sizeof(d)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    memcpy(d, path, (size_t) (slash - path));
    d[slash - path] = '\0';

    return su_fsync_dir(slash == path ? "/" : d);
}


int
su_mkdirs(const char *dir)
{
    char  d[SU_PATH], *p;

    if (strlen(dir) >= sizeof(d)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    strcpy(d, dir);

    for (p = d + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(d, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }

    if (mkdir(d, 0755) != 0 && errno != EEXIST) {
        return -1;
    }

    return 0;
}


int
su_mkparents(const char *path)
{
    char   d[SU_PATH];
    char  *slash;

    if (strlen(path) >= sizeof(d)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    strcpy(d, path);
    slash = strrchr(d, '/');

    if (slash == NULL || slash == d) {
        return 0;
    }

    *slash = '\0';
    return su_mkdirs(d);
}


int
su_is_file(const char *path)
{
    struct stat  st;

    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}


/* a whole small file (at most SU_MAX_BODY), NUL-terminated; NULL if it
 * cannot be read */

char *
su_read_text(const char *path, size_t *len)
{
    int          fd;
    char        *s;
    ssize_t      n;
    size_t       got;
    struct stat  st;

    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return NULL;
    }

    if (fstat(fd, &st) != 0 || st.st_size > SU_MAX_BODY) {
        close(fd);
        return NULL;
    }

    s = malloc((size_t) st.st_size + 1);
    if (s == NULL) {
        close(fd);
        return NULL;
    }

    for (got = 0; got < (size_t) st.st_size; got += (size_t) n) {
        n = read(fd, s + got, (size_t) st.st_size - got);
        if (n <= 0) {
            break;
        }
    }

    close(fd);
    s[got] = '\0';

    if (len) {
        *len = got;
    }

    return s;
}


/* the first line of a small file, without its newline */

char *
su_read_line(const char *path)
{
    char  *s;

    s = su_read_text(path, NULL);
    if (s != NULL) {
        s[strcspn(s, "\r\n")] = '\0';
    }

    return s;
}


/* writes path.tmp, fsyncs it, renames it over path, fsyncs the folder */

int
su_write_atomic(su_install_t *in, const char *path, const void *data,
    size_t len, mode_t mode)
{
    int   fd, err;
    char  tmp[SU_PATH];

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        return -1;
    }

    if (su_write_all(in, fd, data, len) != 0 || fsync(fd) != 0) {
        err = errno;
        close(fd);
        unlink(tmp);
        errno = err;
        return -1;
    }

    if (close(fd) != 0 || rename(tmp, path) != 0) {
        err = errno;
        unlink(tmp);
        errno = err;
        return -1;
    }

    return su_fsync_parent(path);
}


/* copies src to dst (made anew, fsynced) with the given mode */

int
su_copy_file(su_install_t *in, const char *src, const char *dst, mode_t mode)
{
    int      fd, out, err;
    char     buf[65536];
    ssize_t  n;

    fd = open(src, O_RDONLY);
    if (fd < 0) {
        return -1;
    }

    if (su_mkparents(dst) != 0) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }

    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (out < 0) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }

    for ( ;; ) {
        n = read(fd, buf, sizeof(buf));
        if (n == 0) {
            break;
        }
        if (n < 0 || su_write_all(in, out, buf, (size_t) n) != 0) {
            goto failed;
        }
    }

    if (fchmod(out, mode) != 0 || fsync(out) != 0) {
        goto failed;
    }

    close(fd);

    if (close(out) != 0) {
        return -1;
    }

    return su_fsync_parent(dst);

failed:

    err = errno;
    close(fd);
    close(out);
    unlink(dst);
    errno = err;
    return -1;
}


static int
su_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;

    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}


void
su_rm_rf(const char *path)
{
    struct stat  st;

    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            nftw(path, su_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        } else {
            unlink(path);
        }
    }
}


void
su_hex(const unsigned char *p, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
    out[2 * n] = '\0';
}


/* SHA-256 (hex) and size of a file */

static int
su_hash_file(const char *path, char *sha, uint64_t *size)
{
    int            fd;
    char           buf[65536];
    ssize_t        n;
    unsigned int   mdlen;
    EVP_MD_CTX    *md;
    unsigned char  digest[EVP_MAX_MD_SIZE];

    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        close(fd);
        return -1;
    }

    *size = 0;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        EVP_DigestUpdate(md, buf, (size_t) n);
        *size += (uint64_t) n;
    }

    close(fd);
    EVP_DigestFinal_ex(md, digest, &mdlen);
    EVP_MD_CTX_free(md);

    if (n < 0) {
        return -1;
    }

    su_hex(digest, mdlen, sha);
    return 0;
}


int
su_file_matches(const char *path, const su_file_t *f)
{
    char      sha[65];
    uint64_t  size;

    return su_hash_file(path, sha, &size) == 0 && size == f->size
           && strcmp(sha, f->sha256) == 0;
}


/* a program ("#!" or ELF) is installed executable, as is a file that
 * replaces an executable one */

mode_t
su_file_mode(const char *src, const char *live)
{
    int          fd;
    char         head[4];
    struct stat  st;

    if (live != NULL && stat(live, &st) == 0 && (st.st_mode & 0111)) {
        return 0755;
    }

    fd = open(src, O_RDONLY);
    if (fd >= 0) {
        if (read(fd, head, 4) == 4
            && (memcmp(head, "#!", 2) == 0 || memcmp(head, "\177ELF", 4) == 0))
        {
            close(fd);
            return 0755;
        }
        close(fd);
    }

    return 0644;
}
