/*
 * Copyright (C) The ngx_http_staged_update_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Tests of libstagedupdate without a server ("make client-unit", under
 * ASan and UBSan): versions and manifest paths; the manifest checks
 * (signature, signed lines, "files"); the journal and the recovery
 * decisions; and, on real installations in a temporary folder, the
 * library's guarantees under fault injection: SIGKILL at each step of a
 * switch, ENOSPC at each write, a bad signature, a corrupted file, the
 * rollback and the lock. Manifests carry their files inline, so no
 * download is needed.
 *
 * The last line printed is "N passed, N failed"; exit 1 on any failure.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "su_internal.h"


#define CHECK(e)            unit_check((e) != 0, __LINE__, "%s", #e)
#define CHECK_MSG(e, ...)   unit_check((e) != 0, __LINE__, __VA_ARGS__)


typedef struct {
    const char  *path;
    const char  *data;              /* NULL: absent */
} unit_file_t;


static int         passed, failed;
static char        root[64];
static int         ninst;
static int         with_urls;       /* manifests give urls (reports) */
static char       *pem_good, *pem_other;
static EVP_PKEY   *key_good, *key_other;


/* the shipped 1.0.0 and the release 2.0.0; saves/slot1 is the user's */

static const unit_file_t  v1[] = {
    { "bin/game", "#!/bin/sh\necho 1.0.0\n" },
    { "data/a.pak", "1.0.0 pack a\n" },
    { "data/b.pak", NULL },
    { "saves/slot1", "the user's own file\n" },
    { NULL, NULL }
};

static const unit_file_t  v2[] = {
    { "bin/game", "#!/bin/sh\necho 2.0.0\n" },
    { "data/a.pak", "2.0.0 pack a, longer\n" },
    { "data/b.pak", "2.0.0 pack b\n" },
    { "saves/slot1", "the user's own file\n" },
    { NULL, NULL }
};

/* the files of the release 2.0.0: all but the user's */
#define V2_FILES  3


