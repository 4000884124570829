/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * The reference launcher of ngx_http_staged_update_module.
 *
 * It asks the version server whether the installed version is current, and
 * on an upgrade answer verifies the signed manifest, fetches the files into
 * a local store (resuming partial downloads), keeps a backup of the running
 * files it replaces, and switches the installation with a journal, so that
 * a crash, a full disk or a bad download at any point leaves a runnable
 * installation that a later run completes.
 *
 *   cc -Wall -Wextra -Werror -O2 -o build/launcher \
 *       examples/launcher/launcher.c -lcurl -lcrypto
 *
 * The install directory DIR holds the application's files and DIR/.launcher:
 *
 *   version            the installed version
 *   previous           the version that --rollback restores
 *   client             the random client key, made on the first run
 *   next-check         when the server asked to be left alone (Retry-After)
 *   store/V/...        verified files of version V
 *   backup/V/...       the running files of V that an upgrade replaced,
 *                      and backup/V/.launcher-list (what was there)
 *   stage-V/...        the files of a switch to V, before they go in place
 *   journal            a switch in progress: every run completes it first
 *   lock               one launcher at a time per DIR
 *
 * Exit codes: see usage().
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>


#define L_OK         0      /* current, upgraded, declined, rolled back */
#define L_EUSAGE     1      /* bad arguments, unusable install directory */
#define L_ECHECK     2      /* the check failed: the version is kept */
#define L_EMANIFEST  3      /* the manifest was refused: the version is kept */
#define L_EDOWNLOAD  4      /* a file did not download or verify: kept */
#define L_EINSTALL   5      /* the switch failed (a write error): kept or
                               completed by the next run */
#define L_ELOGIN     6      /* the business server refused the login */
#define L_EROLLBACK  7      /* nothing to roll back to */

#define L_MAX_BODY   (8 * 1024 * 1024)
#define L_LIST       ".launcher-list"


typedef struct {
    const char   *dir;
    const char   *server;
    const char   *check_path;
    const char   *cacert;
    const char   *pubkey;
    const char   *shard;
    const char   *user;
    const char   *password;
    const char   *exec;
    char        **exec_args;
    int           nexec_args;
    int           yes;
    int           ask_stdin;
    int           check_only;
    int           rollback;
    int           force;
    int           allow_http;
    long          enospc_at;
    long          writes;
    char         *meta;             /* DIR/.launcher */
} conf_t;


typedef struct {
    char         *path;
    uint64_t      size;
    char          sha256[65];
    const char   *url;
    const char   *content;
} mfile_t;


typedef struct {
    char         *version;
    const char   *server;
    int           mandatory;
    mfile_t      *files;
    size_t        nfiles;
} manifest_t;


typedef struct {
    char         *path;
    char         *src;              /* NULL: remove the file */
} op_t;


typedef struct json_s  json_t;

struct json_s {
    int           type;
    char         *key;
    char         *str;
    int           boolean;
    json_t       *child;
    json_t       *next;
};

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };


typedef struct {
    char         *data;
    size_t        len;
} buf_t;


static conf_t  conf;


/* ---------------------------------------------------------------- output */

static void
say(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    fputs("launcher: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
}


static void *
xalloc(size_t n)
{
    void  *p;

    p = calloc(1, n ? n : 1);
    if (p == NULL) {
        fputs("launcher: out of memory\n", stderr);
        exit(L_EUSAGE);
    }

    return p;
}


static char *
xprintf(const char *fmt, ...)
{
    char     *s;
    va_list   ap;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        fputs("launcher: out of memory\n", stderr);
        exit(L_EUSAGE);
    }
    va_end(ap);

    return s;
}


/* failure injection for the tests: SIGKILL at a named point */

static void
crash_point(const char *name)
{
    const char  *at;

    at = getenv("STAGED_UPDATE_LAUNCHER_CRASH_AT");

    if (at != NULL && strcmp(at, name) == 0) {
        fflush(stdout);
        kill(getpid(), SIGKILL);
    }
}


/* ----------------------------------------------------------------- files */

/* every write to a file goes through here: STAGED_UPDATE_LAUNCHER_ENOSPC_AT=n
 * makes the n-th write and every later one fail as on a full disk */

static int
write_all(int fd, const void *buf, size_t n)
{
    ssize_t      w;
    const char  *p = buf;

    if (conf.enospc_at > 0 && ++conf.writes >= conf.enospc_at) {
        errno = ENOSPC;
        return -1;
    }

    while (n > 0) {
        w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }

    return 0;
}


static int
fsync_dir(const char *dir)
{
    int  fd, rc;

    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -1;
    }

    rc = fsync(fd);
    close(fd);

    return rc;
}


static int
fsync_parent(const char *path)
{
    int    rc;
    char  *d, *slash;

    d = xprintf("%s", path);
    slash = strrchr(d, '/');
    if (slash == NULL) {
        free(d);
        return fsync_dir(".");
    }
    *slash = '\0';

    rc = fsync_dir(d);
    free(d);

    return rc;
}


static int
mkdirs(const char *dir)
{
    char  *d, *p;

    d = xprintf("%s", dir);

    for (p = d + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(d, 0755) != 0 && errno != EEXIST) {
                free(d);
                return -1;
            }
            *p = '/';
        }
    }

    if (mkdir(d, 0755) != 0 && errno != EEXIST) {
        free(d);
        return -1;
    }

    free(d);
    return 0;
}


static int
mkparents(const char *path)
{
    int    rc;
    char  *d, *slash;

    d = xprintf("%s", path);
    slash = strrchr(d, '/');
    rc = 0;

    if (slash != NULL && slash != d) {
        *slash = '\0';
        rc = mkdirs(d);
    }

    free(d);
    return rc;
}


static int
is_file(const char *path)
{
    struct stat  st;

    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}


static char *
read_text(const char *path, size_t *len)
{
    int          fd;
    char        *s;
    ssize_t      n;
    size_t       got;
    struct stat  st;

    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return NULL;
    }

    if (fstat(fd, &st) != 0 || st.st_size > L_MAX_BODY) {
        close(fd);
        return NULL;
    }

    s = xalloc((size_t) st.st_size + 1);

    for (got = 0; got < (size_t) st.st_size; got += (size_t) n) {
        n = read(fd, s + got, (size_t) st.st_size - got);
        if (n <= 0) {
            break;
        }
    }

    close(fd);
    s[got] = '\0';

    if (len) {
        *len = got;
    }

    return s;
}


/* the first line of a small file, without its newline */

static char *
read_line(const char *path)
{
    char  *s;

    s = read_text(path, NULL);
    if (s != NULL) {
        s[strcspn(s, "\r\n")] = '\0';
    }

    return s;
}


/* writes path.tmp, fsyncs it, renames it over path, fsyncs the folder */

