
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * The replay driver of every fuzz target, built without libFuzzer:
 * "gcc -DSTANDALONE_MAIN" makes a program that runs the files, and the
 * files of the directories, given on its command line through
 * LLVMFuzzerTestOneInput() (a corpus, a crash), so that a machine without
 * clang can still replay them.
 */


#ifndef _FUZZ_REPLAY_H_INCLUDED_
#define _FUZZ_REPLAY_H_INCLUDED_

/* replays files, and the files of directories, given on the command line */

#include <dirent.h>
#include <sys/stat.h>


static size_t fuzz_replay(const char *path);


static size_t
fuzz_replay(const char *path)
{
    long            n;
    FILE           *f;
    char            sub[4096];
    size_t          count;
    uint8_t        *buf;
    DIR            *dir;
    struct stat     st;
    struct dirent  *de;

    if (stat(path, &st) != 0) {
        perror(path);
        exit(2);
    }

    if (S_ISDIR(st.st_mode)) {
        dir = opendir(path);
        if (dir == NULL) {
            perror(path);
            exit(2);
        }

        count = 0;

        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.') {
                continue;
            }

            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);

            if (stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
                count += fuzz_replay(sub);
            }
        }

        closedir(dir);
        return count;
    }

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    /* exactly n bytes, so that a sanitizer sees a read past the end */

    buf = malloc(n > 0 ? (size_t) n : 1);
    if (buf == NULL || (n > 0 && fread(buf, 1, (size_t) n, f) != (size_t) n)) {
        perror(path);
        exit(2);
    }

    fclose(f);

    LLVMFuzzerTestOneInput(buf, (size_t) n);
    free(buf);

    return 1;
}


int
main(int argc, char **argv)
{
    int     i;
    size_t  count;

    count = 0;

    for (i = 1; i < argc; i++) {
        count += fuzz_replay(argv[i]);
    }

    printf("%s: %zu inputs, no failure\n", argv[0], count);

    return 0;
}


#endif /* _FUZZ_REPLAY_H_INCLUDED_ */
