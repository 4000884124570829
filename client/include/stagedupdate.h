/*
 * libstagedupdate: the client side of ngx_http_staged_update_module, for
 * launchers (games, desktop apps, agents) that link the safe upgrade in.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A launcher opens its installation, checks, fetches and installs:
 *
 *     su_options_t   o = { .dir = "/opt/game", .server = "https://upd.ex",
 *                          .pubkey_file = "manifest.pub.pem" };
 *     su_install_t  *in;
 *     su_error_t     err;
 *
 *     su_global_init();
 *     if (su_open(&in, &o, &err) == SU_OK) {
 *         su_update(in, NULL, 0, NULL, &err);   // or su_check + su_fetch
 *         su_close(in);                          //    + su_install
 *     }
 *     // then start the game: the installation is whole in every case
 *
 * Guarantees:
 * - no function exits, aborts or writes to stdout/stderr: every error is a
 *   su_status_t with a message in su_error_t; what a launcher may show
 *   goes through the log and progress callbacks;
 * - no global state: each su_install_t is independent (one thread at a
 *   time per handle); libcurl's global initialisation is su_global_init()'s
 *   job (see there);
 * - whatever happens (an error, a crash, SIGKILL, a full disk) at any
 *   point, once su_open() has returned SU_OK the installation holds the
 *   whole old or the whole new version: a switch is decided when its
 *   journal is written, and su_open() completes it; before that, the old
 *   version is untouched. Only a SU_EINSTALL from su_install() or
 *   su_rollback() can leave a switch half done: close, and the next
 *   su_open() completes it;
 * - a file enters the installation only after its size and SHA-256 match
 *   a manifest whose Ed25519 signature verified with the launcher's key.
 *
 * The status codes are those of the reference launcher's exit codes.
 * ABI: the soname is libstagedupdate.so.0; structures passed by the caller
 * only grow at their end, and zeroed new fields keep the old behaviour.
 */

#ifndef STAGEDUPDATE_H
#define STAGEDUPDATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SU_API  __attribute__((visibility("default")))
#else
#define SU_API
#endif

#define SU_VERSION  "0.1.0"


typedef enum {
    SU_OK = 0,          /* done (current, upgraded, declined, rolled back) */
    SU_EUSAGE = 1,      /* bad arguments, unusable installation, no memory */
    SU_ECHECK = 2,      /* the check failed: the version is kept */
    SU_EMANIFEST = 3,   /* the manifest was refused: the version is kept */
    SU_EDOWNLOAD = 4,   /* a file did not download or verify: kept; the
                           next fetch resumes */
    SU_EINSTALL = 5,    /* the switch failed: kept, or completed by the
                           next su_open() */
    SU_ELOGIN = 6,      /* reserved for launchers: a business server's
                           login failed (the library does not log in) */
    SU_EROLLBACK = 7    /* nothing to roll back to */
} su_status_t;


typedef struct {
    su_status_t   code;
    char          message[512];
} su_error_t;


typedef enum {
    SU_LOG_INFO = 0,    /* what the library does, one line */
    SU_LOG_WARN = 1     /* a problem that did not stop it */
} su_log_level_t;


typedef struct {
    const char   *path;         /* the file, relative to the installation */
    size_t        index;        /* 0 .. files - 1 */
    size_t        files;        /* files of the version */
    uint64_t      done;         /* bytes of this file so far (a resumed
                                   download starts above 0) */
    uint64_t      size;         /* its signed size */
    int           finished;     /* 1 once, when this file is in the store */
} su_progress_t;


typedef struct su_install_s  su_install_t;
typedef struct su_offer_s    su_offer_t;

/* a line for the user; msg is valid during the call */
typedef void (*su_log_pt)(su_log_level_t level, const char *msg, void *data);

/* bytes of a file arrived; return non-zero to cancel the fetch
 * (SU_EDOWNLOAD, what arrived is kept for a resume) */
typedef int (*su_progress_pt)(const su_progress_t *p, void *data);

/* "Upgrade to <version> now?": non-zero to go on, 0 to decline */
typedef int (*su_ask_pt)(const su_offer_t *offer, void *data);


