/*
 * libstagedupdate: what the library's files share; not installed.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * One file per concern:
 *
 *   error.c     statuses, messages, the log callback, global init
 *   fault.c     fault injection for tests (SIGKILL at a point, ENOSPC)
 *   fs.c        files: atomic writes, copies, fsync, hashes
 *   version.c   version numbers
 *   manifest.c  the manifest: JSON (jansson), the Ed25519 signature, the
 *               signed file lines, the offer
 *   http.c      libcurl: requests in memory, resumable downloads
 *   check.c     the check: its URL, Retry-After, the answer
 *   install.c   the installation: open, lock, version, client key
 *   store.c     the store: verified files of fetched versions
 *   switch.c    the switch and its journal, recovery after a crash
 *   rollback.c  the way back to the previous version
 *   update.c    the whole flow in one call
 *
 * Reports (installed / started / failed / rolled-back, kept in .launcher/
 * and sent later) belong in a report.c of their own: switch.c's
 * su_journal_apply() is the one place where a version becomes installed or
 * rolled back, and su_open() the place where reports left by an earlier
 * run are found.
 *
 * DIR/.launcher holds:
 *
 *   version            the installed version
 *   previous           the version that su_rollback() restores
 *   client             the random client key, made on first use
 *   next-check         when the server asked to be left alone (Retry-After)
 *   grant              the upgrade waiting for its reports (report.c)
 *   reports/N.json     reports not sent yet (report.c)
 *   store/V/...        verified files of version V
 *   backup/V/...       the running files of V that a switch replaced,
 *                      and backup/V/.launcher-list (what was there)
 *   stage-V/...        the files of a switch to V, before they go in place
 *   journal            a switch in progress: su_open() completes it
 *   lock               one launcher at a time per DIR
 */

#ifndef SU_INTERNAL_H
#define SU_INTERNAL_H

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include <stagedupdate.h>


#define SU_HIDDEN    __attribute__((visibility("hidden")))
#define SU_PRINTF(f, a)  __attribute__((format(printf, f, a)))

#define SU_PATH      PATH_MAX
#define SU_MAX_BODY  (8 * 1024 * 1024)
#define SU_LIST      ".launcher-list"


struct su_install_s {
    su_options_t     opts;
    char            *dir;           /* absolute */
    char            *meta;          /* dir/.launcher */
    char            *version;
    char            *key;           /* the client key, or NULL */
    int              lock;
    void            *pkey;          /* EVP_PKEY, loaded on first use */
    char             keyid[17];
    long             enospc_at;     /* fault injection: see fault.c */
    long             writes;
};


typedef struct {
    const char      *path;
    uint64_t         size;
    char             sha256[65];
    const char      *url;           /* or NULL */
    const char      *content;       /* base64, or NULL */
} su_file_t;


struct su_offer_s {
    void            *root;          /* json_t */
    char            *text;          /* a copy of "signed", cut in lines */
    const char      *version;
    const char      *server;
    int              mandatory;
    su_file_t       *files;
    size_t           nfiles;
    uint64_t         bytes;
    int              fetched;       /* su_fetch() succeeded */
};


/* a step of a switch: put src at path, or remove path (src NULL) */
typedef struct {
    const char      *path;
    char            *src;
} su_op_t;


/* a growing string; failed is set when memory ran out */
typedef struct {
    char            *data;
    size_t           len;
    int              failed;
} su_str_t;


/* a journal, parsed: the switch "from" -> "to", its "put" and "del" lines */
typedef struct {
    const char      *path;
    int              put;
} su_jop_t;

typedef struct {
    const char      *from;
    const char      *to;
    su_jop_t        *ops;
    size_t           nops;
} su_journal_t;

/* what the recovery does with a "put" line (su_journal_decide) */
typedef enum {
    SU_J_RENAME,                    /* staged: rename it into place */
    SU_J_DONE,                      /* already in place */
    SU_J_BROKEN                     /* neither: the journal cannot finish */
} su_jstep_t;


