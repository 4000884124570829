/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Unit tests of the pure logic: versions and ranges, percentages, rules,
 * the tables and the decision of SYSTEM.md, sticky buckets, JSON and URL
 * text.  No nginx and no framework: "make unit" builds this file with the
 * three pure sources under ASan and UBSan and runs it.
 *
 * Every parser is given an exact-size heap copy of its input, so that a
 * read past the end is an ASan report, not a silent pass.  Each check
 * counts as passed or failed; a failure prints file:line and the values.
 * The last line printed is "N passed, N failed"; the exit code is 1 on
 * any failure.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_staged_update_version.h"
#include "ngx_http_staged_update_table.h"
#include "ngx_http_staged_update_json.h"
#include "ngx_http_staged_update_token.h"
#include "ngx_http_staged_update_minisign.h"
#include "ngx_http_staged_update_override.h"
#include "ngx_http_staged_update_hll.h"
#include "ngx_http_staged_update_outcome.h"


#define ANY                  NGX_HTTP_STAGED_UPDATE_VERSION_ANY
#define MAX9                 999999999u

#define LATEST               NGX_HTTP_STAGED_UPDATE_LATEST
#define MINIMUM              NGX_HTTP_STAGED_UPDATE_MINIMUM
#define RULE                 NGX_HTTP_STAGED_UPDATE_RULE
#define DEFAULT              NGX_HTTP_STAGED_UPDATE_DEFAULT

#define UNIT_BIG_SERVERS     10000
#define UNIT_BIG_RULES       1000
#define UNIT_BIG_SETS        4

#define UNIT_KEYS            100000


#define V4(a, b, c, d)       ((const uint32_t []) { a, b, c, d })

