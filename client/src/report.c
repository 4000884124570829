/*
 * libstagedupdate: install reports, for the server's staged_update_report.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * .launcher/grant holds the upgrade that waits for its reports, one field
 * a line: the version installed, the one it replaced, the business server
 * ID (or "-") and a URL of the upgrade answer with its download token,
 * the proof that the server granted it. su_install() writes it and queues
 * "installed"; su_start() queues the verdict and drops it.
 *
 * .launcher/reports/<n>.json: one report each, the JSON body to POST, <n>
 * growing; at most SU_REPORTS_MAX, the oldest dropped when a new one would
 * pass the bound. su_report_flush() sends them oldest first.
 */

#define _GNU_SOURCE

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "su_internal.h"


static const char  *su_result_names[] = {
    "installed", "started", "failed", "rolled-back"
};


static int su_reports_list(su_install_t *in, unsigned long **seq, size_t *n);
static int su_seq_cmp(const void *a, const void *b);


su_status_t
su_grant_keep(su_install_t *in, su_offer_t *o, const char *from,
    su_error_t *err)
{
    char         path[SU_PATH];
    size_t       i;
    su_str_t     s = { NULL, 0, 0 };
    const char  *url = NULL;

    for (i = 0; i < o->nfiles && url == NULL; i++) {
        url = o->files[i].url;
    }

    if (url == NULL || strchr(url, '\n') != NULL
        || su_meta(in, path, "grant") != 0)
    {
        return SU_OK;           /* nothing proves the grant: no reports */
    }

    su_str_add(&s, "%s\n%s\n%s\n%s\n", o->version, from,
               o->server ? o->server : "-", url);

    if (s.failed || su_write_atomic(in, path, s.data, s.len, 0644) != 0) {
        free(s.data);
        return su_fail(err, SU_EINSTALL, "%s: cannot be written", path);
    }

    free(s.data);

    return su_report(in, SU_R_INSTALLED, NULL, err);
}


/* the version of the pending grant, or NULL; malloc()ed */

char *
su_grant_version(su_install_t *in)
{
    char  path[SU_PATH];

    if (su_meta(in, path, "grant") != 0) {
        return NULL;
    }

    return su_read_line(path);
}


void
su_grant_drop(su_install_t *in)
{
    char  path[SU_PATH];

    if (su_meta(in, path, "grant") == 0) {
        (void) unlink(path);
        (void) su_fsync_parent(path);
    }
}


su_status_t
su_report(su_install_t *in, su_result_t result, const char *reason,
    su_error_t *err)
{
    char            path[SU_PATH], dir[SU_PATH], *text, *f[4], *p, *body;
    size_t          i, n;
    json_t         *j;
    const char     *key;
    unsigned long  *seq, next;

    su_ok(err);

    if ((unsigned) result > SU_R_ROLLED_BACK) {
        return su_fail(err, SU_EUSAGE, "su_report: unknown result");
    }

    if (su_meta(in, path, "grant") != 0
        || (text = su_read_text(path, NULL)) == NULL)
    {
        return SU_OK;
    }

    for (i = 0, p = text; i < 4; i++) {
        f[i] = p;
        p = strchr(p, '\n');
        if (p == NULL) {
            free(text);
            return su_fail(err, SU_EUSAGE, "%s: malformed", path);
        }
        *p++ = '\0';
    }

    key = su_client_key(in, err);
    if (key == NULL) {
        free(text);
        return err->code;
    }

    j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "version", f[0], "from", f[1],
                  "result", su_result_names[result], "client", key,
                  "grant", f[3]);

    if (j != NULL && strcmp(f[2], "-") != 0) {
        json_object_set_new(j, "server", json_string(f[2]));
    }

    if (j != NULL && reason != NULL && reason[0]) {
        char  r[129];

        snprintf(r, sizeof(r), "%s", reason);

        for (p = r; *p; p++) {
            if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                *p = ' ';
            }
        }

        json_object_set_new(j, "reason", json_string(r));
    }

    body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    free(text);

    if (body == NULL) {
        return su_fail(err, SU_EUSAGE, "report: out of memory");
    }

    /* the queue: drop the oldest beyond the bound, write the next */

    if (su_meta(in, dir, "reports") != 0 || su_mkdirs(dir) != 0
        || su_reports_list(in, &seq, &n) != 0)
    {
        free(body);
        return su_fail(err, SU_EUSAGE, "%s: cannot be made", dir);
    }

    next = n ? seq[n - 1] + 1 : 1;

    for (i = 0; n - i >= SU_REPORTS_MAX; i++) {
        su_meta(in, path, "reports/%lu.json", seq[i]);
        su_log(in, SU_LOG_WARN, "report queue full: the oldest report is "
               "dropped");
        (void) unlink(path);
    }

    free(seq);

    if (su_meta(in, path, "reports/%lu.json", next) != 0
        || su_write_atomic(in, path, body, strlen(body), 0644) != 0)
    {
        free(body);
        return su_fail(err, SU_EUSAGE, "%s: cannot be written", path);
    }

    su_log(in, SU_LOG_INFO, "report \"%s\" queued", su_result_names[result]);
    free(body);

    return SU_OK;
}