/* error.c */
SU_HIDDEN su_status_t su_fail(su_error_t *err, su_status_t code,
    const char *fmt, ...) SU_PRINTF(3, 4);
SU_HIDDEN void su_log(su_install_t *in, su_log_level_t level,
    const char *fmt, ...) SU_PRINTF(3, 4);
SU_HIDDEN void su_ok(su_error_t *err);
SU_HIDDEN void su_str_add(su_str_t *s, const char *fmt, ...) SU_PRINTF(2, 3);
SU_HIDDEN int su_meta(su_install_t *in, char *buf, const char *fmt, ...)
    SU_PRINTF(3, 4);

/* fault.c */
SU_HIDDEN void su_fault_init(su_install_t *in);
SU_HIDDEN void su_crash_point(const char *name);
SU_HIDDEN int su_fault_write(su_install_t *in);

/* fs.c */
SU_HIDDEN int su_join(char *buf, const char *dir, const char *rel);
SU_HIDDEN int su_write_all(su_install_t *in, int fd, const void *buf,
    size_t n);
SU_HIDDEN int su_fsync_dir(const char *dir);
SU_HIDDEN int su_fsync_parent(const char *path);
SU_HIDDEN int su_mkdirs(const char *dir);
SU_HIDDEN int su_mkparents(const char *path);
SU_HIDDEN int su_is_file(const char *path);
SU_HIDDEN char *su_read_text(const char *path, size_t *len);
SU_HIDDEN char *su_read_line(const char *path);
SU_HIDDEN int su_write_atomic(su_install_t *in, const char *path,
    const void *data, size_t len, mode_t mode);
SU_HIDDEN int su_copy_file(su_install_t *in, const char *src,
    const char *dst, mode_t mode);
SU_HIDDEN void su_rm_rf(const char *path);
SU_HIDDEN void su_hex(const unsigned char *p, size_t n, char *out);
SU_HIDDEN int su_file_matches(const char *path, const su_file_t *f);
SU_HIDDEN mode_t su_file_mode(const char *src, const char *live);

/* version.c */
SU_HIDDEN int su_version_ok(const char *v);
SU_HIDDEN int su_version_cmp(const char *a, const char *b);

/* manifest.c */
SU_HIDDEN int su_path_ok(const char *p);
SU_HIDDEN int su_b64_decode(const char *in, unsigned char **out,
    size_t *len);
SU_HIDDEN su_status_t su_manifest_parse(su_install_t *in, const char *json,
    size_t len, su_offer_t **offer, su_error_t *err);

/* http.c */
SU_HIDDEN long su_http_get(su_install_t *in, const char *url, su_str_t *body,
    long *retry, su_error_t *err);
SU_HIDDEN su_status_t su_http_download(su_install_t *in, const char *url,
    const char *part, su_progress_t *p, su_error_t *err);
SU_HIDDEN char *su_http_escape(const char *s);
SU_HIDDEN long su_http_post(su_install_t *in, const char *url,
    const char *json, long timeout, su_error_t *err);

/* check.c */
SU_HIDDEN char *su_resolve(su_install_t *in, const char *url);

/* switch.c */
SU_HIDDEN su_status_t su_journal_parse(char *text, su_journal_t *j,
    su_error_t *err);
SU_HIDDEN su_jstep_t su_journal_decide(int staged, int live);
SU_HIDDEN su_status_t su_journal_apply(su_install_t *in, su_error_t *err);
SU_HIDDEN su_status_t su_switch(su_install_t *in, const char *from,
    const char *to, su_op_t *ops, size_t n, su_error_t *err);
SU_HIDDEN su_status_t su_recover(su_install_t *in, su_error_t *err);

/* report.c */
SU_HIDDEN su_status_t su_grant_keep(su_install_t *in, su_offer_t *o,
    const char *from, su_error_t *err);
SU_HIDDEN char *su_grant_version(su_install_t *in);
SU_HIDDEN void su_grant_drop(su_install_t *in);

/* install.c */
SU_HIDDEN su_status_t su_reread_version(su_install_t *in, su_error_t *err);

#endif /* SU_INTERNAL_H */