#define CHECK(e)                                                              \
    unit_check((e) != 0, __FILE__, __LINE__, "%s", #e)

#define CHECK_MSG(e, ...)                                                     \
    unit_check((e) != 0, __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_INT(a, b)                                                       \
    unit_check_int((long long) (a), (long long) (b), __FILE__, __LINE__,      \
                   #a, #b)

#define CHECK_MEM(p, n, s)                                                    \
    unit_check_mem((const u_char *) (p), (n), (s), __FILE__, __LINE__, #p)

#define V(s)                 unit_v(s, __FILE__, __LINE__)

#define VERSION_OK(s, a, b, c, d)                                             \
    unit_version_ok(__FILE__, __LINE__, s, V4(a, b, c, d))
#define VERSION_BAD(s)       unit_version_bad(__FILE__, __LINE__, s, strlen(s))
#define VERSION_BADN(s, n)   unit_version_bad(__FILE__, __LINE__, s, n)
#define CMP(a, b, want)      unit_cmp(__FILE__, __LINE__, a, b, want)

#define RANGE_OK(s, lo, hi)  unit_range_ok(__FILE__, __LINE__, s, lo, hi)
#define RANGE_BAD(s)         unit_range_bad(__FILE__, __LINE__, s)
#define IN_RANGE(r, v, want) unit_in_range(__FILE__, __LINE__, r, v, want)

#define PCT_OK(s, want)      unit_pct_ok(__FILE__, __LINE__, s, want)
#define PCT_BAD(s)           unit_pct_bad(__FILE__, __LINE__, s)
#define PCT_PRINT(n, s)      unit_pct_print(__FILE__, __LINE__, n, s)

#define RULE_SPEC(r, s, pct, data)                                            \
    unit_rule(__FILE__, __LINE__, r, s, pct, data)

#define DECIDE(t, srv, v, reason, pct, scope, rule)                           \
    unit_decide(__FILE__, __LINE__, t, srv, v, reason, pct, scope, rule)

#define JSON_STR(s, n, want) unit_json_str(__FILE__, __LINE__, s, n, want)
#define URL_PATH(s, n, want) unit_url_path(__FILE__, __LINE__, s, n, want)
#define UTF8(s, n, want)     unit_utf8(__FILE__, __LINE__, s, n, want)

#define TOKEN_OK             NGX_HTTP_STAGED_UPDATE_TOKEN_OK
#define TOKEN_MALFORMED      NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED
#define TOKEN_EXPIRED        NGX_HTTP_STAGED_UPDATE_TOKEN_EXPIRED
#define TOKEN_INVALID        NGX_HTTP_STAGED_UPDATE_TOKEN_INVALID
#define TOKEN_MAXLEN         NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN
#define MAC_LEN              NGX_HTTP_STAGED_UPDATE_MAC_LEN
#define MAC_B64LEN           NGX_HTTP_STAGED_UPDATE_MAC_B64LEN

/* a token against secrets, a path and a time: exact-size heap copies */
#define TOKEN_IS(t, n, sec, nsec, path, plen, now, want)                      \
    unit_token_is(__FILE__, __LINE__, t, n, sec, nsec, path, plen, now, want)
/* the same against the usual secret (A), path and time */
#define TOKEN(t, want)                                                        \
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),   \
             UNIT_NOW, want)
#define B64URL(s, want)      unit_b64url(__FILE__, __LINE__, s, want)


typedef ngx_http_staged_update_version_t     unit_ver_t;
typedef ngx_http_staged_update_range_t       unit_range_t;
typedef ngx_http_staged_update_rule_spec_t   unit_rule_spec_t;
typedef ngx_http_staged_update_scope_spec_t  unit_scope_spec_t;
typedef ngx_http_staged_update_table_t       unit_table_t;
typedef ngx_http_staged_update_scope_t       unit_scope_t;
typedef ngx_http_staged_update_rule_t        unit_rule_t;
typedef ngx_http_staged_update_decision_t    unit_decision_t;
typedef ngx_http_staged_update_steps_t       unit_steps_t;


static void unit_check(int ok, const char *file, int line,
    const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
static void unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void unit_check_int(long long a, long long b, const char *file,
    int line, const char *as, const char *bs);
static void unit_check_mem(const u_char *p, size_t n, const char *want,
    const char *file, int line, const char *ps);
static const char *unit_esc(const u_char *p, size_t n);
static void unit_overrides(void);
static void unit_state_file(void);
static void unit_rate_override(void);
static const char *unit_vstr(const unit_ver_t *v);
static u_char *unit_dup(const void *p, size_t len);

static const char *unit_version_parse(const char *s, size_t len,
    unit_ver_t *v);
static const char *unit_range_parse(const char *s, unit_range_t *r);
static unit_ver_t unit_v(const char *s, const char *file, int line);
static unit_ver_t unit_ver(uint32_t a, uint32_t b, uint32_t c, uint32_t d);
static void unit_version_ok(const char *file, int line, const char *s,
    const uint32_t *want);
static void unit_version_bad(const char *file, int line, const char *s,
    size_t len);
static void unit_cmp(const char *file, int line, const char *a,
    const char *b, int want);
static void unit_range_ok(const char *file, int line, const char *s,
    const uint32_t *lo, const uint32_t *hi);
static void unit_range_bad(const char *file, int line, const char *s);
static void unit_in_range(const char *file, int line, const char *r,
    const char *v, int want);
static void unit_pct_ok(const char *file, int line, const char *s,
    uint32_t want);
static void unit_pct_bad(const char *file, int line, const char *s);
static void unit_pct_print(const char *file, int line, uint32_t pct,
    const char *want);
static void unit_rule(const char *file, int line, unit_rule_spec_t *r,
    const char *s, uint32_t pct, uintptr_t data);
static void unit_scope(unit_scope_spec_t *s, const char *name,
    unit_ver_t latest, unit_ver_t minimum, uint32_t pct, uint32_t release,
    unit_rule_spec_t *rules, size_t nrules);
static unit_table_t *unit_build(const unit_scope_spec_t *track,
    const unit_scope_spec_t *servers, size_t n, size_t *dup,
    const char **err);
static const unit_scope_t *unit_server(const unit_table_t *t,
    const char *id);
static const char *unit_scope_name(const unit_table_t *t,
    const unit_scope_t *s);
static void unit_decide(const char *file, int line, const unit_table_t *t,
    const unit_scope_t *server, const char *vs, uint32_t reason,
    uint32_t pct, const unit_scope_t *scope, const char *rule);
static void unit_steps(const char *file, int line, const unit_table_t *t,
    const unit_scope_t *server, const unit_ver_t *v,
    const unit_decision_t *d);
static void unit_json_str(const char *file, int line, const char *s,
    size_t n, const char *want);
static void unit_url_path(const char *file, int line, const char *s,
    size_t n, const char *want);
static void unit_utf8(const char *file, int line, const char *s, size_t n,
    int want);

static void unit_versions(void);
static void unit_ranges(void);
static void unit_percentages(void);
static void unit_safe(void);
static void unit_rules_sort(void);
static void unit_table_demo(void);
static void unit_explain(void);
static void unit_table_duplicates(void);
static void unit_big_rules(unit_rule_spec_t *set, size_t k);
static unit_ver_t unit_big_lo(size_t j);
static unit_ver_t unit_big_hi(size_t j);
static unit_ver_t unit_big_above(size_t j);
static unit_ver_t unit_big_below(size_t j);
static size_t unit_big_nrules(size_t i);
static int unit_big_expect(const unit_table_t *t, const unit_scope_t *s,
    size_t k, unit_ver_t v, long j);
static void unit_table_big(void);
static void unit_buckets(void);
static void unit_json(void);
static void unit_json_files(void);
static void unit_token_is(const char *file, int line, const char *t,
    size_t n, const ngx_http_staged_update_secret_t *secrets, size_t nsecrets,
    const char *path, size_t path_len, time_t now, int want);
static size_t unit_sign(char *dst, const ngx_http_staged_update_secret_t *s,
    const char *version, time_t expires, const char *client,
    const char *path, size_t path_len);
static int unit_b64url_decode(u_char *dst, const char *src, size_t len);
static void unit_b64url(const char *file, int line, const char *s,
    const char *want);
static void unit_base64url(void);
static void unit_token_mac(const char *token, const char *version,
    const char *expires, const char *client, const char *path);
static void unit_tokens(void);
static void unit_version_print(void);
static void unit_unescape(void);
static EVP_PKEY *unit_rfc8032_key(void);
static int unit_minisign_check(const u_char *text, size_t len,
    EVP_PKEY *key, const u_char *msg, size_t msglen, const char *comment);
static void unit_minisign(void);
static void unit_hll(void);


static unsigned long  unit_passed;
static unsigned long  unit_failed;

static const char    *unit_reasons[] = {
    "LATEST", "MINIMUM", "RULE", "DEFAULT"
};

static const char    *unit_token_results[] = {
    "OK", "MALFORMED", "EXPIRED", "INVALID"
};

/* two 32-byte secrets, as "openssl rand -hex 32" would not write them */

#define UNIT_SECRET_A        "0123456789abcdef0123456789abcdef"
#define UNIT_SECRET_B        "fedcba9876543210fedcba9876543210"
#define UNIT_PATH            "/releases/2.0.0/data/part10.pak"
#define UNIT_NOW             ((time_t) 1700000000)

static const ngx_http_staged_update_secret_t  unit_secret_a = {
    (const u_char *) UNIT_SECRET_A, sizeof(UNIT_SECRET_A) - 1, NULL
};

static const ngx_http_staged_update_secret_t  unit_secret_b = {
    (const u_char *) UNIT_SECRET_B, sizeof(UNIT_SECRET_B) - 1, NULL
};


/* the runner */

static void
unit_check(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    if (ok) {
        unit_passed++;
        return;
    }

    unit_failed++;

    printf("%s:%d: FAILED: ", file, line);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


/* a failure in a helper's own preparation: counts, but a pass does not */

static void
unit_fail(const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    unit_failed++;

    printf("%s:%d: FAILED: ", file, line);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


static void
unit_check_int(long long a, long long b, const char *file, int line,
    const char *as, const char *bs)
{
    unit_check(a == b, file, line, "%s == %s: %lld != %lld", as, bs, a, b);
}


static void
unit_check_mem(const u_char *p, size_t n, const char *want, const char *file,
    int line, const char *ps)
{
    size_t  len;

    len = strlen(want);

    if (n == len && memcmp(p, want, n) == 0) {
        unit_check(1, file, line, "%s", "");
        return;
    }

    printf("%s:%d: FAILED: %s is \"%s\" (%zu bytes)\n", file, line, ps,
           unit_esc(p, n), n);
    unit_check(0, file, line, "  want \"%s\" (%zu bytes)",
               unit_esc((const u_char *) want, len), len);
}


/* printable text for a message; a few rotating static buffers */

static const char *
unit_esc(const u_char *p, size_t n)
{
    size_t       i, k;
    char        *b;
    static char  buf[4][1024];
    static int   next;

    b = buf[next++ & 3];
    k = 0;

    for (i = 0; i < n && k < sizeof(buf[0]) - 8; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
            b[k++] = (char) p[i];

        } else {
            k += (size_t) sprintf(b + k, "\\x%02x", p[i]);
        }
    }

    b[k] = '\0';

    return b;
}


static const char *
unit_vstr(const unit_ver_t *v)
{
    int          i, k;
    char        *b;
    static char  buf[4][64];
    static int   next;

    b = buf[next++ & 3];
    k = 0;

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_VERSION_PARTS; i++) {
        if (v->part[i] == ANY) {
            k += sprintf(b + k, i ? ".*" : "*");

        } else {
            k += sprintf(b + k, i ? ".%u" : "%u", v->part[i]);
        }
    }

    return b;
}


/* an exact-size heap copy, so that ASan sees any read past the end */

static u_char *
unit_dup(const void *p, size_t len)
{
    u_char  *d;

    d = malloc(len);

    if (d == NULL && len) {
        printf("out of memory\n");
        exit(2);
    }

    if (len) {
        memcpy(d, p, len);
    }

    return d;
}


/* versions */

static const char *
unit_version_parse(const char *s, size_t len, unit_ver_t *v)
{
    u_char      *p;
    const char  *err;

    p = unit_dup(s, len);
    err = ngx_http_staged_update_version_parse(p, len, v);
    free(p);

    return err;
}


static const char *
unit_range_parse(const char *s, unit_range_t *r)
{
    u_char      *p;
    size_t       len;
    const char  *err;

    len = strlen(s);
    p = unit_dup(s, len);
    err = ngx_http_staged_update_range_parse(p, len, r);
    free(p);

    return err;
}


static unit_ver_t
unit_v(const char *s, const char *file, int line)
{
    unit_ver_t   v;
    const char  *err;

    err = unit_version_parse(s, strlen(s), &v);

    if (err) {
        unit_fail(file, line, "version \"%s\" does not parse: %s", s, err);
        memset(&v, 0, sizeof(v));
    }

    return v;
}


static unit_ver_t
unit_ver(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    unit_ver_t  v;

    v.part[0] = a;
    v.part[1] = b;
    v.part[2] = c;
    v.part[3] = d;

    return v;
}


static void
unit_version_ok(const char *file, int line, const char *s,
    const uint32_t *want)
{
    unit_ver_t   v, w;
    const char  *err;

    memset(&v, 0x5a, sizeof(v));
    memcpy(w.part, want, sizeof(w.part));

    err = unit_version_parse(s, strlen(s), &v);

    unit_check(err == NULL && memcmp(&v, &w, sizeof(v)) == 0, file, line,
               "version \"%s\": %s, got %s, want %s", s,
               err ? err : "parsed", err ? "-" : unit_vstr(&v),
               unit_vstr(&w));
}


static void
unit_version_bad(const char *file, int line, const char *s, size_t len)
{
    unit_ver_t   v;
    const char  *err;

    err = unit_version_parse(s, len, &v);

    unit_check(err != NULL && err[0] != '\0', file, line,
               "version \"%s\" must be rejected, got %s",
               unit_esc((const u_char *) s, len),
               err ? "an empty error" : unit_vstr(&v));
}


static void
unit_cmp(const char *file, int line, const char *a, const char *b, int want)
{
    int         ab, ba;
    unit_ver_t  va, vb;

    va = unit_v(a, file, line);
    vb = unit_v(b, file, line);

    ab = ngx_http_staged_update_version_cmp(&va, &vb);
    ba = ngx_http_staged_update_version_cmp(&vb, &va);

    ab = (ab > 0) - (ab < 0);
    ba = (ba > 0) - (ba < 0);

    unit_check(ab == want && ba == -want, file, line,
               "cmp(\"%s\", \"%s\") = %d and reversed %d, want %d",
               a, b, ab, ba, want);
}


static void
unit_range_ok(const char *file, int line, const char *s, const uint32_t *lo,
    const uint32_t *hi)
{
    unit_ver_t    wlo, whi;
    const char   *err;
    unit_range_t  r;

    memset(&r, 0x5a, sizeof(r));
    memcpy(wlo.part, lo, sizeof(wlo.part));
    memcpy(whi.part, hi, sizeof(whi.part));

    err = unit_range_parse(s, &r);

    unit_check(err == NULL
               && memcmp(&r.lo, &wlo, sizeof(wlo)) == 0
               && memcmp(&r.hi, &whi, sizeof(whi)) == 0,
               file, line, "range \"%s\": %s, got [%s, %s], want [%s, %s]",
               s, err ? err : "parsed", unit_vstr(&r.lo), unit_vstr(&r.hi),
               unit_vstr(&wlo), unit_vstr(&whi));
}


static void
unit_range_bad(const char *file, int line, const char *s)
{
    const char    *err;
    unit_range_t   r;

    err = unit_range_parse(s, &r);

    unit_check(err != NULL && err[0] != '\0', file, line,
               "range \"%s\" must be rejected, got [%s, %s]",
               s, err ? "-" : unit_vstr(&r.lo), err ? "-" : unit_vstr(&r.hi));
}


static void
unit_in_range(const char *file, int line, const char *rs, const char *vs,
    int want)
{
    int            in;
    unit_ver_t     v;
    const char    *err;
    unit_range_t   r;

    err = unit_range_parse(rs, &r);
    if (err) {
        unit_fail(file, line, "range \"%s\" does not parse: %s", rs, err);
        return;
    }

    v = unit_v(vs, file, line);

    in = ngx_http_staged_update_version_cmp(&r.lo, &v) <= 0
         && ngx_http_staged_update_version_cmp(&v, &r.hi) <= 0;

    unit_check(in == want, file, line, "\"%s\" %s in \"%s\" [%s, %s]",
               vs, want ? "must be" : "must not be", rs, unit_vstr(&r.lo),
               unit_vstr(&r.hi));
}


static void
unit_versions(void)
{
    char  buf[1100];

    printf("versions\n");

    VERSION_OK("1", 1, 0, 0, 0);
    VERSION_OK("1.2", 1, 2, 0, 0);
    VERSION_OK("1.2.3", 1, 2, 3, 0);
    VERSION_OK("1.2.3.4", 1, 2, 3, 4);
    VERSION_OK("0", 0, 0, 0, 0);
    VERSION_OK("0.0.0.0", 0, 0, 0, 0);
    VERSION_OK("10.20.30.40", 10, 20, 30, 40);
    VERSION_OK("999999999", MAX9, 0, 0, 0);
    VERSION_OK("1.999999999", 1, MAX9, 0, 0);
    VERSION_OK("999999999.999999999.999999999.999999999",
               MAX9, MAX9, MAX9, MAX9);
    VERSION_OK("000000001.2", 1, 2, 0, 0);
    VERSION_OK("2024.11.05", 2024, 11, 5, 0);

    VERSION_BAD("");
    VERSION_BAD(".");
    VERSION_BAD("1.");
    VERSION_BAD(".1");
    VERSION_BAD("1..2");
    VERSION_BAD("1.2.3.");
    VERSION_BAD("1.2.3.4.");
    VERSION_BAD("1.2.3.4.5");
    VERSION_BAD("1234567890");
    VERSION_BAD("1.1234567890");
    VERSION_BAD("0000000001");
    VERSION_BAD("4294967296");
    VERSION_BAD("a");
    VERSION_BAD("v1.2");
    VERSION_BAD("1.2a");
    VERSION_BAD("1.a");
    VERSION_BAD("1.2-rc1");
    VERSION_BAD("-1");
    VERSION_BAD("+1");
    VERSION_BAD(" 1");
    VERSION_BAD("1.2 ");
    VERSION_BAD("1,2");
    VERSION_BAD("1/2");
    VERSION_BAD("*");
    VERSION_BAD("1.*");
    VERSION_BAD("1.2.3.*");
    VERSION_BAD("1.5-1.9");
    VERSION_BADN("1\0", 2);
    VERSION_BADN("1.\0", 3);
    VERSION_BADN("\0001", 2);

    /* over-long: 40 characters, and far longer */

    VERSION_BAD("999999999.999999999.999999999.9999999999");
    VERSION_BAD("1.2.3.4                                 ");

    memset(buf, '1', 1024);
    buf[1024] = '\0';
    VERSION_BAD(buf);

    memset(buf, '.', 1024);
    VERSION_BAD(buf);

    /* only len bytes are read: "1.2.3" given as 3 bytes is "1.2" */

    {
        unit_ver_t   v;
        const char  *err;

        err = unit_version_parse("1.2.3", 3, &v);
        CHECK(err == NULL && v.part[0] == 1 && v.part[1] == 2
              && v.part[2] == 0 && v.part[3] == 0);
    }

    CMP("1.10", "1.9", 1);
    CMP("1.9", "1.10", -1);
    CMP("1.2", "1.2.0", 0);
    CMP("1.2", "1.2.0.0", 0);
    CMP("1.2.0", "1.2.0.0", 0);
    CMP("01.02", "1.2", 0);
    CMP("2", "1.999999999", 1);
    CMP("2", "1.999999999.999999999.999999999", 1);
    CMP("1.2.3.4", "1.2.3", 1);
    CMP("1.2.3", "1.2.3.1", -1);
    CMP("0.0.0.1", "0", 1);
    CMP("10", "9.999999999", 1);
    CMP("1.0.10", "1.0.9", 1);
    CMP("999999999.999999999.999999999.999999999",
        "999999999.999999999.999999999.999999998", 1);
    CMP("1.7.3", "1.7.3", 0);
}


static void
unit_ranges(void)
{
    printf("ranges\n");

    RANGE_OK("1.7.3", V4(1, 7, 3, 0), V4(1, 7, 3, 0));
    RANGE_OK("1", V4(1, 0, 0, 0), V4(1, 0, 0, 0));
    RANGE_OK("1.7.*", V4(1, 7, 0, 0), V4(1, 7, ANY, ANY));
    RANGE_OK("1.*", V4(1, 0, 0, 0), V4(1, ANY, ANY, ANY));
    RANGE_OK("1.2.3.*", V4(1, 2, 3, 0), V4(1, 2, 3, ANY));
    RANGE_OK("*", V4(0, 0, 0, 0), V4(ANY, ANY, ANY, ANY));
    RANGE_OK("1.5.0-1.9.*", V4(1, 5, 0, 0), V4(1, 9, ANY, ANY));
    RANGE_OK("1.5-1.9", V4(1, 5, 0, 0), V4(1, 9, 0, 0));
    RANGE_OK("1.0-1.0", V4(1, 0, 0, 0), V4(1, 0, 0, 0));
    RANGE_OK("1.2-1.2.0.0", V4(1, 2, 0, 0), V4(1, 2, 0, 0));
    RANGE_OK("1-*", V4(1, 0, 0, 0), V4(ANY, ANY, ANY, ANY));
    RANGE_OK("1.9.5-1.9.*", V4(1, 9, 5, 0), V4(1, 9, ANY, ANY));
    RANGE_OK("0-999999999.999999999.999999999.999999999",
             V4(0, 0, 0, 0), V4(MAX9, MAX9, MAX9, MAX9));

    RANGE_BAD("");
    RANGE_BAD("-");
    RANGE_BAD("1.9-1.5");
    RANGE_BAD("1.9.1-1.9");
    RANGE_BAD("2.0-1.*");
    RANGE_BAD("1.*.2");
    RANGE_BAD("*.1");
    RANGE_BAD("**");
    RANGE_BAD("1.7*");
    RANGE_BAD("1.7.* ");
    RANGE_BAD("-1.2");
    RANGE_BAD("1.2-");
    RANGE_BAD("1.*-2");
    RANGE_BAD("*-2");
    RANGE_BAD("1-2-3");
    RANGE_BAD("1.5 - 1.9");
    RANGE_BAD("1.5--1.9");
    RANGE_BAD("1.2.3.4.*");
    RANGE_BAD("1.2.3.4.5");
    RANGE_BAD("1.1234567890");
    RANGE_BAD("a-b");

    /* closed intervals: both ends belong, the next version does not */

    IN_RANGE("1.5-1.9", "1.5", 1);
    IN_RANGE("1.5-1.9", "1.7.3", 1);
    IN_RANGE("1.5-1.9", "1.9", 1);
    IN_RANGE("1.5-1.9", "1.9.0.0", 1);
    IN_RANGE("1.5-1.9", "1.9.1", 0);
    IN_RANGE("1.5-1.9", "1.9.0.1", 0);
    IN_RANGE("1.5-1.9", "1.4.999999999", 0);
    IN_RANGE("1.5.0-1.9.*", "1.9.999999999.999999999", 1);
    IN_RANGE("1.5.0-1.9.*", "1.10", 0);
    IN_RANGE("1.7.*", "1.7", 1);
    IN_RANGE("1.7.*", "1.7.999999999.999999999", 1);
    IN_RANGE("1.7.*", "1.8", 0);
    IN_RANGE("1.7.*", "1.6.999999999.999999999", 0);
    IN_RANGE("1.7.3", "1.7.3.0", 1);
    IN_RANGE("1.7.3", "1.7.3.1", 0);
    IN_RANGE("*", "0", 1);
    IN_RANGE("*", "999999999.999999999.999999999.999999999", 1);
}


/* percentages */

static void
unit_pct_ok(const char *file, int line, const char *s, uint32_t want)
{
    u_char      *p;
    size_t       len;
    uint32_t     pct;
    const char  *err;

    len = strlen(s);
    p = unit_dup(s, len);
    pct = 0xdeadbeef;

    err = ngx_http_staged_update_pct_parse(p, len, &pct);
    free(p);

    unit_check(err == NULL && pct == want, file, line,
               "pct \"%s\": %s, got %u, want %u", s, err ? err : "parsed",
               pct, want);
}


static void
unit_pct_bad(const char *file, int line, const char *s)
{
    u_char      *p;
    size_t       len;
    uint32_t     pct;
    const char  *err;

    len = strlen(s);
    p = unit_dup(s, len);
    pct = 0xdeadbeef;

    err = ngx_http_staged_update_pct_parse(p, len, &pct);
    free(p);

    unit_check(err != NULL && err[0] != '\0', file, line,
               "pct \"%s\" must be rejected, got %u", s, pct);
}


static void
unit_pct_print(const char *file, int line, uint32_t pct, const char *want)
{
    u_char  buf[NGX_HTTP_STAGED_UPDATE_PCT_LEN + 8];
    size_t  n;

    memset(buf, 0x5a, sizeof(buf));
    n = ngx_http_staged_update_pct_print(buf, pct);

    unit_check(n == strlen(want) && memcmp(buf, want, n) == 0
               && n <= NGX_HTTP_STAGED_UPDATE_PCT_LEN, file, line,
               "pct_print(%u) = \"%s\", want \"%s\"", pct,
               unit_esc(buf, n < sizeof(buf) ? n : sizeof(buf)), want);
}


static void
unit_percentages(void)
{
    u_char       buf[16];
    size_t       n;
    uint32_t     i, pct, bad, first;
    const char  *err;

    printf("percentages\n");

    PCT_OK("0%", 0);
    PCT_OK("100%", 10000);
    PCT_OK("50%", 5000);
    PCT_OK("0.5%", 50);
    PCT_OK("0.50%", 50);
    PCT_OK("12.34%", 1234);
    PCT_OK("12.3%", 1230);
    PCT_OK("0.01%", 1);
    PCT_OK("99.99%", 9999);
    PCT_OK("100.0%", 10000);
    PCT_OK("100.00%", 10000);
    PCT_OK("1%", 100);
    PCT_OK("007%", 700);
    PCT_OK("0.00%", 0);

    PCT_BAD("101%");
    PCT_BAD("100.01%");
    PCT_BAD("100.1%");
    PCT_BAD("999%");
    PCT_BAD("1000%");
    PCT_BAD("0100%");
    PCT_BAD("0.001%");
    PCT_BAD("12.345%");
    PCT_BAD("50");
    PCT_BAD("0.5");
    PCT_BAD("%");
    PCT_BAD("");
    PCT_BAD("5.%");
    PCT_BAD(".5%");
    PCT_BAD("-1%");
    PCT_BAD("+1%");
    PCT_BAD("1e2%");
    PCT_BAD("50 %");
    PCT_BAD(" 50%");
    PCT_BAD("50%%");
    PCT_BAD("5,5%");
    PCT_BAD("1.2.3%");
    PCT_BAD("0x10%");

    PCT_PRINT(0, "0.00");
    PCT_PRINT(1, "0.01");
    PCT_PRINT(50, "0.50");
    PCT_PRINT(999, "9.99");
    PCT_PRINT(1000, "10.00");
    PCT_PRINT(1234, "12.34");
    PCT_PRINT(5000, "50.00");
    PCT_PRINT(9999, "99.99");
    PCT_PRINT(10000, "100.00");

    /* every value prints and, with "%", parses back to itself */

    bad = 0;
    first = 0;

    for (i = 0; i <= NGX_HTTP_STAGED_UPDATE_PCT_MAX; i++) {
        n = ngx_http_staged_update_pct_print(buf, i);
        buf[n++] = '%';

        pct = 0xdeadbeef;
        err = ngx_http_staged_update_pct_parse(buf, n, &pct);

        if (err || pct != i) {
            if (bad++ == 0) {
                first = i;
            }
        }
    }

    CHECK_MSG(bad == 0, "pct_print/pct_parse round trip fails for %u "
              "values, the first %u", bad, first);
}


static void
unit_safe(void)
{
    char  id[80];

    printf("ids\n");

#define SAFE(s, max)                                                          \
    ngx_http_staged_update_safe((const u_char *) (s), strlen(s), max)

    CHECK(SAFE("shard-1", 64));
    CHECK(SAFE("a.b_c:d-E9", 64));
    CHECK(SAFE("0", 64));
    CHECK(!SAFE("", 64));
    CHECK(!SAFE("a b", 64));
    CHECK(!SAFE("a/b", 64));
    CHECK(!SAFE("../etc", 64));
    CHECK(!SAFE("a%2f", 64));
    CHECK(!SAFE("a\"b", 64));
    CHECK(!SAFE("\xc3\xa9", 64));
    CHECK(!SAFE("a\nb", 64));
    CHECK(!ngx_http_staged_update_safe((const u_char *) "a\0b", 3, 64));

    memset(id, 'x', 65);
    id[64] = '\0';
    CHECK(SAFE(id, NGX_HTTP_STAGED_UPDATE_ID_MAXLEN));
    id[64] = 'x';
    id[65] = '\0';
    CHECK(!SAFE(id, NGX_HTTP_STAGED_UPDATE_ID_MAXLEN));

#undef SAFE
}


/* rules */

static void
unit_rule(const char *file, int line, unit_rule_spec_t *r, const char *s,
    uint32_t pct, uintptr_t data)
{
    const char  *err;

    memset(r, 0, sizeof(unit_rule_spec_t));

    err = unit_range_parse(s, &r->range);
    if (err) {
        unit_fail(file, line, "rule \"%s\" does not parse: %s", s, err);
    }

    r->pct = pct;
    r->text = (const u_char *) s;
    r->text_len = strlen(s);
    r->data = data;
}


static void
unit_rules_sort(void)
{
    ssize_t           n;
    unit_ver_t        v, w;
    unit_rule_spec_t  r[8], a, b;

    printf("rules_sort\n");

    /* nothing or one rule: as they are */

    CHECK_INT(ngx_http_staged_update_rules_sort(r, 0, &a, &b), 0);

    RULE_SPEC(&r[0], "1.7.*", 6000, 1);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 1, &a, &b), 1);

    /* sorted by their start, whatever the order of the configuration */

    RULE_SPEC(&r[0], "1.8.*", 100, 10);
    RULE_SPEC(&r[1], "1.2.*", 200, 11);
    RULE_SPEC(&r[2], "1.5.0-1.5.9", 300, 12);
    RULE_SPEC(&r[3], "1.10", 400, 13);

    n = ngx_http_staged_update_rules_sort(r, 4, &a, &b);
    CHECK_INT(n, 4);
    CHECK(r[0].data == 11 && r[1].data == 12 && r[2].data == 10
          && r[3].data == 13);
    CHECK(r[0].pct == 200 && r[3].pct == 400);
    CHECK_MEM(r[1].text, r[1].text_len, "1.5.0-1.5.9");

    /* adjacent but not overlapping: 1.5.9 ends before 1.6.0 starts */

    RULE_SPEC(&r[0], "1.6.*", 5000, 2);
    RULE_SPEC(&r[1], "1.5.0-1.5.9", 1000, 1);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), 2);
    CHECK(r[0].data == 1 && r[1].data == 2);

    RULE_SPEC(&r[0], "1.5-1.5.9", 1000, 1);
    RULE_SPEC(&r[1], "1.5.9.1-1.6", 2000, 2);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), 2);

    RULE_SPEC(&r[0], "1.5-1.9", 1000, 1);
    RULE_SPEC(&r[1], "1.9.0.1-2.0", 2000, 2);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), 2);

    /*
     * overlapping with equal percentages: each keeps its own text, the
     * later one starts right after the earlier one ends
     */

    RULE_SPEC(&r[0], "1.6.0-1.9.*", 5000, 2);
    RULE_SPEC(&r[1], "1.5.0-1.7.*", 5000, 1);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), 2);
    CHECK(r[0].pct == 5000 && r[0].data == 1 && r[1].data == 2);
    CHECK_MEM(r[0].text, r[0].text_len, "1.5.0-1.7.*");
    CHECK_MEM(r[1].text, r[1].text_len, "1.6.0-1.9.*");
    v = V("1.8");
    CHECK(ngx_http_staged_update_version_cmp(&r[1].range.lo, &v) == 0);
    CHECK(r[1].range.hi.part[0] == 1 && r[1].range.hi.part[1] == 9
          && r[1].range.hi.part[2] == ANY && r[1].range.hi.part[3] == ANY);

    /* one inside the other: the outer end stays */

    RULE_SPEC(&r[0], "1.0-2.0", 3000, 1);
    RULE_SPEC(&r[1], "1.5-1.6", 3000, 2);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), 1);
    v = V("2.0");
    CHECK(ngx_http_staged_update_version_cmp(&r[0].range.hi, &v) == 0);

    /* a chain of equal overlaps, a touching end, then a separate rule */

    RULE_SPEC(&r[0], "1.3-1.4", 700, 3);
    RULE_SPEC(&r[1], "1.0-1.2", 700, 1);
    RULE_SPEC(&r[2], "1.2-1.3", 700, 2);
    RULE_SPEC(&r[3], "3.*", 800, 4);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 4, &a, &b), 4);
    v = V("1.2.0.1");
    w = V("1.3");
    CHECK(ngx_http_staged_update_version_cmp(&r[1].range.lo, &v) == 0
          && ngx_http_staged_update_version_cmp(&r[1].range.hi, &w) == 0);
    v = V("1.3.0.1");
    w = V("1.4");
    CHECK(ngx_http_staged_update_version_cmp(&r[2].range.lo, &v) == 0
          && ngx_http_staged_update_version_cmp(&r[2].range.hi, &w) == 0);
    CHECK(r[3].data == 4 && r[3].pct == 800);

    /* the same range twice with the same percentage */

    RULE_SPEC(&r[0], "1.7.*", 6000, 1);
    RULE_SPEC(&r[1], "1.7.*", 6000, 2);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), 1);

    /* different percentages: the two rules, earlier start first */

    RULE_SPEC(&r[0], "1.7.*", 6000, 20);
    RULE_SPEC(&r[1], "1.5.0-1.9.*", 5000, 10);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), -1);
    CHECK(a.data == 10 && a.pct == 5000 && b.data == 20 && b.pct == 6000);
    CHECK_MEM(a.text, a.text_len, "1.5.0-1.9.*");
    CHECK_MEM(b.text, b.text_len, "1.7.*");

    /* equal starts: the configuration's order */

    RULE_SPEC(&r[0], "1.7.0-1.7.5", 2000, 8);
    RULE_SPEC(&r[1], "1.7.*", 1000, 7);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), -1);
    CHECK(a.data == 7 && b.data == 8);

    /* ends are inclusive: sharing one version is an overlap */

    RULE_SPEC(&r[0], "1.5.0-1.5.9", 1000, 1);
    RULE_SPEC(&r[1], "1.5.9-1.6", 2000, 2);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), -1);
    CHECK(a.data == 1 && b.data == 2);

    RULE_SPEC(&r[0], "*", 1000, 1);
    RULE_SPEC(&r[1], "9.9.9", 2000, 2);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 2, &a, &b), -1);
    CHECK(a.data == 1 && b.data == 2);

    /* an overlap with a long earlier rule that a later merge hid */

    RULE_SPEC(&r[0], "1.0-3.0", 1000, 1);
    RULE_SPEC(&r[1], "1.5-1.6", 1000, 2);
    RULE_SPEC(&r[2], "2.0-2.1", 2000, 3);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 3, &a, &b), -1);
    CHECK(a.data == 1 && b.data == 3);

    /* an overlap after an equal one: the rule that really overlaps */

    RULE_SPEC(&r[0], "1.0-1.5", 1000, 1);
    RULE_SPEC(&r[1], "1.4-1.6", 1000, 2);
    RULE_SPEC(&r[2], "1.6-1.7", 2000, 3);
    RULE_SPEC(&r[3], "5.*", 3000, 4);
    CHECK_INT(ngx_http_staged_update_rules_sort(r, 4, &a, &b), -1);
    CHECK(a.data == 2 && b.data == 3);
}


/* tables and the decision */