static void
unit_check(int ok, int line, const char *fmt, ...)
{
    va_list  ap;

    if (ok) {
        passed++;
        return;
    }

    failed++;
    fprintf(stderr, "tests/client/unit.c:%d: FAILED: ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}


/* ------------------------------------------------------------ helpers */

static void
put(const char *dir, const char *path, const char *data, mode_t mode)
{
    char  p[SU_PATH];
    FILE  *f;

    snprintf(p, sizeof(p), "%s/%s", dir, path);
    su_mkparents(p);
    f = fopen(p, "w");
    if (f == NULL) {
        perror(p);
        exit(2);
    }
    fputs(data, f);
    fclose(f);
    chmod(p, mode);
}


static char *
get(const char *dir, const char *path)
{
    char  p[SU_PATH];

    snprintf(p, sizeof(p), "%s/%s", dir, path);
    return su_read_text(p, NULL);
}


/* dir/path holds want; want NULL: dir/path is absent */

static int
has(const char *dir, const char *path, const char *want)
{
    int    ok;
    char  *s;

    s = get(dir, path);
    ok = (s == NULL && want == NULL) || (s && want && strcmp(s, want) == 0);
    free(s);

    return ok;
}


static char *
make_install(void)
{
    int    i;
    char  *dir;

    if (asprintf(&dir, "%s/inst%d", root, ninst++) < 0) {
        exit(2);
    }

    for (i = 0; v1[i].path; i++) {
        if (v1[i].data) {
            put(dir, v1[i].path, v1[i].data,
                strcmp(v1[i].path, "bin/game") == 0 ? 0755 : 0644);
        }
    }

    put(dir, ".launcher/version", "1.0.0\n", 0644);

    return dir;
}


/* "old", "new" or "a mix" */

static const char *
state_of(const char *dir)
{
    int  i, old = 1, new = 1;

    for (i = 0; v1[i].path; i++) {
        old &= has(dir, v1[i].path, v1[i].data);
        new &= has(dir, v2[i].path, v2[i].data);
    }

    return old ? "old" : new ? "new" : "a mix";
}


static char *
pem_of(EVP_PKEY *k)
{
    BIO   *b;
    char  *p, *data;
    long   n;

    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, k);
    n = BIO_get_mem_data(b, &data);
    p = strndup(data, (size_t) n);
    BIO_free(b);

    return p;
}


static char *
b64(const unsigned char *p, size_t n)
{
    char  *o;

    o = malloc(n / 3 * 4 + 8);
    EVP_EncodeBlock((unsigned char *) o, p, (int) n);
    return o;
}


static char *
sha256_hex(const char *s)
{
    static char    out[65];
    unsigned char  d[32];

    SHA256((const unsigned char *) s, strlen(s), d);
    su_hex(d, 32, out);
    return out;
}


/*
 * A manifest of 2.0.0 with every file inline. Variations for the tests:
 * signer (the key), tamper (applied to the signed text after signing),
 * extra (a "files" entry that is not signed), content_of_a (what data/a.pak
 * delivers instead of its signed bytes), sversion (the signed version).
 */

typedef struct {
    EVP_PKEY    *signer;
    const char  *tamper;
    const char  *extra;
    const char  *content_of_a;
    const char  *sversion;
    const char  *version;
    const char  *file_line;         /* one more signed line */
    const char  *server;
    int          no_url;
} unit_mf_t;


static char *
manifest(const unit_mf_t *m)
{
    int             i;
    char           *text, *sig64, *out, keyid[17];
    size_t          siglen, rawlen;
    json_t         *j, *files;
    su_str_t        t = { NULL, 0, 0 };
    EVP_MD_CTX     *md;
    unsigned char   sig[64], raw[32], d[32];
    const char     *content;

    su_str_add(&t, "staged-update-manifest 1\ntrack game\nversion %s\n",
               m->sversion ? m->sversion : "2.0.0");
    for (i = 0; i < V2_FILES; i++) {
        su_str_add(&t, "file %s %zu %s\n", sha256_hex(v2[i].data),
                   strlen(v2[i].data), v2[i].path);
    }
    if (m->file_line) {
        su_str_add(&t, "%s\n", m->file_line);
    }
    text = t.data;

    md = EVP_MD_CTX_new();
    siglen = sizeof(sig);
    EVP_DigestSignInit(md, NULL, NULL, NULL, m->signer ? m->signer : key_good);
    EVP_DigestSign(md, sig, &siglen, (unsigned char *) text, strlen(text));
    EVP_MD_CTX_free(md);
    sig64 = b64(sig, siglen);

    rawlen = sizeof(raw);
    EVP_PKEY_get_raw_public_key(m->signer ? m->signer : key_good, raw,
                                &rawlen);
    SHA256(raw, rawlen, d);
    su_hex(d, 8, keyid);

    files = json_array();
    for (i = 0; i < V2_FILES; i++) {
        content = (i == 1 && m->content_of_a) ? m->content_of_a : v2[i].data;
        char *c = b64((const unsigned char *) content, strlen(content));
        json_array_append_new(files, m->no_url && i == 2
                              ? json_pack("{s:s}", "path", v2[i].path)
                              : json_pack("{s:s, s:s}", "path", v2[i].path,
                                          "content", c));
        if (with_urls) {
            json_object_set_new(json_array_get(files, i), "url",
                                json_string("/releases/2.0.0/bin/game"
                                            "?token=2.0.0~9~K~mac"));
        }
        free(c);
    }
    if (m->extra) {
        json_array_append_new(files, json_pack("{s:s, s:s}", "path",
                                               m->extra, "url", "/x"));
    }

    if (m->tamper) {
        text = realloc(text, strlen(text) + strlen(m->tamper) + 1);
        strcat(text, m->tamper);
    }

    j = json_pack("{s:s, s:b, s:s, s:[{s:s, s:s}], s:o}",
                  "version", m->version ? m->version : "2.0.0",
                  "mandatory", 1, "signed", text,
                  "signatures", "keyid", keyid, "sig", sig64,
                  "files", files);
    if (m->server) {
        json_object_set_new(j, "server", json_string(m->server));
    }

    out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(text);
    free(sig64);

    return out;
}


static su_install_t *
open_dir(const char *dir, const char *pem, su_error_t *err)
{
    su_status_t    rc;
    su_options_t   o;
    su_install_t  *in;

    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.pubkey_pem = pem;

    rc = su_open(&in, &o, err);
    return rc == SU_OK ? in : NULL;
}


/* parses m as an offer for a fresh installation: the status and the
 * error message */

static su_status_t
offer_status(const unit_mf_t *m, const char *server, char *msg)
{
    char          *json, *dir;
    su_error_t     err;
    su_offer_t    *o = NULL;
    su_status_t    rc;
    su_install_t  *in;

    dir = make_install();
    in = open_dir(dir, pem_good, &err);
    json = manifest(m);
    rc = su_offer_parse(in, json, strlen(json), server, &o, &err);
    strcpy(msg, rc == SU_OK ? "" : err.message);
    su_offer_free(o);
    su_close(in);
    free(json);
    free(dir);

    return rc;
}


/* the upgrade 1.0.0 -> 2.0.0 of dir with the good manifest */

static su_status_t
upgrade(const char *dir, su_error_t *err)
{
    char          *json;
    su_offer_t    *o;
    su_status_t    rc;
    su_install_t  *in;
    unit_mf_t      m = { 0 };

    in = open_dir(dir, pem_good, err);
    if (in == NULL) {
        return err->code;
    }

    json = manifest(&m);
    rc = su_offer_parse(in, json, strlen(json), NULL, &o, err);
    free(json);

    if (rc == SU_OK) {
        rc = su_install(in, o, err);
        su_offer_free(o);
    }

    su_close(in);
    return rc;
}


/* --------------------------------------------------------------- tests */

static void
test_versions_and_paths(void)
{
    CHECK(su_version_ok("1") && su_version_ok("1.2.3.4"));
    CHECK(su_version_ok("999999999.0"));
    CHECK(!su_version_ok("") && !su_version_ok("1..2"));
    CHECK(!su_version_ok("1."));
    CHECK(!su_version_ok("1.2.3.4.5") && !su_version_ok("1234567890"));
    CHECK(!su_version_ok("v1") && !su_version_ok("1.-2"));
    CHECK(su_version_cmp("1.10", "1.9") > 0);
    CHECK(su_version_cmp("1.2", "1.2.0") == 0);
    CHECK(su_version_cmp("2.0.0", "10.0") < 0);

    CHECK(su_path_ok("bin/game") && su_path_ok("a/b/c.d") && su_path_ok(".x"));
    CHECK(!su_path_ok("") && !su_path_ok("/etc/passwd"));
    CHECK(!su_path_ok("../x") && !su_path_ok("a/../../x"));
    CHECK(!su_path_ok("a/."));
    CHECK(!su_path_ok("a//b") && !su_path_ok("a/") && !su_path_ok("a\\b"));
    CHECK(!su_path_ok(".launcher/version") && !su_path_ok("a\nb"));
}


static void
test_manifest(void)
{
    char          msg[512], *json, *dir;
    su_error_t    err;
    su_offer_t   *o;
    su_install_t *in;
    unit_mf_t     m;

    memset(&m, 0, sizeof(m));
    CHECK_MSG(offer_status(&m, NULL, msg) == SU_OK, "good manifest: %s", msg);

    /* the accessors */
    dir = make_install();
    in = open_dir(dir, pem_good, &err);
    json = manifest(&m);
    CHECK(su_offer_parse(in, json, strlen(json), NULL, &o, &err) == SU_OK);
    CHECK(strcmp(su_offer_version(o), "2.0.0") == 0);
    CHECK(su_offer_mandatory(o) == 1 && su_offer_server(o) == NULL);
    CHECK(su_offer_files(o) == V2_FILES);
    CHECK(su_offer_bytes(o) == strlen(v2[0].data) + strlen(v2[1].data)
                               + strlen(v2[2].data));
    su_offer_free(o);

    CHECK(su_offer_parse(in, "[1]", 3, NULL, &o, &err) == SU_EMANIFEST
          && strstr(err.message, "not a JSON object"));
    CHECK(su_offer_parse(in, "{\"version\":", 11, NULL, &o, &err)
          == SU_EMANIFEST);
    CHECK(su_offer_parse(in, "{\"a\":1,\"a\":2}", 13, NULL, &o, &err)
          == SU_EMANIFEST);
    free(json);
    su_close(in);
    free(dir);

    m.signer = key_other;
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "no valid signature"));
    memset(&m, 0, sizeof(m));

    m.tamper = "file 000000000000000000000000000000000000000000000000000000"
               "0000000000 1 evil\n";
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "no valid signature"));
    m.tamper = NULL;

    m.version = "3.0.0";
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "signed text names 2.0.0"));
    m.version = NULL;

    m.sversion = "0.9.0";
    m.version = "0.9.0";
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "not newer than 1.0.0"));
    m.sversion = m.version = NULL;

    m.extra = "bin/unsigned";
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "\"bin/unsigned\" is not in the signed text"));
    m.extra = NULL;

    m.no_url = 1;
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "no url for data/b.pak"));
    m.no_url = 0;

    m.file_line = "file 0123 12 short-hash";
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "bad signed line"));
    m.file_line = "file 0000000000000000000000000000000000000000000000000000"
                  "000000000000 1 ../escape";
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "bad signed line"));
    m.file_line = "file 0000000000000000000000000000000000000000000000000000"
                  "000000000000 1 bin/game";
    CHECK(offer_status(&m, NULL, msg) == SU_EMANIFEST
          && strstr(msg, "bad signed line"));
    m.file_line = NULL;

    CHECK(offer_status(&m, "shard-1", msg) == SU_EMANIFEST
          && strstr(msg, "not for server shard-1"));
    m.server = "shard-1";
    CHECK(offer_status(&m, "shard-1", msg) == SU_OK);
    m.server = NULL;

    /* a key that is not Ed25519 */
    dir = make_install();
    in = open_dir(dir, "-----BEGIN PUBLIC KEY-----\nAAAA\n"
                  "-----END PUBLIC KEY-----\n", &err);
    json = manifest(&m);
    CHECK(su_offer_parse(in, json, strlen(json), NULL, &o, &err)
          == SU_EMANIFEST && strstr(err.message, "not an Ed25519"));
    free(json);
    su_close(in);
    free(dir);
}


