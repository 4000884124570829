/*
 * libstagedupdate: the way back. backup/<previous>/ holds the files of the
 * previous version that the last switch replaced, and .launcher-list says
 * which paths it had ("keep") and which it had not ("absent"); a rollback
 * is a switch to them, with its own backup, so it can be rolled back too.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "su_internal.h"


su_status_t
su_rollback(su_install_t *in, su_error_t *err)
{
    char         path[SU_PATH], from[64], *prev, *list, *line, *next;
    size_t       i, n = 0;
    su_op_t     *ops = NULL, *o;
    su_status_t  rc;

    su_ok(err);
    list = NULL;

    su_meta(in, path, "previous");
    prev = su_read_line(path);

    if (prev == NULL || !su_version_ok(prev)) {
        free(prev);
        return su_fail(err, SU_EROLLBACK, "no previous version to roll back "
                       "to");
    }

    if (su_meta(in, path, "backup/%s/%s", prev, SU_LIST) != 0
        || (list = su_read_text(path, NULL)) == NULL)
    {
        rc = su_fail(err, SU_EROLLBACK, "no backup of %s", prev);
        goto done;
    }

    rc = SU_OK;

    for (line = list; *line; line = next) {
        next = strchr(line, '\n');
        if (next == NULL) {
            break;
        }
        *next++ = '\0';

        o = realloc(ops, (n + 1) * sizeof(su_op_t));
        if (o == NULL) {
            rc = su_fail(err, SU_EROLLBACK, "out of memory");
            goto done;
        }
        ops = o;
        o = &ops[n];

        if (strncmp(line, "keep ", 5) == 0 && su_path_ok(line + 5)) {
            o->path = line + 5;
            o->src = malloc(SU_PATH);
            n++;

            if (o->src == NULL
                || su_meta(in, o->src, "backup/%s/%s", prev, o->path) != 0
                || !su_is_file(o->src))
            {
                rc = su_fail(err, SU_EROLLBACK, "the backup of %s misses %s",
                             prev, o->path);
                goto done;
            }

        } else if (strncmp(line, "absent ", 7) == 0 && su_path_ok(line + 7)) {
            o->path = line + 7;
            o->src = NULL;
            n++;
        }
    }

    snprintf(from, sizeof(from), "%s", in->version);
    su_log(in, SU_LOG_INFO, "rollback %s -> %s", from, prev);

    rc = su_switch(in, from, prev, ops, n, err);

    if (rc == SU_OK) {
        su_log(in, SU_LOG_INFO, "installed %s (rolled back from %s)", prev,
               from);
    }

done:

    for (i = 0; i < n; i++) {
        free(ops[i].src);
    }

    free(ops);
    free(list);
    free(prev);

    return rc;
}