static void
unit_scope(unit_scope_spec_t *s, const char *name, unit_ver_t latest,
    unit_ver_t minimum, uint32_t pct, uint32_t release,
    unit_rule_spec_t *rules, size_t nrules)
{
    memset(s, 0, sizeof(unit_scope_spec_t));

    s->name = (const u_char *) name;
    s->name_len = strlen(name);
    s->latest = latest;
    s->minimum = minimum;
    s->pct = pct;
    s->release = release;
    s->rules = rules;
    s->nrules = nrules;
}


/* into exactly table_size() bytes, so that ASan sees any overflow */

static unit_table_t *
unit_build(const unit_scope_spec_t *track, const unit_scope_spec_t *servers,
    size_t n, size_t *dup, const char **err)
{
    size_t        size;
    unit_table_t  *t;

    size = ngx_http_staged_update_table_size(track, servers, n);

    t = malloc(size);
    if (t == NULL) {
        printf("out of memory: %zu bytes\n", size);
        exit(2);
    }

    memset(t, 0xa5, size);

    *err = ngx_http_staged_update_table_build(t, track, servers, n, dup);

    return t;
}


static const unit_scope_t *
unit_server(const unit_table_t *t, const char *id)
{
    u_char              *p;
    size_t               len;
    const unit_scope_t  *s;

    len = strlen(id);
    p = unit_dup(id, len);
    s = ngx_http_staged_update_table_server(t, p, len);
    free(p);

    return s;
}


static const char *
unit_scope_name(const unit_table_t *t, const unit_scope_t *s)
{
    if (s == NULL) {
        return "(none)";
    }

    return unit_esc(ngx_http_staged_update_str(t, s->name), s->name_len);
}


static void
unit_decide(const char *file, int line, const unit_table_t *t,
    const unit_scope_t *server, const char *vs, uint32_t reason,
    uint32_t pct, const unit_scope_t *scope, const char *rule)
{
    int                 ok;
    unit_ver_t          v;
    const char         *got;
    const unit_rule_t  *rules;
    unit_decision_t     d;

    v = unit_v(vs, file, line);

    memset(&d, 0x5a, sizeof(d));
    ngx_http_staged_update_decide(t, server, &v, &d);

    /* the explained walk decides the same, with steps that show why */

    unit_steps(file, line, t, server, &v, &d);

    ok = d.reason == reason && d.pct == pct && d.scope == scope;

    if (rule == NULL) {
        ok = ok && d.rule == NULL;
        got = d.rule ? "a rule" : "no rule";

    } else {
        rules = (const unit_rule_t *) ngx_http_staged_update_str(t,
                                                                 scope->rules);

        ok = ok && d.rule != NULL
             && d.rule >= rules && d.rule < rules + scope->nrules
             && d.rule->text_len == strlen(rule)
             && memcmp(ngx_http_staged_update_str(t, d.rule->text), rule,
                       d.rule->text_len) == 0
             && d.rule->pct == d.pct;

        got = "no rule";

        if (d.rule != NULL && d.reason == RULE) {
            got = unit_esc(ngx_http_staged_update_str(t, d.rule->text),
                           d.rule->text_len);
        }
    }

    unit_check(ok, file, line,
               "decide(%s, %s): got %s %u by \"%s\" (%s), "
               "want %s %u by \"%s\" (%s)",
               server ? unit_scope_name(t, server) : "no server", vs,
               d.reason < 4 ? unit_reasons[d.reason] : "?", d.pct,
               d.scope == &t->track ? "track"
                                    : (d.scope == server
                                       ? unit_scope_name(t, server) : "?"),
               got, unit_reasons[reason], pct,
               scope == &t->track ? "track" : unit_scope_name(t, scope),
               rule ? rule : "no rule");
}


/*
 * decide_steps() against decide(): the same decision, and the steps of
 * SYSTEM.md's order: the track's latest, the server's latest (with a
 * server), the minimum of the table that applies, its rules, its default;
 * each bound compared as version_cmp() does; the last step decided.
 */

static void
unit_steps(const char *file, int line, const unit_table_t *t,
    const unit_scope_t *server, const unit_ver_t *v, const unit_decision_t *d)
{
    int                                  ok;
    uint32_t                             i, n;
    uint32_t                             want[NGX_HTTP_STAGED_UPDATE_STEPS_MAX];
    unit_steps_t                         steps;
    unit_decision_t                      e;
    const unit_scope_t                  *scope;
    const ngx_http_staged_update_step_t *s;

    memset(&e, 0xa5, sizeof(e));
    memset(&steps, 0x5a, sizeof(steps));

    ngx_http_staged_update_decide_steps(t, server, v, &e, &steps);

    unit_check(e.scope == d->scope && e.rule == d->rule && e.pct == d->pct
               && e.reason == d->reason, file, line,
               "decide_steps() and decide() differ: %s %u and %s %u",
               e.reason < 4 ? unit_reasons[e.reason] : "?", e.pct,
               d->reason < 4 ? unit_reasons[d->reason] : "?", d->pct);

    /* the steps that must have been taken, up to the one that decided */

    n = 0;
    want[n++] = NGX_HTTP_STAGED_UPDATE_STEP_LATEST;

    if (!(d->reason == LATEST && d->scope == &t->track)) {

        if (server) {
            want[n++] = NGX_HTTP_STAGED_UPDATE_STEP_SERVER;
        }

        if (d->reason != LATEST) {
            want[n++] = NGX_HTTP_STAGED_UPDATE_STEP_MINIMUM;
        }

        if (d->reason == RULE || d->reason == DEFAULT) {
            want[n++] = NGX_HTTP_STAGED_UPDATE_STEP_RULE;
        }

        if (d->reason == DEFAULT) {
            want[n++] = NGX_HTTP_STAGED_UPDATE_STEP_DEFAULT;
        }
    }

    ok = (steps.n == n);

    for (i = 0; ok && i < n; i++) {
        s = &steps.step[i];
        scope = (i == 0) ? &t->track : d->scope;

        ok = s->what == want[i] && s->scope == scope;

        switch (s->what) {

        case NGX_HTTP_STAGED_UPDATE_STEP_LATEST:
        case NGX_HTTP_STAGED_UPDATE_STEP_SERVER:
            ok = ok && s->bound == &scope->latest && s->rule == NULL
                 && s->cmp == ngx_http_staged_update_version_cmp(v,
                                                                 s->bound)
                 && (s->cmp >= 0) == (i == n - 1);
            break;

        case NGX_HTTP_STAGED_UPDATE_STEP_MINIMUM:
            ok = ok && s->bound == &scope->minimum && s->rule == NULL
                 && s->cmp == ngx_http_staged_update_version_cmp(v,
                                                                 s->bound)
                 && (s->cmp < 0) == (i == n - 1);
            break;

        case NGX_HTTP_STAGED_UPDATE_STEP_RULE:
            ok = ok && s->bound == NULL && s->rule == d->rule;
            break;

        default:
            ok = ok && s->bound == NULL && s->rule == NULL;
            break;
        }
    }

    unit_check(ok, file, line, "decide_steps(): %u steps, want %u; "
               "first wrong step %u", steps.n, n, i ? i - 1 : 0);
}


static void
unit_table_demo(void)
{
    size_t               size, dup;
    u_char              *copy;
    const char          *err;
    unit_table_t        *t, *c;
    unit_rule_spec_t     track_rules[1], s1_rules[1], s3_rules[2];
    unit_scope_spec_t    track, servers[4];
    const unit_scope_t  *s1, *s2, *s3, *s10, *tr;

    printf("tables: the demo\n");

    RULE_SPEC(&track_rules[0], "1.5.0-1.9.*", 5000, 1);
    RULE_SPEC(&s1_rules[0], "1.7.*", 6000, 2);
    RULE_SPEC(&s3_rules[0], "1.1-1.2", 0, 3);
    RULE_SPEC(&s3_rules[1], "1.6.*", 10000, 4);

    unit_scope(&track, "stable", V("2.0.0"), V("1.0.0"), 1000, 0,
               track_rules, 1);
    unit_scope(&servers[0], "shard-1", V("1.9.0"), V("1.5.0"), 2000, 1,
               s1_rules, 1);
    unit_scope(&servers[1], "shard-2", V("2.0.0"), V("1.0.0"), 0, 2, NULL, 0);
    unit_scope(&servers[2], "shard-10", V("1.5"), V("0.1"), 300, 3, NULL, 0);
    unit_scope(&servers[3], "shard-3", V("1.8"), V("1.0"), 2500, 4,
               s3_rules, 2);

    dup = 12345;
    t = unit_build(&track, servers, 4, &dup, &err);
    size = ngx_http_staged_update_table_size(&track, servers, 4);

    CHECK(err == NULL);
    CHECK_INT(dup, 12345);
    CHECK_INT(t->size, size);
    CHECK_INT(size % 4, 0);
    CHECK_INT(t->nservers, 4);

    /* the track's own table */

    tr = &t->track;
    CHECK_MEM(ngx_http_staged_update_str(t, tr->name), tr->name_len,
              "stable");
    CHECK_INT(tr->nrules, 1);
    CHECK_INT(tr->pct, 1000);

    /* server lookup: hits, and near misses */

    s1 = unit_server(t, "shard-1");
    s2 = unit_server(t, "shard-2");
    s3 = unit_server(t, "shard-3");
    s10 = unit_server(t, "shard-10");

    CHECK(s1 != NULL && s2 != NULL && s3 != NULL && s10 != NULL);
    CHECK(s1 != s2 && s1 != s10 && s2 != s10 && s3 != s1);

    if (s1 == NULL || s2 == NULL || s3 == NULL || s10 == NULL) {
        free(t);
        return;
    }

    CHECK_MEM(ngx_http_staged_update_str(t, s1->name), s1->name_len,
              "shard-1");
    CHECK_MEM(ngx_http_staged_update_str(t, s10->name), s10->name_len,
              "shard-10");
    CHECK_INT(s1->release, 1);
    CHECK_INT(s10->release, 3);
    CHECK_INT(s1->pct, 2000);
    CHECK_INT(s1->nrules, 1);
    CHECK_INT(s2->nrules, 0);

    CHECK(unit_server(t, "shard-") == NULL);
    CHECK(unit_server(t, "shard") == NULL);
    CHECK(unit_server(t, "shard-11") == NULL);
    CHECK(unit_server(t, "shard-100") == NULL);
    CHECK(unit_server(t, "shard-1 ") == NULL);
    CHECK(unit_server(t, "shard-1x") == NULL);
    CHECK(unit_server(t, "Shard-1") == NULL);
    CHECK(unit_server(t, "shard_1") == NULL);
    CHECK(unit_server(t, "hard-1") == NULL);
    CHECK(unit_server(t, "stable") == NULL);
    CHECK(unit_server(t, "") == NULL);

    /* the ID is len bytes: the first 7 bytes of "shard-10" are shard-1 */

    CHECK(ngx_http_staged_update_table_server(t, (const u_char *) "shard-10",
                                              7) == s1);

    /* without a server: the first probability table */

    DECIDE(t, NULL, "0.9.0", MINIMUM, 10000, tr, NULL);
    DECIDE(t, NULL, "0.999999999.999999999.999999999", MINIMUM, 10000, tr,
           NULL);
    DECIDE(t, NULL, "1.0.0", DEFAULT, 1000, tr, NULL);
    DECIDE(t, NULL, "1", DEFAULT, 1000, tr, NULL);
    DECIDE(t, NULL, "1.2.0", DEFAULT, 1000, tr, NULL);
    DECIDE(t, NULL, "1.4.999999999.999999999", DEFAULT, 1000, tr, NULL);
    DECIDE(t, NULL, "1.5.0", RULE, 5000, tr, "1.5.0-1.9.*");
    DECIDE(t, NULL, "1.7.3", RULE, 5000, tr, "1.5.0-1.9.*");
    DECIDE(t, NULL, "1.9.9", RULE, 5000, tr, "1.5.0-1.9.*");
    DECIDE(t, NULL, "1.9.999999999.999999999", RULE, 5000, tr,
           "1.5.0-1.9.*");
    DECIDE(t, NULL, "1.10", DEFAULT, 1000, tr, NULL);
    DECIDE(t, NULL, "1.999999999", DEFAULT, 1000, tr, NULL);
    DECIDE(t, NULL, "1.999999999.999999999.999999999", DEFAULT, 1000, tr,
           NULL);
    DECIDE(t, NULL, "2.0.0", LATEST, 0, tr, NULL);
    DECIDE(t, NULL, "2", LATEST, 0, tr, NULL);
    DECIDE(t, NULL, "2.0.0.1", LATEST, 0, tr, NULL);
    DECIDE(t, NULL, "2.1", LATEST, 0, tr, NULL);
    DECIDE(t, NULL, "999999999", LATEST, 0, tr, NULL);

    /* with shard-1: its bounds and its second table, not the track's */

    DECIDE(t, s1, "0.9", MINIMUM, 10000, s1, NULL);
    DECIDE(t, s1, "1.0.0", MINIMUM, 10000, s1, NULL);
    DECIDE(t, s1, "1.4.9", MINIMUM, 10000, s1, NULL);
    DECIDE(t, s1, "1.4.999999999.999999999", MINIMUM, 10000, s1, NULL);
    DECIDE(t, s1, "1.5.0", DEFAULT, 2000, s1, NULL);
    DECIDE(t, s1, "1.6.999999999", DEFAULT, 2000, s1, NULL);
    DECIDE(t, s1, "1.7", RULE, 6000, s1, "1.7.*");
    DECIDE(t, s1, "1.7.3", RULE, 6000, s1, "1.7.*");
    DECIDE(t, s1, "1.7.999999999.999999999", RULE, 6000, s1, "1.7.*");
    DECIDE(t, s1, "1.8.0", DEFAULT, 2000, s1, NULL);
    DECIDE(t, s1, "1.8.999999999.999999999", DEFAULT, 2000, s1, NULL);
    DECIDE(t, s1, "1.9.0", LATEST, 0, s1, NULL);
    DECIDE(t, s1, "1.9", LATEST, 0, s1, NULL);
    DECIDE(t, s1, "1.9.5", LATEST, 0, s1, NULL);
    DECIDE(t, s1, "1.999999999", LATEST, 0, s1, NULL);
    DECIDE(t, s1, "2.0.0", LATEST, 0, tr, NULL);
    DECIDE(t, s1, "2.1", LATEST, 0, tr, NULL);

    /* shard-2: the track's bounds but no rules, so its 0% default */

    DECIDE(t, s2, "0.9", MINIMUM, 10000, s2, NULL);
    DECIDE(t, s2, "1.7.3", DEFAULT, 0, s2, NULL);
    DECIDE(t, s2, "1.999", DEFAULT, 0, s2, NULL);
    DECIDE(t, s2, "2.0", LATEST, 0, tr, NULL);

    /* shard-3: a 0% and a 100% rule decide as RULE, not as a bound */

    DECIDE(t, s3, "0.999", MINIMUM, 10000, s3, NULL);
    DECIDE(t, s3, "1.0", DEFAULT, 2500, s3, NULL);
    DECIDE(t, s3, "1.1", RULE, 0, s3, "1.1-1.2");
    DECIDE(t, s3, "1.2", RULE, 0, s3, "1.1-1.2");
    DECIDE(t, s3, "1.2.0.1", DEFAULT, 2500, s3, NULL);
    DECIDE(t, s3, "1.6.1", RULE, 10000, s3, "1.6.*");
    DECIDE(t, s3, "1.7", DEFAULT, 2500, s3, NULL);
    DECIDE(t, s3, "1.8", LATEST, 0, s3, NULL);

    /* shard-10: minimum below the track's: the server's bound applies */

    DECIDE(t, s10, "0.0.1", MINIMUM, 10000, s10, NULL);
    DECIDE(t, s10, "0.1", DEFAULT, 300, s10, NULL);
    DECIDE(t, s10, "0.9", DEFAULT, 300, s10, NULL);
    DECIDE(t, s10, "1.4.9", DEFAULT, 300, s10, NULL);
    DECIDE(t, s10, "1.5", LATEST, 0, s10, NULL);

    /*
     * Relocatable: a copy at another address (as in the shared zone)
     * answers the same once the original is gone.
     */

    copy = malloc(t->size);
    if (copy == NULL) {
        printf("out of memory\n");
        exit(2);
    }

    memcpy(copy, t, t->size);
    memset(t, 0xa5, size);
    free(t);

    c = (unit_table_t *) copy;
    s1 = unit_server(c, "shard-1");
    s10 = unit_server(c, "shard-10");

    CHECK(s1 != NULL && s10 != NULL && unit_server(c, "shard-4") == NULL);

    if (s1 != NULL && s10 != NULL) {
        CHECK((const u_char *) s1 > copy
              && (const u_char *) s1 < copy + c->size);
        DECIDE(c, NULL, "1.7.3", RULE, 5000, &c->track, "1.5.0-1.9.*");
        DECIDE(c, NULL, "0.9", MINIMUM, 10000, &c->track, NULL);
        DECIDE(c, s1, "1.7.3", RULE, 6000, s1, "1.7.*");
        DECIDE(c, s1, "1.9.5", LATEST, 0, s1, NULL);
        DECIDE(c, s10, "0.9", DEFAULT, 300, s10, NULL);
    }

    free(copy);

    /* no servers at all: every lookup misses, the track decides */

    t = unit_build(&track, NULL, 0, &dup, &err);
    CHECK(err == NULL);
    CHECK(unit_server(t, "shard-1") == NULL);
    CHECK(unit_server(t, "") == NULL);
    DECIDE(t, NULL, "1.8", RULE, 5000, &t->track, "1.5.0-1.9.*");
    free(t);

    /* a track without rules: its default */

    unit_scope(&track, "beta", V("3"), V("0"), 4200, 0, NULL, 0);
    t = unit_build(&track, servers, 1, &dup, &err);
    CHECK(err == NULL);
    DECIDE(t, NULL, "1.7.3", DEFAULT, 4200, &t->track, NULL);
    DECIDE(t, NULL, "0", DEFAULT, 4200, &t->track, NULL);
    DECIDE(t, NULL, "3", LATEST, 0, &t->track, NULL);
    free(t);
}


/*
 * What staged_update_explain shows: the steps of the demo's paths, the
 * index of the rule that decided among all rules (where the caller keeps
 * its file and line), and versions printed normalized.
 */

