/*
 * libstagedupdate: HTTP with libcurl. The certificate of an https:// server
 * is always verified (opts.cacert or the system's CAs); a download appends
 * to a ".part" file from its current size (Range), so that an interrupted
 * one resumes, and never grows past the signed size.
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
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "su_internal.h"


typedef struct {
    su_install_t    *in;
    CURL            *curl;
    int              fd;
    int              failed;        /* longer than the signed size */
    int              cancelled;
    int              err;           /* errno of a write */
    uint64_t         have;          /* in the .part before this request */
    uint64_t         got;
    su_progress_t   *p;
    char             errbody[128];
    size_t           errlen;
} su_dl_t;


static CURL *su_http_new(su_install_t *in, const char *url);
static size_t su_http_body(char *p, size_t size, size_t n, void *data);
static size_t su_dl_write(char *p, size_t size, size_t n, void *data);
static int su_dl_progress(void *data, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow);


static CURL *
su_http_new(su_install_t *in, const char *url)
{
    CURL  *c;

    c = curl_easy_init();
    if (c == NULL) {
        return NULL;
    }

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "libstagedupdate/" SU_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");

    if (in->opts.cacert) {
        curl_easy_setopt(c, CURLOPT_CAINFO, in->opts.cacert);
    }

    return c;
}


static size_t
su_http_body(char *p, size_t size, size_t n, void *data)
{
    su_str_t  *b = data;
    char      *d;

    n *= size;

    if (b->len + n > SU_MAX_BODY) {
        return 0;
    }

    d = realloc(b->data, b->len + n + 1);
    if (d == NULL) {
        return 0;
    }

    memcpy(d + b->len, p, n);
    b->data = d;
    b->len += n;
    b->data[b->len] = '\0';

    return n;
}


/* a GET with its whole answer in memory: the HTTP status, or -1 with err
 * set; *retry: the answer's Retry-After in seconds, if any */

long
su_http_get(su_install_t *in, const char *url, su_str_t *body, long *retry,
    su_error_t *err)
{
    CURL        *c;
    long         status;
    CURLcode     rc;
    curl_off_t   ra;

    c = su_http_new(in, url);
    if (c == NULL) {
        su_fail(err, SU_ECHECK, "curl_easy_init() failed");
        return -1;
    }

    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, su_http_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");

    rc = curl_easy_perform(c);
    status = -1;

    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

        if (retry && curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra)
                     == CURLE_OK)
        {
            *retry = (long) ra;
        }

    } else {
        su_fail(err, SU_ECHECK, "%s: %s", url, curl_easy_strerror(rc));
    }

    curl_easy_cleanup(c);

    return status;
}


/* a JSON POST; the status, or -1 (err says why) */

long
su_http_post(su_install_t *in, const char *url, const char *json,
    long timeout, su_error_t *err)
{
    CURL               *c;
    long                status;
    CURLcode            rc;
    su_str_t            body = { NULL, 0, 0 };
    struct curl_slist  *h;

    c = su_http_new(in, url);
    h = curl_slist_append(NULL, "Content-Type: application/json");

    if (c == NULL || h == NULL) {
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        su_fail(err, SU_ECHECK, "out of memory");
        return -1;
    }

    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, su_http_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);

    rc = curl_easy_perform(c);
    status = -1;

    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

    } else {
        su_fail(err, SU_ECHECK, "%s: %s", url, curl_easy_strerror(rc));
    }

    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body.data);

    return status;
}


char *
su_http_escape(const char *s)
{
    char  *e, *copy;

    e = curl_easy_escape(NULL, s, 0);
    copy = e ? strdup(e) : NULL;
    curl_free(e);

    return copy;
}


static size_t
su_dl_write(char *p, size_t size, size_t n, void *data)
{
    su_dl_t  *dl = data;
    long      status = 0;

    n *= size;

    curl_easy_getinfo(dl->curl, CURLINFO_RESPONSE_CODE, &status);

    if (status != 200 && status != 206) {
        /* an error page: not stored, its start is shown */
        size = sizeof(dl->errbody) - 1 - dl->errlen;
        size = n < size ? n : size;
        memcpy(dl->errbody + dl->errlen, p, size);
        dl->errlen += size;
        return n;
    }

    if (status == 200 && dl->have > 0 && dl->got == 0) {
        /* the server ignored the Range: start over */
        if (ftruncate(dl->fd, 0) != 0) {
            dl->err = errno;
            return 0;
        }
        dl->have = 0;
    }

    if (dl->have + dl->got + n > dl->p->size) {
        dl->failed = 1;
        return 0;
    }

    if (su_write_all(dl->in, dl->fd, p, n) != 0) {
        dl->err = errno;
        return 0;
    }

    dl->got += n;
    return n;
}


