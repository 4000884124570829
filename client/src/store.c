/*
 * libstagedupdate: the store. .launcher/store/<version>/ holds the files of
 * a fetched version, each checked against its signed size and SHA-256
 * before it enters (as <path>.part until then): a version fetched before,
 * or rolled back from, is switched to again without a download.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "su_internal.h"


typedef enum {
    SU_FROM_STORE,
    SU_FROM_BACKUP,
    SU_FROM_INLINE,
    SU_FROM_DOWNLOAD
} su_from_t;


static su_status_t su_store_one(su_install_t *in, su_offer_t *o,
    su_file_t *f, su_progress_t *p, su_from_t *from, su_error_t *err);


/* puts one file into the store: from the store itself, a backup of that
 * version, its inline content or a download */

static su_status_t
su_store_one(su_install_t *in, su_offer_t *o, su_file_t *f, su_progress_t *p,
    su_from_t *from, su_error_t *err)
{
    char            dst[SU_PATH], part[SU_PATH], kept[SU_PATH], *url;
    size_t          len;
    su_status_t     rc;
    unsigned char  *data;

    if (su_meta(in, dst, "store/%s/%s", o->version, f->path) != 0
        || su_meta(in, kept, "backup/%s/%s", o->version, f->path) != 0
        || su_meta(in, part, "store/%s/%s.part", o->version, f->path) != 0)
    {
        return su_fail(err, SU_EDOWNLOAD, "%s: path too long", f->path);
    }

    *from = SU_FROM_STORE;

    if (su_file_matches(dst, f)) {
        return SU_OK;
    }

    *from = SU_FROM_BACKUP;

    if (su_file_matches(kept, f)) {
        if (su_copy_file(in, kept, dst, 0644) != 0) {
            return su_fail(err, SU_EDOWNLOAD, "store %s: %s", f->path,
                           strerror(errno));
        }
        return SU_OK;
    }

    if (f->content != NULL) {
        *from = SU_FROM_INLINE;

        if (su_b64_decode(f->content, &data, &len) != 0) {
            return su_fail(err, SU_EDOWNLOAD, "%s: bad inline content",
                           f->path);
        }

        if (su_mkparents(part) != 0
            || su_write_atomic(in, part, data, len, 0644) != 0)
        {
            free(data);
            return su_fail(err, SU_EDOWNLOAD, "store %s: %s", f->path,
                           strerror(errno));
        }

        free(data);

    } else {
        *from = SU_FROM_DOWNLOAD;
        url = su_resolve(in, f->url);
        if (url == NULL) {
            return su_fail(err, SU_EDOWNLOAD, "out of memory");
        }

        rc = su_http_download(in, url, part, p, err);
        free(url);

        if (rc != SU_OK) {
            return rc;
        }
    }

    if (!su_file_matches(part, f)) {
        unlink(part);
        return su_fail(err, SU_EDOWNLOAD, "%s does not match the signed size "
                       "and SHA-256: discarded", f->path);
    }

    if (rename(part, dst) != 0 || su_fsync_parent(dst) != 0) {
        return su_fail(err, SU_EDOWNLOAD, "store %s: %s", f->path,
                       strerror(errno));
    }

    return SU_OK;
}


su_status_t
su_fetch(su_install_t *in, su_offer_t *o, su_error_t *err)
{
    int             downloaded = 0;
    size_t          i;
    su_from_t       from;
    su_status_t     rc;
    su_progress_t   p;

    su_ok(err);

    for (i = 0; i < o->nfiles; i++) {
        memset(&p, 0, sizeof(p));
        p.path = o->files[i].path;
        p.index = i;
        p.files = o->nfiles;
        p.size = o->files[i].size;

        rc = su_store_one(in, o, &o->files[i], &p, &from, err);
        if (rc != SU_OK) {
            return rc;
        }

        p.done = p.size;
        p.finished = 1;

        if (in->opts.progress != NULL
            && in->opts.progress(&p, in->opts.data) != 0)
        {
            return su_fail(err, SU_EDOWNLOAD, "fetch of %s cancelled (the "
                           "files so far are kept)", o->version);
        }

        if (from == SU_FROM_INLINE || from == SU_FROM_DOWNLOAD) {
            su_log(in, SU_LOG_INFO, "%-8s %s (%llu bytes)",
                   from == SU_FROM_INLINE ? "inline" : "download", p.path,
                   (unsigned long long) p.size);
            downloaded += (from == SU_FROM_DOWNLOAD);
        }
    }

    if (downloaded == 0) {
        su_log(in, SU_LOG_INFO, "%s is in the local store: nothing to "
               "download", o->version);
    }

    o->fetched = 1;
    su_crash_point("after-download");

    return SU_OK;
}
