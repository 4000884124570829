/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * libFuzzer target: utf8_valid, json_str, url_path and json_files on
 * arbitrary bytes.  Invariants: utf8_valid agrees with a table-driven
 * reference (Unicode 3-7, well-formed byte sequences); for every writer
 * the length of the NULL pass equals the bytes written (into a buffer of
 * exactly that size); json_str output has no raw control character and
 * unescapes back to the input; url_path output is unreserved characters,
 * "/" and uppercase %XX, and decodes back to the input; json_files is
 * well-formed JSON text, and valid UTF-8 when its paths are.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc ...
 *   gcc -DSTANDALONE_MAIN ... : replays files and directories given on argv
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ngx_http_staged_update_json.h"


#define FUZZ_FILES  4


static int fuzz_ref_utf8(const uint8_t *p, size_t len);
static int fuzz_hex(uint8_t c, const char *digits);
static int fuzz_unreserved(uint8_t c);
static void fuzz_json_str(const uint8_t *data, size_t size);
static void fuzz_url_path(const uint8_t *data, size_t size);
static void fuzz_unescape(const uint8_t *data, size_t size);
static size_t fuzz_json_string_end(const u_char *p, size_t i, size_t len);
static void fuzz_json_text(const u_char *p, size_t len);
static void fuzz_json_files(const uint8_t *data, size_t size);


/* Unicode, table 3-7: the well-formed UTF-8 byte sequences */

static int
fuzz_ref_utf8(const uint8_t *p, size_t len)
{
    size_t   i, n, k;
    uint8_t  c, lo, hi;

    i = 0;

    while (i < len) {
        c = p[i];
        lo = 0x80;
        hi = 0xbf;

        if (c <= 0x7f) {
            i++;
            continue;

        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c == 0xe0) {
            n = 2;
            lo = 0xa0;

        } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
            n = 2;

        } else if (c == 0xed) {
            n = 2;
            hi = 0x9f;

        } else if (c == 0xf0) {
            n = 3;
            lo = 0x90;

        } else if (c >= 0xf1 && c <= 0xf3) {
            n = 3;

        } else if (c == 0xf4) {
            n = 3;
            hi = 0x8f;

        } else {
            return 0;
        }

        if (len - i - 1 < n) {
            return 0;
        }

        for (k = 1; k <= n; k++) {
            c = p[i + k];

            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf)) {
                return 0;
            }
        }

        i += n + 1;
    }

    return 1;
}


static int
fuzz_hex(uint8_t c, const char *digits)
{
    const char  *p;

    p = memchr(digits, c, 16);

    return p ? (int) (p - digits) : -1;
}


static int
fuzz_unreserved(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
}


static void
fuzz_json_str(const uint8_t *data, size_t size)
{
    int      h, l;
    size_t   len, wrote, i, k;
    u_char  *out;

    len = ngx_http_staged_update_json_str(NULL, data, size);
    FUZZ_ASSERT(len >= 2 && len <= 2 + 6 * size);

    out = malloc(len);
    FUZZ_ASSERT(out != NULL);

    wrote = ngx_http_staged_update_json_str(out, data, size);
    FUZZ_ASSERT(wrote == len);
    FUZZ_ASSERT(out[0] == '"' && out[len - 1] == '"');

    /* no raw control character; unescaping gives the input back */

    k = 0;

    for (i = 1; i < len - 1; i++) {
        FUZZ_ASSERT(out[i] >= 0x20);
        FUZZ_ASSERT(out[i] != '"');
        FUZZ_ASSERT(k < size);

        if (out[i] != '\\') {
            FUZZ_ASSERT(out[i] == data[k]);
            k++;
            continue;
        }

        FUZZ_ASSERT(i + 1 < len - 1);
        i++;

        if (out[i] == '"' || out[i] == '\\') {
            FUZZ_ASSERT(out[i] == data[k]);
            k++;
            continue;
        }

        FUZZ_ASSERT(out[i] == 'u' && i + 4 < len - 1);
        FUZZ_ASSERT(out[i + 1] == '0' && out[i + 2] == '0');

        h = fuzz_hex(out[i + 3], "0123456789abcdef");
        l = fuzz_hex(out[i + 4], "0123456789abcdef");
        FUZZ_ASSERT(h >= 0 && l >= 0);
        FUZZ_ASSERT((uint8_t) (h << 4 | l) == data[k]);
        FUZZ_ASSERT(data[k] < 0x20);

        k++;
        i += 4;
    }

    FUZZ_ASSERT(k == size);

    free(out);
}


static void
fuzz_url_path(const uint8_t *data, size_t size)
{
    int      h, l;
    size_t   len, wrote, i, k;
    u_char  *out, *back;

    len = ngx_http_staged_update_url_path(NULL, data, size);
    FUZZ_ASSERT(len >= size && len <= 3 * size);

    out = malloc(len ? len : 1);
    FUZZ_ASSERT(out != NULL);

    wrote = ngx_http_staged_update_url_path(out, data, size);
    FUZZ_ASSERT(wrote == len);

    k = 0;

    for (i = 0; i < len; i++) {
        FUZZ_ASSERT(k < size);

        if (out[i] != '%') {
            FUZZ_ASSERT(fuzz_unreserved(out[i]));
            FUZZ_ASSERT(out[i] == data[k]);
            k++;
            continue;
        }

        FUZZ_ASSERT(i + 2 < len);

        h = fuzz_hex(out[i + 1], "0123456789ABCDEF");
        l = fuzz_hex(out[i + 2], "0123456789ABCDEF");
        FUZZ_ASSERT(h >= 0 && l >= 0);
        FUZZ_ASSERT((uint8_t) (h << 4 | l) == data[k]);
        FUZZ_ASSERT(!fuzz_unreserved(data[k]));

        k++;
        i += 2;
    }

    FUZZ_ASSERT(k == size);

    /* decoding the escaped path gives the bytes back */

    back = malloc(len ? len : 1);
    FUZZ_ASSERT(back != NULL);
    FUZZ_ASSERT(ngx_http_staged_update_unescape(back, out, len)
                == (ssize_t) size);
    FUZZ_ASSERT(size == 0 || memcmp(back, data, size) == 0);

    free(back);
    free(out);
}