static void
test_journal(void)
{
    char          t[256];
    su_error_t    err;
    su_journal_t  j;

    strcpy(t, "staged-update-journal 1\nfrom 1.0.0\nto 2.0.0\nput bin/game\n"
              "del old.pak\n");
    CHECK(su_journal_parse(t, &j, &err) == SU_OK);
    CHECK(strcmp(j.from, "1.0.0") == 0 && strcmp(j.to, "2.0.0") == 0);
    CHECK(j.nops == 2 && j.ops[0].put && !j.ops[1].put
          && strcmp(j.ops[1].path, "old.pak") == 0);
    free(j.ops);

    strcpy(t, "staged-update-journal 1\nfrom 1.0.0\nto 2.0.0\nput bin/ga");
    CHECK(su_journal_parse(t, &j, &err) == SU_EINSTALL);   /* truncated */
    strcpy(t, "staged-update-journal 1\nfrom 1.0.0\nput bin/game\n");
    CHECK(su_journal_parse(t, &j, &err) == SU_EINSTALL
          && strstr(err.message, "no from or to"));
    strcpy(t, "staged-update-journal 2\nfrom 1.0.0\nto 2.0.0\n");
    CHECK(su_journal_parse(t, &j, &err) == SU_EINSTALL);
    strcpy(t, "staged-update-journal 1\nfrom 1.0.0\nto 2.0.0\nput ../x\n");
    CHECK(su_journal_parse(t, &j, &err) == SU_EINSTALL);
    strcpy(t, "staged-update-journal 1\nfrom 1.0.0\nto 2.0.0\nput .launcher/"
              "version\n");
    CHECK(su_journal_parse(t, &j, &err) == SU_EINSTALL);

    /* the decision for each "put": staged, in place, neither */
    CHECK(su_journal_decide(1, 0) == SU_J_RENAME);
    CHECK(su_journal_decide(1, 1) == SU_J_RENAME);
    CHECK(su_journal_decide(0, 1) == SU_J_DONE);
    CHECK(su_journal_decide(0, 0) == SU_J_BROKEN);
}


