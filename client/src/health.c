/*
 * libstagedupdate: the first start of a new version under a health check,
 * and the way back by itself when it fails.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The steps, for a launcher that ports them:
 *   1. start the program (a child, in the installation);
 *   2. the check: an operator's command (sh -c, $SU_PID = the program)
 *      that must exit 0, or the program staying up for N seconds (an exit
 *      with status 0 before that is healthy too); the program dying with
 *      another status during the check fails it;
 *   3. healthy: report "started"; failed: stop the program, roll back to
 *      the previous version, report "rolled-back" ("failed" if the
 *      rollback failed), and start the old version;
 *   4. send the reports once the program runs, with a short timeout; those
 *      that cannot go wait in .launcher/reports/ for a later run.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "su_internal.h"


static int su_spawn(su_install_t *in, char *const *argv);
static int su_healthy(su_install_t *in, su_start_t *s, char *why,
    size_t len);
static void su_sleep_ms(long ms);


su_status_t
su_start(su_install_t *in, su_start_t *s, su_error_t *err)
{
    char         why[128], *pending;
    su_status_t  rc;

    su_ok(err);

    s->pid = 0;
    s->status = 0;
    s->rolled_back = 0;

    if (s->argv == NULL || s->argv[0] == NULL) {
        return su_fail(err, SU_EUSAGE, "su_start: no program");
    }

    pending = su_grant_version(in);

    s->pid = su_spawn(in, s->argv);
    if (s->pid < 0) {
        free(pending);
        s->pid = 0;
        return su_fail(err, SU_EUSAGE, "%s: cannot be started: %s",
                       s->argv[0], strerror(errno));
    }

    if (pending == NULL || strcmp(pending, in->version) != 0
        || (s->health_cmd == NULL && s->health_seconds == 0))
    {
        free(pending);
        return SU_OK;
    }

    free(pending);

    if (su_healthy(in, s, why, sizeof(why))) {
        su_log(in, SU_LOG_INFO, "%s passed its health check", in->version);
        rc = su_report(in, SU_R_STARTED, NULL, err);
        su_grant_drop(in);
        return rc;
    }

    su_log(in, SU_LOG_WARN, "%s failed its health check (%s): rolling back",
           in->version, why);

    if (s->pid) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }

    rc = su_rollback(in, err);

    if (rc != SU_OK) {
        su_log(in, SU_LOG_WARN, "rollback failed: %s", err->message);
        (void) su_report(in, SU_R_FAILED, why, err);
        su_grant_drop(in);
        return rc;
    }

    s->rolled_back = 1;
    (void) su_report(in, SU_R_ROLLED_BACK, why, err);
    su_grant_drop(in);
    su_ok(err);

    s->status = 0;
    s->pid = su_spawn(in, s->argv);

    if (s->pid < 0) {
        s->pid = 0;
        return su_fail(err, SU_EUSAGE, "%s: cannot be started: %s",
                       s->argv[0], strerror(errno));
    }

    return SU_OK;
}


/* fork and exec dir/argv[0] in dir; the pid or -1 */

static int
su_spawn(su_install_t *in, char *const *argv)
{
    char   prog[SU_PATH];
    pid_t  pid;

    if (su_join(prog, in->dir, argv[0]) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }

    pid = fork();

    if (pid == 0) {
        if (chdir(in->dir) == 0) {
            execv(prog, argv);
        }
        _exit(127);
    }

    return pid;
}


static int
su_healthy(su_install_t *in, su_start_t *s, char *why, size_t len)
{
    int       st, cst;
    char      env[32];
    long      limit, waited;
    pid_t     cmd, r;

    limit = (s->health_seconds ? (long) s->health_seconds : 60) * 1000;
    cmd = 0;

    if (s->health_cmd) {
        snprintf(env, sizeof(env), "%d", s->pid);
        cmd = fork();

        if (cmd == 0) {
            if (chdir(in->dir) == 0 && setenv("SU_PID", env, 1) == 0) {
                execl("/bin/sh", "sh", "-c", s->health_cmd, (char *) NULL);
            }
            _exit(127);
        }

        if (cmd < 0) {
            snprintf(why, len, "the health command cannot run: %s",
                     strerror(errno));
            return 0;
        }
    }

    /* poll both, bounded by the limit */

    for (waited = 0; ; waited += 20) {

        if (s->pid) {
            r = waitpid(s->pid, &st, WNOHANG);

            if (r == s->pid) {
                s->pid = 0;
                s->status = st;

                if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                    if (WIFEXITED(st)) {
                        snprintf(why, len, "the program exited with "
                                 "status %d", WEXITSTATUS(st));
                    } else {
                        snprintf(why, len, "the program was killed by "
                                 "signal %d", WTERMSIG(st));
                    }

                    if (cmd > 0) {
                        kill(cmd, SIGKILL);
                        waitpid(cmd, NULL, 0);
                    }

                    return 0;
                }

                if (cmd == 0) {
                    return 1;       /* it did its work and exited 0 */
                }
            }
        }

        if (cmd > 0) {
            r = waitpid(cmd, &cst, WNOHANG);

            if (r == cmd) {
                if (WIFEXITED(cst) && WEXITSTATUS(cst) == 0) {
                    return 1;
                }

                snprintf(why, len, "the health command failed (status %d)",
                         WIFEXITED(cst) ? WEXITSTATUS(cst) : -1);
                return 0;
            }
        }

        if (waited >= limit) {
            break;
        }

        su_sleep_ms(20);
    }

    if (cmd > 0) {
        kill(cmd, SIGKILL);
        waitpid(cmd, NULL, 0);
        snprintf(why, len, "the health command took more than %ld s",
                 limit / 1000);
        return 0;
    }

    return 1;                       /* up for health_seconds */
}


static void
su_sleep_ms(long ms)
{
    struct timespec  ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* void */
    }
}