static int
write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    int    fd, err;
    char  *tmp;

    tmp = xprintf("%s.tmp", path);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        free(tmp);
        return -1;
    }

    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        err = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        errno = err;
        return -1;
    }

    if (close(fd) != 0 || rename(tmp, path) != 0) {
        err = errno;
        unlink(tmp);
        free(tmp);
        errno = err;
        return -1;
    }

    free(tmp);
    return fsync_parent(path);
}


/* copies src to dst (made anew, fsynced) with the given mode */

static int
copy_file(const char *src, const char *dst, mode_t mode)
{
    int      in, out, err;
    char     buf[65536];
    ssize_t  n;

    in = open(src, O_RDONLY);
    if (in < 0) {
        return -1;
    }

    if (mkparents(dst) != 0) {
        err = errno;
        close(in);
        errno = err;
        return -1;
    }

    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (out < 0) {
        err = errno;
        close(in);
        errno = err;
        return -1;
    }

    for ( ;; ) {
        n = read(in, buf, sizeof(buf));
        if (n == 0) {
            break;
        }
        if (n < 0 || write_all(out, buf, (size_t) n) != 0) {
            goto failed;
        }
    }

    if (fchmod(out, mode) != 0 || fsync(out) != 0) {
        goto failed;
    }

    close(in);

    if (close(out) != 0) {
        return -1;
    }

    return fsync_parent(dst);

failed:

    err = errno;
    close(in);
    close(out);
    unlink(dst);
    errno = err;
    return -1;
}


static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;

    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}


static void
rm_rf(const char *path)
{
    struct stat  st;

    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        } else {
            unlink(path);
        }
    }
}


static void
hex(const unsigned char *p, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
    out[2 * n] = '\0';
}


/* SHA-256 (hex) and size of a file */

static int
hash_file(const char *path, char *sha, uint64_t *size)
{
    int            fd;
    char           buf[65536];
    ssize_t        n;
    unsigned int   mdlen;
    EVP_MD_CTX    *md;
    unsigned char  digest[EVP_MAX_MD_SIZE];

    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }

    md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    *size = 0;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        EVP_DigestUpdate(md, buf, (size_t) n);
        *size += (uint64_t) n;
    }

    close(fd);
    EVP_DigestFinal_ex(md, digest, &mdlen);
    EVP_MD_CTX_free(md);

    if (n < 0) {
        return -1;
    }

    hex(digest, mdlen, sha);
    return 0;
}


static int
file_matches(const char *path, const mfile_t *f)
{
    char      sha[65];
    uint64_t  size;

    return hash_file(path, sha, &size) == 0 && size == f->size
           && strcmp(sha, f->sha256) == 0;
}


/* a program ("#!" or ELF) is installed executable, as is a file that
 * replaces an executable one */

static mode_t
file_mode(const char *src, const char *live)
{
    int          fd;
    char         head[4];
    struct stat  st;

    if (live != NULL && stat(live, &st) == 0 && (st.st_mode & 0111)) {
        return 0755;
    }

    fd = open(src, O_RDONLY);
    if (fd >= 0) {
        if (read(fd, head, 4) == 4
            && (memcmp(head, "#!", 2) == 0 || memcmp(head, "\177ELF", 4) == 0))
        {
            close(fd);
            return 0755;
        }
        close(fd);
    }

    return 0644;
}


/* ------------------------------------------------------------------ JSON */

typedef struct {
    const char  *p;
    const char  *end;
    int          depth;
} jp_t;


static void
jp_ws(jp_t *jp)
{
    while (jp->p < jp->end
           && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n'
               || *jp->p == '\r'))
    {
        jp->p++;
    }
}


