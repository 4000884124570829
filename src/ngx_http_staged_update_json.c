
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include <string.h>

#include "ngx_http_staged_update_json.h"


static size_t ngx_http_staged_update_copy(u_char *dst, const char *src,
    size_t len);
static size_t ngx_http_staged_update_uint(u_char *dst, uint64_t n);
static int ngx_http_staged_update_hex_value(u_char c);


static const u_char  ngx_http_staged_update_hex[] = "0123456789abcdef";
static const u_char  ngx_http_staged_update_uhex[] = "0123456789ABCDEF";


/* RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF */

int
ngx_http_staged_update_utf8_valid(const u_char *p, size_t len)
{
    u_char        c;
    size_t        n;
    uint32_t      u, min;
    const u_char  *end;

    end = p + len;

    while (p < end) {
        c = *p++;

        if (c < 0x80) {
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            u = c & 0x1f;
            min = 0x80;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            u = c & 0x0f;
            min = 0x800;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            u = c & 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if ((size_t) (end - p) < n) {
            return 0;
        }

        while (n--) {
            c = *p++;

            if ((c & 0xc0) != 0x80) {
                return 0;
            }

            u = (u << 6) | (c & 0x3f);
        }

        if (u < min || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


int
ngx_http_staged_update_name_valid(const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return 0;
        }
    }

    return ngx_http_staged_update_utf8_valid(p, len);
}


size_t
ngx_http_staged_update_json_str(u_char *dst, const u_char *src, size_t len)
{
    u_char  c;
    size_t  n;

    n = 0;

    if (dst) {
        dst[n] = '"';
    }

    n++;

    while (len--) {
        c = *src++;

        if (c == '"' || c == '\\') {
            if (dst) {
                dst[n] = '\\';
                dst[n + 1] = c;
            }

            n += 2;

        } else if (c < 0x20) {
            if (dst) {
                dst[n] = '\\';
                dst[n + 1] = 'u';
                dst[n + 2] = '0';
                dst[n + 3] = '0';
                dst[n + 4] = ngx_http_staged_update_hex[c >> 4];
                dst[n + 5] = ngx_http_staged_update_hex[c & 0xf];
            }

            n += 6;

        } else {
            if (dst) {
                dst[n] = c;
            }

            n++;
        }
    }

    if (dst) {
        dst[n] = '"';
    }

    return n + 1;
}


size_t
ngx_http_staged_update_url_path(u_char *dst, const u_char *src, size_t len)
{
    u_char  c;
    size_t  n;

    n = 0;

    while (len--) {
        c = *src++;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
        {
            if (dst) {
                dst[n] = c;
            }

            n++;
            continue;
        }

        if (dst) {
            dst[n] = '%';
            dst[n + 1] = ngx_http_staged_update_uhex[c >> 4];
            dst[n + 2] = ngx_http_staged_update_uhex[c & 0xf];
        }

        n += 3;
    }

    return n;
}


size_t
ngx_http_staged_update_json_files(u_char *dst,
    const ngx_http_staged_update_file_t *files, size_t n,
    const u_char *prefix, size_t prefix_len)
{
    size_t   i, j, len;
    u_char  *p;

#define ngx_http_staged_update_at(dst, len)  ((dst) ? (dst) + (len) : NULL)

    len = ngx_http_staged_update_copy(dst, "[", 1);

    for (i = 0; i < n; i++) {
        p = ngx_http_staged_update_at(dst, len);

        len += ngx_http_staged_update_copy(p, i ? ",{\"path\":" : "{\"path\":",
                                           i ? 9 : 8);
        len += ngx_http_staged_update_json_str(
                   ngx_http_staged_update_at(dst, len),
                   files[i].path, files[i].path_len);

        len += ngx_http_staged_update_copy(ngx_http_staged_update_at(dst, len),
                                           ",\"size\":", 8);
        len += ngx_http_staged_update_uint(ngx_http_staged_update_at(dst, len),
                                           files[i].size);

        len += ngx_http_staged_update_copy(ngx_http_staged_update_at(dst, len),
                                           ",\"sha256\":\"", 11);

        for (j = 0; j < NGX_HTTP_STAGED_UPDATE_SHA256_LEN; j++) {
            if (dst) {
                dst[len] = ngx_http_staged_update_hex[files[i].sha256[j] >> 4];
                dst[len + 1] =
                          ngx_http_staged_update_hex[files[i].sha256[j] & 0xf];
            }

            len += 2;
        }

        len += ngx_http_staged_update_copy(ngx_http_staged_update_at(dst, len),
                                           "\",\"url\":\"", 9);
        len += ngx_http_staged_update_copy(ngx_http_staged_update_at(dst, len),
                                           (const char *) prefix, prefix_len);

        /* the escaped path is URL-safe, so it needs no JSON escaping */

        len += ngx_http_staged_update_url_path(
                   ngx_http_staged_update_at(dst, len),
                   files[i].path, files[i].path_len);

        len += ngx_http_staged_update_copy(ngx_http_staged_update_at(dst, len),
                                           (const char *) files[i].query,
                                           files[i].query_len);

        if (files[i].content) {
            len += ngx_http_staged_update_copy(
                       ngx_http_staged_update_at(dst, len),
                       "\",\"content\":\"", 13);
            len += ngx_http_staged_update_copy(
                       ngx_http_staged_update_at(dst, len),
                       (const char *) files[i].content,
                       files[i].content_len);
        }

        len += ngx_http_staged_update_copy(ngx_http_staged_update_at(dst, len),
                                           "\"}", 2);
    }

    len += ngx_http_staged_update_copy(ngx_http_staged_update_at(dst, len),
                                       "]", 1);

#undef ngx_http_staged_update_at

    return len;
}


static size_t
ngx_http_staged_update_copy(u_char *dst, const char *src, size_t len)
{
    if (dst && len) {
        memcpy(dst, src, len);
    }

    return len;
}


static size_t
ngx_http_staged_update_uint(u_char *dst, uint64_t n)
{
    u_char  tmp[20];
    size_t  len, i;

    len = 0;

    do {
        tmp[len++] = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    if (dst) {
        for (i = 0; i < len; i++) {
            dst[i] = tmp[len - 1 - i];
        }
    }

    return len;
}


static int
ngx_http_staged_update_hex_value(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


ssize_t
ngx_http_staged_update_unescape(u_char *dst, const u_char *src, size_t len)
{
    int            hi, lo;
    u_char        *d;
    const u_char  *end;

    d = dst;
    end = src + len;

    while (src < end) {
        if (*src != '%') {
            *d++ = *src++;
            continue;
        }

        if (end - src < 3) {
            return -1;
        }

        hi = ngx_http_staged_update_hex_value(src[1]);
        lo = ngx_http_staged_update_hex_value(src[2]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        *d++ = (u_char) (hi << 4 | lo);
        src += 3;
    }

    return d - dst;
}
