/*
 * The reference launcher: the terminal. Every line starts "launcher: ";
 * a download draws a bar when stdout is a terminal; the business-server
 * flow asks before an upgrade.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"


void
cli_say(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    fputs("launcher: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
}


void
cli_log(su_log_level_t level, const char *msg, void *data)
{
    (void) level;
    (void) data;

    cli_say("%s", msg);
}


int
cli_progress(const su_progress_t *p, void *data)
{
    int          i, fill, pct;
    cli_term_t  *t = data;

    if (!t->bar || p->size == 0) {
        return 0;
    }

    if (p->finished) {
        if (t->shown >= 0) {
            printf("\r\033[K");
            fflush(stdout);
        }
        t->shown = -1;
        return 0;
    }

    pct = (int) (p->done * 100 / p->size);
    if (pct == t->shown) {
        return 0;
    }

    t->shown = pct;
    fill = (int) (p->done * 30 / p->size);

    printf("\r  %-24.24s [", p->path);
    for (i = 0; i < 30; i++) {
        putchar(i < fill ? '#' : ' ');
    }
    printf("] %3d%% %llu/%llu", pct, (unsigned long long) p->done,
           (unsigned long long) p->size);
    fflush(stdout);

    return 0;
}


int
cli_ask(const su_offer_t *offer, void *data)
{
    char         line[64];
    cli_term_t  *t = data;

    if (t->yes) {
        return 1;
    }

    if (!t->ask_stdin && !isatty(STDIN_FILENO)) {
        cli_say("not asked: no terminal (--yes upgrades unattended)");
        return 0;
    }

    printf("Upgrade to %s now? [y/N] ", su_offer_version(offer));
    fflush(stdout);

    if (fgets(line, sizeof(line), stdin) == NULL) {
        putchar('\n');
        return 0;
    }

    return line[0] == 'y' || line[0] == 'Y';
}