/* any bytes: a length within the input's, or -1 for a malformed escape */

static void
fuzz_unescape(const uint8_t *data, size_t size)
{
    u_char   *out;
    ssize_t   n;

    out = malloc(size ? size : 1);
    FUZZ_ASSERT(out != NULL);

    n = ngx_http_staged_update_unescape(out, data, size);
    FUZZ_ASSERT(n >= -1 && n <= (ssize_t) size);
    FUZZ_ASSERT(n != (ssize_t) size || size == 0
                || memchr(data, '%', size) == NULL);

    free(out);
}


/* p[i] is the opening quote; returns the index after the closing one */

static size_t
fuzz_json_string_end(const u_char *p, size_t i, size_t len)
{
    size_t  k;

    for (i++; i < len; i++) {
        FUZZ_ASSERT(p[i] >= 0x20);

        if (p[i] == '"') {
            return i + 1;
        }

        if (p[i] != '\\') {
            continue;
        }

        FUZZ_ASSERT(i + 1 < len);
        i++;

        if (p[i] == 'u') {
            FUZZ_ASSERT(i + 4 < len);

            for (k = 1; k <= 4; k++) {
                FUZZ_ASSERT(fuzz_hex(p[i + k], "0123456789abcdef") >= 0
                            || fuzz_hex(p[i + k], "0123456789ABCDEF") >= 0);
            }

            i += 4;
            continue;
        }

        FUZZ_ASSERT(strchr("\"\\/bfnrt", p[i]) != NULL && p[i] != '\0');
    }

    FUZZ_ASSERT(0);

    return len;
}


/* an array of objects of string and number members, nothing else */

static void
fuzz_json_text(const u_char *p, size_t len)
{
    size_t  i, depth;

    FUZZ_ASSERT(len >= 2 && p[0] == '[' && p[len - 1] == ']');

    depth = 0;
    i = 0;

    while (i < len) {
        switch (p[i]) {

        case '"':
            i = fuzz_json_string_end(p, i, len);
            continue;

        case '[':
        case '{':
            depth++;
            break;

        case ']':
        case '}':
            FUZZ_ASSERT(depth > 0);
            depth--;
            FUZZ_ASSERT(depth > 0 || i == len - 1);
            break;

        case ',':
        case ':':
            break;

        default:
            FUZZ_ASSERT(p[i] >= '0' && p[i] <= '9');
        }

        i++;
    }

    FUZZ_ASSERT(depth == 0);
}


static void
fuzz_json_files(const uint8_t *data, size_t size)
{
    int                             utf8;
    size_t                          i, n, start, len, wrote, prefix_len;
    u_char                         *out;
    const u_char                   *prefix;
    ngx_http_staged_update_file_t   files[FUZZ_FILES];

    if (size == 0) {
        return;
    }

    /* the paths are the lines of the input after its first byte */

    prefix = (const u_char *) ((data[0] & 1) ? "https://cdn.example.com/a/"
                                             : "/static/");
    prefix_len = strlen((const char *) prefix);

    memset(files, 0, sizeof(files));

    n = 0;
    utf8 = 1;
    start = 1;

    for (i = 1; i <= size && n < FUZZ_FILES; i++) {
        if (i < size && data[i] != '\n') {
            continue;
        }

        files[n].path = data + start;
        files[n].path_len = i - start;
        files[n].size = (uint64_t) (i - start) << (data[0] % 64);
        memset(files[n].sha256, data[start - 1], sizeof(files[n].sha256));

        utf8 = utf8 && ngx_http_staged_update_utf8_valid(files[n].path,
                                                         files[n].path_len);
        n++;
        start = i + 1;
    }

    len = ngx_http_staged_update_json_files(NULL, files, n, prefix,
                                            prefix_len);
    out = malloc(len);
    FUZZ_ASSERT(out != NULL);

    wrote = ngx_http_staged_update_json_files(out, files, n, prefix,
                                              prefix_len);
    FUZZ_ASSERT(wrote == len);

    fuzz_json_text(out, len);

    if (utf8) {
        FUZZ_ASSERT(ngx_http_staged_update_utf8_valid(out, len));
    }

    free(out);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FUZZ_ASSERT(ngx_http_staged_update_utf8_valid(data, size)
                == fuzz_ref_utf8(data, size));

    fuzz_json_str(data, size);
    fuzz_url_path(data, size);
    fuzz_unescape(data, size);
    fuzz_json_files(data, size);

    return 0;
}


#ifdef STANDALONE_MAIN
#include "fuzz_replay.h"
#endif
