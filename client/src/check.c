/*
 * libstagedupdate: the check. GET check_path?version=V&client=K&server=ID;
 * 204 is "current", 200 an upgrade with its manifest, anything else a
 * failed check that keeps the installed version. A Retry-After is kept in
 * .launcher/next-check and honoured: no request before that time.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "su_internal.h"


static char *su_check_url(su_install_t *in, const char *server_id);


static const char *
su_check_path(su_install_t *in)
{
    return in->opts.check_path ? in->opts.check_path : "/update/check";
}


/* a manifest's URL resolved against the check's URL; malloc()ed */

char *
su_resolve(su_install_t *in, const char *url)
{
    char        *r;
    const char  *p, *server, *path;

    server = in->opts.server ? in->opts.server : "";
    path = su_check_path(in);

    if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
        return strdup(url);
    }

    p = strstr(server, "://");
    p = p ? strchr(p + 3, '/') : NULL;

    if (url[0] == '/') {
        if (asprintf(&r, "%.*s%s", p ? (int) (p - server)
                                     : (int) strlen(server), server, url) < 0)
        {
            return NULL;
        }
        return r;
    }

    /* relative to the folder of the check path */
    p = strrchr(path, '/');

    if (asprintf(&r, "%s%.*s/%s", server, p ? (int) (p - path) : 0, path,
                 url) < 0)
    {
        return NULL;
    }

    return r;
}


static char *
su_check_url(su_install_t *in, const char *server_id)
{
    char        *esc;
    su_str_t     u = { NULL, 0, 0 };
    su_error_t   kerr;
    const char  *key;

    key = su_client_key(in, &kerr);
    if (key == NULL) {
        su_log(in, SU_LOG_WARN, "%s (checking without one)", kerr.message);
    }

    su_str_add(&u, "%s%s?version=%s", in->opts.server, su_check_path(in),
               in->version);

    if (key != NULL) {
        su_str_add(&u, "&client=%s", key);
    }

    if (server_id != NULL) {
        esc = su_http_escape(server_id);
        if (esc == NULL) {
            u.failed = 1;
        } else {
            su_str_add(&u, "&server=%s", esc);
            free(esc);
        }
    }

    if (u.failed) {
        free(u.data);
        return NULL;
    }

    return u.data;
}


su_status_t
su_check(su_install_t *in, const char *server_id, unsigned flags,
    su_offer_t **offer, su_error_t *err)
{
    long          status, retry = 0;
    char         *url, *t, path[SU_PATH], line[32];
    time_t        now, until;
    su_str_t      b = { NULL, 0, 0 };
    su_status_t   rc;

    *offer = NULL;
    su_ok(err);

    if (in->opts.server == NULL) {
        return su_fail(err, SU_EUSAGE, "no version server (opts.server)");
    }

    if (su_meta(in, path, "next-check") != 0) {
        return su_fail(err, SU_EUSAGE, "%s: path too long", in->meta);
    }

    now = time(NULL);
    t = su_read_line(path);
    until = t ? (time_t) strtoll(t, NULL, 10) : 0;
    free(t);

    if (until > now && !(flags & SU_FORCE)) {
        su_log(in, SU_LOG_INFO, "next check in %lld s (the server's "
               "Retry-After): %s kept", (long long) (until - now),
               in->version);
        return SU_OK;
    }

    url = su_check_url(in, server_id);
    if (url == NULL) {
        return su_fail(err, SU_ECHECK, "out of memory");
    }

    status = su_http_get(in, url, &b, &retry, err);
    free(url);

    if (retry > 0) {
        snprintf(line, sizeof(line), "%lld\n", (long long) (now + retry));
        if (su_write_atomic(in, path, line, strlen(line), 0644) != 0) {
            su_log(in, SU_LOG_WARN, "next-check: %s", strerror(errno));
        }
        su_log(in, SU_LOG_INFO, "the server asks to check again in %ld s",
               retry);

    } else if (status > 0) {
        unlink(path);
    }

    if (status == 204) {
        su_log(in, SU_LOG_INFO, "%s is current", in->version);
        free(b.data);
        return SU_OK;
    }

    if (status != 200) {
        if (status > 0) {
            su_fail(err, SU_ECHECK, "check: HTTP %ld %.*s", status,
                    b.data ? (int) strcspn(b.data, "\n") : 0,
                    b.data ? b.data : "");
        }
        free(b.data);
        return SU_ECHECK;
    }

    rc = su_offer_parse(in, b.data ? b.data : "", b.len, server_id, offer,
                        err);
    free(b.data);

    if (rc != SU_OK) {
        return rc;
    }

    su_log(in, SU_LOG_INFO, "upgrade %s -> %s offered%s%s%s", in->version,
           (*offer)->version, (*offer)->mandatory ? " (mandatory)" : "",
           server_id ? " by " : "", server_id ? server_id : "");

    return SU_OK;
}
