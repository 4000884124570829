/*
 * libstagedupdate: the switch and its journal.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A switch from version A to B: the running files it replaces are saved in
 * backup/A/ (made in backup/A.tmp, renamed), B's files are copied into
 * stage-B/, then the journal is written (atomically): from that moment the
 * switch is decided, and every run completes it before anything else. The
 * journal's steps rename the staged files into place (a file no longer
 * staged but in place was moved already), remove the files B has not,
 * write the version file, and drop the journal; each can be repeated after
 * a crash. Before the journal, a crash leaves A untouched and only
 * leftovers (stage-B/, *.tmp) that the next run removes.
 *
 * This is where a version becomes installed or rolled back: the reports of
 * the next issue are to be written at the end of su_journal_apply().
 */

#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "su_internal.h"


static su_status_t su_backup(su_install_t *in, const char *from,
    su_op_t *ops, size_t n, su_error_t *err);
static su_status_t su_journal_step(su_install_t *in, const char *stage,
    su_jop_t *op, int *renames, su_error_t *err);


/* saves the running files that ops name into backup/<from>/ with a list of
 * what was there */

static su_status_t
su_backup(su_install_t *in, const char *from, su_op_t *ops, size_t n,
    su_error_t *err)
{
    int          kept = 0;
    char         tmp[SU_PATH], fin[SU_PATH], bdir[SU_PATH], dst[SU_PATH];
    char         live[SU_PATH];
    size_t       i;
    su_str_t     list = { NULL, 0, 0 };
    struct stat  st;

    if (su_meta(in, tmp, "backup/%s.tmp", from) != 0
        || su_meta(in, fin, "backup/%s", from) != 0
        || su_meta(in, bdir, "backup") != 0)
    {
        return su_fail(err, SU_EINSTALL, "backup of %s: path too long", from);
    }

    su_rm_rf(tmp);

    if (su_mkdirs(tmp) != 0) {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        if (su_join(live, in->dir, ops[i].path) != 0) {
            goto failed;
        }

        if (lstat(live, &st) == 0 && S_ISREG(st.st_mode)) {
            if (su_join(dst, tmp, ops[i].path) != 0
                || su_copy_file(in, live, dst, st.st_mode & 07777) != 0)
            {
                goto failed;
            }
            su_str_add(&list, "keep %s\n", ops[i].path);
            kept++;

        } else {
            su_str_add(&list, "absent %s\n", ops[i].path);
        }
    }

    if (list.failed) {
        errno = ENOMEM;
        goto failed;
    }

    if (su_join(dst, tmp, SU_LIST) != 0
        || su_write_atomic(in, dst, list.data ? list.data : "", list.len,
                           0644) != 0)
    {
        goto failed;
    }

    su_rm_rf(fin);

    if (rename(tmp, fin) != 0 || su_fsync_dir(bdir) != 0) {
        goto failed;
    }

    free(list.data);
    su_log(in, SU_LOG_INFO, "backup   %d of %zu files of %s (for a rollback)",
           kept, n, from);
    su_crash_point("after-backup");

    return SU_OK;

failed:

    su_fail(err, SU_EINSTALL, "backup of %s: %s", from, strerror(errno));
    free(list.data);
    su_rm_rf(tmp);
    return SU_EINSTALL;
}


/* the journal's text, checked; text is cut in place */

su_status_t
su_journal_parse(char *text, su_journal_t *j, su_error_t *err)
{
    char      *line, *next;
    su_jop_t  *ops;

    memset(j, 0, sizeof(su_journal_t));

    if (strncmp(text, "staged-update-journal 1\n", 24) != 0) {
        return su_fail(err, SU_EINSTALL, "journal: unreadable journal");
    }

    for (line = text + 24; *line; line = next) {
        next = strchr(line, '\n');
        if (next == NULL) {
            goto failed;
        }
        *next++ = '\0';

        if (strncmp(line, "from ", 5) == 0 && su_version_ok(line + 5)) {
            j->from = line + 5;

        } else if (strncmp(line, "to ", 3) == 0 && su_version_ok(line + 3)) {
            j->to = line + 3;

        } else if ((strncmp(line, "put ", 4) == 0
                    || strncmp(line, "del ", 4) == 0)
                   && su_path_ok(line + 4))
        {
            ops = realloc(j->ops, (j->nops + 1) * sizeof(su_jop_t));
            if (ops == NULL) {
                free(j->ops);
                j->ops = NULL;
                return su_fail(err, SU_EINSTALL, "journal: out of memory");
            }
            j->ops = ops;
            j->ops[j->nops].path = line + 4;
            j->ops[j->nops].put = (line[0] == 'p');
            j->nops++;

        } else {
            goto failed;
        }
    }

    if (j->from == NULL || j->to == NULL) {
        free(j->ops);
        j->ops = NULL;
        return su_fail(err, SU_EINSTALL, "journal: no from or to line");
    }

    return SU_OK;

failed:

    free(j->ops);
    j->ops = NULL;
    return su_fail(err, SU_EINSTALL, "journal: truncated or bad line");
}