/* an interrupted switch 1.0.0 -> 2.0.0 on disk: how[i] says where the
 * i-th file of 2.0.0 is, 's' staged, 'm' moved into place, '-' neither;
 * then su_open() */

static su_install_t *
interrupted(const char *how, char **dir, su_error_t *err)
{
    int   i;
    char  p[SU_PATH];

    *dir = make_install();

    for (i = 0; i < V2_FILES; i++) {
        snprintf(p, sizeof(p), ".launcher/stage-2.0.0/%s", v2[i].path);
        if (how[i] != '-') {
            put(*dir, how[i] == 's' ? p : v2[i].path, v2[i].data, 0644);
        }
    }

    put(*dir, ".launcher/journal", "staged-update-journal 1\nfrom 1.0.0\n"
        "to 2.0.0\nput bin/game\nput data/a.pak\nput data/b.pak\n", 0644);

    return open_dir(*dir, NULL, err);
}


/* su_open() completes a journal found on disk */

static void
test_recovery(void)
{
    int            i;
    char          *dir, path[SU_PATH];
    su_error_t     err;
    su_install_t  *in;

    static const char  *complete[] = { "sss", "mss", "mms", "mmm", NULL };

    for (i = 0; complete[i]; i++) {
        in = interrupted(complete[i], &dir, &err);
        CHECK_MSG(in != NULL && strcmp(su_installed_version(in), "2.0.0") == 0
                  && strcmp(state_of(dir), "new") == 0,
                  "recovery %s: completed (%s)", complete[i],
                  in ? "" : err.message);
        CHECK(has(dir, ".launcher/previous", "1.0.0\n"));
        CHECK(has(dir, ".launcher/journal", NULL));
        su_close(in);
        free(dir);
    }

    /* a file neither staged nor in place: refused, nothing changed */
    in = interrupted("ms-", &dir, &err);
    CHECK(in == NULL && err.code == SU_EINSTALL
          && strstr(err.message, "data/b.pak: neither staged nor in place"));
    CHECK(has(dir, ".launcher/version", "1.0.0\n"));
    free(dir);

    /* leftovers of a switch that never wrote its journal */
    dir = make_install();
    put(dir, ".launcher/stage-2.0.0/bin/game", v2[0].data, 0755);
    put(dir, ".launcher/backup/1.0.0.tmp/bin/game", v1[0].data, 0755);
    put(dir, ".launcher/version.tmp", "2.0.0\n", 0644);
    in = open_dir(dir, NULL, &err);
    CHECK(in && strcmp(su_installed_version(in), "1.0.0") == 0);
    CHECK(has(dir, ".launcher/stage-2.0.0/bin/game", NULL));
    CHECK(strcmp(state_of(dir), "old") == 0);
    CHECK(has(dir, ".launcher/version.tmp", NULL));
    su_close(in);
    free(dir);

    /* no version file */
    dir = make_install();
    unlink(strcat(strcpy(path, dir), "/.launcher/version"));
    in = open_dir(dir, NULL, &err);
    CHECK(in == NULL && err.code == SU_EUSAGE
          && strstr(err.message, "no installed version"));
    free(dir);
}