static int
jp_hex4(jp_t *jp, unsigned *cp)
{
    int  i, c;

    if (jp->end - jp->p < 4) {
        return -1;
    }

    *cp = 0;

    for (i = 0; i < 4; i++) {
        c = *jp->p++;
        *cp <<= 4;
        if (c >= '0' && c <= '9') {
            *cp |= (unsigned) (c - '0');
        } else if (c >= 'a' && c <= 'f') {
            *cp |= (unsigned) (c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            *cp |= (unsigned) (c - 'A' + 10);
        } else {
            return -1;
        }
    }

    return 0;
}


static char *
jp_string(jp_t *jp)
{
    char      *s, *o;
    unsigned   cp, lo;

    jp->p++;                                        /* the quote */
    s = xalloc((size_t) (jp->end - jp->p) + 1);
    o = s;

    while (jp->p < jp->end && *jp->p != '"') {
        if ((unsigned char) *jp->p < 0x20) {
            goto bad;
        }

        if (*jp->p != '\\') {
            *o++ = *jp->p++;
            continue;
        }

        if (++jp->p == jp->end) {
            goto bad;
        }

        switch (*jp->p++) {
        case '"':  *o++ = '"';  break;
        case '\\': *o++ = '\\'; break;
        case '/':  *o++ = '/';  break;
        case 'b':  *o++ = '\b'; break;
        case 'f':  *o++ = '\f'; break;
        case 'n':  *o++ = '\n'; break;
        case 'r':  *o++ = '\r'; break;
        case 't':  *o++ = '\t'; break;
        case 'u':
            if (jp_hex4(jp, &cp) != 0 || cp == 0) {
                goto bad;
            }
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (jp->end - jp->p < 6 || jp->p[0] != '\\'
                    || jp->p[1] != 'u')
                {
                    goto bad;
                }
                jp->p += 2;
                if (jp_hex4(jp, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                goto bad;
            }
            if (cp < 0x80) {
                *o++ = (char) cp;
            } else if (cp < 0x800) {
                *o++ = (char) (0xc0 | (cp >> 6));
                *o++ = (char) (0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                *o++ = (char) (0xe0 | (cp >> 12));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
            } else {
                *o++ = (char) (0xf0 | (cp >> 18));
                *o++ = (char) (0x80 | ((cp >> 12) & 0x3f));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
            }
            break;
        default:
            goto bad;
        }
    }

    if (jp->p == jp->end) {
        goto bad;
    }

    jp->p++;
    *o = '\0';
    return s;

bad:

    free(s);
    return NULL;
}


static json_t *
jp_value(jp_t *jp)
{
    json_t      *v, **tail;
    const char  *start;

    jp_ws(jp);

    if (jp->p == jp->end || ++jp->depth > 32) {
        return NULL;
    }

    v = xalloc(sizeof(json_t));

    switch (*jp->p) {

    case '{':
    case '[':
        v->type = (*jp->p == '{') ? J_OBJ : J_ARR;
        jp->p++;
        tail = &v->child;
        jp_ws(jp);

        if (jp->p < jp->end && *jp->p == (v->type == J_OBJ ? '}' : ']')) {
            jp->p++;
            break;
        }

        for ( ;; ) {
            char  *key = NULL;

            if (v->type == J_OBJ) {
                jp_ws(jp);
                if (jp->p == jp->end || *jp->p != '"'
                    || (key = jp_string(jp)) == NULL)
                {
                    return NULL;
                }
                jp_ws(jp);
                if (jp->p == jp->end || *jp->p++ != ':') {
                    return NULL;
                }
            }

            *tail = jp_value(jp);
            if (*tail == NULL) {
                return NULL;
            }
            (*tail)->key = key;
            tail = &(*tail)->next;

            jp_ws(jp);
            if (jp->p == jp->end) {
                return NULL;
            }
            if (*jp->p == ',') {
                jp->p++;
                continue;
            }
            if (*jp->p++ != (v->type == J_OBJ ? '}' : ']')) {
                return NULL;
            }
            break;
        }
        break;

    case '"':
        v->type = J_STR;
        v->str = jp_string(jp);
        if (v->str == NULL) {
            return NULL;
        }
        break;

    default:
        start = jp->p;
        while (jp->p < jp->end && strchr("+-.0123456789eEtrufalsn", *jp->p)) {
            jp->p++;
        }
        v->str = strndup(start, (size_t) (jp->p - start));
        if (strcmp(v->str, "true") == 0 || strcmp(v->str, "false") == 0) {
            v->type = J_BOOL;
            v->boolean = (v->str[0] == 't');
        } else if (strcmp(v->str, "null") == 0) {
            v->type = J_NULL;
        } else if (v->str[0] == '-' || isdigit((unsigned char) v->str[0])) {
            v->type = J_NUM;
        } else {
            return NULL;
        }
    }

    jp->depth--;
    return v;
}


/* parses a JSON text into a tree that is never freed: the launcher is a
 * short-lived process; NULL on malformed input */

static json_t *
json_parse(const char *text, size_t len)
{
    jp_t     jp = { text, text + len, 0 };
    json_t  *v;

    v = jp_value(&jp);
    jp_ws(&jp);

    return (v != NULL && jp.p == jp.end) ? v : NULL;
}


static json_t *
json_get(json_t *obj, const char *key, int type)
{
    json_t  *v;

    if (obj == NULL || obj->type != J_OBJ) {
        return NULL;
    }

    for (v = obj->child; v; v = v->next) {
        if (strcmp(v->key, key) == 0) {
            return v->type == type ? v : NULL;
        }
    }

    return NULL;
}


static const char *
json_str(json_t *obj, const char *key)
{
    json_t  *v;

    v = json_get(obj, key, J_STR);

    return v ? v->str : NULL;
}


/* a JSON string literal of s (ASCII control characters escaped) */

static char *
json_quote(const char *s)
{
    char  *q, *o;

    q = xalloc(strlen(s) * 6 + 3);
    o = q;
    *o++ = '"';

    for ( ; *s; s++) {
        if (*s == '"' || *s == '\\') {
            *o++ = '\\';
            *o++ = *s;
        } else if ((unsigned char) *s < 0x20) {
            o += sprintf(o, "\\u%04x", (unsigned char) *s);
        } else {
            *o++ = *s;
        }
    }

    *o++ = '"';
    *o = '\0';
    return q;
}


/* ------------------------------------------------------------------ HTTP */

static size_t
buf_write(char *p, size_t size, size_t n, void *data)
{
    buf_t  *b = data;

    n *= size;

    if (b->len + n > L_MAX_BODY) {
        return 0;
    }

    b->data = realloc(b->data, b->len + n + 1);
    if (b->data == NULL) {
        return 0;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';

    return n;
}


static CURL *
http_new(const char *url)
{
    CURL  *c;

    c = curl_easy_init();
    if (c == NULL) {
        fputs("launcher: curl_easy_init() failed\n", stderr);
        exit(L_EUSAGE);
    }

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "staged-update-launcher/1");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);

    if (conf.cacert) {
        curl_easy_setopt(c, CURLOPT_CAINFO, conf.cacert);
    }

    return c;
}


/* a request with its whole answer in memory: the HTTP status, or -1 */

static long
http_fetch(const char *url, const char *post, buf_t *body, long *retry)
{
    CURL               *c;
    long                status;
    CURLcode            rc;
    curl_off_t          ra;
    struct curl_slist  *h = NULL;

    c = http_new(url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");

    if (post) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    }

    rc = curl_easy_perform(c);
    status = -1;

    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

        if (retry && curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra)
                     == CURLE_OK)
        {
            *retry = (long) ra;
        }

    } else {
        say("%s: %s", url, curl_easy_strerror(rc));
    }

    curl_slist_free_all(h);
    curl_easy_cleanup(c);

    return status;
}


typedef struct {
    CURL        *curl;
    int          fd;
    int          failed;
    int          err;
    uint64_t     have;
    uint64_t     size;
    uint64_t     got;
    const char  *label;
    int          bar;
    int          shown;             /* the percentage on the bar */
    char         errbody[128];
    size_t       errlen;
} dl_t;


static size_t
dl_write(char *p, size_t size, size_t n, void *data)
{
    dl_t  *dl = data;
    long   status = 0;

    n *= size;

    curl_easy_getinfo(dl->curl, CURLINFO_RESPONSE_CODE, &status);

    if (status != 200 && status != 206) {
        /* an error page: not stored, its start is shown */
        size = sizeof(dl->errbody) - 1 - dl->errlen;
        size = n < size ? n : size;
        memcpy(dl->errbody + dl->errlen, p, size);
        dl->errlen += size;
        return n;
    }

    if (status == 200 && dl->have > 0 && dl->got == 0) {
        /* the server ignored the Range: start over */
        if (ftruncate(dl->fd, 0) != 0) {
            dl->err = errno;
            return 0;
        }
        dl->have = 0;
    }

    if (dl->have + dl->got + n > dl->size) {
        dl->failed = 1;                     /* longer than the manifest */
        return 0;
    }

    if (write_all(dl->fd, p, n) != 0) {
        dl->err = errno;
        return 0;
    }

    dl->got += n;
    return n;
}


static int
dl_progress(void *data, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
    int        i, fill;
    dl_t      *dl = data;
    uint64_t   now;

    (void) dltotal;
    (void) ultotal;
    (void) ulnow;

    if (!dl->bar || dl->size == 0) {
        return 0;
    }

    now = dl->have + (uint64_t) dlnow;
    if (now > dl->size) {
        now = dl->size;
    }
    if ((int) (now * 100 / dl->size) == dl->shown) {
        return 0;
    }

    dl->shown = (int) (now * 100 / dl->size);
    fill = (int) (now * 30 / dl->size);

    printf("\r  %-24.24s [", dl->label);
    for (i = 0; i < 30; i++) {
        putchar(i < fill ? '#' : ' ');
    }
    printf("] %3d%% %llu/%llu", (int) (now * 100 / dl->size),
           (unsigned long long) now, (unsigned long long) dl->size);
    fflush(stdout);

    return 0;
}


