/*
 * A minimal game launcher on libstagedupdate (SPDX: BSD-2-Clause): brings
 * the game up to date with a progress bar, then starts it, whole, whatever
 * happened to the update.
 *
 *   cc -o game-launcher game-launcher.c \
 *       $(pkg-config --cflags --libs stagedupdate)
 *   game-launcher DIR https://updates.example.com manifest.pub.pem [ca.pem]
 */

#include <stdio.h>
#include <unistd.h>

#include <stagedupdate.h>


static void
on_log(su_log_level_t level, const char *msg, void *data)
{
    (void) data;
    printf("%s%s\n", level == SU_LOG_WARN ? "warning: " : "", msg);
}


static int
on_progress(const su_progress_t *p, void *data)
{
    int  i, fill;

    (void) data;

    if (p->size == 0 || (!p->finished && p->done == 0)) {
        return 0;
    }

    fill = (int) (p->done * 20 / p->size);
    printf("[%zu/%zu] %-16.16s [", p->index + 1, p->files, p->path);
    for (i = 0; i < 20; i++) {
        putchar(i < fill ? '#' : '.');
    }
    printf("] %3d%%%s", (int) (p->done * 100 / p->size),
           p->finished ? "\n" : "\r");
    fflush(stdout);

    return 0;                           /* non-zero would cancel */
}


int
main(int argc, char **argv)
{
    su_error_t     err = { SU_OK, "" };
    su_install_t  *in;
    su_options_t   o = { 0 };
    const char    *key;

    if (argc < 4) {
        fprintf(stderr, "usage: %s DIR SERVER PUBKEY [CACERT]\n", argv[0]);
        return 1;
    }

    o.dir = argv[1];
    o.server = argv[2];
    o.pubkey_file = argv[3];
    o.cacert = argc > 4 ? argv[4] : NULL;
    o.log = on_log;
    o.progress = on_progress;

    if (su_global_init() != SU_OK || su_open(&in, &o, &err) != SU_OK) {
        fprintf(stderr, "cannot open %s: %s\n", argv[1], err.message);
        return 1;                       /* e.g. a switch that cannot finish */
    }

    key = su_client_key(in, NULL);
    printf("game %s, client %s\n", su_installed_version(in), key ? key : "-");

    if (su_update(in, NULL, 0, NULL, &err) != SU_OK) {
        printf("no update (%s): %s\n", su_strstatus(err.code), err.message);
        su_close(in);                   /* reopening completes a half switch */
        if (su_open(&in, &o, &err) != SU_OK) {
            return 1;
        }
    }

    printf("starting game %s\n", su_installed_version(in));
    fflush(stdout);

    if (chdir(su_dir(in)) != 0) {
        return 1;
    }

    su_close(in);
    su_global_cleanup();
    execl("./bin/game", "game", (char *) NULL);
    perror("bin/game");

    return 1;
}