su_jstep_t
su_journal_decide(int staged, int live)
{
    if (staged) {
        return SU_J_RENAME;
    }

    return live ? SU_J_DONE : SU_J_BROKEN;
}


static su_status_t
su_journal_step(su_install_t *in, const char *stage, su_jop_t *op,
    int *renames, su_error_t *err)
{
    char  src[SU_PATH], dst[SU_PATH], point[64];

    if (su_join(src, stage, op->path) != 0
        || su_join(dst, in->dir, op->path) != 0)
    {
        return su_fail(err, SU_EINSTALL, "install %s: %s", op->path,
                       strerror(errno));
    }

    if (!op->put) {
        if (unlink(dst) != 0 && errno != ENOENT) {
            return su_fail(err, SU_EINSTALL, "remove %s: %s", op->path,
                           strerror(errno));
        }
        su_fsync_parent(dst);
        return SU_OK;
    }

    switch (su_journal_decide(su_is_file(src), su_is_file(dst))) {

    case SU_J_RENAME:
        if (su_mkparents(dst) != 0 || rename(src, dst) != 0
            || su_fsync_parent(dst) != 0)
        {
            return su_fail(err, SU_EINSTALL, "install %s: %s", op->path,
                           strerror(errno));
        }
        snprintf(point, sizeof(point), "after-rename-%d", ++*renames);
        su_crash_point(point);
        return SU_OK;

    case SU_J_DONE:
        return SU_OK;

    default:
        return su_fail(err, SU_EINSTALL, "install %s: neither staged nor in "
                       "place", op->path);
    }
}


/* completes the switch that the journal names; SU_OK without a journal */

su_status_t
su_journal_apply(su_install_t *in, su_error_t *err)
{
    int            renames = 0;
    char           journal[SU_PATH], stage[SU_PATH], path[SU_PATH];
    char           line[64], *text;
    size_t         i;
    su_status_t    rc;
    su_journal_t   j;

    if (su_meta(in, journal, "journal") != 0) {
        return su_fail(err, SU_EINSTALL, "%s: path too long", in->meta);
    }

    text = su_read_text(journal, NULL);
    if (text == NULL) {
        return SU_OK;
    }

    rc = su_journal_parse(text, &j, err);
    if (rc != SU_OK) {
        free(text);
        return rc;
    }

    if (su_meta(in, stage, "stage-%s", j.to) != 0) {
        rc = su_fail(err, SU_EINSTALL, "%s: path too long", in->meta);
        goto done;
    }

    for (i = 0; i < j.nops; i++) {
        rc = su_journal_step(in, stage, &j.ops[i], &renames, err);
        if (rc != SU_OK) {
            goto done;
        }
    }

    su_crash_point("before-version-write");

    su_meta(in, path, "version");
    snprintf(line, sizeof(line), "%s\n", j.to);

    if (su_write_atomic(in, path, line, strlen(line), 0644) != 0) {
        rc = su_fail(err, SU_EINSTALL, "version file: %s", strerror(errno));
        goto done;
    }

    /* a failure here loses nothing but the way back */
    su_meta(in, path, "previous");
    snprintf(line, sizeof(line), "%s\n", j.from);
    if (su_write_atomic(in, path, line, strlen(line), 0644) != 0) {
        su_log(in, SU_LOG_WARN, "previous: %s (no rollback to %s)",
               strerror(errno), j.from);
    }

    su_crash_point("after-version-write");

    su_rm_rf(stage);

    if (unlink(journal) != 0 || su_fsync_dir(in->meta) != 0) {
        rc = su_fail(err, SU_EINSTALL, "journal: %s", strerror(errno));
        goto done;
    }

    rc = su_reread_version(in, err);

done:

    free(j.ops);
    free(text);
    return rc;
}


/* the switch to version "to": backup of what ops replace, the staged
 * copies, the journal, then su_journal_apply() */