/* appends the rest of url to part (Range from its current size): 0 when
 * part has the whole size, -1 with a message otherwise */

static int
download(const char *url, const char *part, const mfile_t *f)
{
    dl_t         dl;
    long         status;
    char         range[64];
    CURLcode     rc;
    struct stat  st;

    memset(&dl, 0, sizeof(dl));
    dl.size = f->size;
    dl.label = f->path;
    dl.bar = isatty(STDOUT_FILENO);
    dl.shown = -1;

    if (stat(part, &st) == 0) {
        dl.have = (uint64_t) st.st_size;
        if (dl.have > f->size) {
            unlink(part);
            dl.have = 0;
        }
    }

    if (dl.have == f->size && f->size > 0) {
        return 0;
    }

    if (mkparents(part) != 0) {
        say("%s: %s", part, strerror(errno));
        return -1;
    }

    dl.fd = open(part, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (dl.fd < 0) {
        say("%s: %s", part, strerror(errno));
        return -1;
    }

    dl.curl = http_new(url);
    curl_easy_setopt(dl.curl, CURLOPT_WRITEFUNCTION, dl_write);
    curl_easy_setopt(dl.curl, CURLOPT_WRITEDATA, &dl);
    curl_easy_setopt(dl.curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(dl.curl, CURLOPT_XFERINFOFUNCTION, dl_progress);
    curl_easy_setopt(dl.curl, CURLOPT_XFERINFODATA, &dl);

    if (dl.have > 0) {
        snprintf(range, sizeof(range), "%llu-",
                 (unsigned long long) dl.have);
        curl_easy_setopt(dl.curl, CURLOPT_RANGE, range);
    }

    rc = curl_easy_perform(dl.curl);
    status = 0;
    curl_easy_getinfo(dl.curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(dl.curl);

    if (dl.bar) {
        printf("\r\033[K");
    }

    if (fsync(dl.fd) != 0 && dl.err == 0) {
        dl.err = errno;
    }
    close(dl.fd);

    if (dl.err) {
        say("download %s: %s", f->path, strerror(dl.err));
        return -1;
    }

    if (dl.failed) {
        unlink(part);
        say("download %s: longer than the signed size %llu", f->path,
            (unsigned long long) f->size);
        return -1;
    }

    if (rc != CURLE_OK) {
        say("download %s: %s (%llu of %llu bytes kept for a resume)",
            f->path, curl_easy_strerror(rc),
            (unsigned long long) (dl.have + dl.got),
            (unsigned long long) f->size);
        return -1;
    }

    if (status != 200 && status != 206) {
        say("download %s: HTTP %ld %.*s", f->path, status,
            (int) strcspn(dl.errbody, "\r\n"), dl.errbody);
        return -1;
    }

    if (dl.have + dl.got != f->size) {
        say("download %s: %llu of %llu bytes (kept for a resume)", f->path,
            (unsigned long long) (dl.have + dl.got),
            (unsigned long long) f->size);
        return -1;
    }

    if (dl.have > 0) {
        say("download %s: resumed at byte %llu", f->path,
            (unsigned long long) dl.have);
    }

    return 0;
}


/* a manifest URL resolved against the check's URL */

static char *
resolve(const char *url)
{
    const char  *p;

    if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
        return xprintf("%s", url);
    }

    p = strstr(conf.server, "://");
    p = p ? strchr(p + 3, '/') : NULL;

    if (url[0] == '/') {
        return p ? xprintf("%.*s%s", (int) (p - conf.server), conf.server, url)
                 : xprintf("%s%s", conf.server, url);
    }

    /* relative to the folder of the check path */
    p = strrchr(conf.check_path, '/');

    return xprintf("%s%.*s/%s", conf.server,
                   p ? (int) (p - conf.check_path) : 0, conf.check_path, url);
}


/* ------------------------------------------------------------- versions */

static int
version_cmp(const char *a, const char *b)
{
    int            i;
    unsigned long  x, y;
    char          *e;

    for (i = 0; i < 4; i++) {
        x = *a ? strtoul(a, &e, 10) : 0;
        a = *a ? e + (*e == '.') : a;
        y = *b ? strtoul(b, &e, 10) : 0;
        b = *b ? e + (*e == '.') : b;

        if (x != y) {
            return x < y ? -1 : 1;
        }
    }

    return 0;
}


static int
version_ok(const char *v)
{
    int  parts = 1, digits = 0;

    for ( ; *v; v++) {
        if (isdigit((unsigned char) *v)) {
            if (++digits > 9) {
                return 0;
            }
        } else if (*v == '.' && digits > 0 && parts < 4) {
            parts++;
            digits = 0;
        } else {
            return 0;
        }
    }

    return digits > 0;
}


/* a path of the manifest that may be installed under DIR */

static int
path_ok(const char *p)
{
    const char  *c;
    size_t       n;

    if (*p == '\0' || *p == '/' || strncmp(p, ".launcher", 9) == 0) {
        return 0;
    }

    for (c = p; *c; c++) {
        if ((unsigned char) *c < 0x20 || *c == 0x7f || *c == '\\') {
            return 0;
        }
    }

    for (c = p; *c; c += n + (c[n] == '/')) {
        n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.')
            || (n == 2 && c[0] == '.' && c[1] == '.'))
        {
            return 0;
        }
        if (c[n] == '/' && c[n + 1] == '\0') {
            return 0;
        }
    }

    return 1;
}


/* -------------------------------------------------------------- manifest */

static int
b64_decode(const char *in, unsigned char **out, size_t *len)
{
    int     n;
    size_t  inlen, pad;

    inlen = strlen(in);
    if (inlen % 4 != 0) {
        return -1;
    }

    *out = xalloc(inlen / 4 * 3 + 1);
    n = inlen ? EVP_DecodeBlock(*out, (const unsigned char *) in, (int) inlen)
              : 0;
    if (n < 0) {
        return -1;
    }

    pad = (inlen > 0 && in[inlen - 1] == '=') + (inlen > 1
                                                 && in[inlen - 2] == '=');
    *len = (size_t) n - pad;

    return 0;
}


static int
verify_signature(json_t *m, const char *text, char *keyid)
{
    int             ok;
    FILE           *fp;
    size_t          rawlen, siglen;
    json_t         *sigs, *s;
    EVP_PKEY       *pkey;
    EVP_MD_CTX     *md;
    const char     *id, *b64;
    unsigned char  *sig, raw[64], digest[32];

    fp = fopen(conf.pubkey, "r");
    if (fp == NULL) {
        say("%s: %s", conf.pubkey, strerror(errno));
        return -1;
    }

    pkey = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
    fclose(fp);

    rawlen = sizeof(raw);

    if (pkey == NULL || EVP_PKEY_id(pkey) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1)
    {
        say("%s: not an Ed25519 public key (PEM)", conf.pubkey);
        EVP_PKEY_free(pkey);
        return -1;
    }

    SHA256(raw, rawlen, digest);
    hex(digest, 8, keyid);

    sigs = json_get(m, "signatures", J_ARR);
    ok = 0;

    for (s = sigs ? sigs->child : NULL; s && !ok; s = s->next) {
        id = json_str(s, "keyid");
        b64 = json_str(s, "sig");

        if (b64 == NULL || (id != NULL && strcmp(id, keyid) != 0)) {
            continue;
        }

        if (b64_decode(b64, &sig, &siglen) != 0) {
            continue;
        }

        md = EVP_MD_CTX_new();
        ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1
             && EVP_DigestVerify(md, sig, siglen, (const unsigned char *) text,
                                 strlen(text)) == 1;
        EVP_MD_CTX_free(md);
        free(sig);
    }

    EVP_PKEY_free(pkey);

    return ok ? 0 : -1;
}


/* checks the manifest: the signature of "signed", its version, and that
 * "files" lists exactly the signed files; the sizes and hashes are the
 * signed ones */

static int
manifest_load(json_t *m, manifest_t *mf)
{
    char        *text, *line, *next, *sp, *end, keyid[17];
    size_t       i, n;
    json_t      *files, *f, *mand;
    mfile_t     *mfile;
    const char  *signd, *path, *version = NULL;

    memset(mf, 0, sizeof(*mf));

    mf->version = (char *) json_str(m, "version");
    signd = json_str(m, "signed");

    if (mf->version == NULL || !version_ok(mf->version) || signd == NULL) {
        say("manifest refused: no valid \"version\" or no \"signed\" text");
        return -1;
    }

    if (verify_signature(m, signd, keyid) != 0) {
        say("manifest refused: no valid signature by key %s (%s)",
            keyid[0] ? keyid : "?", conf.pubkey);
        return -1;
    }

    text = xprintf("%s", signd);
    n = 0;

    for (line = text; *line; line = next) {
        next = strchr(line, '\n');
        if (next == NULL) {
            say("manifest refused: the signed text does not end a line");
            return -1;
        }
        *next++ = '\0';

        if (line == text) {
            if (strcmp(line, "staged-update-manifest 1") != 0) {
                say("manifest refused: unknown signed format \"%s\"", line);
                return -1;
            }
            continue;
        }

        if (strncmp(line, "version ", 8) == 0) {
            version = line + 8;
            continue;
        }

        if (strncmp(line, "file ", 5) != 0) {
            continue;                       /* track and later fields */
        }

        mf->files = realloc(mf->files, (n + 1) * sizeof(mfile_t));
        mfile = &mf->files[n];
        memset(mfile, 0, sizeof(mfile_t));

        sp = line + 5;
        if (strlen(sp) < 66 || sp[64] != ' ') {
            goto bad_line;
        }
        memcpy(mfile->sha256, sp, 64);
        mfile->sha256[64] = '\0';
        if (strspn(mfile->sha256, "0123456789abcdef") != 64) {
            goto bad_line;
        }

        sp += 65;
        if (!isdigit((unsigned char) *sp)) {
            goto bad_line;
        }
        errno = 0;
        mfile->size = strtoull(sp, &end, 10);
        if (errno || *end != ' ' || !path_ok(end + 1)) {
            goto bad_line;
        }
        mfile->path = end + 1;

        for (i = 0; i < n; i++) {
            if (strcmp(mf->files[i].path, mfile->path) == 0) {
                goto bad_line;
            }
        }

        n++;
        continue;

    bad_line:

        say("manifest refused: bad signed line \"file %s\"", line + 5);
        return -1;
    }

    mf->nfiles = n;

    if (version == NULL || strcmp(version, mf->version) != 0) {
        say("manifest refused: it offers %s but its signed text names %s",
            mf->version, version ? version : "no version");
        return -1;
    }

    files = json_get(m, "files", J_ARR);

    for (f = files ? files->child : NULL; f; f = f->next) {
        path = json_str(f, "path");

        for (i = 0; i < n; i++) {
            if (path && strcmp(mf->files[i].path, path) == 0) {
                break;
            }
        }

        if (i == n) {
            say("manifest refused: \"%s\" is not in the signed text",
                path ? path : "(no path)");
            return -1;
        }

        mf->files[i].url = json_str(f, "url");
        mf->files[i].content = json_str(f, "content");
    }

    for (i = 0; i < n; i++) {
        if (mf->files[i].url == NULL && mf->files[i].content == NULL) {
            say("manifest refused: no url for %s", mf->files[i].path);
            return -1;
        }
    }

    mand = json_get(m, "mandatory", J_BOOL);
    mf->mandatory = mand ? mand->boolean : 0;
    mf->server = json_str(m, "server");

    say("manifest of %s: signature ok (key %s), %zu files", mf->version,
        keyid, n);

    return 0;
}


/* ------------------------------------------------------- store and fetch */

static char *
meta_path(const char *fmt, const char *a, const char *b)
{
    char  *rel, *p;

    rel = xprintf(fmt, a, b);
    p = xprintf("%s/%s", conf.meta, rel);
    free(rel);

    return p;
}


/* puts every file of the manifest, verified, into store/<version>/: from
 * the store itself, a backup of that version, the inline content or a
 * download; returns the number of files downloaded, or -1 */

static int
fetch_all(manifest_t *mf)
{
    int             downloaded = 0;
    char           *dst, *part, *kept, *url;
    size_t          i, len;
    mfile_t        *f;
    unsigned char  *data;

    for (i = 0; i < mf->nfiles; i++) {
        f = &mf->files[i];
        dst = meta_path("store/%s/%s", mf->version, f->path);

        if (file_matches(dst, f)) {
            free(dst);
            continue;
        }

        kept = meta_path("backup/%s/%s", mf->version, f->path);

        if (file_matches(kept, f)) {
            if (copy_file(kept, dst, 0644) != 0) {
                say("store %s: %s", f->path, strerror(errno));
                return -1;
            }
            free(kept);
            free(dst);
            continue;
        }

        free(kept);

        if (f->content != NULL) {
            if (b64_decode(f->content, &data, &len) != 0) {
                say("%s: bad inline content", f->path);
                return -1;
            }

            part = xprintf("%s.part", dst);

            if (mkparents(part) != 0 || write_atomic(part, data, len, 0644)) {
                say("store %s: %s", f->path, strerror(errno));
                return -1;
            }
            free(data);
            say("inline   %s (%llu bytes)", f->path,
                (unsigned long long) f->size);

        } else {
            url = resolve(f->url);
            part = xprintf("%s.part", dst);

            if (download(url, part, f) != 0) {
                return -1;
            }

            say("download %s (%llu bytes)", f->path,
                (unsigned long long) f->size);
            free(url);
            downloaded++;
        }

        if (!file_matches(part, f)) {
            unlink(part);
            say("%s does not match the signed size and SHA-256: discarded",
                f->path);
            return -1;
        }

        if (rename(part, dst) != 0 || fsync_parent(dst) != 0) {
            say("store %s: %s", f->path, strerror(errno));
            return -1;
        }

        free(part);
        free(dst);
    }

    return downloaded;
}


/* --------------------------------------------------------------- install */

/* saves the running files that ops name into backup/<from>/ with a list of
 * what was there; made in backup/<from>.tmp and renamed into place */

static int
backup(const char *from, op_t *ops, size_t n)
{
    int          kept = 0;
    char        *tmp, *dst, *live, *list, *l, *fin, *bdir;
    size_t       i, len = 0;
    struct stat  st;

    tmp = meta_path("backup/%s.tmp%s", from, "");
    rm_rf(tmp);

    if (mkdirs(tmp) != 0) {
        goto failed;
    }

    list = xalloc(1);

    for (i = 0; i < n; i++) {
        live = xprintf("%s/%s", conf.dir, ops[i].path);

        if (lstat(live, &st) == 0 && S_ISREG(st.st_mode)) {
            dst = xprintf("%s/%s", tmp, ops[i].path);
            if (copy_file(live, dst, st.st_mode & 07777) != 0) {
                goto failed;
            }
            free(dst);
            l = xprintf("%skeep %s\n", list, ops[i].path);
            kept++;

        } else {
            l = xprintf("%sabsent %s\n", list, ops[i].path);
        }

        free(list);
        free(live);
        list = l;
    }

    len = strlen(list);
    dst = xprintf("%s/%s", tmp, L_LIST);

    if (write_atomic(dst, list, len, 0644) != 0) {
        goto failed;
    }

    fin = meta_path("backup/%s%s", from, "");
    rm_rf(fin);
    bdir = meta_path("backup%s%s", "", "");

    if (rename(tmp, fin) != 0 || fsync_dir(bdir) != 0) {
        goto failed;
    }

    say("backup   %d of %zu files of %s (for --rollback)", kept, n, from);
    crash_point("after-backup");

    return 0;

failed:

    say("backup of %s: %s", from, strerror(errno));
    rm_rf(tmp);
    return -1;
}


/* completes the switch that the journal names: renames the staged files
 * into place (those already moved are skipped), removes the files that
 * the target has not, writes the version file, drops the journal; every
 * step can be repeated after a crash */

static int
journal_apply(void)
{
    int    renames = 0;
    char  *journal, *text, *line, *next, *from = NULL, *to = NULL;
    char  *stage, *src, *dst, point[64];

    journal = meta_path("journal%s%s", "", "");
    text = read_text(journal, NULL);

    if (text == NULL) {
        return 0;
    }

    if (strncmp(text, "staged-update-journal 1\n", 24) != 0) {
        say("%s: unreadable journal", journal);
        return -1;
    }

    stage = NULL;

    for (line = text + 24; *line; line = next) {
        next = strchr(line, '\n');
        if (next == NULL) {
            say("%s: truncated journal", journal);
            return -1;
        }
        *next++ = '\0';

        if (strncmp(line, "from ", 5) == 0) {
            from = line + 5;

        } else if (strncmp(line, "to ", 3) == 0) {
            to = line + 3;
            stage = meta_path("stage-%s%s", to, "");

        } else if (strncmp(line, "put ", 4) == 0 && stage) {
            src = xprintf("%s/%s", stage, line + 4);
            dst = xprintf("%s/%s", conf.dir, line + 4);

            if (is_file(src)) {
                if (mkparents(dst) != 0 || rename(src, dst) != 0
                    || fsync_parent(dst) != 0)
                {
                    say("install %s: %s", line + 4, strerror(errno));
                    return -1;
                }
                snprintf(point, sizeof(point), "after-rename-%d", ++renames);
                crash_point(point);

            } else if (!is_file(dst)) {
                say("install %s: neither staged nor in place", line + 4);
                return -1;
            }

            free(src);
            free(dst);

        } else if (strncmp(line, "del ", 4) == 0) {
            dst = xprintf("%s/%s", conf.dir, line + 4);
            if (unlink(dst) != 0 && errno != ENOENT) {
                say("remove %s: %s", line + 4, strerror(errno));
                return -1;
            }
            fsync_parent(dst);
            free(dst);
        }
    }

    if (from == NULL || to == NULL) {
        say("%s: no from or to line", journal);
        return -1;
    }

    crash_point("before-version-write");

    dst = meta_path("version%s%s", "", "");
    line = xprintf("%s\n", to);

    if (write_atomic(dst, line, strlen(line), 0644) != 0) {
        say("version file: %s", strerror(errno));
        return -1;
    }

    free(dst);
    free(line);

    /* a failure here loses nothing but the way back */
    dst = meta_path("previous%s%s", "", "");
    line = xprintf("%s\n", from);
    write_atomic(dst, line, strlen(line), 0644);

    crash_point("after-version-write");

    rm_rf(stage);

    if (unlink(journal) != 0 || fsync_dir(conf.meta) != 0) {
        say("journal: %s", strerror(errno));
        return -1;
    }

    return 0;
}


/* the switch to version "to": backup of what ops replace, the staged
 * copies, the journal, then journal_apply() */

static int
install(const char *from, const char *to, op_t *ops, size_t n)
{
    char    *stage, *dst, *live, *journal, *text, *l;
    size_t   i;

    if (backup(from, ops, n) != 0) {
        return -1;
    }

    stage = meta_path("stage-%s%s", to, "");
    rm_rf(stage);

    if (mkdirs(stage) != 0) {
        goto failed;
    }

    text = xprintf("staged-update-journal 1\nfrom %s\nto %s\n", from, to);

    for (i = 0; i < n; i++) {
        if (ops[i].src) {
            dst = xprintf("%s/%s", stage, ops[i].path);
            live = xprintf("%s/%s", conf.dir, ops[i].path);

            if (copy_file(ops[i].src, dst, file_mode(ops[i].src, live)) != 0) {
                goto failed;
            }

            free(dst);
            free(live);
        }

        l = xprintf("%s%s %s\n", text, ops[i].src ? "put" : "del",
                    ops[i].path);
        free(text);
        text = l;
    }

    if (fsync_dir(stage) != 0) {
        goto failed;
    }

    crash_point("after-stage");

    journal = meta_path("journal%s%s", "", "");

    if (write_atomic(journal, text, strlen(text), 0644) != 0) {
        goto failed;
    }

    crash_point("after-journal");

    if (journal_apply() != 0) {
        say("the switch to %s will be completed by the next run", to);
        return -1;
    }

    return 0;

failed:

    say("install %s: %s: %s is kept", to, strerror(errno), from);
    rm_rf(stage);
    return -1;
}


/* a journal left by a crash is completed before anything else; stages
 * and backups that no journal names are leftovers */

static int
recover(void)
{
    DIR            *d;
    char           *journal, *p, *to;
    struct dirent  *de;

    journal = meta_path("journal%s%s", "", "");

    if (is_file(journal)) {
        p = read_text(journal, NULL);
        to = p ? strstr(p, "\nto ") : NULL;
        say("completing the interrupted switch to %.*s",
            to ? (int) strcspn(to + 4, "\n") : 1, to ? to + 4 : "?");

        if (journal_apply() != 0) {
            return -1;
        }
    }

    d = opendir(conf.meta);

    while (d && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "stage-", 6) == 0
            || (strlen(de->d_name) > 4
                && strcmp(de->d_name + strlen(de->d_name) - 4, ".tmp") == 0))
        {
            p = xprintf("%s/%s", conf.meta, de->d_name);
            rm_rf(p);
            free(p);
        }
    }

    if (d) {
        closedir(d);
    }

    return 0;
}