static void
unit_explain(void)
{
    size_t               dup;
    u_char               buf[NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN];
    const char          *err;
    unit_ver_t           v;
    unit_table_t        *t;
    unit_steps_t         steps;
    unit_decision_t      d;
    unit_rule_spec_t     track_rules[2], s1_rules[1], s2_rules[1];
    unit_scope_spec_t    track, servers[2];
    const unit_scope_t  *s1;

    printf("explain\n");

    /* the rules in the order of the specs: 0, 1 the track's, 2 shard-1's */

    RULE_SPEC(&track_rules[0], "1.2.*", 2500, 10);
    RULE_SPEC(&track_rules[1], "1.5.0-1.9.*", 5000, 11);
    RULE_SPEC(&s1_rules[0], "1.7.*", 6000, 12);
    RULE_SPEC(&s2_rules[0], "1.3.*", 0, 13);

    unit_scope(&track, "game", V("2.0.0"), V("1.0.0"), 1000, 0,
               track_rules, 2);
    unit_scope(&servers[0], "shard-1", V("1.9.0"), V("1.5.0"), 2000, 1,
               s1_rules, 1);
    unit_scope(&servers[1], "shard-2", V("1.8.0"), V("1.0.0"), 0, 2,
               s2_rules, 1);

    t = unit_build(&track, servers, 2, &dup, &err);
    s1 = unit_server(t, "shard-1");

    CHECK(err == NULL && s1 != NULL);

    if (err != NULL || s1 == NULL) {
        free(t);
        return;
    }

    /* a server's rule: four steps, the rule is the third of the block */

    v = V("1.7.3");
    ngx_http_staged_update_decide_steps(t, s1, &v, &d, &steps);

    CHECK_INT(steps.n, 4);
    CHECK_INT(steps.step[0].what, NGX_HTTP_STAGED_UPDATE_STEP_LATEST);
    CHECK_INT(steps.step[0].cmp, -1);
    CHECK(steps.step[0].scope == &t->track);
    CHECK_INT(steps.step[1].what, NGX_HTTP_STAGED_UPDATE_STEP_SERVER);
    CHECK_INT(steps.step[1].cmp, -1);
    CHECK(steps.step[1].scope == s1);
    CHECK_INT(steps.step[2].what, NGX_HTTP_STAGED_UPDATE_STEP_MINIMUM);
    CHECK_INT(steps.step[2].cmp, 1);
    CHECK_INT(steps.step[3].what, NGX_HTTP_STAGED_UPDATE_STEP_RULE);
    CHECK(steps.step[3].rule == d.rule && d.rule != NULL);
    CHECK_INT(d.reason, RULE);
    CHECK_INT(d.pct, 6000);

    if (d.rule) {
        CHECK_INT(ngx_http_staged_update_rule_index(t, d.rule), 2);
    }

    /* the track's rules: the first and the second of the block */

    v = V("1.2.9");
    ngx_http_staged_update_decide_steps(t, NULL, &v, &d, &steps);

    CHECK_INT(steps.n, 3);
    CHECK(d.rule != NULL && steps.step[2].rule == d.rule);

    if (d.rule) {
        CHECK_INT(ngx_http_staged_update_rule_index(t, d.rule), 0);
    }

    v = V("1.6");
    ngx_http_staged_update_decide_steps(t, NULL, &v, &d, &steps);

    if (d.rule) {
        CHECK_INT(ngx_http_staged_update_rule_index(t, d.rule), 1);
    }

    /* shard-2's 0% rule: the fourth */

    v = V("1.3.1");
    ngx_http_staged_update_decide_steps(t, unit_server(t, "shard-2"), &v,
                                        &d, &steps);

    CHECK(d.rule != NULL && d.pct == 0 && d.reason == RULE);

    if (d.rule) {
        CHECK_INT(ngx_http_staged_update_rule_index(t, d.rule), 3);
    }

    /* the default: the rule lookup found nothing, then the default */

    v = V("1.4");
    ngx_http_staged_update_decide_steps(t, NULL, &v, &d, &steps);

    CHECK_INT(steps.n, 4);
    CHECK(steps.step[2].what == NGX_HTTP_STAGED_UPDATE_STEP_RULE
          && steps.step[2].rule == NULL);
    CHECK_INT(steps.step[3].what, NGX_HTTP_STAGED_UPDATE_STEP_DEFAULT);

    /* at the latest: one step, equal */

    v = V("2");
    ngx_http_staged_update_decide_steps(t, s1, &v, &d, &steps);

    CHECK_INT(steps.n, 1);
    CHECK_INT(steps.step[0].cmp, 0);
    CHECK_INT(d.reason, LATEST);

    /* versions, normalized */

#define VERSION_PRINT(s, want)                                                \
    v = V(s);                                                                 \
    CHECK_MEM(buf, ngx_http_staged_update_version_print(buf, &v), want)

    VERSION_PRINT("1", "1.0.0");
    VERSION_PRINT("1.6", "1.6.0");
    VERSION_PRINT("01.006.0", "1.6.0");
    VERSION_PRINT("1.2.3.0", "1.2.3");
    VERSION_PRINT("1.2.3.4", "1.2.3.4");
    VERSION_PRINT("0.0.0.1", "0.0.0.1");
    VERSION_PRINT("0", "0.0.0");
    VERSION_PRINT("10.20.30", "10.20.30");
    VERSION_PRINT("999999999.999999999.999999999.999999999",
                  "999999999.999999999.999999999.999999999");

#undef VERSION_PRINT

    v = unit_ver(1, 7, ANY, ANY);
    CHECK_MEM(buf, ngx_http_staged_update_version_print(buf, &v), "1.7.*");

    free(t);
}


static void
unit_table_duplicates(void)
{
    size_t             dup;
    const char        *err;
    unit_table_t      *t;
    unit_scope_spec_t  track, servers[5];

    printf("tables: duplicate IDs\n");

    unit_scope(&track, "stable", V("2"), V("1"), 0, 0, NULL, 0);
    unit_scope(&servers[0], "a", V("2"), V("1"), 0, 0, NULL, 0);
    unit_scope(&servers[1], "b", V("2"), V("1"), 0, 1, NULL, 0);
    unit_scope(&servers[2], "c", V("2"), V("1"), 0, 2, NULL, 0);
    unit_scope(&servers[3], "b", V("2"), V("1"), 0, 3, NULL, 0);
    unit_scope(&servers[4], "a", V("2"), V("1"), 0, 4, NULL, 0);

    /* the index of the second of the two */

    dup = 999;
    t = unit_build(&track, servers, 5, &dup, &err);
    CHECK(err != NULL && err[0] != '\0');
    CHECK_INT(dup, 3);
    free(t);

    dup = 999;
    t = unit_build(&track, servers, 2, &dup, &err);
    CHECK(err == NULL);
    CHECK_INT(dup, 999);
    free(t);

    unit_scope(&servers[1], "a", V("2"), V("1"), 0, 1, NULL, 0);
    t = unit_build(&track, servers, 2, &dup, &err);
    CHECK(err != NULL);
    CHECK_INT(dup, 1);
    free(t);

    /* IDs differ by case or length: not duplicates */

    unit_scope(&servers[0], "Shard-1", V("2"), V("1"), 0, 0, NULL, 0);
    unit_scope(&servers[1], "shard-1", V("2"), V("1"), 0, 1, NULL, 0);
    unit_scope(&servers[2], "shard-10", V("2"), V("1"), 0, 2, NULL, 0);
    unit_scope(&servers[3], "shard-", V("2"), V("1"), 0, 3, NULL, 0);

    dup = 999;
    t = unit_build(&track, servers, 4, &dup, &err);
    CHECK(err == NULL);
    CHECK_INT(dup, 999);
    CHECK(unit_server(t, "Shard-1") != unit_server(t, "shard-1"));
    CHECK(unit_server(t, "shard-") != NULL);
    free(t);
}


/*
 * The large table: 10,000 servers; the track and the servers have 1,000
 * rules each (but a few with 0, 1 and 2), from UNIT_BIG_SETS + 1 sets
 * with distinct percentages.  Rule j covers "1.<2j>.0-1.<2j>.5" when j is
 * even, "1.<2j>.*" when j is odd; the versions 1.<2j+1>.* lie between.
 */

static void
unit_big_rules(unit_rule_spec_t *set, size_t k)
{
    size_t       j, p;
    const char  *err;
    static char  text[UNIT_BIG_RULES][32];

    for (j = 0; j < UNIT_BIG_RULES; j++) {

        if (text[j][0] == '\0') {
            if (j % 2 == 0) {
                sprintf(text[j], "1.%zu.0-1.%zu.5", 2 * j, 2 * j);

            } else {
                sprintf(text[j], "1.%zu.*", 2 * j);
            }
        }

        /* 7919 is prime: a permutation, so the input is out of order */

        p = j * 7919 % UNIT_BIG_RULES;

        err = unit_range_parse(text[j], &set[p].range);
        if (err) {
            unit_fail(__FILE__, __LINE__, "rule \"%s\": %s", text[j], err);
        }

        set[p].pct = (uint32_t) (k * 2000 + j);
        set[p].text = (const u_char *) text[j];
        set[p].text_len = strlen(text[j]);
        set[p].data = j;
    }
}


static unit_ver_t
unit_big_lo(size_t j)
{
    return unit_ver(1, (uint32_t) (2 * j), 0, 0);
}


static unit_ver_t
unit_big_hi(size_t j)
{
    if (j % 2 == 0) {
        return unit_ver(1, (uint32_t) (2 * j), 5, 0);
    }

    return unit_ver(1, (uint32_t) (2 * j), MAX9, MAX9);
}


static unit_ver_t
unit_big_above(size_t j)
{
    if (j % 2 == 0) {
        return unit_ver(1, (uint32_t) (2 * j), 5, 1);
    }

    return unit_ver(1, (uint32_t) (2 * j + 1), 0, 0);
}


static unit_ver_t
unit_big_below(size_t j)
{
    if (j == 0) {
        return unit_ver(0, MAX9, MAX9, MAX9);
    }

    return unit_ver(1, (uint32_t) (2 * j - 1), MAX9, MAX9);
}


static size_t
unit_big_nrules(size_t i)
{
    switch (i % 1000) {
    case 997:
        return 0;
    case 998:
        return 1;
    case 999:
        return 2;
    default:
        return UNIT_BIG_RULES;
    }
}


/* rule j of set k decides v in s, or (j < 0) s's default does */

static int
unit_big_expect(const unit_table_t *t, const unit_scope_t *s, size_t k,
    unit_ver_t v, long j)
{
    const unit_rule_t  *rules;
    unit_decision_t     d;

    memset(&d, 0x5a, sizeof(d));
    ngx_http_staged_update_decide(t, s == &t->track ? NULL : s, &v, &d);

    if (d.scope != s) {
        return 0;
    }

    if (j < 0) {
        return d.reason == DEFAULT && d.pct == s->pct && d.rule == NULL;
    }

    rules = (const unit_rule_t *) ngx_http_staged_update_str(t, s->rules);

    return d.reason == RULE && d.rule == rules + j
           && d.pct == k * 2000 + (size_t) j && d.rule->pct == d.pct;
}


static void
unit_table_big(void)
{
    int                  ok;
    char               (*names)[8];
    long                 j;
    size_t               i, k, n, dup, bad, first, sorted;
    ssize_t              rc;
    const char          *err;
    unit_table_t        *t;
    unit_rule_spec_t    *sets, a, b;
    unit_scope_spec_t    track, *servers;
    const unit_scope_t  *s, *base;

    printf("tables: %d servers, %d rules per table\n", UNIT_BIG_SERVERS,
           UNIT_BIG_RULES);

    sets = calloc((UNIT_BIG_SETS + 1) * UNIT_BIG_RULES,
                  sizeof(unit_rule_spec_t));
    servers = calloc(UNIT_BIG_SERVERS, sizeof(unit_scope_spec_t));
    names = calloc(UNIT_BIG_SERVERS, sizeof(*names));

    if (sets == NULL || servers == NULL || names == NULL) {
        printf("out of memory\n");
        exit(2);
    }

    /* rules_sort puts 1,000 shuffled rules in order */

    sorted = 0;

    for (k = 0; k <= UNIT_BIG_SETS; k++) {
        unit_big_rules(sets + k * UNIT_BIG_RULES, k);

        rc = ngx_http_staged_update_rules_sort(sets + k * UNIT_BIG_RULES,
                                               UNIT_BIG_RULES, &a, &b);
        if (rc != UNIT_BIG_RULES) {
            continue;
        }

        for (j = 0; j < UNIT_BIG_RULES; j++) {
            if (sets[k * UNIT_BIG_RULES + j].data != (uintptr_t) j) {
                break;
            }
        }

        sorted += (j == UNIT_BIG_RULES);
    }

    CHECK_INT(sorted, UNIT_BIG_SETS + 1);

    /* "s1", "s10", "s100", "s1000": each a prefix of the next */

    for (i = 0; i < UNIT_BIG_SERVERS; i++) {
        sprintf(names[i], "s%zu", i);
        k = i % UNIT_BIG_SETS;
        unit_scope(&servers[i], names[i], V("5"), V("0"), (uint32_t) i,
                   (uint32_t) i, sets + k * UNIT_BIG_RULES,
                   unit_big_nrules(i));
    }

    unit_scope(&track, "stable", V("9"), V("0"), 10000,
               0, sets + UNIT_BIG_SETS * UNIT_BIG_RULES, UNIT_BIG_RULES);

    dup = 999;
    t = unit_build(&track, servers, UNIT_BIG_SERVERS, &dup, &err);
    CHECK(err == NULL && dup == 999);
    CHECK_INT(t->nservers, UNIT_BIG_SERVERS);

    /* every server is found, as itself */

    base = (const unit_scope_t *) ngx_http_staged_update_str(t, t->servers);
    bad = 0;
    first = 0;

    for (i = 0; i < UNIT_BIG_SERVERS; i++) {
        s = unit_server(t, names[i]);

        if (s != base + i || s->release != i
            || s->nrules != unit_big_nrules(i))
        {
            if (bad++ == 0) {
                first = i;
            }
        }
    }

    CHECK_MSG(bad == 0, "%zu of %d servers not found as themselves, "
              "the first \"%s\"", bad, UNIT_BIG_SERVERS, names[first]);

    CHECK(unit_server(t, "s10000") == NULL);
    CHECK(unit_server(t, "s01") == NULL);
    CHECK(unit_server(t, "s") == NULL);
    CHECK(unit_server(t, "S1") == NULL);
    CHECK(unit_server(t, "s-1") == NULL);
    CHECK(unit_server(t, "") == NULL);

    /* the track: every rule at its two edges and just outside them */

    bad = 0;
    first = 0;
    s = &t->track;

    for (i = 0; i < UNIT_BIG_RULES; i++) {
        ok = unit_big_expect(t, s, UNIT_BIG_SETS, unit_big_lo(i), (long) i)
             && unit_big_expect(t, s, UNIT_BIG_SETS, unit_big_hi(i), (long) i)
             && unit_big_expect(t, s, UNIT_BIG_SETS, unit_big_above(i), -1)
             && unit_big_expect(t, s, UNIT_BIG_SETS, unit_big_below(i), -1);

        if (!ok && bad++ == 0) {
            first = i;
        }
    }

    CHECK_MSG(bad == 0, "track: %zu of %d rules decide wrongly at their "
              "edges, the first rule %zu", bad, UNIT_BIG_RULES, first);

    CHECK(unit_big_expect(t, s, UNIT_BIG_SETS, unit_ver(1, 1, 0, 0), -1));
    CHECK(unit_big_expect(t, s, UNIT_BIG_SETS, unit_ver(2, 0, 0, 0), -1));
    CHECK(unit_big_expect(t, s, UNIT_BIG_SETS, unit_ver(8, MAX9, 0, 0), -1));

    /*
     * Every server: its first and last rule, one rule inside, and the
     * versions just outside them; below its latest, above its minimum.
     */

    bad = 0;
    first = 0;

    for (i = 0; i < UNIT_BIG_SERVERS; i++) {
        s = base + i;
        k = i % UNIT_BIG_SETS;
        n = unit_big_nrules(i);

        if (n == 0) {
            ok = unit_big_expect(t, s, k, unit_big_lo(0), -1)
                 && unit_big_expect(t, s, k, unit_big_lo(1), -1);

        } else {
            j = (long) (i * 37 % n);

            ok = unit_big_expect(t, s, k, unit_big_lo(0), 0)
                 && unit_big_expect(t, s, k, unit_big_below(0), -1)
                 && unit_big_expect(t, s, k, unit_big_hi(n - 1), n - 1)
                 && unit_big_expect(t, s, k, unit_big_above(n - 1), -1)
                 && unit_big_expect(t, s, k, unit_big_lo(j), j)
                 && unit_big_expect(t, s, k, unit_big_hi(j), j)
                 && unit_big_expect(t, s, k, unit_big_above(j), -1)
                 && unit_big_expect(t, s, k, unit_big_below(j), -1);
        }

        if (!ok && bad++ == 0) {
            first = i;
        }
    }

    CHECK_MSG(bad == 0, "%zu of %d servers decide wrongly, the first "
              "\"%s\"", bad, UNIT_BIG_SERVERS, names[first]);

    /* the bounds still come first: latest of the track, of the server */

    DECIDE(t, base + 4242, "9", LATEST, 0, &t->track, NULL);
    DECIDE(t, base + 4242, "5", LATEST, 0, base + 4242, NULL);
    DECIDE(t, base + 4242, "4.999999999", DEFAULT, 4242, base + 4242, NULL);
    DECIDE(t, base + 4242, "1.100", RULE, 2 * 2000 + 50, base + 4242,
           "1.100.0-1.100.5");

    free(t);

    /* a duplicate among 10,000: the index of the later one */

    for (i = 0; i < UNIT_BIG_SERVERS; i++) {
        servers[i].nrules = 0;
    }

    servers[7777].name = (const u_char *) names[1234];
    servers[7777].name_len = strlen(names[1234]);

    dup = 0;
    t = unit_build(&track, servers, UNIT_BIG_SERVERS, &dup, &err);
    CHECK(err != NULL);
    CHECK_INT(dup, 7777);
    free(t);

    free(names);
    free(servers);
    free(sets);
}


/* sticky buckets */