su_status_t
su_switch(su_install_t *in, const char *from, const char *to, su_op_t *ops,
    size_t n, su_error_t *err)
{
    char         stage[SU_PATH], dst[SU_PATH], live[SU_PATH];
    char         journal[SU_PATH];
    size_t       i;
    su_str_t     text = { NULL, 0, 0 };
    su_status_t  rc;

    if (su_meta(in, stage, "stage-%s", to) != 0
        || su_meta(in, journal, "journal") != 0)
    {
        return su_fail(err, SU_EINSTALL, "%s: path too long", in->meta);
    }

    rc = su_backup(in, from, ops, n, err);
    if (rc != SU_OK) {
        return rc;
    }

    su_rm_rf(stage);

    if (su_mkdirs(stage) != 0) {
        goto failed;
    }

    su_str_add(&text, "staged-update-journal 1\nfrom %s\nto %s\n", from, to);

    for (i = 0; i < n; i++) {
        if (ops[i].src) {
            if (su_join(dst, stage, ops[i].path) != 0
                || su_join(live, in->dir, ops[i].path) != 0
                || su_copy_file(in, ops[i].src, dst,
                                su_file_mode(ops[i].src, live)) != 0)
            {
                goto failed;
            }
        }

        su_str_add(&text, "%s %s\n", ops[i].src ? "put" : "del",
                   ops[i].path);
    }

    if (text.failed) {
        errno = ENOMEM;
        goto failed;
    }

    if (su_fsync_dir(stage) != 0) {
        goto failed;
    }

    su_crash_point("after-stage");

    if (su_write_atomic(in, journal, text.data, text.len, 0644) != 0) {
        goto failed;
    }

    free(text.data);
    su_crash_point("after-journal");

    rc = su_journal_apply(in, err);

    if (rc != SU_OK && err != NULL) {
        size_t  len = strlen(err->message);

        snprintf(err->message + len, sizeof(err->message) - len,
                 "; the switch to %s will be completed by the next run", to);
    }

    return rc;

failed:

    su_fail(err, SU_EINSTALL, "install %s: %s: %s is kept", to,
            strerror(errno), from);
    free(text.data);
    su_rm_rf(stage);
    return SU_EINSTALL;
}


/* a journal left by a crash is completed before anything else; stages
 * and temporary files that no journal names are leftovers */

su_status_t
su_recover(su_install_t *in, su_error_t *err)
{
    DIR            *d;
    char            journal[SU_PATH], path[SU_PATH], *text, *to;
    size_t          len;
    su_status_t     rc;
    struct dirent  *de;

    if (su_meta(in, journal, "journal") != 0) {
        return su_fail(err, SU_EINSTALL, "%s: path too long", in->meta);
    }

    if (su_is_file(journal)) {
        text = su_read_text(journal, NULL);
        to = text ? strstr(text, "\nto ") : NULL;
        su_log(in, SU_LOG_INFO, "completing the interrupted switch to %.*s",
               to ? (int) strcspn(to + 4, "\n") : 1, to ? to + 4 : "?");
        free(text);

        rc = su_journal_apply(in, err);
        if (rc != SU_OK) {
            return rc;
        }
    }

    d = opendir(in->meta);

    while (d && (de = readdir(d)) != NULL) {
        len = strlen(de->d_name);

        if (strncmp(de->d_name, "stage-", 6) == 0
            || (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0))
        {
            if (su_meta(in, path, "%s", de->d_name) == 0) {
                su_rm_rf(path);
            }
        }
    }

    if (d) {
        closedir(d);
    }

    return SU_OK;
}


su_status_t
su_install(su_install_t *in, su_offer_t *o, su_error_t *err)
{
    char         from[64];
    size_t       i;
    su_op_t     *ops;
    su_status_t  rc;

    su_ok(err);

    if (!o->fetched) {
        rc = su_fetch(in, o, err);
        if (rc != SU_OK) {
            return rc;
        }
    }

    ops = calloc(o->nfiles ? o->nfiles : 1, sizeof(su_op_t));
    if (ops == NULL) {
        return su_fail(err, SU_EINSTALL, "out of memory");
    }

    rc = SU_OK;

    for (i = 0; i < o->nfiles && rc == SU_OK; i++) {
        ops[i].path = o->files[i].path;
        ops[i].src = malloc(SU_PATH);
        if (ops[i].src == NULL
            || su_meta(in, ops[i].src, "store/%s/%s", o->version,
                       o->files[i].path) != 0)
        {
            rc = su_fail(err, SU_EINSTALL, "%s: out of memory or path too "
                         "long", o->files[i].path);
        }
    }

    snprintf(from, sizeof(from), "%s", in->version);

    if (rc == SU_OK) {
        rc = su_switch(in, from, o->version, ops, o->nfiles, err);
    }

    if (rc == SU_OK) {
        su_log(in, SU_LOG_INFO, "installed %s (%zu files); %s kept for a "
               "rollback", o->version, o->nfiles, from);

        /* the grant and the "installed" report: never a failed install */
        (void) su_grant_keep(in, o, from, err);
        su_ok(err);
    }

    for (i = 0; i < o->nfiles; i++) {
        free(ops[i].src);
    }
    free(ops);

    return rc;
}