static int
rollback(const char *current)
{
    int      rc;
    char    *prev, *list, *line, *next, *path;
    op_t    *ops = NULL;
    size_t   n = 0;

    path = meta_path("previous%s%s", "", "");
    prev = read_line(path);

    if (prev == NULL || !version_ok(prev)) {
        say("no previous version to roll back to");
        return L_EROLLBACK;
    }

    path = meta_path("backup/%s/%s", prev, L_LIST);
    list = read_text(path, NULL);

    if (list == NULL) {
        say("no backup of %s", prev);
        return L_EROLLBACK;
    }

    for (line = list; *line; line = next) {
        next = strchr(line, '\n');
        if (next == NULL) {
            break;
        }
        *next++ = '\0';

        ops = realloc(ops, (n + 1) * sizeof(op_t));

        if (strncmp(line, "keep ", 5) == 0 && path_ok(line + 5)) {
            ops[n].path = line + 5;
            ops[n].src = meta_path("backup/%s/%s", prev, line + 5);
            if (!is_file(ops[n].src)) {
                say("the backup of %s misses %s", prev, line + 5);
                return L_EROLLBACK;
            }

        } else if (strncmp(line, "absent ", 7) == 0 && path_ok(line + 7)) {
            ops[n].path = line + 7;
            ops[n].src = NULL;

        } else {
            continue;
        }

        n++;
    }

    say("rollback %s -> %s", current, prev);

    rc = install(current, prev, ops, n);
    if (rc != 0) {
        return L_EINSTALL;
    }

    say("installed %s (rolled back from %s)", prev, current);
    return L_OK;
}