static void
unit_buckets(void)
{
    char           key[32], salted[64];
    size_t         i, len, changed, both, in_a, in_b, out, fine;
    uint32_t       ba, bb, min, max;
    uint64_t       a, b, a2, empty;
    unsigned long  decile[10], percentile[100];

    printf("buckets\n");

    a = ngx_http_staged_update_hash_init((const u_char *) "stable/2.0.0/",
                                         13);
    a2 = ngx_http_staged_update_hash_init((const u_char *) "stable/2.0.0/",
                                          13);
    b = ngx_http_staged_update_hash_init((const u_char *) "stable/2.1.0/",
                                         13);
    empty = ngx_http_staged_update_hash_init((const u_char *) "", 0);

    CHECK(a == a2);
    CHECK(a != b);

    /* same salt and key: same bucket; the salt is a prefix of the key */

    CHECK_INT(ngx_http_staged_update_bucket(a, (const u_char *) "c1", 2),
              ngx_http_staged_update_bucket(a2, (const u_char *) "c1", 2));
    CHECK_INT(ngx_http_staged_update_bucket(a, (const u_char *) "c1", 2),
              ngx_http_staged_update_bucket(empty,
                                        (const u_char *) "stable/2.0.0/c1",
                                        15));
    CHECK(ngx_http_staged_update_bucket(a, (const u_char *) "", 0) < 10000);

    memset(decile, 0, sizeof(decile));
    memset(percentile, 0, sizeof(percentile));

    min = 0xffffffff;
    max = 0;
    changed = 0;
    both = 0;
    in_a = 0;
    in_b = 0;
    out = 0;
    fine = 0;

    for (i = 0; i < UNIT_KEYS; i++) {
        len = (size_t) sprintf(key, "c%08zu", i);

        ba = ngx_http_staged_update_bucket(a, (u_char *) key, len);
        bb = ngx_http_staged_update_bucket(b, (u_char *) key, len);

        if (ba >= 10000 || bb >= 10000) {
            out++;
            continue;
        }

        if (ba != ngx_http_staged_update_bucket(a, (u_char *) key, len)) {
            out++;
        }

        min = ba < min ? ba : min;
        max = ba > max ? ba : max;

        decile[ba / 1000]++;
        percentile[ba / 100]++;

        /* a 0.5% rollout */

        fine += (ba < 50);

        /* a 10% rollout of two different targets */

        changed += (ba != bb);
        in_a += (ba < 1000);
        in_b += (bb < 1000);
        both += (ba < 1000 && bb < 1000);

        if (i < 1000) {
            len = (size_t) sprintf(salted, "stable/2.0.0/%s", key);

            if (ngx_http_staged_update_bucket(empty, (u_char *) salted, len)
                != ba)
            {
                out++;
            }
        }
    }

    CHECK_MSG(out == 0, "%zu of %d keys out of 0..9999 or not deterministic",
              out, UNIT_KEYS);
    CHECK_MSG(min < 10 && max > 9989, "buckets span only %u..%u", min, max);

    for (i = 0; i < 10; i++) {
        CHECK_MSG(decile[i] >= 9400 && decile[i] <= 10600,
                  "decile %zu has %lu of %d keys, want 10000 +- 600",
                  i, decile[i], UNIT_KEYS);
    }

    {
        size_t  worst;

        worst = 0;

        for (i = 1; i < 100; i++) {
            if (labs((long) percentile[i] - 1000)
                > labs((long) percentile[worst] - 1000))
            {
                worst = i;
            }
        }

        CHECK_MSG(labs((long) percentile[worst] - 1000) <= 200,
                  "percentile %zu has %lu keys, want 1000 +- 200",
                  worst, percentile[worst]);
    }

    CHECK_MSG(fine >= 350 && fine <= 650,
              "%zu keys below 0.5%%, want 500 +- 150", fine);

    CHECK_MSG(in_a >= 9400 && in_a <= 10600 && in_b >= 9400 && in_b <= 10600,
              "10%% rollouts grant %zu and %zu of %d keys", in_a, in_b,
              UNIT_KEYS);

    /* another target reshuffles: independent draws share about 1% */

    CHECK_MSG(changed >= UNIT_KEYS - UNIT_KEYS / 100,
              "a new salt moved only %zu of %d keys", changed, UNIT_KEYS);
    CHECK_MSG(both >= 700 && both <= 1300,
              "%zu keys are in both 10%% rollouts, want 1000 +- 300", both);
}


/* JSON and URL text */

static void
unit_json_str(const char *file, int line, const char *s, size_t n,
    const char *want)
{
    u_char  *src, *dst;
    size_t   len, wrote;

    src = unit_dup(s, n);
    len = ngx_http_staged_update_json_str(NULL, src, n);
    dst = malloc(len);

    if (dst == NULL) {
        printf("out of memory\n");
        exit(2);
    }

    wrote = ngx_http_staged_update_json_str(dst, src, n);

    unit_check(len == wrote, file, line,
               "json_str: NULL pass %zu bytes, wrote %zu", len, wrote);
    unit_check_mem(dst, wrote, want, file, line, "json_str");

    free(dst);
    free(src);
}


static void
unit_url_path(const char *file, int line, const char *s, size_t n,
    const char *want)
{
    u_char  *src, *dst;
    size_t   len, wrote;

    src = unit_dup(s, n);
    len = ngx_http_staged_update_url_path(NULL, src, n);
    dst = malloc(len);

    if (dst == NULL && len) {
        printf("out of memory\n");
        exit(2);
    }

    wrote = ngx_http_staged_update_url_path(dst, src, n);

    unit_check(len == wrote, file, line,
               "url_path: NULL pass %zu bytes, wrote %zu", len, wrote);
    unit_check_mem(dst, wrote, want, file, line, "url_path");

    free(dst);
    free(src);
}


static void
unit_utf8(const char *file, int line, const char *s, size_t n, int want)
{
    int      got;
    u_char  *p;

    p = unit_dup(s, n);
    got = ngx_http_staged_update_utf8_valid(p, n);
    free(p);

    unit_check(got == want, file, line, "utf8_valid(\"%s\") = %d, want %d",
               unit_esc((const u_char *) s, n), got, want);
}


static void
unit_json(void)
{
    size_t  i, bad;
    u_char  c, out[8];

    printf("json\n");

    JSON_STR("", 0, "\"\"");
    JSON_STR("bin/game", 8, "\"bin/game\"");
    JSON_STR("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
    JSON_STR("a\\b", 3, "\"a\\\\b\"");
    JSON_STR("\\\"", 2, "\"\\\\\\\"\"");
    JSON_STR("\x01", 1, "\"\\u0001\"");
    JSON_STR("a\nb\tc\r", 6, "\"a\\u000ab\\u0009c\\u000d\"");
    JSON_STR("\x1f", 1, "\"\\u001f\"");
    JSON_STR("a\0b", 3, "\"a\\u0000b\"");
    JSON_STR(" ~\x7f", 3, "\" ~\x7f\"");
    JSON_STR("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x8e\xae", 14,
             "\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x8e\xae\"");
    JSON_STR("</script>", 9, "\"</script>\"");

    /* every byte below 0x20 is escaped, nothing else is */

    bad = 0;

    for (i = 0; i < 256; i++) {
        c = (u_char) i;

        if (ngx_http_staged_update_json_str(NULL, &c, 1)
            != ngx_http_staged_update_json_str(out, &c, 1))
        {
            bad++;
            continue;
        }

        if (c < 0x20) {
            bad += memcmp(out, "\"\\u00", 5) != 0 || out[7] != '"';

        } else if (c == '"' || c == '\\') {
            bad += out[1] != '\\' || out[2] != c || out[3] != '"';

        } else {
            bad += out[1] != c || out[2] != '"';
        }
    }

    CHECK_MSG(bad == 0, "json_str escapes %zu single bytes wrongly", bad);

    URL_PATH("", 0, "");
    URL_PATH("bin/game-1.0_x~y/Z9", 19, "bin/game-1.0_x~y/Z9");
    URL_PATH("a b", 3, "a%20b");
    URL_PATH("100%", 4, "100%25");
    URL_PATH("caf\xc3\xa9", 5, "caf%C3%A9");
    URL_PATH("a+b?c#d&e=f", 11, "a%2Bb%3Fc%23d%26e%3Df");
    URL_PATH("\"\\'<>", 5, "%22%5C%27%3C%3E");
    URL_PATH("\0\x01\x7f\xff", 4, "%00%01%7F%FF");
    URL_PATH("../a", 4, "../a");
    URL_PATH("a:b;c,d@e", 9, "a%3Ab%3Bc%2Cd%40e");

    UTF8("", 0, 1);
    UTF8("plain ascii/path.txt", 20, 1);
    UTF8("a\0b", 3, 1);
    UTF8("\xc2\x80", 2, 1);
    UTF8("caf\xc3\xa9", 5, 1);
    UTF8("\xdf\xbf", 2, 1);
    UTF8("\xe0\xa0\x80", 3, 1);
    UTF8("\xe2\x82\xac", 3, 1);
    UTF8("\xed\x9f\xbf", 3, 1);
    UTF8("\xee\x80\x80", 3, 1);
    UTF8("\xef\xbf\xbf", 3, 1);
    UTF8("\xf0\x90\x80\x80", 4, 1);
    UTF8("\xf0\x9f\x8e\xae", 4, 1);
    UTF8("\xf4\x8f\xbf\xbf", 4, 1);

    UTF8("\xc0\x80", 2, 0);
    UTF8("\xc1\xbf", 2, 0);
    UTF8("\xe0\x80\x80", 3, 0);
    UTF8("\xe0\x9f\xbf", 3, 0);
    UTF8("\xf0\x80\x80\x80", 4, 0);
    UTF8("\xf0\x8f\xbf\xbf", 4, 0);
    UTF8("\xed\xa0\x80", 3, 0);
    UTF8("\xed\xbf\xbf", 3, 0);
    UTF8("\xf4\x90\x80\x80", 4, 0);
    UTF8("\xf5\x80\x80\x80", 4, 0);
    UTF8("\xf8\x88\x80\x80\x80", 5, 0);
    UTF8("\xfe", 1, 0);
    UTF8("\xff", 1, 0);
    UTF8("\x80", 1, 0);
    UTF8("a\xbf", 2, 0);
    UTF8("\xc3", 1, 0);
    UTF8("a\xc3", 2, 0);
    UTF8("\xe2\x82", 2, 0);
    UTF8("\xf0\x9f\x8e", 3, 0);
    UTF8("\xc3" "A", 2, 0);
    UTF8("\xe2\x82" "A", 3, 0);
    UTF8("\xf0\x9f\x8e\xc3\xa9", 5, 0);
    UTF8("caf\xe9", 4, 0);
}


static void
unit_json_files(void)
{
    size_t                         i, len, wrote;
    u_char                        *dst;
    const u_char                  *prefix;
    ngx_http_staged_update_file_t  files[2];

    static const char  want[] =
        "[{\"path\":\"bin/game\",\"size\":123,"
        "\"sha256\":\"000102030405060708090a0b0c0d0e0f"
        "101112131415161718191a1b1c1d1e1f\","
        "\"url\":\"https://cdn.example.com/stable/2.0.0/bin/game\"},"
        "{\"path\":\"data/a b\\\"\\u0001\xc3\xa9.pak\","
        "\"size\":18446744073709551615,"
        "\"sha256\":\"abababababababababababababababab"
        "abababababababababababababababab\","
        "\"url\":\"https://cdn.example.com/stable/2.0.0/"
        "data/a%20b%22%01%C3%A9.pak\"}]";

    printf("json_files\n");

    prefix = (const u_char *) "https://cdn.example.com/stable/2.0.0/";

    memset(files, 0, sizeof(files));

    files[0].path = (const u_char *) "bin/game";
    files[0].path_len = 8;
    files[0].size = 123;

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_SHA256_LEN; i++) {
        files[0].sha256[i] = (u_char) i;
        files[1].sha256[i] = 0xab;
    }

    files[1].path = (const u_char *) "data/a b\"\x01\xc3\xa9.pak";
    files[1].path_len = 16;
    files[1].size = UINT64_MAX;

    len = ngx_http_staged_update_json_files(NULL, files, 2, prefix,
                                            strlen((const char *) prefix));
    dst = malloc(len);
    if (dst == NULL) {
        printf("out of memory\n");
        exit(2);
    }

    wrote = ngx_http_staged_update_json_files(dst, files, 2, prefix,
                                        strlen((const char *) prefix));
    CHECK_INT(len, wrote);
    CHECK_MEM(dst, wrote, want);
    free(dst);

    /* one file, size 0, an empty prefix */

    files[0].size = 0;
    len = ngx_http_staged_update_json_files(NULL, files, 1, prefix, 0);
    dst = malloc(len);
    if (dst == NULL) {
        printf("out of memory\n");
        exit(2);
    }

    wrote = ngx_http_staged_update_json_files(dst, files, 1, prefix, 0);
    CHECK_INT(len, wrote);
    CHECK_MEM(dst, wrote,
              "[{\"path\":\"bin/game\",\"size\":0,"
              "\"sha256\":\"000102030405060708090a0b0c0d0e0f"
              "101112131415161718191a1b1c1d1e1f\",\"url\":\"bin/game\"}]");
    free(dst);

    /* no files */

    dst = malloc(2);
    if (dst == NULL) {
        printf("out of memory\n");
        exit(2);
    }

    CHECK_INT(ngx_http_staged_update_json_files(NULL, files, 0, prefix, 5),
              2);
    wrote = ngx_http_staged_update_json_files(dst, files, 0, prefix, 5);
    CHECK_MEM(dst, wrote, "[]");
    free(dst);
}


/* download tokens */

static void
unit_token_is(const char *file, int line, const char *t, size_t n,
    const ngx_http_staged_update_secret_t *secrets, size_t nsecrets,
    const char *path, size_t path_len, time_t now, int want)
{
    int      rc;
    u_char  *tp, *pp;

    tp = unit_dup(t, n);
    pp = unit_dup(path, path_len);

    rc = ngx_http_staged_update_token_verify(tp, n, secrets, nsecrets,
                                             pp, path_len, now);
    free(tp);
    free(pp);

    unit_check(rc == want, file, line,
               "token \"%s\" (%zu bytes) for \"%s\" at %lld: %s (%d), "
               "want %s", unit_esc((const u_char *) t, n), n,
               unit_esc((const u_char *) path, path_len < 64 ? path_len : 64),
               (long long) now,
               rc >= 0 && rc <= 3 ? unit_token_results[rc] : "?", rc,
               unit_token_results[want]);
}


/* a token into dst (at least TOKEN_MAXLEN + 1 bytes), NUL-terminated */

static size_t
unit_sign(char *dst, const ngx_http_staged_update_secret_t *s,
    const char *version, time_t expires, const char *client,
    const char *path, size_t path_len)
{
    size_t   n, client_len;
    u_char  *buf;

    client_len = client ? strlen(client) : 0;

    /* exactly TOKEN_MAXLEN bytes: ASan sees a write past the promise */

    buf = malloc(TOKEN_MAXLEN);
    if (buf == NULL) {
        printf("out of memory\n");
        exit(2);
    }

    n = ngx_http_staged_update_token_sign(buf, s, (const u_char *) version,
                                          strlen(version), expires,
                                          (const u_char *) client, client_len,
                                          (const u_char *) path, path_len);
    memcpy(dst, buf, n);
    dst[n] = '\0';
    free(buf);

    return n;
}


/* an independent decoder of unpadded base64url (RFC 4648 section 5) */

static int
unit_b64url_decode(u_char *dst, const char *src, size_t len)
{
    size_t       i, n, bits;
    uint32_t     acc;
    const char  *a, *c;

    a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        c = src[i] ? strchr(a, src[i]) : NULL;

        if (c == NULL) {
            return -1;
        }

        acc = (acc << 6) | (uint32_t) (c - a);
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (u_char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    return (int) n;
}


static void
unit_b64url(const char *file, int line, const char *s, const char *want)
{
    size_t   len, n;
    u_char  *src, dst[64];

    len = strlen(s);
    src = unit_dup(s, len);
    memset(dst, '#', sizeof(dst));

    n = ngx_http_staged_update_base64url(dst, src, len);
    free(src);

    unit_check_mem(dst, n, want, file, line, s);

    /* nothing written past the returned length */

    unit_check(dst[n] == '#', file, line, "base64url(\"%s\") wrote past %zu",
               s, n);
}


static void
unit_base64url(void)
{
    size_t  i, n;
    u_char  bin[256], out[344], back[256];

    printf("base64url\n");

    /* RFC 4648 section 10, the "=" padding left out (section 3.2) */

    B64URL("", "");
    B64URL("f", "Zg");
    B64URL("fo", "Zm8");
    B64URL("foo", "Zm9v");
    B64URL("foob", "Zm9vYg");
    B64URL("fooba", "Zm9vYmE");
    B64URL("foobar", "Zm9vYmFy");

    /* the two characters that differ from base64: 62 "-", 63 "_" */

    B64URL("\xfb\xff", "-_8");
    B64URL("\xff\xff\xff", "____");
    B64URL("\xfb\xef\xbe", "----");
    B64URL("\x04\x10\x41", "BBBB");

    /* every length of every byte value decodes back */

    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (u_char) (255 - i);
    }

    for (i = 0; i <= sizeof(bin); i++) {
        n = ngx_http_staged_update_base64url(out, bin, i);

        if (n != (i * 4 + 2) / 3
            || unit_b64url_decode(back, (const char *) out, n) != (int) i
            || memcmp(back, bin, i) != 0)
        {
            unit_check(0, __FILE__, __LINE__,
                       "base64url of %zu bytes: %zu characters", i, n);
            break;
        }
    }

    CHECK_INT(i, sizeof(bin) + 1);
}


/* the token's mac is HMAC-SHA256 of "<version>\n<expires>\n<client>\n<path>" */

static void
unit_token_mac(const char *token, const char *version, const char *expires,
    const char *client, const char *path)
{
    int           n;
    char          msg[8192];
    u_char        want[EVP_MAX_MD_SIZE], got[64];
    const char   *mac;
    unsigned int  len;

    n = snprintf(msg, sizeof(msg), "%s\n%s\n%s\n%s", version, expires,
                 client, path);

    len = 0;
    CHECK(HMAC(EVP_sha256(), UNIT_SECRET_A, sizeof(UNIT_SECRET_A) - 1,
               (const u_char *) msg, (size_t) n, want, &len) != NULL);
    CHECK_INT(len, MAC_LEN);

    mac = strrchr(token, '~');
    CHECK(mac != NULL && strlen(mac + 1) == MAC_B64LEN);

    if (mac == NULL) {
        return;
    }

    CHECK_INT(unit_b64url_decode(got, mac + 1, strlen(mac + 1)), MAC_LEN);
    CHECK_MSG(memcmp(got, want, MAC_LEN) == 0,
              "the mac of \"%s\" is not HMAC-SHA256(\"%s\")", token,
              unit_esc((const u_char *) msg, (size_t) n));
}


