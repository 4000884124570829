/*
 * libstagedupdate: fault injection, so that any launcher built on the
 * library can be tested for what the library guarantees.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 *   STAGED_UPDATE_LAUNCHER_CRASH_AT=<point>  SIGKILL at the named point:
 *       after-download, after-backup, after-stage, after-journal,
 *       after-rename-<n>, before-version-write, after-version-write
 *   STAGED_UPDATE_LAUNCHER_ENOSPC_AT=<n>     the n-th file write of an
 *       opened installation, and every later one, fails with ENOSPC
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "su_internal.h"


void
su_fault_init(su_install_t *in)
{
    const char  *e;

    e = getenv("STAGED_UPDATE_LAUNCHER_ENOSPC_AT");
    in->enospc_at = e ? strtol(e, NULL, 10) : 0;
    in->writes = 0;
}


void
su_crash_point(const char *name)
{
    const char  *at;

    at = getenv("STAGED_UPDATE_LAUNCHER_CRASH_AT");

    if (at != NULL && strcmp(at, name) == 0) {
        kill(getpid(), SIGKILL);
    }
}


/* -1 with errno ENOSPC when this write is to fail */

int
su_fault_write(su_install_t *in)
{
    if (in->enospc_at > 0 && ++in->writes >= in->enospc_at) {
        errno = ENOSPC;
        return -1;
    }

    return 0;
}