typedef struct {
    const char       *dir;          /* the installation (required); its
                                       .launcher/version names the version */
    const char       *server;       /* https://host[:port] of the version
                                       server (for su_check) */
    const char       *check_path;   /* default "/update/check" */
    const char       *cacert;       /* trust this CA (PEM file); default:
                                       the system's */
    const char       *pubkey_file;  /* the Ed25519 key of the manifests
                                       (PEM file), or: */
    const char       *pubkey_pem;   /* the same key as PEM text */
    int               allow_http;   /* let server be http:// (tests) */

    su_log_pt         log;          /* optional */
    su_progress_pt    progress;     /* optional */
    su_ask_pt         ask;          /* optional: without it, no question */
    void             *data;         /* passed to the three callbacks */

    const char       *report_path;  /* where install reports go; default
                                       "/update/report" (see su_report) */
} su_options_t;


/* flags of su_check() and su_update() */
#define SU_FORCE       0x01         /* check even before Retry-After */
#define SU_CHECK_ONLY  0x02         /* su_update(): verify, change nothing */


/* what su_update() did */
typedef enum {
    SU_CURRENT = 0,     /* no upgrade (or not before Retry-After) */
    SU_OFFERED,         /* SU_CHECK_ONLY: an upgrade is offered */
    SU_DECLINED,        /* the ask callback said no */
    SU_INSTALLED        /* the new version is installed */
} su_outcome_t;


/*
 * Calls curl_global_init(CURL_GLOBAL_DEFAULT). libcurl requires it once
 * per process before any other thread runs; a program that already
 * initialises libcurl itself need not call it. su_global_cleanup() is its
 * counterpart, at exit. Returns SU_OK or SU_EUSAGE.
 */
SU_API su_status_t su_global_init(void);
SU_API void su_global_cleanup(void);

/* the library's version, SU_VERSION of the build */
SU_API const char *su_version(void);

/* a readable name of a status, e.g. "the check failed" */
SU_API const char *su_strstatus(su_status_t status);


/*
 * Opens the installation opts->dir (created if missing, with .launcher/):
 * takes its lock (one launcher at a time, SU_EUSAGE if another holds it),
 * completes a switch that a crash interrupted (SU_EINSTALL if it cannot:
 * do not start the program then) and reads the installed version
 * (SU_EUSAGE if .launcher/version is missing: write it when you ship).
 * opts is copied; the strings it points to must live until su_close().
 */
SU_API su_status_t su_open(su_install_t **in, const su_options_t *opts,
    su_error_t *err);

/* releases the lock and the memory; in may be NULL */
SU_API void su_close(su_install_t *in);

/* the installed version, e.g. "1.9.0"; changes after su_install() and
 * su_rollback() */
SU_API const char *su_installed_version(su_install_t *in);

/* the installation's absolute path */
SU_API const char *su_dir(su_install_t *in);

/* the random client key (32 hex digits), made and kept on first use;
 * NULL if it cannot be written (err says why) */
SU_API const char *su_client_key(su_install_t *in, su_error_t *err);


/*
 * Asks the version server: GET check_path?version=V&client=K[&server=ID].
 * server_id: the business server the user is logged in to, or NULL.
 * SU_OK with *offer NULL: current, or the server's Retry-After has not
 * passed (SU_FORCE checks anyway). SU_OK with *offer: an upgrade whose
 * manifest verified (signature, version newer than the installed one,
 * for server_id if given); free it with su_offer_free().
 */
SU_API su_status_t su_check(su_install_t *in, const char *server_id,
    unsigned flags, su_offer_t **offer, su_error_t *err);

/* verifies a manifest got another way (the JSON of a 200 answer), as
 * su_check() does; its relative urls resolve against opts->server and
 * check_path */
SU_API su_status_t su_offer_parse(su_install_t *in, const char *json,
    size_t len, const char *server_id, su_offer_t **offer, su_error_t *err);

SU_API const char *su_offer_version(const su_offer_t *offer);
SU_API int su_offer_mandatory(const su_offer_t *offer);
SU_API const char *su_offer_server(const su_offer_t *offer);   /* or NULL */
SU_API size_t su_offer_files(const su_offer_t *offer);
SU_API uint64_t su_offer_bytes(const su_offer_t *offer);
SU_API void su_offer_free(su_offer_t *offer);