static void
unit_tokens(void)
{
    int                              i, k, v;
    char                             t[TOKEN_MAXLEN + 1], u[2 * TOKEN_MAXLEN];
    char                             mac[MAC_B64LEN + 1], big[256];
    char                            *path;
    size_t                           n;
    const char                      *a;
    ngx_http_staged_update_secret_t  ab[2], ba[2], keyed;

    printf("tokens\n");

    a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    ab[0] = unit_secret_a;
    ab[1] = unit_secret_b;
    ba[0] = unit_secret_b;
    ba[1] = unit_secret_a;

    /* a token without a client: version~expires~mac */

    n = unit_sign(t, &unit_secret_a, "2.0.0", UNIT_NOW + 3600, NULL,
                  UNIT_PATH, strlen(UNIT_PATH));
    CHECK_INT(n, sizeof("2.0.0~1700003600~") - 1 + MAC_B64LEN);
    CHECK(strncmp(t, "2.0.0~1700003600~", 17) == 0);
    CHECK(strspn(t + 17, a) == MAC_B64LEN);
    memcpy(mac, t + 17, MAC_B64LEN + 1);

    unit_token_mac(t, "2.0.0", "1700003600", "", UNIT_PATH);

    /* the same inputs, the same token; the time does not enter it */

    n = unit_sign(u, &unit_secret_a, "2.0.0", UNIT_NOW + 3600, NULL,
                  UNIT_PATH, strlen(UNIT_PATH));
    CHECK_MEM(u, n, t);

    /*
     * a secret keyed once (as the module keys it) makes the same token,
     * again and again, and verifies it
     */

    keyed = unit_secret_a;
    CHECK(ngx_http_staged_update_secret_init(&keyed) && keyed.mac != NULL);

    for (i = 0; i < 3; i++) {
        n = unit_sign(u, &keyed, "2.0.0", UNIT_NOW + 3600, NULL,
                      UNIT_PATH, strlen(UNIT_PATH));
        CHECK_MEM(u, n, t);
    }

    TOKEN_IS(t, strlen(t), &keyed, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_OK);
    TOKEN_IS(t, strlen(t), &keyed, 1, "/releases/2.0.0/x", 17, UNIT_NOW,
             TOKEN_INVALID);

    ngx_http_staged_update_secret_free(&keyed);

    /* valid until its expiry, included; expired after it */

    TOKEN(t, TOKEN_OK);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             0, TOKEN_OK);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW + 3599, TOKEN_OK);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW + 3600, TOKEN_OK);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW + 3601, TOKEN_EXPIRED);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW + 86400, TOKEN_EXPIRED);

    /* another path */

    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, "/releases/2.0.0/data/part11.pak",
             31, UNIT_NOW, TOKEN_INVALID);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, UNIT_PATH,
             strlen(UNIT_PATH) - 1, UNIT_NOW, TOKEN_INVALID);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, "/releases/2.0.0/data/part10.pakx",
             32, UNIT_NOW, TOKEN_INVALID);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, "/releases/1.9.0/data/part10.pak",
             31, UNIT_NOW, TOKEN_INVALID);
    TOKEN_IS(t, strlen(t), &unit_secret_a, 1, "", 0, UNIT_NOW,
             TOKEN_INVALID);

    /* another version, another expiry, with the same mac */

    snprintf(u, sizeof(u), "2.0.1~1700003600~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "2.0~1700003600~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "2.0.0.0~1700003600~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "2.0.0~1700003601~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "2.0.0~9999999999~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "2.0.0~01700003600~%s", mac);
    TOKEN(u, TOKEN_INVALID);

    /* a client added to a token made without one */

    snprintf(u, sizeof(u), "2.0.0~1700003600~c00000042~%s", mac);
    TOKEN(u, TOKEN_INVALID);

    /* any single middle character of the mac changed (all 6 bits count) */

    for (k = 0, v = 0; k < MAC_B64LEN - 1; k++) {
        memcpy(u, t, n + 1);
        u[17 + k] = (t[17 + k] == 'A') ? 'B' : 'A';
        TOKEN(u, TOKEN_INVALID);
        v++;
    }

    CHECK_INT(v, MAC_B64LEN - 1);

    memcpy(u, t, n + 1);
    u[17 + 20] = (t[17 + 20] == '-') ? '_' : '-';
    TOKEN(u, TOKEN_INVALID);

    /* another secret; both in either order (rotation); no secret */

    TOKEN_IS(t, n, &unit_secret_b, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_INVALID);
    TOKEN_IS(t, n, ab, 2, UNIT_PATH, strlen(UNIT_PATH), UNIT_NOW, TOKEN_OK);
    TOKEN_IS(t, n, ba, 2, UNIT_PATH, strlen(UNIT_PATH), UNIT_NOW, TOKEN_OK);
    TOKEN_IS(t, n, ab, 0, UNIT_PATH, strlen(UNIT_PATH), UNIT_NOW,
             TOKEN_INVALID);

    n = unit_sign(u, &unit_secret_b, "2.0.0", UNIT_NOW + 3600, NULL,
                  UNIT_PATH, strlen(UNIT_PATH));
    CHECK(strcmp(u, t) != 0);
    TOKEN_IS(u, n, &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_INVALID);
    TOKEN_IS(u, n, &unit_secret_b, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_OK);
    TOKEN_IS(u, n, ba, 2, UNIT_PATH, strlen(UNIT_PATH), UNIT_NOW, TOKEN_OK);
    TOKEN_IS(u, n, ab, 2, UNIT_PATH, strlen(UNIT_PATH), UNIT_NOW, TOKEN_OK);

    /* a secret that differs in its last byte, or is one byte shorter */

    ab[1].data = (const u_char *) "0123456789abcdef0123456789abcdee";
    TOKEN_IS(t, strlen(t), &ab[1], 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_INVALID);
    ab[1].data = unit_secret_a.data;
    ab[1].len = unit_secret_a.len - 1;
    TOKEN_IS(t, strlen(t), &ab[1], 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_INVALID);

    /* with a client: version~expires~client~mac */

    n = unit_sign(t, &unit_secret_a, "1.9.0.7", UNIT_NOW, "c00000042",
                  UNIT_PATH, strlen(UNIT_PATH));
    CHECK_INT(n, sizeof("1.9.0.7~1700000000~c00000042~") - 1 + MAC_B64LEN);
    CHECK(strncmp(t, "1.9.0.7~1700000000~c00000042~", 29) == 0);
    memcpy(mac, t + 29, MAC_B64LEN + 1);

    unit_token_mac(t, "1.9.0.7", "1700000000", "c00000042", UNIT_PATH);

    TOKEN(t, TOKEN_OK);
    TOKEN_IS(t, n, &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW + 1, TOKEN_EXPIRED);

    snprintf(u, sizeof(u), "1.9.0.7~1700000000~c00000043~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "1.9.0.7~1700000000~C00000042~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "1.9.0.7~1700000000~c0000004~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "1.9.0.7~1700000000~%s", mac);
    TOKEN(u, TOKEN_INVALID);
    snprintf(u, sizeof(u), "1.9.0.8~1700000000~c00000042~%s", mac);
    TOKEN(u, TOKEN_INVALID);

    /* the client's line is not movable into the path's */

    TOKEN_IS(t, n, &unit_secret_a, 1, "c00000042\n" UNIT_PATH,
             strlen(UNIT_PATH) + 10, UNIT_NOW, TOKEN_INVALID);

    /* the largest fields: 39-char version, 18-digit expiry, 128 client */

    memset(big, 'k', 128);
    big[0] = 'a';
    big[127] = ':';
    big[128] = '\0';

    n = unit_sign(t, &unit_secret_a, "999999999.999999999.999999999.999999999",
                  (time_t) 999999999999999999LL, big, UNIT_PATH,
                  strlen(UNIT_PATH));
    CHECK_INT(n, 39 + 1 + 18 + 1 + 128 + 1 + MAC_B64LEN);
    CHECK(n <= TOKEN_MAXLEN);
    TOKEN(t, TOKEN_OK);

    /* a client of 129 characters */

    memset(big, 'k', 129);
    big[129] = '\0';
    snprintf(u, sizeof(u), "2.0.0~1700003600~%s~%s", big,
             t + n - MAC_B64LEN);
    TOKEN(u, TOKEN_MALFORMED);

    /* an 18-digit expiry is a number, a 19-digit one is malformed */

    n = unit_sign(t, &unit_secret_a, "2.0.0", (time_t) 100000000000000000LL,
                  NULL, UNIT_PATH, strlen(UNIT_PATH));
    CHECK_INT(n, 5 + 1 + 18 + 1 + MAC_B64LEN);
    TOKEN(t, TOKEN_OK);

    n = unit_sign(t, &unit_secret_a, "2.0.0", (time_t) 1000000000000000000LL,
                  NULL, UNIT_PATH, strlen(UNIT_PATH));
    CHECK_INT(n, 5 + 1 + 19 + 1 + MAC_B64LEN);
    TOKEN(t, TOKEN_MALFORMED);

    /* MALFORMED: the shape, whatever the mac */

    n = unit_sign(t, &unit_secret_a, "2.0.0", UNIT_NOW + 3600, NULL,
                  UNIT_PATH, strlen(UNIT_PATH));
    memcpy(mac, t + 17, MAC_B64LEN + 1);

    TOKEN_IS("", 0, &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_MALFORMED);
    TOKEN_IS(t, 0, &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_MALFORMED);

    /* longer than TOKEN_MAXLEN: the token with a long path-safe client */

    memset(big, 'k', 200);
    big[200] = '\0';
    snprintf(u, sizeof(u), "2.0.0~1700003600~%s~%s", big, mac);
    CHECK(strlen(u) > TOKEN_MAXLEN);
    TOKEN(u, TOKEN_MALFORMED);

    memset(u, 'A', TOKEN_MAXLEN + 1);
    TOKEN_IS(u, TOKEN_MAXLEN + 1, &unit_secret_a, 1, UNIT_PATH,
             strlen(UNIT_PATH), UNIT_NOW, TOKEN_MALFORMED);
    memcpy(u + TOKEN_MAXLEN + 1 - n, t, n);
    TOKEN_IS(u, TOKEN_MAXLEN + 1, &unit_secret_a, 1, UNIT_PATH,
             strlen(UNIT_PATH), UNIT_NOW, TOKEN_MALFORMED);

    /* missing fields */

    TOKEN("2.0.0", TOKEN_MALFORMED);
    TOKEN(mac, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "2.0.0~%s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "1700003600~%s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "~1700003600~%s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "2.0.0~~%s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "2.0.0~1700003600~~%s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    TOKEN("2.0.0~1700003600~", TOKEN_MALFORMED);
    TOKEN("2.0.0~1700003600~c1~", TOKEN_MALFORMED);
    TOKEN("~", TOKEN_MALFORMED);
    TOKEN("~~", TOKEN_MALFORMED);
    TOKEN("~~~", TOKEN_MALFORMED);
    TOKEN("~~~~", TOKEN_MALFORMED);

    /* five fields */

    snprintf(u, sizeof(u), "2.0.0~1700003600~c1~c2~%s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "2.0.0~1700003600~c1~%s~", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "~2.0.0~1700003600~c1~%s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "%s~c1~%s", t, mac);
    TOKEN(u, TOKEN_MALFORMED);

    /* a bad version */

    {
        static const char  *bad[] = {
            "2.0.x", "2.0.0.0.0", "2..0", ".2.0", "2.0.", "*", "2.0.*",
            "1.5.0-1.9.9", "-1", "v2.0.0", "2.0.0 ", " 2.0.0",
            "1234567890", "2,0,0", "2.0.0\n"
        };

        for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
            snprintf(u, sizeof(u), "%s~1700003600~%s", bad[i], mac);
            TOKEN(u, TOKEN_MALFORMED);
        }
    }

    /* a non-digit or too long expiry */

    {
        static const char  *bad[] = {
            "17000036o0", "-1700003600", "+1700003600", " 1700003600",
            "1700003600 ", "0x6553f100", "1.7e9", "1700003600\n",
            "1000000000000000000", "9999999999999999999",
            "00000000000000000001700003600"
        };

        for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
            snprintf(u, sizeof(u), "2.0.0~%s~%s", bad[i], mac);
            TOKEN(u, TOKEN_MALFORMED);
        }
    }

    snprintf(u, sizeof(u), "2.0.0~000000001700003600~%s", mac);
    TOKEN(u, TOKEN_INVALID);

    /* a client with characters outside letters, digits, ".", "_", "-", ":" */

    {
        static const char  *bad[] = {
            "c/1", "c 1", "c%41", "c+1", "c=1", "c\"1", "c\\1", "c\n1",
            "c\xc3\xa9", "c@1", "c?1", "c&1", "c#1"
        };

        for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
            snprintf(u, sizeof(u), "2.0.0~1700003600~%s~%s", bad[i], mac);
            TOKEN(u, TOKEN_MALFORMED);
        }
    }

    snprintf(u, sizeof(u), "2.0.0~1700003600~A.b_c-9:~%s", mac);
    TOKEN(u, TOKEN_INVALID);

    u[0] = '\0';
    n = (size_t) snprintf(u, sizeof(u), "2.0.0~1700003600~c%c1~%s", 0, mac);
    TOKEN_IS(u, n, &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_MALFORMED);

    /* a mac of 42 or 44 characters, or of 0 */

    snprintf(u, sizeof(u), "2.0.0~1700003600~%.42s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "2.0.0~1700003600~%sA", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "2.0.0~1700003600~%s=", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "2.0.0~1700003600~%.40s", mac);
    TOKEN(u, TOKEN_MALFORMED);
    snprintf(u, sizeof(u), "2.0.0~1700003600~%s%s", mac, mac);
    TOKEN(u, TOKEN_MALFORMED);

    /* base64 ("+", "/"), padding ("="), or other bytes in the mac */

    {
        static const char  bad[] = "+/=.~ %\n\0\x80";

        for (i = 0; i < (int) sizeof(bad) - 1; i++) {
            for (k = 0; k < MAC_B64LEN; k += 21) {
                n = (size_t) snprintf(u, sizeof(u), "2.0.0~1700003600~%s",
                                      mac);
                u[17 + k] = bad[i];
                TOKEN_IS(u, n, &unit_secret_a, 1, UNIT_PATH,
                         strlen(UNIT_PATH), UNIT_NOW, TOKEN_MALFORMED);
            }
        }
    }

    snprintf(u, sizeof(u), "2.0.0~1700003600~%.42s=", mac);
    TOKEN(u, TOKEN_MALFORMED);

    /*
     * 43 characters carry 258 bits: the last one's 2 low bits are unused
     * and must be zero, so that each mac has one spelling only
     */

    v = (int) (strchr(a, mac[MAC_B64LEN - 1]) - a);
    CHECK_INT(v & 3, 0);

    for (k = 1; k < 4; k++) {
        snprintf(u, sizeof(u), "2.0.0~1700003600~%.42s%c", mac, a[v | k]);
        TOKEN(u, TOKEN_MALFORMED);
    }

    /* the last character otherwise changed: a valid spelling, wrong mac */

    snprintf(u, sizeof(u), "2.0.0~1700003600~%.42s%c", mac, a[v ^ 4]);
    TOKEN(u, TOKEN_INVALID);

    /* a malformed token is malformed even expired, or with no secret */

    snprintf(u, sizeof(u), "2.0.x~1700003600~%s", mac);
    TOKEN_IS(u, strlen(u), &unit_secret_a, 1, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW + 86400, TOKEN_MALFORMED);
    TOKEN_IS(u, strlen(u), &unit_secret_a, 0, UNIT_PATH, strlen(UNIT_PATH),
             UNIT_NOW, TOKEN_MALFORMED);

    /* paths: PATH_MAXLEN bytes are signed and verified; one more is not */

    path = malloc(NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN + 1);
    if (path == NULL) {
        printf("out of memory\n");
        exit(2);
    }

    memset(path, 'p', NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN + 1);
    path[0] = '/';

    n = unit_sign(t, &unit_secret_a, "2.0.0", UNIT_NOW + 3600, "c1", path,
                  NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN);
    CHECK_INT(n, sizeof("2.0.0~1700003600~c1~") - 1 + MAC_B64LEN);
    TOKEN_IS(t, n, &unit_secret_a, 1, path,
             NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN, UNIT_NOW, TOKEN_OK);
    TOKEN_IS(t, n, &unit_secret_a, 1, path,
             NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN - 1, UNIT_NOW, TOKEN_INVALID);
    TOKEN_IS(t, n, &unit_secret_a, 1, path,
             NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN + 1, UNIT_NOW,
             TOKEN_MALFORMED);

    n = unit_sign(t, &unit_secret_a, "2.0.0", UNIT_NOW + 3600, "c1", path,
                  NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN + 1);
    if (n) {
        TOKEN_IS(t, n, &unit_secret_a, 1, path,
                 NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN + 1, UNIT_NOW,
                 TOKEN_MALFORMED);
    }

    free(path);

    /* a path with any bytes: the mac is over the bytes as given */

    n = unit_sign(t, &unit_secret_a, "2.0.0", UNIT_NOW, NULL, "/a b\n\0c", 7);
    TOKEN_IS(t, n, &unit_secret_a, 1, "/a b\n\0c", 7, UNIT_NOW, TOKEN_OK);
    TOKEN_IS(t, n, &unit_secret_a, 1, "/a b\n\0d", 7, UNIT_NOW,
             TOKEN_INVALID);
    TOKEN_IS(t, n, &unit_secret_a, 1, "/a b\n", 5, UNIT_NOW, TOKEN_INVALID);
}


/* overrides: PATCH bodies, their check against a table, the state file */

typedef ngx_http_staged_update_ov_t  unit_ov_t;


static const char *
unit_patch(const char *body, unit_ov_t *ov, size_t *n)
{
    u_char      *p;
    size_t       len;
    const char  *e;
    static char  err[NGX_HTTP_STAGED_UPDATE_ERR_LEN];

    len = strlen(body);
    p = unit_dup(body, len);
    e = ngx_http_staged_update_patch_parse(p, len, ov,
                                           NGX_HTTP_STAGED_UPDATE_PATCH_MAX,
                                           n, err, sizeof(err));
    free(p);

    return e;
}


