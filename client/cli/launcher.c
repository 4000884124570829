/*
 * The reference launcher of ngx_http_staged_update_module: a command-line
 * program on libstagedupdate (client/include/stagedupdate.h), which does
 * the check, the verification, the store, the switch and the rollback.
 * This file holds its options and its flow; see cli.h.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Exit codes: see usage(); they are the library's su_status_t.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cli.h"


typedef struct {
    const char   *shard;
    const char   *user;
    const char   *password;
    const char   *exec;
    char        **exec_args;
    int           nexec_args;
    int           check_only;
    int           rollback;
    int           force;
    const char   *health_cmd;
    unsigned      health_seconds;
} cli_conf_t;


static void usage(void);
static su_status_t update(su_install_t *in, cli_conf_t *c,
    su_options_t *o);
static void run(cli_conf_t *c, const char *dir, const char *version);
static int run_checked(su_install_t *in, cli_conf_t *c);


static void
usage(void)
{
    fputs(
"usage: launcher --dir DIR [--server URL --pubkey PEM] [options] [-- ARGS]\n"
"\n"
"  --dir DIR          the install directory (DIR/.launcher/version: the\n"
"                     installed version)\n"
"  --server URL       the version server, https://host[:port]\n"
"  --check-path P     its check location (default /update/check)\n"
"  --cacert FILE      trust this CA / self-signed certificate\n"
"  --pubkey PEM       the Ed25519 public key that signs the manifests\n"
"  --shard URL        log in to this business server first (and again\n"
"                     after an upgrade); --user NAME --password WORD\n"
"  --yes              upgrade without asking (business-server flow)\n"
"  --ask-from-stdin   read the answer from stdin even when not a terminal\n"
"  --check-only       check and verify the manifest, change nothing\n"
"  --force            check even before the server's Retry-After time\n"
"  --allow-http       let --server be http://\n"
"  --rollback         restore the previous version from its backup\n"
"  --exec PROG        then run DIR/PROG (with ARGS) in DIR\n"
"  --health-cmd CMD   after an upgrade, start PROG under this check (sh -c\n"
"                     in DIR, $SU_PID: PROG's pid; must exit 0)\n"
"  --health-seconds N after an upgrade, PROG must stay up N seconds (or\n"
"                     exit 0); a failed check rolls back by itself and\n"
"                     starts the old version\n"
"  --report-path P    where install reports go (default /update/report)\n"
"\n"
"Without --server: completes an interrupted switch and (with --exec)\n"
"starts the program.\n"
"\n"
"exit: 0 current, upgraded, declined or rolled back; 1 usage or unusable\n"
"DIR; 2 the check failed; 3 the manifest was refused; 4 a file did not\n"
"download or verify; 5 the switch failed (the next run completes it);\n"
"6 the login failed; 7 nothing to roll back to. In every case but 1 the\n"
"installation is runnable, and --exec runs it.\n", stderr);

    exit(SU_EUSAGE);
}


/* logs in (business-server flow), checks, asks, fetches, installs, logs
 * in again after an upgrade */

static su_status_t
update(su_install_t *in, cli_conf_t *c, su_options_t *o)
{
    char          *id = NULL, *kept;
    su_error_t     err;
    su_status_t    rc;
    su_outcome_t   done;

    if (c->shard) {
        id = cli_login(c->shard, c->user, c->password, o->cacert);
        if (id == NULL) {
            return SU_ELOGIN;
        }
        cli_say("logged in to %s as %s", id, c->user);
    }

    kept = strdup(su_installed_version(in));
    rc = su_update(in, id, (c->force ? SU_FORCE : 0)
                           | (c->check_only ? SU_CHECK_ONLY : 0),
                   &done, &err);

    if (rc != SU_OK) {
        if (err.message[0]) {
            cli_say("%s", err.message);
        }
        if (rc == SU_ECHECK) {
            cli_say("check failed: %s kept", kept);
        } else if (rc == SU_EDOWNLOAD) {
            cli_say("%s kept; the next run resumes", kept);
        }

    } else if (done == SU_INSTALLED && id != NULL) {
        free(id);
        id = cli_login(c->shard, c->user, c->password, o->cacert);
        if (id == NULL) {
            rc = SU_ELOGIN;
        } else {
            cli_say("logged in again to %s", id);
        }
    }

    free(kept);
    free(id);

    return rc;
}


static void
run(cli_conf_t *c, const char *dir, const char *version)
{
    int     i;
    char  **argv, *prog;

    if (c->exec == NULL) {
        return;
    }

    argv = calloc((size_t) c->nexec_args + 2, sizeof(char *));

    if (argv == NULL || asprintf(&prog, "%s/%s", dir, c->exec) < 0) {
        cli_say("out of memory");
        exit(SU_EUSAGE);
    }

    argv[0] = prog;

    for (i = 0; i < c->nexec_args; i++) {
        argv[i + 1] = c->exec_args[i];
    }

    cli_say("starting %s (%s)", c->exec, version);

    if (chdir(dir) == 0) {
        execv(prog, argv);
    }

    cli_say("%s: %s", prog, strerror(errno));
    exit(SU_EUSAGE);
}


/*
 * The program under the library's health check (su_start): after an
 * upgrade, a failed check rolls back and starts the old version.  The
 * reports go once the program runs; then the launcher waits for it and
 * exits with its status.
 */