/*
 * Puts every file of the offer, verified, into .launcher/store/<version>/:
 * from the store itself, from a backup of that version, from inline content
 * or by a download (resumed with Range from what a previous fetch kept).
 * Calls opts->progress. SU_EDOWNLOAD if a file did not arrive or verify.
 */
SU_API su_status_t su_fetch(su_install_t *in, su_offer_t *offer,
    su_error_t *err);

/*
 * Switches the installation to the offer's version, fetching first what the
 * store lacks: backs up the running files it replaces (for su_rollback()),
 * stages the new ones, writes a journal and renames them into place, fsync
 * at each step. SU_EINSTALL: the old version is kept, or the next su_open()
 * completes the switch.
 */
SU_API su_status_t su_install(su_install_t *in, su_offer_t *offer,
    su_error_t *err);

/* switches back to the previous version's backup, the same way;
 * SU_EROLLBACK if there is none */
SU_API su_status_t su_rollback(su_install_t *in, su_error_t *err);

/*
 * The whole flow: su_check(), then (unless SU_CHECK_ONLY) opts->ask if set,
 * su_fetch() and su_install(). outcome (may be NULL) says what happened.
 */
SU_API su_status_t su_update(su_install_t *in, const char *server_id,
    unsigned flags, su_outcome_t *outcome, su_error_t *err);



/*
 * Install reports (the server's staged_update_report). su_install() keeps
 * the grant of an upgrade (its version, the one it replaced, the server ID
 * and a URL of the answer with its download token) in .launcher/grant and
 * queues an "installed" report; su_start() queues "started", or
 * "rolled-back" ("failed" when the rollback failed too) and drops the
 * grant. Reports wait in .launcher/reports/ (at most SU_REPORTS_MAX, the
 * oldest dropped first) until su_report_flush() sends them.
 */
#define SU_REPORTS_MAX  32

typedef enum {
    SU_R_INSTALLED = 0,
    SU_R_STARTED,
    SU_R_FAILED,
    SU_R_ROLLED_BACK
} su_result_t;

/* queues a report of the pending grant; SU_OK and nothing without one */
SU_API su_status_t su_report(su_install_t *in, su_result_t result,
    const char *reason, su_error_t *err);

/*
 * POSTs the queued reports, oldest first, each within timeout seconds; a
 * report the server answered (2xx, or a 4xx that a resend cannot change)
 * leaves the queue; on a network error or a 5xx the rest wait for a later
 * run. *sent (may be NULL): how many left the queue.
 */
SU_API su_status_t su_report_flush(su_install_t *in, long timeout,
    size_t *sent, su_error_t *err);

/* the number of queued reports */
SU_API size_t su_report_queued(su_install_t *in);


/* how su_start() starts the installed version */
typedef struct {
    char *const      *argv;         /* argv[0]: the program, relative to
                                       the installation; run in it */
    const char       *health_cmd;   /* sh -c in the installation while the
                                       program runs ($SU_PID its pid): must
                                       exit 0 within health_seconds (or
                                       60 s) */
    unsigned          health_seconds;   /* without health_cmd: the program
                                       must stay up this long (or exit 0) */

    /* out */
    int               pid;          /* the running program, or 0 if it has
                                       already exited with: */
    int               status;       /* its wait status */
    int               rolled_back;  /* 1: the new version failed its check
                                       and the old one runs */
} su_start_t;

/*
 * Starts the program. After an upgrade whose grant is pending (the first
 * start of the new version) and with a health check: a failed check kills
 * the program, rolls back (su_rollback), queues "rolled-back" (or
 * "failed"), and starts the old version; a passed one queues "started".
 * Other starts are plain. Reports are only queued: send them with
 * su_report_flush() once the program runs.
 */
SU_API su_status_t su_start(su_install_t *in, su_start_t *s,
    su_error_t *err);


#ifdef __cplusplus
}
#endif

#endif /* STAGEDUPDATE_H */