static int
su_dl_progress(void *data, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
    su_dl_t       *dl = data;
    uint64_t       now;
    su_install_t  *in = dl->in;

    (void) dltotal;
    (void) dlnow;
    (void) ultotal;
    (void) ulnow;

    now = dl->have + dl->got;

    if (in->opts.progress == NULL || now == dl->p->done) {
        return 0;
    }

    dl->p->done = now;

    if (in->opts.progress(dl->p, in->opts.data) != 0) {
        dl->cancelled = 1;
        return 1;
    }

    return 0;
}


/* appends the rest of url to part (Range from its current size) until it
 * has p->size bytes */

su_status_t
su_http_download(su_install_t *in, const char *url, const char *part,
    su_progress_t *p, su_error_t *err)
{
    long            status;
    char            range[64];
    su_dl_t         dl;
    CURLcode        rc;
    struct stat     st;
    unsigned long long  size;

    memset(&dl, 0, sizeof(dl));
    dl.in = in;
    dl.p = p;
    size = (unsigned long long) p->size;

    if (stat(part, &st) == 0) {
        dl.have = (uint64_t) st.st_size;
        if (dl.have > p->size) {
            unlink(part);
            dl.have = 0;
        }
    }

    p->done = dl.have;

    if (dl.have == p->size && p->size > 0) {
        return SU_OK;
    }

    if (su_mkparents(part) != 0) {
        return su_fail(err, SU_EDOWNLOAD, "%s: %s", part, strerror(errno));
    }

    dl.fd = open(part, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (dl.fd < 0) {
        return su_fail(err, SU_EDOWNLOAD, "%s: %s", part, strerror(errno));
    }

    dl.curl = su_http_new(in, url);
    if (dl.curl == NULL) {
        close(dl.fd);
        return su_fail(err, SU_EDOWNLOAD, "curl_easy_init() failed");
    }

    curl_easy_setopt(dl.curl, CURLOPT_WRITEFUNCTION, su_dl_write);
    curl_easy_setopt(dl.curl, CURLOPT_WRITEDATA, &dl);
    curl_easy_setopt(dl.curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(dl.curl, CURLOPT_XFERINFOFUNCTION, su_dl_progress);
    curl_easy_setopt(dl.curl, CURLOPT_XFERINFODATA, &dl);

    if (dl.have > 0) {
        snprintf(range, sizeof(range), "%llu-",
                 (unsigned long long) dl.have);
        curl_easy_setopt(dl.curl, CURLOPT_RANGE, range);
    }

    rc = curl_easy_perform(dl.curl);
    status = 0;
    curl_easy_getinfo(dl.curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(dl.curl);

    if (fsync(dl.fd) != 0 && dl.err == 0) {
        dl.err = errno;
    }
    close(dl.fd);

    if (dl.err) {
        return su_fail(err, SU_EDOWNLOAD, "download %s: %s", p->path,
                       strerror(dl.err));
    }

    if (dl.failed) {
        unlink(part);
        return su_fail(err, SU_EDOWNLOAD, "download %s: longer than the "
                       "signed size %llu", p->path, size);
    }

    if (dl.cancelled) {
        return su_fail(err, SU_EDOWNLOAD, "download %s: cancelled (%llu of "
                       "%llu bytes kept for a resume)", p->path,
                       (unsigned long long) (dl.have + dl.got), size);
    }

    if (rc != CURLE_OK) {
        return su_fail(err, SU_EDOWNLOAD, "download %s: %s (%llu of %llu "
                       "bytes kept for a resume)", p->path,
                       curl_easy_strerror(rc),
                       (unsigned long long) (dl.have + dl.got), size);
    }

    if (status != 200 && status != 206) {
        return su_fail(err, SU_EDOWNLOAD, "download %s: HTTP %ld %.*s",
                       p->path, status,
                       (int) strcspn(dl.errbody, "\r\n"), dl.errbody);
    }

    if (dl.have + dl.got != p->size) {
        return su_fail(err, SU_EDOWNLOAD, "download %s: %llu of %llu bytes "
                       "(kept for a resume)", p->path,
                       (unsigned long long) (dl.have + dl.got), size);
    }

    if (dl.have > 0) {
        su_log(in, SU_LOG_INFO, "download %s: resumed at byte %llu", p->path,
               (unsigned long long) dl.have);
    }

    return SU_OK;
}
