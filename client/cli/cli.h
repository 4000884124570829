/*
 * The reference launcher, a command-line program on libstagedupdate:
 * what its three files share.
 *
 *   launcher.c  options, the flow, starting the program
 *   term.c      the terminal: messages, the progress bar, the question
 *   login.c     the sample business server's login (POST /login)
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#ifndef CLI_H
#define CLI_H

#include <stagedupdate.h>


typedef struct {
    int          yes;               /* --yes: no question */
    int          ask_stdin;         /* --ask-from-stdin */
    int          bar;               /* stdout is a terminal */
    int          shown;             /* the percentage on the bar, or -1 */
} cli_term_t;


/* term.c */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_log(su_log_level_t level, const char *msg, void *data);
int cli_progress(const su_progress_t *p, void *data);
int cli_ask(const su_offer_t *offer, void *data);

/* login.c: the server ID the business server gives, or NULL */
char *cli_login(const char *shard, const char *user, const char *password,
    const char *cacert);

#endif /* CLI_H */