static void
unit_overrides(void)
{
    size_t             n, dup, len, i;
    u_char             buf[1024];
    char               big[8192];
    const char        *e, *err;
    unit_ov_t          ov[NGX_HTTP_STAGED_UPDATE_PATCH_MAX];
    unit_table_t      *t;
    unit_rule_spec_t   track_rules[1], s1_rules[1];
    unit_scope_spec_t  track, servers[1];

    printf("overrides\n");

    CHECK(ngx_http_staged_update_truthy((u_char *) "1", 1));
    CHECK(ngx_http_staged_update_truthy((u_char *) "TRUE", 4));
    CHECK(ngx_http_staged_update_truthy((u_char *) "yes", 3));
    CHECK(ngx_http_staged_update_truthy((u_char *) "on", 2));
    CHECK(!ngx_http_staged_update_truthy((u_char *) "0", 1));
    CHECK(!ngx_http_staged_update_truthy((u_char *) "", 0));
    CHECK(!ngx_http_staged_update_truthy((u_char *) "yess", 4));
    CHECK(!ngx_http_staged_update_truthy((u_char *) "tru", 3));

    e = unit_patch("{\"paused\": true, \"default\": \"5%\", "
                   "\"rules\": {\"1.7.*\": \"12.5%\", \"1.8.*\": null}}",
                   ov, &n);
    CHECK(e == NULL);
    CHECK_INT(n, 4);
    CHECK_INT(ov[0].kind, NGX_HTTP_STAGED_UPDATE_OV_PAUSED);
    CHECK_INT(ov[0].remove, 0);
    CHECK_INT(ov[1].kind, NGX_HTTP_STAGED_UPDATE_OV_DEFAULT);
    CHECK_INT(ov[1].value, 500);
    CHECK_INT(ov[2].kind, NGX_HTTP_STAGED_UPDATE_OV_RULE);
    CHECK_INT(ov[2].value, 1250);
    CHECK_MEM(ov[2].pattern, ov[2].pattern_len, "1.7.*");
    CHECK_INT(ov[3].remove, 1);

    e = unit_patch("{\"halted\": false, \"default\": null}", ov, &n);
    CHECK(e == NULL);
    CHECK_INT(n, 2);
    CHECK_INT(ov[0].kind, NGX_HTTP_STAGED_UPDATE_OV_HALTED);
    CHECK_INT(ov[0].remove, 1);
    CHECK_INT(ov[1].remove, 1);

    CHECK(unit_patch("{\"x\": 1}", ov, &n) != NULL);
    CHECK(strstr(unit_patch("{\"x\": 1}", ov, &n), "unknown field \"x\""));
    CHECK(unit_patch("{\"default\": 5}", ov, &n) != NULL);
    CHECK(unit_patch("{\"default\": \"0.5\"}", ov, &n) != NULL);
    CHECK(unit_patch("{\"default\": \"100.01%\"}", ov, &n) != NULL);
    CHECK(unit_patch("{\"default\": \"-1%\"}", ov, &n) != NULL);
    CHECK(unit_patch("{\"paused\": 1}", ov, &n) != NULL);
    CHECK(unit_patch("{\"rules\": {}}", ov, &n) != NULL);
    CHECK(unit_patch("{\"rules\": []}", ov, &n) != NULL);
    CHECK(unit_patch("{\"rules\": {\"\": \"1%\"}}", ov, &n) != NULL);
    CHECK(unit_patch("{}", ov, &n) != NULL);
    CHECK(unit_patch("[]", ov, &n) != NULL);
    CHECK(unit_patch("{\"paused\": true", ov, &n) != NULL);
    CHECK(unit_patch("{\"paused\": true, \"paused\": true}", ov, &n) != NULL);
    CHECK(unit_patch("{\"paused\": true} x", ov, &n) != NULL);

    /* more changes than a PATCH may carry */

    len = (size_t) sprintf(big, "{\"rules\": {");

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_PATCH_MAX + 1; i++) {
        len += (size_t) sprintf(big + len, "%s\"%zu.*\": \"1%%\"",
                                i ? ", " : "", i);
    }

    sprintf(big + len, "}}");
    CHECK(unit_patch(big, ov, &n) != NULL);

    /* checked against the demo's tables */

    RULE_SPEC(&track_rules[0], "1.5.0-1.9.*", 5000, 1);
    RULE_SPEC(&s1_rules[0], "1.7.*", 6000, 2);
    unit_scope(&track, "game", V("2.0.0"), V("1.0.0"), 1000, 0,
               track_rules, 1);
    unit_scope(&servers[0], "shard-1", V("1.9.0"), V("1.5.0"), 2000, 1,
               s1_rules, 1);
    t = unit_build(&track, servers, 1, &dup, &err);
    CHECK(err == NULL);

    e = unit_patch("{\"default\": \"5%\", \"rules\": {\"1.5.0-1.9.*\": "
                   "\"10%\"}}", ov, &n);
    CHECK(e == NULL);
    e = ngx_http_staged_update_patch_check(t, &t->track, ov, n, (char *) buf,
                                           sizeof(buf));
    CHECK(e == NULL);
    CHECK_INT(ov[0].conf, 1000);
    CHECK_INT(ov[1].conf, 5000);

    e = unit_patch("{\"rules\": {\"1.5.0-1.9.*\": \"10%\"}}", ov, &n);
    e = ngx_http_staged_update_patch_check(t, unit_server(t, "shard-1"), ov,
                                           n, (char *) buf, sizeof(buf));
    CHECK(e != NULL && strstr(e, "\"shard-1\" has no rule \"1.5.0-1.9.*\""));

    e = unit_patch("{\"rules\": {\"1.7.*\": \"10%\"}}", ov, &n);
    e = ngx_http_staged_update_patch_check(t, unit_server(t, "shard-1"), ov,
                                           n, (char *) buf, sizeof(buf));
    CHECK(e == NULL);
    CHECK_INT(ov[0].conf, 6000);

    /* a pattern is matched as written, not by meaning */

    e = unit_patch("{\"rules\": {\"1.7\": \"10%\"}}", ov, &n);
    e = ngx_http_staged_update_patch_check(t, unit_server(t, "shard-1"), ov,
                                           n, (char *) buf, sizeof(buf));
    CHECK(e != NULL);

    free(t);

    /* the JSON of an override */

    memset(&ov[0], 0, sizeof(unit_ov_t));
    ov[0].kind = NGX_HTTP_STAGED_UPDATE_OV_RULE;
    ov[0].value = 1050;
    ov[0].conf = 5000;
    ov[0].when = 0;
    memcpy(ov[0].server, "s\"1", 3);
    ov[0].server_len = 3;
    memcpy(ov[0].pattern, "1.7.*", 5);
    ov[0].pattern_len = 5;
    memcpy(ov[0].from, "::1", 3);
    ov[0].from_len = 3;

    len = ngx_http_staged_update_ov_json(NULL, &ov[0]);
    CHECK_INT(ngx_http_staged_update_ov_json(buf, &ov[0]), len);
    CHECK_MEM(buf, len, "{\"server\":\"s\\\"1\",\"field\":\"rule\","
              "\"pattern\":\"1.7.*\",\"value\":\"10.50%\","
              "\"configured\":\"50.00%\",\"when\":\"1970-01-01T00:00:00Z\","
              "\"from\":\"::1\"}");
}


typedef struct {
    size_t      tracks;
    size_t      ovs;
    uint32_t    etag;
    int64_t     paused;
    int64_t     at;
    unit_ov_t   last;
} unit_state_t;


static int
unit_state_track(void *data, const u_char *name, size_t len, uint32_t etag,
    int64_t paused, int64_t at)
{
    unit_state_t  *st = data;

    st->tracks++;
    st->etag = etag;
    st->paused = paused;
    st->at = at;

    return 0;
}


static int
unit_state_ov(void *data, const unit_ov_t *ov)
{
    unit_state_t  *st = data;

    st->ovs++;
    st->last = *ov;

    return 0;
}


static const char *
unit_state(const char *text, unit_state_t *st)
{
    u_char       *p;
    size_t        len;
    const char   *e;
    static char   err[NGX_HTTP_STAGED_UPDATE_ERR_LEN];

    memset(st, 0, sizeof(unit_state_t));
    len = strlen(text);
    p = unit_dup(text, len);
    e = ngx_http_staged_update_state_parse(p, len, unit_state_track,
                                           unit_state_ov, st, err,
                                           sizeof(err));
    free(p);

    return e;
}


static void
unit_state_file(void)
{
    char           doc[2048];
    u_char         ovj[512];
    size_t         n;
    unit_ov_t      ov;
    unit_state_t   st;

    printf("state file\n");

    /* what ov_json() writes reads back the same */

    memset(&ov, 0, sizeof(unit_ov_t));
    ov.kind = NGX_HTTP_STAGED_UPDATE_OV_DEFAULT;
    ov.value = 700;
    ov.conf = 1000;
    ov.when = 1764430000;
    memcpy(ov.server, "shard-1", 7);
    ov.server_len = 7;
    memcpy(ov.from, "127.0.0.1", 9);
    ov.from_len = 9;

    n = ngx_http_staged_update_ov_json(ovj, &ov);
    snprintf(doc, sizeof(doc), "{\"staged_update_state\":1,\"tracks\":"
             "{\"game\":{\"etag\":12,\"overrides\":[%.*s]}}}", (int) n, ovj);

    CHECK(unit_state(doc, &st) == NULL);
    CHECK_INT(st.tracks, 1);
    CHECK_INT(st.ovs, 1);
    CHECK_INT(st.etag, 12);
    CHECK(memcmp(&st.last, &ov, sizeof(unit_ov_t)) == 0);

    /* truncated at every length: refused, never read past the end */

    for (n = 0; n < strlen(doc); n++) {
        char  c = doc[n];

        doc[n] = '\0';
        CHECK_MSG(unit_state(doc, &st) != NULL, "truncated at %zu", n);
        doc[n] = c;
    }

    CHECK(unit_state("{\"staged_update_state\":2,\"tracks\":{}}", &st));
    CHECK(unit_state("{\"tracks\":{}}", &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":-1,\"overrides\":[]}}}", &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"overrides\":[{\"field\":\"paused\","
                     "\"value\":false,\"when\":\"2026-01-01T00:00:00Z\","
                     "\"from\":\"x\"}]}}}", &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"overrides\":[{\"field\":\"paused\","
                     "\"value\":true,\"when\":\"2026-13-01T00:00:00Z\","
                     "\"from\":\"x\"}]}}}", &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"overrides\":[{\"field\":\"paused\","
                     "\"server\":\"a b\",\"value\":true,"
                     "\"when\":\"2026-01-01T00:00:00Z\",\"from\":\"x\"}]}}}",
                     &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"overrides\":[{\"field\":\"paused\","
                     "\"value\":true,\"when\":\"2026-01-01T00:00:00Z\","
                     "\"from\":\"x\"}]}}}", &st) == NULL);
    CHECK_INT(st.last.kind, NGX_HTTP_STAGED_UPDATE_OV_PAUSED);
    CHECK_INT(st.last.server_len, 0);
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{}}", &st)
          == NULL);
}


/*
 * The live rate (issue 10 through the API): "rate" and "burst" in a PATCH,
 * "0/s" and null back to nginx.conf, a burst only with a rate; a rate
 * override and a track's stopped ramp clock read back from a state file.
 */

static void
unit_rate_override(void)
{
    char           doc[2048];
    u_char         ovj[512];
    size_t         n, i;
    unit_ov_t      ov[NGX_HTTP_STAGED_UPDATE_PATCH_MAX], one;
    unit_state_t   st;
    const char    *e;

    static const struct {
        const char  *in;
        uint32_t     rate;
    } rates[] = {
        { "200/s", 200000 }, { "1/s", 1000 }, { "600/m", 10000 },
        { "7/m", 117 }, { "1/m", 17 }, { "1000000/s", 1000000000 },
        { "1000000/m", 16666667 }, { "90/m", 1500 }
    };

    printf("rate override\n");

    e = unit_patch("{\"rate\": \"200/s\", \"burst\": 50, \"paused\": true}",
                   ov, &n);
    CHECK(e == NULL);
    CHECK_INT(n, 2);
    CHECK_INT(ov[0].kind, NGX_HTTP_STAGED_UPDATE_OV_RATE);
    CHECK_INT(ov[0].value, 200000);
    CHECK_INT(ov[0].burst, 50);
    CHECK_INT(ov[0].remove, 0);
    CHECK_INT(ov[1].kind, NGX_HTTP_STAGED_UPDATE_OV_PAUSED);

    /* the burst may come first in the body */

    CHECK(unit_patch("{\"burst\": 3, \"rate\": \"600/m\"}", ov, &n) == NULL);
    CHECK_INT(n, 1);
    CHECK_INT(ov[0].value, 10000);
    CHECK_INT(ov[0].burst, 3);

    CHECK(unit_patch("{\"rate\": \"0/s\"}", ov, &n) == NULL);
    CHECK_INT(ov[0].remove, 1);
    CHECK(unit_patch("{\"rate\": \"00/m\"}", ov, &n) == NULL);
    CHECK_INT(ov[0].remove, 1);
    CHECK(unit_patch("{\"rate\": null}", ov, &n) == NULL);
    CHECK_INT(ov[0].kind, NGX_HTTP_STAGED_UPDATE_OV_RATE);
    CHECK_INT(ov[0].remove, 1);
    CHECK_INT(ov[0].value, 0);

    e = unit_patch("{\"rate\": \"fast\"}", ov, &n);
    CHECK(e != NULL && strstr(e, "\"rate\": a rate is") != NULL);
    CHECK(unit_patch("{\"rate\": 200}", ov, &n) != NULL);
    CHECK(unit_patch("{\"rate\": \"200/h\"}", ov, &n) != NULL);
    CHECK(unit_patch("{\"rate\": \"/s\"}", ov, &n) != NULL);
    CHECK(unit_patch("{\"rate\": \"0\"}", ov, &n) != NULL);
    CHECK(unit_patch("{\"rate\": \"1000001/s\"}", ov, &n) != NULL);
    CHECK(unit_patch("{\"rate\": \"-1/s\"}", ov, &n) != NULL);
    e = unit_patch("{\"burst\": 5}", ov, &n);
    CHECK(e != NULL && strstr(e, "\"burst\" goes with a \"rate\"") != NULL);
    CHECK_INT(n, 0);
    CHECK(unit_patch("{\"burst\": 5, \"paused\": true}", ov, &n) != NULL);
    CHECK(unit_patch("{\"burst\": 5, \"rate\": null}", ov, &n) != NULL);
    CHECK(unit_patch("{\"burst\": 0, \"rate\": \"1/s\"}", ov, &n) != NULL);
    CHECK(unit_patch("{\"burst\": \"5\", \"rate\": \"1/s\"}", ov, &n)
          != NULL);
    CHECK(unit_patch("{\"burst\": 1000001, \"rate\": \"1/s\"}", ov, &n)
          != NULL);

    /* a rate prints as what reads back the same */

    for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        snprintf(doc, sizeof(doc), "{\"rate\": \"%s\"}", rates[i].in);
        CHECK(unit_patch(doc, ov, &n) == NULL);
        CHECK_INT(ov[0].value, rates[i].rate);
        n = ngx_http_staged_update_rate_json(ovj, ov[0].value);
        CHECK_INT(n, ngx_http_staged_update_rate_json(NULL, ov[0].value));
        snprintf(doc, sizeof(doc), "{\"rate\": %.*s}", (int) n, ovj);
        CHECK(unit_patch(doc, &one, &n) == NULL);
        CHECK_MSG(one.value == rates[i].rate, "%s", rates[i].in);
    }

    n = ngx_http_staged_update_rate_json(ovj, 200000);
    CHECK_MEM(ovj, n, "\"200/s\"");
    n = ngx_http_staged_update_rate_json(ovj, 117);
    CHECK_MEM(ovj, n, "\"7/m\"");

    /* a state file's rate override and ramp clock: written, read back */

    memset(&one, 0, sizeof(unit_ov_t));
    one.kind = NGX_HTTP_STAGED_UPDATE_OV_RATE;
    one.value = 100000;
    one.conf = 200000;
    one.burst = 10;
    one.when = 1764430000;
    memcpy(one.server, "shard-1", 7);
    one.server_len = 7;
    memcpy(one.from, "127.0.0.1", 9);
    one.from_len = 9;

    n = ngx_http_staged_update_ov_json(ovj, &one);
    CHECK_INT(n, ngx_http_staged_update_ov_json(NULL, &one));
    CHECK(strstr((char *) ovj, "\"field\":\"rate\",\"value\":\"100/s\","
                 "\"configured\":\"200/s\",\"burst\":10") != NULL);
    snprintf(doc, sizeof(doc), "{\"staged_update_state\":1,\"tracks\":"
             "{\"game\":{\"etag\":3,\"ramp_paused\":42,"
             "\"ramp_at\":1796000000,\"overrides\":[%.*s]}}}", (int) n, ovj);

    CHECK(unit_state(doc, &st) == NULL);
    CHECK_INT(st.ovs, 1);
    CHECK_INT(st.paused, 42);
    CHECK_INT(st.at, 1796000000);
    CHECK(memcmp(&st.last, &one, sizeof(unit_ov_t)) == 0);

    /* without a burst; the ramp clock is optional */

    one.burst = 0;
    n = ngx_http_staged_update_ov_json(ovj, &one);
    CHECK(strstr((char *) ovj, "burst") == NULL);
    snprintf(doc, sizeof(doc), "{\"staged_update_state\":1,\"tracks\":"
             "{\"game\":{\"etag\":3,\"overrides\":[%.*s]}}}", (int) n, ovj);
    CHECK(unit_state(doc, &st) == NULL);
    CHECK_INT(st.paused, 0);
    CHECK_INT(st.at, 0);
    CHECK(memcmp(&st.last, &one, sizeof(unit_ov_t)) == 0);

    /* refused: a malformed rate, no configured rate, a bad clock */

    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"overrides\":[{\"field\":\"rate\","
                     "\"value\":\"5%\",\"configured\":\"1/s\","
                     "\"when\":\"2026-01-01T00:00:00Z\",\"from\":\"x\"}]}}}",
                     &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"overrides\":[{\"field\":\"rate\","
                     "\"value\":\"1/s\",\"when\":\"2026-01-01T00:00:00Z\","
                     "\"from\":\"x\"}]}}}", &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"overrides\":[{\"field\":\"rate\","
                     "\"value\":\"1/s\",\"configured\":\"2/s\",\"burst\":0,"
                     "\"when\":\"2026-01-01T00:00:00Z\",\"from\":\"x\"}]}}}",
                     &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"ramp_paused\":-1,\"overrides\":[]}}}",
                     &st));
    CHECK(unit_state("{\"staged_update_state\":1,\"tracks\":{\"g\":"
                     "{\"etag\":1,\"ramp_at\":\"now\",\"overrides\":[]}}}",
                     &st));
}


/*
 * The installations sketch: the estimate of n distinct fixed keys
 * ("client-0" .. "client-<n-1>", so the result is the same at every run)
 * is within 2% (the stated error is 0.81%, one standard deviation) at
 * 1,000, 10,000 and 100,000 keys; adding the same keys again does not move
 * it; the registers hold what the rank says; an empty sketch is 0.
 */

static void
unit_hll(void)
{
    char      key[32];
    u_char   *reg, *again;
    size_t    i, k, len;
    double    e, e2;
    uint32_t  a[4] = { 1, 2, 3, 0 }, b[4] = { 1, 2, 0, 3 };

    static const size_t  sizes[] = { 1000, 10000, 100000 };

    reg = calloc(1, NGX_HTTP_STAGED_UPDATE_HLL_M);
    again = calloc(1, NGX_HTTP_STAGED_UPDATE_HLL_M);

    CHECK(ngx_http_staged_update_hll_estimate(reg) == 0);

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        memset(reg, 0, NGX_HTTP_STAGED_UPDATE_HLL_M);

        for (i = 0; i < sizes[k]; i++) {
            len = (size_t) snprintf(key, sizeof(key), "client-%zu", i);
            ngx_http_staged_update_hll_add(reg,
                ngx_http_staged_update_hll_hash((u_char *) key, len));
        }

        e = ngx_http_staged_update_hll_estimate(reg);

        CHECK_MSG(e > sizes[k] * 0.98 && e < sizes[k] * 1.02,
                  "hll: %zu keys estimated %.1f (%.2f%%), not within 2%%",
                  sizes[k], e, 100.0 * (e - sizes[k]) / sizes[k]);

        printf("hll: %zu distinct keys, estimate %.1f (%+.2f%%)\n",
               sizes[k], e, 100.0 * (e - sizes[k]) / sizes[k]);

        memcpy(again, reg, NGX_HTTP_STAGED_UPDATE_HLL_M);

        for (i = 0; i < sizes[k]; i++) {
            len = (size_t) snprintf(key, sizeof(key), "client-%zu", i);
            ngx_http_staged_update_hll_add(again,
                ngx_http_staged_update_hll_hash((u_char *) key, len));
        }

        e2 = ngx_http_staged_update_hll_estimate(again);

        CHECK_MSG(e2 == e && memcmp(again, reg, NGX_HTTP_STAGED_UPDATE_HLL_M)
                             == 0,
                  "hll: the same %zu keys again moved %.1f to %.1f",
                  sizes[k], e, e2);
    }

    /* the handler's key check hashes as the sketch does */

    {
        uint64_t  h;

        CHECK(ngx_http_staged_update_key_hash((u_char *) "client-7", 8, 128,
                                              &h)
              && h == ngx_http_staged_update_hll_hash((u_char *) "client-7",
                                                      8));
        CHECK(!ngx_http_staged_update_key_hash((u_char *) "a b", 3, 128, &h));
        CHECK(!ngx_http_staged_update_key_hash((u_char *) "abc", 3, 2, &h));
        CHECK(!ngx_http_staged_update_key_hash((u_char *) "", 0, 2, &h));
    }

    /* one key: one register, the rank of its hash */

    memset(reg, 0, NGX_HTTP_STAGED_UPDATE_HLL_M);
    ngx_http_staged_update_hll_add(reg, 0x0001000000000000ULL);
    CHECK_INT(reg[0], 2);                        /* 2^48 << 14 = 2^62 */
    CHECK_INT(ngx_http_staged_update_hll_rank(0), 51);
    CHECK_INT(ngx_http_staged_update_hll_rank(0xffffffffffffffffULL), 1);
    CHECK_INT(ngx_http_staged_update_hll_index(0xffffffffffffffffULL),
              NGX_HTTP_STAGED_UPDATE_HLL_M - 1);

    e = ngx_http_staged_update_hll_estimate(reg);
    CHECK_MSG(e > 0.99 && e < 1.01, "hll: one key estimated %.3f", e);

    /* versions: never 0, the order of components counts */

    CHECK(ngx_http_staged_update_version_hash(a) != 0);
    CHECK(ngx_http_staged_update_version_hash(a)
          != ngx_http_staged_update_version_hash(b));

    free(reg);
    free(again);
}
static void unit_outcomes(void);


