/*
 * libstagedupdate: statuses, messages, the log callback, global init.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "su_internal.h"


su_status_t
su_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SU_OK
                                                              : SU_EUSAGE;
}


void
su_global_cleanup(void)
{
    curl_global_cleanup();
}


const char *
su_version(void)
{
    return SU_VERSION;
}


const char *
su_strstatus(su_status_t status)
{
    switch (status) {
    case SU_OK:        return "ok";
    case SU_EUSAGE:    return "bad arguments or an unusable installation";
    case SU_ECHECK:    return "the check failed";
    case SU_EMANIFEST: return "the manifest was refused";
    case SU_EDOWNLOAD: return "a file did not download or verify";
    case SU_EINSTALL:  return "the switch failed";
    case SU_ELOGIN:    return "the login failed";
    case SU_EROLLBACK: return "nothing to roll back to";
    }

    return "unknown status";
}


/* sets *err to code and the message; returns code */

su_status_t
su_fail(su_error_t *err, su_status_t code, const char *fmt, ...)
{
    va_list  ap;

    if (err != NULL) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }

    return code;
}


void
su_ok(su_error_t *err)
{
    if (err != NULL) {
        err->code = SU_OK;
        err->message[0] = '\0';
    }
}


void
su_log(su_install_t *in, su_log_level_t level, const char *fmt, ...)
{
    char     line[1024];
    va_list  ap;

    if (in->opts.log == NULL) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    in->opts.log(level, line, in->opts.data);
}


void
su_str_add(su_str_t *s, const char *fmt, ...)
{
    int      n;
    char    *p;
    va_list  ap;

    if (s->failed) {
        return;
    }

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    p = (n < 0) ? NULL : realloc(s->data, s->len + (size_t) n + 1);
    if (p == NULL) {
        s->failed = 1;
        return;
    }

    va_start(ap, fmt);
    vsnprintf(p + s->len, (size_t) n + 1, fmt, ap);
    va_end(ap);

    s->data = p;
    s->len += (size_t) n;
}