/* --------------------------------------------------------------- the flow */

static char *
client_key(void)
{
    char           *path, *key;
    unsigned char   rnd[16];

    path = meta_path("client%s%s", "", "");
    key = read_line(path);

    if (key != NULL && strlen(key) == 32) {
        return key;
    }

    key = xalloc(33);

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NULL;
    }
    hex(rnd, sizeof(rnd), key);

    if (write_atomic(path, key, 32, 0600) != 0) {
        say("client key: %s (checking without one)", strerror(errno));
        return NULL;
    }

    return key;
}


/* POST /login: the business server's ID, or NULL */

static char *
login(void)
{
    long         status;
    char        *url, *body;
    buf_t        b = { NULL, 0 };
    json_t      *r;
    const char  *id;

    url = xprintf("%s/login", conf.shard);
    body = xprintf("{\"user\":%s,\"password\":%s}", json_quote(conf.user),
                   json_quote(conf.password));

    status = http_fetch(url, body, &b, NULL);
    r = (status == 200 && b.data) ? json_parse(b.data, b.len) : NULL;
    id = json_str(r, "server");

    if (id == NULL || *id == '\0') {
        say("login to %s failed (HTTP %ld)", conf.shard, status);
        return NULL;
    }

    return xprintf("%s", id);
}