static int
run_checked(su_install_t *in, cli_conf_t *c)
{
    int          i, st;
    char       **argv;
    size_t       sent;
    su_error_t   err;
    su_start_t   s;

    argv = calloc((size_t) c->nexec_args + 2, sizeof(char *));
    if (argv == NULL) {
        cli_say("out of memory");
        su_close(in);
        return SU_EUSAGE;
    }

    argv[0] = (char *) c->exec;

    for (i = 0; i < c->nexec_args; i++) {
        argv[i + 1] = c->exec_args[i];
    }

    memset(&s, 0, sizeof(s));
    s.argv = argv;
    s.health_cmd = c->health_cmd;
    s.health_seconds = c->health_seconds;

    cli_say("starting %s (%s)", c->exec, su_installed_version(in));

    if (su_start(in, &s, &err) != SU_OK) {
        cli_say("%s", err.message);
    }

    if (s.rolled_back) {
        cli_say("rolled back: starting %s (%s)", c->exec,
                su_installed_version(in));
    }

    if (su_report_queued(in)) {
        if (su_report_flush(in, 3, &sent, &err) == SU_OK) {
            cli_say("%zu report(s) sent", sent);
        } else {
            cli_say("%zu report(s) sent; %zu kept for a later run", sent,
                    su_report_queued(in));
        }
    }

    su_close(in);
    free(argv);

    st = s.status;

    if (s.pid > 0 && waitpid(s.pid, &st, 0) != s.pid) {
        return SU_EUSAGE;
    }

    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}


int
main(int argc, char **argv)
{
    int            i;
    char          *dir, *version;
    cli_conf_t     c;
    cli_term_t     t;
    su_error_t     err;
    su_status_t    rc;
    su_options_t   o;
    su_install_t  *in;

    memset(&c, 0, sizeof(c));
    memset(&o, 0, sizeof(o));
    memset(&t, 0, sizeof(t));

    for (i = 1; i < argc; i++) {
        const char   *a = argv[i];
        const char  **opt = NULL;

        if (strcmp(a, "--") == 0) {
            c.exec_args = argv + i + 1;
            c.nexec_args = argc - i - 1;
            break;
        }

        if (strcmp(a, "--dir") == 0) opt = &o.dir;
        else if (strcmp(a, "--server") == 0) opt = &o.server;
        else if (strcmp(a, "--check-path") == 0) opt = &o.check_path;
        else if (strcmp(a, "--cacert") == 0) opt = &o.cacert;
        else if (strcmp(a, "--pubkey") == 0) opt = &o.pubkey_file;
        else if (strcmp(a, "--shard") == 0) opt = &c.shard;
        else if (strcmp(a, "--user") == 0) opt = &c.user;
        else if (strcmp(a, "--password") == 0) opt = &c.password;
        else if (strcmp(a, "--exec") == 0) opt = &c.exec;
        else if (strcmp(a, "--yes") == 0) t.yes = 1;
        else if (strcmp(a, "--ask-from-stdin") == 0) t.ask_stdin = 1;
        else if (strcmp(a, "--check-only") == 0) c.check_only = 1;
        else if (strcmp(a, "--rollback") == 0) c.rollback = 1;
        else if (strcmp(a, "--force") == 0) c.force = 1;
        else if (strcmp(a, "--allow-http") == 0) o.allow_http = 1;
        else if (strcmp(a, "--health-cmd") == 0) opt = &c.health_cmd;
        else if (strcmp(a, "--report-path") == 0) opt = &o.report_path;
        else if (strcmp(a, "--health-seconds") == 0 && i + 1 < argc
                 && atoi(argv[i + 1]) > 0)
        {
            c.health_seconds = (unsigned) atoi(argv[++i]);
        }
        else usage();

        if (opt) {
            if (++i == argc) {
                usage();
            }
            *opt = argv[i];
        }
    }

    if (o.dir == NULL
        || (o.server && o.pubkey_file == NULL)
        || (c.shard && (c.user == NULL || c.password == NULL))
        || (c.shard && o.server == NULL)
        || ((c.health_cmd || c.health_seconds) && c.exec == NULL))
    {
        usage();
    }

    if (o.server && strncmp(o.server, "https://", 8) != 0
        && !(o.allow_http && strncmp(o.server, "http://", 7) == 0))
    {
        cli_say("--server must be an https:// URL (or use --allow-http)");
        return SU_EUSAGE;
    }

    t.bar = isatty(STDOUT_FILENO);
    t.shown = -1;
    o.log = cli_log;
    o.progress = cli_progress;
    o.ask = c.shard ? cli_ask : NULL;   /* the seed: ask in that flow */
    o.data = &t;

    if (su_global_init() != SU_OK) {
        cli_say("libcurl could not be initialised");
        return SU_EUSAGE;
    }

    rc = su_open(&in, &o, &err);

    if (rc != SU_OK) {
        cli_say("%s", err.message);
        return rc;
    }

    if (c.rollback) {
        rc = su_rollback(in, &err);
        if (rc != SU_OK) {
            cli_say("%s", err.message);
        }

    } else {
        cli_say("installed %s in %s", su_installed_version(in), su_dir(in));
        rc = o.server ? update(in, &c, &o) : SU_OK;
    }

    if (!c.rollback && c.exec && (c.health_cmd || c.health_seconds)) {
        i = run_checked(in, &c);
        su_global_cleanup();
        return rc != SU_OK ? (int) rc : i;
    }

    /* reports of this run or an earlier one: a short try, kept if it fails */

    if (o.server && su_report_queued(in)) {
        (void) su_report_flush(in, 3, NULL, &err);
    }

    dir = strdup(su_dir(in));
    version = strdup(su_installed_version(in));
    su_close(in);

    if (dir == NULL || version == NULL) {
        cli_say("out of memory");
        return SU_EUSAGE;
    }

    run(&c, dir, version);

    free(dir);
    free(version);
    su_global_cleanup();

    return rc;
}