static void
test_install_rollback_lock(void)
{
    char          *dir, *s, game[SU_PATH];
    struct stat    st;
    su_error_t     err;
    su_install_t  *in, *in2;

    dir = make_install();
    CHECK_MSG(upgrade(dir, &err) == SU_OK, "upgrade: %s", err.message);
    CHECK(strcmp(state_of(dir), "new") == 0);
    snprintf(game, sizeof(game), "%s/bin/game", dir);
    CHECK(stat(game, &st) == 0 && (st.st_mode & 0111));

    in = open_dir(dir, NULL, &err);
    CHECK(in && strcmp(su_installed_version(in), "2.0.0") == 0);

    /* one launcher at a time */
    in2 = open_dir(dir, NULL, &err);
    CHECK(in2 == NULL && err.code == SU_EUSAGE
          && strstr(err.message, "another launcher"));

    /* the client key is made once and kept */
    s = strdup(su_client_key(in, &err));
    CHECK(strlen(s) == 32);
    su_close(in);

    in = open_dir(dir, NULL, &err);
    CHECK(strcmp(su_client_key(in, &err), s) == 0);
    free(s);

    CHECK(su_rollback(in, &err) == SU_OK);
    CHECK(strcmp(state_of(dir), "old") == 0);
    CHECK(strcmp(su_installed_version(in), "1.0.0") == 0);
    CHECK(su_rollback(in, &err) == SU_OK);          /* back again */
    CHECK(strcmp(state_of(dir), "new") == 0);
    su_close(in);
    free(dir);

    dir = make_install();
    in = open_dir(dir, NULL, &err);
    CHECK(su_rollback(in, &err) == SU_EROLLBACK
          && strstr(err.message, "no previous version"));
    su_close(in);
    free(dir);
}


static void
test_bad_files(void)
{
    char          *dir, *json;
    su_error_t     err;
    su_offer_t    *o;
    su_install_t  *in;
    unit_mf_t      m = { 0 };

    /* delivered bytes that do not match the signed hash */
    m.content_of_a = "2.0.0 pack a, LONGER\n";
    dir = make_install();
    in = open_dir(dir, pem_good, &err);
    json = manifest(&m);
    CHECK(su_offer_parse(in, json, strlen(json), NULL, &o, &err) == SU_OK);
    CHECK(su_install(in, o, &err) == SU_EDOWNLOAD
          && strstr(err.message, "data/a.pak does not match the signed size "
                    "and SHA-256"));
    CHECK(strcmp(state_of(dir), "old") == 0);
    CHECK(has(dir, ".launcher/store/2.0.0/data/a.pak", NULL));
    CHECK(has(dir, ".launcher/store/2.0.0/data/a.pak.part", NULL));
    su_offer_free(o);
    free(json);
    su_close(in);

    free(dir);

    /* a bad signature: nothing enters the store */
    m.content_of_a = NULL;
    m.signer = key_other;
    dir = make_install();
    in = open_dir(dir, pem_good, &err);
    json = manifest(&m);
    CHECK(su_offer_parse(in, json, strlen(json), NULL, &o, &err)
          == SU_EMANIFEST);
    CHECK(has(dir, ".launcher/store/2.0.0/bin/game", NULL));
    CHECK(strcmp(state_of(dir), "old") == 0);
    free(json);
    su_close(in);
    free(dir);
}