static int
ask(const char *version)
{
    char  line[64];

    if (conf.yes) {
        return 1;
    }

    if (!conf.ask_stdin && !isatty(STDIN_FILENO)) {
        say("not asked: no terminal (--yes upgrades unattended)");
        return 0;
    }

    printf("Upgrade to %s now? [y/N] ", version);
    fflush(stdout);

    if (fgets(line, sizeof(line), stdin) == NULL) {
        putchar('\n');
        return 0;
    }

    return line[0] == 'y' || line[0] == 'Y';
}


static void
run(const char *version)
{
    int     i;
    char  **argv, *prog;

    if (conf.exec == NULL) {
        return;
    }

    prog = xprintf("%s/%s", conf.dir, conf.exec);
    argv = xalloc((size_t) (conf.nexec_args + 2) * sizeof(char *));
    argv[0] = prog;

    for (i = 0; i < conf.nexec_args; i++) {
        argv[i + 1] = conf.exec_args[i];
    }

    say("starting %s (%s)", conf.exec, version);

    if (chdir(conf.dir) == 0) {
        execv(prog, argv);
    }

    say("%s: %s", prog, strerror(errno));
    exit(L_EUSAGE);
}


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
"\n"
"Without --server: completes an interrupted switch and (with --exec)\n"
"starts the program.\n"
"\n"
"exit: 0 current, upgraded, declined or rolled back; 1 usage or unusable\n"
"DIR; 2 the check failed; 3 the manifest was refused; 4 a file did not\n"
"download or verify; 5 the switch failed (the next run completes it);\n"
"6 the login failed; 7 nothing to roll back to. In every case but 1 the\n"
"installation is runnable, and --exec runs it.\n", stderr);

    exit(L_EUSAGE);
}