su_status_t
su_report_flush(su_install_t *in, long timeout, size_t *sent,
    su_error_t *err)
{
    char            path[SU_PATH], *url, *body;
    long            status;
    size_t          i, n, dummy;
    su_str_t        u = { NULL, 0, 0 };
    su_status_t     rc;
    unsigned long  *seq;

    su_ok(err);

    if (sent == NULL) {
        sent = &dummy;
    }

    *sent = 0;

    if (in->opts.server == NULL || su_reports_list(in, &seq, &n) != 0) {
        return SU_OK;
    }

    su_str_add(&u, "%s", in->opts.report_path ? in->opts.report_path
                                              : "/update/report");
    url = u.failed ? NULL : su_resolve(in, u.data);
    free(u.data);

    rc = SU_OK;

    for (i = 0; i < n && url != NULL; i++) {
        su_meta(in, path, "reports/%lu.json", seq[i]);
        body = su_read_text(path, NULL);

        if (body == NULL) {
            continue;
        }

        status = su_http_post(in, url, body, timeout, err);
        free(body);

        if (status < 0 || status >= 500 || status == 408 || status == 429) {
            su_log(in, SU_LOG_WARN, "report not sent (%s): kept for a later "
                   "run", status < 0 ? err->message : "the server is busy");
            rc = SU_ECHECK;
            break;
        }

        if (status >= 400) {
            su_log(in, SU_LOG_WARN, "report refused by the server (HTTP "
                   "%ld): dropped", status);
        }

        (void) unlink(path);
        (*sent)++;
    }

    free(url);
    free(seq);

    if (rc == SU_OK) {
        su_ok(err);
    }

    return rc;
}


size_t
su_report_queued(su_install_t *in)
{
    size_t          n;
    unsigned long  *seq;

    if (su_reports_list(in, &seq, &n) != 0) {
        return 0;
    }

    free(seq);

    return n;
}


/* the numbers of the queued reports, sorted */

static int
su_reports_list(su_install_t *in, unsigned long **seq, size_t *n)
{
    DIR             *d;
    char             dir[SU_PATH], *end;
    size_t           cap;
    unsigned long    v, *s;
    struct dirent   *e;

    *seq = NULL;
    *n = 0;
    cap = 0;

    if (su_meta(in, dir, "reports") != 0) {
        return -1;
    }

    d = opendir(dir);
    if (d == NULL) {
        return 0;
    }

    while ((e = readdir(d)) != NULL) {
        v = strtoul(e->d_name, &end, 10);

        if (v == 0 || strcmp(end, ".json") != 0) {
            continue;
        }

        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            s = realloc(*seq, cap * sizeof(unsigned long));
            if (s == NULL) {
                closedir(d);
                free(*seq);
                *seq = NULL;
                return -1;
            }
            *seq = s;
        }

        (*seq)[(*n)++] = v;
    }

    closedir(d);

    if (*n) {
        qsort(*seq, *n, sizeof(unsigned long), su_seq_cmp);
    }

    return 0;
}


static int
su_seq_cmp(const void *a, const void *b)
{
    unsigned long  x = *(const unsigned long *) a;
    unsigned long  y = *(const unsigned long *) b;

    return (x > y) - (x < y);
}