typedef struct {
    int        finished;
    int        cancel_at;           /* cancel at this file's end, or -1 */
    int        bad;                 /* a progress report out of order */
    su_str_t   log;
} unit_cb_t;


static void
unit_log(su_log_level_t level, const char *msg, void *data)
{
    unit_cb_t  *cb = data;

    su_str_add(&cb->log, "%d %s\n", (int) level, msg);
}


static int
unit_progress(const su_progress_t *p, void *data)
{
    unit_cb_t  *cb = data;

    if (p->files != V2_FILES || p->index != (size_t) cb->finished
        || strcmp(p->path, v2[p->index].path) != 0
        || p->size != strlen(v2[p->index].data) || p->done > p->size
        || (p->finished && p->done != p->size))
    {
        cb->bad++;
    }

    cb->finished += p->finished;

    return p->finished && (int) p->index == cb->cancel_at;
}


/* the log and progress callbacks; a cancel keeps the installation */

static void
test_callbacks(void)
{
    char          *dir, *json;
    unit_cb_t      cb;
    su_error_t     err;
    su_offer_t    *o;
    su_options_t   opts;
    su_install_t  *in;
    unit_mf_t      m = { 0 };

    memset(&cb, 0, sizeof(cb));
    memset(&opts, 0, sizeof(opts));
    dir = make_install();
    json = manifest(&m);
    opts.dir = dir;
    opts.pubkey_pem = pem_good;
    opts.log = unit_log;
    opts.progress = unit_progress;
    opts.data = &cb;
    cb.cancel_at = 1;

    CHECK(su_open(&in, &opts, &err) == SU_OK);
    CHECK(su_offer_parse(in, json, strlen(json), NULL, &o, &err) == SU_OK);
    CHECK(su_install(in, o, &err) == SU_EDOWNLOAD
          && strstr(err.message, "fetch of 2.0.0 cancelled"));
    CHECK(cb.finished == 2 && strcmp(state_of(dir), "old") == 0);

    cb.finished = 0;
    cb.cancel_at = -1;
    CHECK(su_install(in, o, &err) == SU_OK);
    CHECK_MSG(cb.finished == V2_FILES && cb.bad == 0,
              "progress: %d files finished, %d bad reports", cb.finished,
              cb.bad);
    CHECK(strcmp(state_of(dir), "new") == 0);
    CHECK_MSG(cb.log.data
              && strstr(cb.log.data, "0 manifest of 2.0.0: signature ok")
              && strstr(cb.log.data, "0 inline   data/b.pak (13 bytes)\n")
              && strstr(cb.log.data, "0 installed 2.0.0 (3 files); 1.0.0 "
                        "kept for a rollback\n"),
              "log: %s", cb.log.data);

    su_offer_free(o);
    su_close(in);
    free(cb.log.data);
    free(json);
    free(dir);
}


/* SIGKILL at each point of an upgrade: the installation is the whole old
 * or new version, the next su_open() makes it whole, an upgrade completes */

static void
test_crash_points(void)
{
    int           i, status;
    char         *dir;
    pid_t         pid;
    su_error_t    err;
    su_install_t *in;
    const char   *state;

    static const char  *points[] = {
        "after-download", "after-backup", "after-stage", "after-journal",
        "after-rename-1", "after-rename-2", "after-rename-3",
        "before-version-write", "after-version-write", NULL
    };

    for (i = 0; points[i]; i++) {
        dir = make_install();

        pid = fork();
        if (pid == 0) {
            setenv("STAGED_UPDATE_LAUNCHER_CRASH_AT", points[i], 1);
            upgrade(dir, &err);
            _exit(0);
        }

        waitpid(pid, &status, 0);
        CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "killed %s: died of SIGKILL", points[i]);

        state = state_of(dir);
        CHECK_MSG(i >= 4 || strcmp(state, "old") == 0,
                  "killed %s: before the journal, nothing moved", points[i]);

        in = open_dir(dir, NULL, &err);
        state = state_of(dir);
        CHECK_MSG(in != NULL && (strcmp(state, "old") == 0
                                 || strcmp(state, "new") == 0),
                  "killed %s: su_open() leaves the old or new version (%s)",
                  points[i], state);
        CHECK_MSG(in && strcmp(su_installed_version(in),
                               strcmp(state, "new") == 0 ? "2.0.0" : "1.0.0")
                        == 0,
                  "killed %s: the version file says what is there",
                  points[i]);
        su_close(in);

        if (strcmp(state, "old") == 0) {
            CHECK_MSG(upgrade(dir, &err) == SU_OK, "killed %s: then: %s",
                      points[i], err.message);
        }
        CHECK_MSG(strcmp(state_of(dir), "new") == 0,
                  "killed %s: a later run completes", points[i]);
        free(dir);
    }
}