static int
check(const char *current)
{
    int          rc, n;
    long         status, retry = 0;
    char        *key, *url, *esc, *shard_id = NULL, *path, *t;
    op_t        *ops;
    buf_t        b = { NULL, 0 };
    size_t       i;
    json_t      *m;
    time_t       now, until;
    manifest_t   mf;

    now = time(NULL);
    path = meta_path("next-check%s%s", "", "");
    t = read_line(path);
    until = t ? (time_t) strtoll(t, NULL, 10) : 0;

    if (until > now && !conf.force) {
        say("next check in %lld s (the server's Retry-After): %s kept",
            (long long) (until - now), current);
        return L_OK;
    }

    key = client_key();

    if (conf.shard) {
        shard_id = login();
        if (shard_id == NULL) {
            return L_ELOGIN;
        }
        say("logged in to %s as %s", shard_id, conf.user);
    }

    url = xprintf("%s%s?version=%s", conf.server, conf.check_path, current);

    if (key) {
        t = xprintf("%s&client=%s", url, key);
        free(url);
        url = t;
    }

    if (shard_id) {
        esc = curl_easy_escape(NULL, shard_id, 0);
        t = xprintf("%s&server=%s", url, esc);
        curl_free(esc);
        free(url);
        url = t;
    }

    status = http_fetch(url, NULL, &b, &retry);

    if (retry > 0) {
        t = xprintf("%lld\n", (long long) (now + retry));
        write_atomic(path, t, strlen(t), 0644);
        say("the server asks to check again in %ld s", retry);
    } else if (status > 0) {
        unlink(path);
    }

    if (status == 204) {
        say("%s is current", current);
        return L_OK;
    }

    if (status != 200) {
        if (status > 0) {
            say("check: HTTP %ld %.*s", status,
                b.data ? (int) strcspn(b.data, "\n") : 0,
                b.data ? b.data : "");
        }
        say("check failed: %s kept", current);
        return L_ECHECK;
    }

    m = b.data ? json_parse(b.data, b.len) : NULL;

    if (m == NULL || m->type != J_OBJ) {
        say("manifest refused: not a JSON object");
        return L_EMANIFEST;
    }

    if (manifest_load(m, &mf) != 0) {
        return L_EMANIFEST;
    }

    if (version_cmp(mf.version, current) <= 0) {
        say("manifest refused: %s is not newer than %s", mf.version,
            current);
        return L_EMANIFEST;
    }

    if (shard_id && (mf.server == NULL || strcmp(mf.server, shard_id) != 0)) {
        say("manifest refused: it is not for server %s", shard_id);
        return L_EMANIFEST;
    }

    say("upgrade %s -> %s offered%s%s%s", current, mf.version,
        mf.mandatory ? " (mandatory)" : "", shard_id ? " by " : "",
        shard_id ? shard_id : "");

    if (conf.check_only) {
        return L_OK;
    }

    if (shard_id && !ask(mf.version)) {
        say("declined: %s kept", current);
        return L_OK;
    }

    n = fetch_all(&mf);

    if (n < 0) {
        say("%s kept; the next run resumes", current);
        return L_EDOWNLOAD;
    }

    if (n == 0) {
        say("%s is in the local store: nothing to download", mf.version);
    }

    crash_point("after-download");

    ops = xalloc(mf.nfiles * sizeof(op_t));

    for (i = 0; i < mf.nfiles; i++) {
        ops[i].path = mf.files[i].path;
        ops[i].src = meta_path("store/%s/%s", mf.version, mf.files[i].path);
    }

    rc = install(current, mf.version, ops, mf.nfiles);

    if (rc != 0) {
        return L_EINSTALL;
    }

    say("installed %s (%zu files); %s kept for --rollback", mf.version,
        mf.nfiles, current);

    if (shard_id) {
        free(shard_id);
        shard_id = login();
        if (shard_id == NULL) {
            return L_ELOGIN;
        }
        say("logged in again to %s", shard_id);
    }

    return L_OK;
}


int
main(int argc, char **argv)
{
    int     i, rc, lock;
    char   *path, *version;
    char   *e;

    conf.check_path = "/update/check";

    for (i = 1; i < argc; i++) {
        const char  *a = argv[i];
        const char **opt = NULL;

        if (strcmp(a, "--") == 0) {
            conf.exec_args = argv + i + 1;
            conf.nexec_args = argc - i - 1;
            break;
        }

        if (strcmp(a, "--dir") == 0) opt = &conf.dir;
        else if (strcmp(a, "--server") == 0) opt = &conf.server;
        else if (strcmp(a, "--check-path") == 0) opt = &conf.check_path;
        else if (strcmp(a, "--cacert") == 0) opt = &conf.cacert;
        else if (strcmp(a, "--pubkey") == 0) opt = &conf.pubkey;
        else if (strcmp(a, "--shard") == 0) opt = &conf.shard;
        else if (strcmp(a, "--user") == 0) opt = &conf.user;
        else if (strcmp(a, "--password") == 0) opt = &conf.password;
        else if (strcmp(a, "--exec") == 0) opt = &conf.exec;
        else if (strcmp(a, "--yes") == 0) conf.yes = 1;
        else if (strcmp(a, "--ask-from-stdin") == 0) conf.ask_stdin = 1;
        else if (strcmp(a, "--check-only") == 0) conf.check_only = 1;
        else if (strcmp(a, "--rollback") == 0) conf.rollback = 1;
        else if (strcmp(a, "--force") == 0) conf.force = 1;
        else if (strcmp(a, "--allow-http") == 0) conf.allow_http = 1;
        else usage();

        if (opt) {
            if (++i == argc) {
                usage();
            }
            *opt = argv[i];
        }
    }

    if (conf.dir == NULL
        || (conf.server && conf.pubkey == NULL)
        || (conf.shard && (conf.user == NULL || conf.password == NULL))
        || (conf.shard && conf.server == NULL))
    {
        usage();
    }

    if (conf.server && strncmp(conf.server, "https://", 8) != 0
        && !(conf.allow_http && strncmp(conf.server, "http://", 7) == 0))
    {
        say("--server must be an https:// URL (or use --allow-http)");
        return L_EUSAGE;
    }

    e = getenv("STAGED_UPDATE_LAUNCHER_ENOSPC_AT");
    conf.enospc_at = e ? strtol(e, NULL, 10) : 0;

    if (mkdirs(conf.dir) != 0
        || (conf.dir = realpath(conf.dir, NULL)) == NULL)
    {
        say("--dir: %s", strerror(errno));
        return L_EUSAGE;
    }

    conf.meta = xprintf("%s/.launcher", conf.dir);

    if (mkdirs(conf.meta) != 0) {
        say("%s: %s", conf.meta, strerror(errno));
        return L_EUSAGE;
    }

    path = meta_path("lock%s%s", "", "");
    lock = open(path, O_RDWR | O_CREAT, 0644);

    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
        say("another launcher works in %s", conf.dir);
        return L_EUSAGE;
    }

    if (recover() != 0) {
        return L_EINSTALL;
    }

    path = meta_path("version%s%s", "", "");
    version = read_line(path);

    if (version == NULL || !version_ok(version)) {
        say("%s: no installed version (write it there, e.g. 1.0.0)", path);
        return L_EUSAGE;
    }

    if (conf.rollback) {
        rc = rollback(version);
        free(version);
        version = read_line(path);

    } else if (conf.server) {
        say("installed %s in %s", version, conf.dir);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = check(version);
        free(version);
        version = read_line(path);

    } else {
        say("installed %s in %s", version, conf.dir);
        rc = L_OK;
    }

    close(lock);
    run(version ? version : "?");

    return rc;
}