int
main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    unit_versions();
    unit_ranges();
    unit_percentages();
    unit_safe();
    unit_rules_sort();
    unit_table_demo();
    unit_explain();
    unit_table_duplicates();
    unit_table_big();
    unit_buckets();
    unit_json();
    unit_json_files();
    unit_base64url();
    unit_tokens();
    unit_version_print();
    unit_unescape();
    unit_minisign();
    unit_overrides();
    unit_state_file();
    unit_rate_override();
    unit_hll();
    unit_outcomes();

    printf("%lu passed, %lu failed\n", unit_passed, unit_failed);

    return unit_failed ? 1 : 0;
}


/* the normalized text of versions: what the sticky draw salts with */

static void
unit_version_print(void)
{
    size_t       i, n;
    unit_ver_t   v;
    u_char       buf[NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN];

    static const char  *cases[][2] = {
        { "2", "2.0.0" },
        { "2.0", "2.0.0" },
        { "2.0.0", "2.0.0" },
        { "2.0.0.0", "2.0.0" },
        { "02.00.007", "2.0.7" },
        { "1.2.3.4", "1.2.3.4" },
        { "0.0.0.1", "0.0.0.1" },
        { "999999999.999999999.999999999.999999999",
          "999999999.999999999.999999999.999999999" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = unit_v(cases[i][0], __FILE__, __LINE__);
        n = ngx_http_staged_update_version_print(buf, &v);
        CHECK_MEM(buf, n, cases[i][1]);
    }
}


/* percent-decoding of query values */

static void
unit_unescape(void)
{
    size_t    i;
    ssize_t   n;
    u_char   *src, dst[64];

    static const char  *ok[][2] = {
        { "a%3Ab", "a:b" },
        { "a%3ab", "a:b" },
        { "1%2E9%2E5", "1.9.5" },
        { "%41%42", "AB" },
        { "plain", "plain" },
        { "a+b", "a+b" },
        { "%25", "%" },
        { "", "" },
    };

    static const char  *bad[] = {
        "%", "%4", "a%zz", "%G0", "abc%2", "%%41"
    };

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        src = unit_dup(ok[i][0], strlen(ok[i][0]));
        n = ngx_http_staged_update_unescape(dst, src, strlen(ok[i][0]));
        CHECK_MSG(n >= 0, "\"%s\" does not decode", ok[i][0]);

        if (n >= 0) {
            CHECK_MEM(dst, (size_t) n, ok[i][1]);
        }

        free(src);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        src = unit_dup(bad[i], strlen(bad[i]));
        CHECK_MSG(ngx_http_staged_update_unescape(dst, src, strlen(bad[i]))
                  == -1, "\"%s\" is not refused", bad[i]);
        free(src);
    }

    /* a NUL is decoded, then refused by the value's own check */

    n = ngx_http_staged_update_unescape(dst, (const u_char *) "a%00", 4);
    CHECK_INT(n, 2);
    CHECK(n == 2 && dst[1] == '\0'
          && !ngx_http_staged_update_safe(dst, 2, 128));
}


/* the key of RFC 8032's test 1 */

static EVP_PKEY *
unit_rfc8032_key(void)
{
    static const u_char  seed[32] = {
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
        0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
        0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
        0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60
    };

    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
                                        sizeof(seed));
}


/*
 * A signature file checked as minisign does, with OpenSSL alone: four
 * lines; "ED", keynum and the signature of BLAKE2b-512(msg); the trusted
 * comment; the global signature of the signature and the comment.
 * 1 when all holds.
 */

static int
unit_minisign_check(const u_char *text, size_t len, EVP_PKEY *key,
    const u_char *msg, size_t msglen, const char *comment)
{
    int            ok;
    char           copy[1024], *line[5], *p;
    u_char         bin[128], gsig[128], hash[64], keynum[8], both[512];
    size_t         i, n, clen;
    EVP_MD_CTX    *ctx;

    if (len >= sizeof(copy)) {
        return 0;
    }

    memcpy(copy, text, len);
    copy[len] = '\0';

    p = copy;

    for (i = 0; i < 5; i++) {
        line[i] = p;
        p = strchr(p, '\n');

        if (p == NULL) {
            break;
        }

        *p++ = '\0';
    }

    /* four lines, each ended with "\n", and nothing after */

    if (i != 4 || *line[4] != '\0') {
        return 0;
    }

    clen = strlen(comment);

    if (strncmp(line[0], "untrusted comment: ", 19) != 0
        || strncmp(line[2], "trusted comment: ", 17) != 0
        || strcmp(line[2] + 17, comment) != 0
        || strlen(line[1]) != 100 || strlen(line[3]) != 88
        || EVP_DecodeBlock(bin, (u_char *) line[1], 100) != 75
        || EVP_DecodeBlock(gsig, (u_char *) line[3], 88) != 66
        || bin[0] != 'E' || bin[1] != 'D'
        || ngx_http_staged_update_minisign_keynum(key, keynum) != 0
        || memcmp(bin + 2, keynum, 8) != 0
        || 64 + clen > sizeof(both))
    {
        return 0;
    }

    n = 0;
    EVP_Digest(msg, msglen, hash, NULL, EVP_blake2b512(), NULL);

    ctx = EVP_MD_CTX_new();

    ok = ctx != NULL
         && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1
         && EVP_DigestVerify(ctx, bin + 10, 64, hash, 64) == 1;

    memcpy(both, bin + 10, 64);
    memcpy(both + 64, comment, clen);
    n = 64 + clen;

    ok = ok
         && EVP_MD_CTX_reset(ctx) == 1
         && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1
         && EVP_DigestVerify(ctx, gsig, 64, both, n) == 1;

    EVP_MD_CTX_free(ctx);

    return ok;
}


static void
unit_minisign(void)
{
    size_t       n;
    u_char       hash[64], keynum[8];
    u_char       pub[NGX_HTTP_STAGED_UPDATE_MINISIGN_PUB_LEN + 1];
    u_char       sig[NGX_HTTP_STAGED_UPDATE_MINISIGN_SIG_LEN(64) + 1];
    EVP_PKEY    *key, *ec;
    const char  *comment;

    static const u_char  msg[] = "the full archive of 2.0.0\n";

    key = unit_rfc8032_key();
    CHECK(key != NULL);

    if (key == NULL) {
        return;
    }

    /* keynum: the first 8 bytes of the SHA-256 of the raw public key */

    CHECK_INT(ngx_http_staged_update_minisign_keynum(key, keynum), 0);
    CHECK_MEM(keynum, 8, "\x21\xfe\x31\xdf\xa1\x54\xa2\x61");

    /*
     * the public key file, as tools/minisign-pubkey.sh prints it for the
     * same key (openssl and coreutils, not this code)
     */

    n = ngx_http_staged_update_minisign_pubkey(pub, key);
    CHECK_INT(n, NGX_HTTP_STAGED_UPDATE_MINISIGN_PUB_LEN);
    CHECK_MEM(pub, n, "untrusted comment: minisign public key "
                      "61A254A1DF31FE21\n"
                      "RWQh/jHfoVSiYddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3"
                      "B1Ea\n");

    /* a signature minisign's way, and what a changed byte breaks */

    EVP_Digest(msg, sizeof(msg) - 1, hash, NULL, EVP_blake2b512(), NULL);

    comment = "timestamp:1764000000\tfile:full.tar.gz\thashed";

    n = ngx_http_staged_update_minisign_sign(sig, key, hash,
                                             (const u_char *) comment,
                                             strlen(comment));

    CHECK(n > 0 && n <= NGX_HTTP_STAGED_UPDATE_MINISIGN_SIG_LEN(
                            strlen(comment)));
    CHECK(unit_minisign_check(sig, n, key, msg, sizeof(msg) - 1, comment));
    CHECK(!unit_minisign_check(sig, n, key, msg, sizeof(msg) - 2, comment));
    CHECK(!unit_minisign_check(sig, n, key, (const u_char *) "The full "
                               "archive of 2.0.0\n", sizeof(msg) - 1,
                               comment));
    CHECK(!unit_minisign_check(sig, n, key, msg, sizeof(msg) - 1,
                               "timestamp:1764000001\tfile:full.tar.gz"
                               "\thashed"));
    CHECK_MEM(sig, 69, "untrusted comment: signature from staged_update key "
                       "61A254A1DF31FE21\n");

    /* the same input, the same signature: Ed25519 is deterministic */

    {
        u_char  again[sizeof(sig)];

        CHECK_INT(ngx_http_staged_update_minisign_sign(again, key, hash,
                      (const u_char *) comment, strlen(comment)), n);
        CHECK(memcmp(again, sig, n) == 0);
    }

    /* a comment of two lines, and a key that is not Ed25519 */

    CHECK_INT(ngx_http_staged_update_minisign_sign(sig, key, hash,
                  (const u_char *) "a\nb", 3), 0);

    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CHECK(ec != NULL);

    if (ec) {
        CHECK_INT(ngx_http_staged_update_minisign_keynum(ec, keynum), -1);
        CHECK_INT(ngx_http_staged_update_minisign_pubkey(pub, ec), 0);
        CHECK_INT(ngx_http_staged_update_minisign_sign(sig, ec, hash,
                      (const u_char *) comment, strlen(comment)), 0);
        EVP_PKEY_free(ec);
    }

    EVP_PKEY_free(key);
}


/* install reports: the body, the token's fields, one vote, the bound */

static const char *
unit_report(const char *body, ngx_http_staged_update_outcome_t *o)
{
    static char  err[NGX_HTTP_STAGED_UPDATE_ERR_LEN];

    return ngx_http_staged_update_outcome_parse((const u_char *) body,
                                                strlen(body), o, err,
                                                sizeof(err));
}


static void
unit_outcomes(void)
{
    size_t                              vlen, clen, i;
    uint32_t                            mask, dn, dk;
    uint64_t                            k, n;
    const char                         *e;
    const u_char                       *ver, *client;
    ngx_http_staged_update_outcome_t   *o;

    o = malloc(sizeof(*o));
    CHECK(o != NULL);
    if (o == NULL) {
        return;
    }

    e = unit_report("{\"version\":\"2.0\",\"from\":\"1.9.0\","
                    "\"result\":\"rolled-back\",\"reason\":\"exit 1\","
                    "\"client\":\"K:1\",\"server\":\"shard-1\","
                    "\"grant\":\"https://u.example:8443/releases/2.0.0/"
                    "a%20b?x=1&token=2.0.0~17~K:1~mac%7E\"}", o);
    CHECK_MSG(e == NULL, "%s", e);
    CHECK_INT(o->result, NGX_HTTP_STAGED_UPDATE_ROLLED_BACK);
    CHECK_INT(o->version.part[0], 2);
    CHECK_INT(o->from.part[1], 9);
    CHECK_MEM(o->reason, o->reason_len, "exit 1");
    CHECK_MEM(o->client, o->client_len, "K:1");
    CHECK_MEM(o->server, o->server_len, "shard-1");
    CHECK_MEM(o->path, o->path_len, "/releases/2.0.0/a b");
    CHECK_MEM(o->token, o->token_len, "2.0.0~17~K:1~mac~");

    /* no grant, or a grant without token: parsed, token_len 0 (a 403) */

    CHECK(unit_report("{\"version\":\"2.0.0\",\"from\":\"1.0.0\","
                      "\"result\":\"started\",\"client\":\"K\"}", o)
          == NULL);
    CHECK_INT(o->token_len, 0);
    CHECK(unit_report("{\"version\":\"2.0.0\",\"from\":\"1.0.0\","
                      "\"result\":\"started\",\"client\":\"K\","
                      "\"grant\":\"/releases/2.0.0/bin/game?t=1\"}", o)
          == NULL);
    CHECK_INT(o->token_len, 0);

    /* refusals */

    {
        static const char  *bad[] = {
            "",
            "[]",
            "{\"version\":\"2.0.0\"}",
            "{\"version\":\"2.0.0\",\"from\":\"2.0.0\",\"result\":"
                "\"started\",\"client\":\"K\"}",
            "{\"version\":\"2.x\",\"from\":\"1.0.0\",\"result\":"
                "\"started\",\"client\":\"K\"}",
            "{\"version\":\"2.0.0\",\"from\":\"1.0.0\",\"result\":"
                "\"exploded\",\"client\":\"K\"}",
            "{\"version\":\"2.0.0\",\"from\":\"1.0.0\",\"result\":"
                "\"started\",\"client\":\"K K\"}",
            "{\"version\":\"2.0.0\",\"from\":\"1.0.0\",\"result\":"
                "\"started\",\"client\":\"K\",\"server\":\"a/b\"}",
            "{\"version\":\"2.0.0\",\"from\":\"1.0.0\",\"result\":"
                "\"started\",\"client\":\"K\",\"reason\":\"a\\nb\"}",
            "{\"version\":\"2.0.0\",\"from\":\"1.0.0\",\"result\":"
                "\"started\",\"client\":\"K\",\"votes\":2}",
            "{\"version\":\"2.0.0\",\"version\":\"2.0.0\"}",
            "{\"version\":\"2.0.0\",\"from\":\"1.0.0\",\"result\":"
                "\"started\",\"client\":\"K\",\"grant\":\"bin/game\"}",
            "{\"version\":\"2.0.0\",\"from\":\"1.0.0\",\"result\":"
                "\"started\",\"client\":\"K\",\"grant\":\"/a?token=%zz\"}",
            "{\"version\":2,\"from\":\"1.0.0\",\"result\":\"started\","
                "\"client\":\"K\"}"
        };

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            CHECK_MSG(unit_report(bad[i], o) != NULL, "accepted: %s",
                      bad[i]);
        }
    }

    /* the token's fields */

    CHECK(ngx_http_staged_update_token_fields((const u_char *) "2.0.0~9~K~m",
                                              11, &ver, &vlen, &client,
                                              &clen));
    CHECK_MEM(ver, vlen, "2.0.0");
    CHECK_MEM(client, clen, "K");
    CHECK(ngx_http_staged_update_token_fields((const u_char *) "2.0.0~9~m",
                                              9, &ver, &vlen, &client,
                                              &clen));
    CHECK_INT(clen, 0);
    CHECK(!ngx_http_staged_update_token_fields((const u_char *) "2.0.0~m", 7,
                                               &ver, &vlen, &client, &clen));
    CHECK(!ngx_http_staged_update_token_fields((const u_char *) "a~b~c~d~e",
                                               9, &ver, &vlen, &client,
                                               &clen));

    /* one vote per client: each result once; the sample counts once */

    mask = 0;
    CHECK(ngx_http_staged_update_outcome_apply(&mask,
              NGX_HTTP_STAGED_UPDATE_INSTALLED, &dn, &dk));
    CHECK_INT(dn + dk, 0);
    CHECK(!ngx_http_staged_update_outcome_apply(&mask,
              NGX_HTTP_STAGED_UPDATE_INSTALLED, &dn, &dk));
    CHECK(ngx_http_staged_update_outcome_apply(&mask,
              NGX_HTTP_STAGED_UPDATE_STARTED, &dn, &dk));
    CHECK_INT(dn * 10 + dk, 10);
    CHECK(ngx_http_staged_update_outcome_apply(&mask,
              NGX_HTTP_STAGED_UPDATE_ROLLED_BACK, &dn, &dk));
    CHECK_INT(dn * 10 + dk, 1);            /* a success turns a failure */
    CHECK(ngx_http_staged_update_outcome_apply(&mask,
              NGX_HTTP_STAGED_UPDATE_FAILED, &dn, &dk));
    CHECK_INT(dn * 10 + dk, 0);            /* already a failure */
    CHECK(!ngx_http_staged_update_outcome_apply(&mask,
              NGX_HTTP_STAGED_UPDATE_STARTED, &dn, &dk));

    mask = 0;
    CHECK(ngx_http_staged_update_outcome_apply(&mask,
              NGX_HTTP_STAGED_UPDATE_FAILED, &dn, &dk));
    CHECK_INT(dn * 10 + dk, 11);
    CHECK(ngx_http_staged_update_outcome_apply(&mask,
              NGX_HTTP_STAGED_UPDATE_STARTED, &dn, &dk));
    CHECK_INT(dn * 10 + dk, 0);

    /* z and Wilson's lower bound, against values computed by hand */

    CHECK_MSG(fabs(ngx_http_staged_update_z(0.95) - 1.644854) < 1e-5, "z95");
    CHECK_MSG(fabs(ngx_http_staged_update_z(0.99) - 2.326348) < 1e-5, "z99");
    CHECK_MSG(fabs(ngx_http_staged_update_wilson_lower(6, 20, 1.644854)
                   - 0.163908) < 1e-4, "wilson 6/20");
    CHECK_MSG(ngx_http_staged_update_wilson_lower(0, 20, 1.644854) == 0.0,
              "wilson 0/20");
    CHECK_MSG(ngx_http_staged_update_wilson_lower(0, 0, 1.644854) == 0.0,
              "wilson 0/0");

    /* the rule: min, then the bound */

    CHECK(!ngx_http_staged_update_halt_due(19, 19, 500, 20, 1.644854));
    CHECK(ngx_http_staged_update_halt_due(20, 20, 500, 20, 1.644854));
    CHECK(ngx_http_staged_update_halt_due(6, 20, 500, 20, 1.644854));
    CHECK(!ngx_http_staged_update_halt_due(3, 300, 500, 20, 1.644854));
    CHECK(!ngx_http_staged_update_halt_due(2, 20, 500, 20, 1.644854));

    /* a 1% release never halts with 3 failures in 100 or more */

    for (n = 100, k = 3; n <= 100000; n *= 10) {
        CHECK(!ngx_http_staged_update_halt_due(k, n, 500, 20, 1.644854));
    }

    free(o);
}