/* ENOSPC at each write of an upgrade */

static void
test_enospc(void)
{
    int           n, ok, nfailed = 0, bad = 0;
    char         *dir, num[16];
    su_error_t    err;
    su_status_t   rc;
    su_install_t *in;
    const char   *state;

    for (n = 1; n < 100; n++) {
        dir = make_install();
        snprintf(num, sizeof(num), "%d", n);
        setenv("STAGED_UPDATE_LAUNCHER_ENOSPC_AT", num, 1);
        rc = upgrade(dir, &err);
        unsetenv("STAGED_UPDATE_LAUNCHER_ENOSPC_AT");

        if (rc == SU_OK) {
            free(dir);
            break;
        }

        nfailed++;

        if (!strstr(err.message, "No space left")
            || (rc != SU_EDOWNLOAD && rc != SU_EINSTALL))
        {
            fprintf(stderr, "ENOSPC at write %d: %d %s\n", n, rc,
                    err.message);
            bad++;
        }

        in = open_dir(dir, NULL, &err);
        state = state_of(dir);
        ok = in != NULL
             && strcmp(su_installed_version(in),
                       strcmp(state, "new") == 0 ? "2.0.0" : "1.0.0") == 0;
        su_close(in);

        if (!ok || (strcmp(state, "old") && strcmp(state, "new"))
            || (strcmp(state, "old") == 0 && upgrade(dir, &err) != SU_OK)
            || strcmp(state_of(dir), "new") != 0)
        {
            fprintf(stderr, "ENOSPC at write %d: state %s, then %s\n", n,
                    state, err.message);
            bad++;
        }

        free(dir);
    }

    CHECK_MSG(nfailed >= 10, "ENOSPC: %d writes of an upgrade failed",
              nfailed);
    CHECK_MSG(bad == 0, "ENOSPC at any write: the old or new version, a "
              "later run completes (%d bad)", bad);
}


/* the reports: the grant, the queue and its bound, su_start's verdicts */

static size_t
queued_with(su_install_t *in, const char *text)
{
    char            path[SU_PATH], *body;
    size_t          n;
    unsigned long   i;

    n = 0;

    for (i = 1; i < 200; i++) {
        su_meta(in, path, "reports/%lu.json", i);
        body = su_read_text(path, NULL);
        if (body != NULL && strstr(body, text) != NULL) {
            n++;
        }
        free(body);
    }

    return n;
}


/* a fresh installation upgraded to 2.0.0, then su_start() with cmd as
 * its health check; the program waited for */

static su_install_t *
upgraded_start(const char *cmd, su_start_t *s, char **dir)
{
    su_error_t     err;
    su_install_t  *in;

    static char   *argv[] = { "bin/game", NULL };

    *dir = make_install();
    memset(s, 0, sizeof(*s));

    if (upgrade(*dir, &err) != SU_OK) {
        return NULL;
    }

    in = open_dir(*dir, pem_good, &err);
    if (in == NULL) {
        return NULL;
    }

    s->argv = argv;
    s->health_cmd = cmd;

    if (su_start(in, s, &err) != SU_OK) {
        su_close(in);
        return NULL;
    }

    if (s->pid > 0) {
        waitpid(s->pid, NULL, 0);
    }

    return in;
}


static void
test_reports(void)
{
    int            i;
    char          *dir, *grant, *argv[] = { "bin/game", NULL };
    su_error_t     err;
    su_start_t     s;
    su_options_t   o;
    su_install_t  *in;

    /* an upgrade keeps its grant and queues "installed" */

    with_urls = 1;
    dir = make_install();
    CHECK(upgrade(dir, &err) == SU_OK);
    grant = get(dir, ".launcher/grant");
    CHECK_MSG(grant && strncmp(grant, "2.0.0\n1.0.0\n-\n", 14) == 0,
              "grant: %s", grant ? grant : "(none)");
    free(grant);

    in = open_dir(dir, pem_good, &err);
    CHECK(in != NULL);
    if (in == NULL) {
        free(dir);
        return;
    }

    CHECK(su_report_queued(in) == 1);
    CHECK(queued_with(in, "\"result\":\"installed\"") == 1);
    CHECK(queued_with(in, "\"version\":\"2.0.0\",\"from\":\"1.0.0\"")
          == 1);
    CHECK(queued_with(in, su_client_key(in, &err)) == 1);

    /* the bound: the oldest go first */

    for (i = 0; i < SU_REPORTS_MAX + 8; i++) {
        CHECK(su_report(in, SU_R_FAILED, "a\nb", &err) == SU_OK);
    }

    CHECK(su_report_queued(in) == SU_REPORTS_MAX);
    CHECK(queued_with(in, "\"result\":\"installed\"") == 0);
    CHECK(queued_with(in, "\"reason\":\"a b\"") == SU_REPORTS_MAX);

    /* no server: nothing sent, all kept */

    CHECK(su_report_flush(in, 1, NULL, &err) == SU_OK);
    CHECK(su_report_queued(in) == SU_REPORTS_MAX);
    su_close(in);

    /* an unreachable server: kept for a later run */

    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.pubkey_pem = pem_good;
    o.server = "http://127.0.0.1:1";
    o.allow_http = 1;

    CHECK(su_open(&in, &o, &err) == SU_OK);
    {
        size_t  sent = 99;

        CHECK(su_report_flush(in, 1, &sent, &err) == SU_ECHECK);
        CHECK(sent == 0);
    }
    CHECK(su_report_queued(in) == SU_REPORTS_MAX);

    /* the first start of 2.0.0 fails its check: rolled back, reported */

    su_rm_rf(strcat(strcpy((char [SU_PATH]) { 0 }, dir), "/.launcher/reports"));
    put(dir, "bin/game", "#!/bin/sh\nexit 3\n", 0755);

    memset(&s, 0, sizeof(s));
    s.argv = argv;
    s.health_seconds = 5;

    CHECK(su_start(in, &s, &err) == SU_OK);
    CHECK(s.rolled_back == 1);
    CHECK(strcmp(su_installed_version(in), "1.0.0") == 0);
    CHECK(has(dir, "bin/game", v1[0].data));
    CHECK(!has(dir, ".launcher/grant", "x") && get(dir, ".launcher/grant")
                                              == NULL);
    CHECK(queued_with(in, "\"result\":\"rolled-back\"") == 1);
    CHECK(queued_with(in, "the program exited with status 3") == 1);
    CHECK(s.pid > 0 || s.status == 0);
    if (s.pid > 0) {
        waitpid(s.pid, &i, 0);
        CHECK(WIFEXITED(i) && WEXITSTATUS(i) == 0);   /* the old one runs */
    }

    /* a start without a pending grant is plain */

    memset(&s, 0, sizeof(s));
    s.argv = argv;
    s.health_cmd = "exit 1";
    CHECK(su_start(in, &s, &err) == SU_OK && s.rolled_back == 0);
    if (s.pid > 0) {
        waitpid(s.pid, NULL, 0);
    }
    su_close(in);
    free(dir);

    /* a healthy start reports "started" and drops the grant */

    in = upgraded_start("test -n \"$SU_PID\"", &s, &dir);
    CHECK(in != NULL && s.rolled_back == 0);

    if (in != NULL) {
        CHECK(strcmp(su_installed_version(in), "2.0.0") == 0);
        CHECK(queued_with(in, "\"result\":\"started\"") == 1);
        CHECK(get(dir, ".launcher/grant") == NULL);
        su_close(in);
    }

    free(dir);

    /* a health command that fails rolls back too */

    in = upgraded_start("exit 4", &s, &dir);
    CHECK(in != NULL && s.rolled_back == 1);

    if (in != NULL) {
        CHECK(strcmp(su_installed_version(in), "1.0.0") == 0);
        CHECK(queued_with(in, "the health command failed (status 4)") == 1);
        su_close(in);
    }

    free(dir);

    /* without a url in the answer nothing proves the grant: no reports */

    with_urls = 0;
    dir = make_install();
    CHECK(upgrade(dir, &err) == SU_OK);
    CHECK(get(dir, ".launcher/grant") == NULL);
    free(dir);
}


int
main(void)
{
    strcpy(root, "/tmp/su-unit-XXXXXX");
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 2;
    }

    unsetenv("STAGED_UPDATE_LAUNCHER_CRASH_AT");
    unsetenv("STAGED_UPDATE_LAUNCHER_ENOSPC_AT");

    key_good = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    key_other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    pem_good = pem_of(key_good);
    pem_other = pem_of(key_other);

    test_versions_and_paths();
    test_manifest();
    test_journal();
    test_recovery();
    test_install_rollback_lock();
    test_bad_files();
    test_callbacks();
    test_crash_points();
    test_enospc();
    test_reports();

    if (!getenv("TEST_KEEP")) {
        su_rm_rf(root);
    }

    EVP_PKEY_free(key_good);
    EVP_PKEY_free(key_other);
    free(pem_good);
    free(pem_other);

    printf("%d passed, %d failed\n", passed, failed);

    return failed ? 1 : 0;
}
