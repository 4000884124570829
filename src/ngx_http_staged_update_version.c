
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include "ngx_http_staged_update_version.h"


static const char *ngx_http_staged_update_version_parse_bound(const u_char *p,
    size_t len, ngx_http_staged_update_version_t *v, unsigned *wildcard);


/*
 * A check's version: a short loop for a well-formed one; anything else
 * goes to the full parser, for its message.
 */

const char *
ngx_http_staged_update_version_parse(const u_char *p, size_t len,
    ngx_http_staged_update_version_t *v)
{
    size_t         n;
    unsigned       c, wildcard;
    uint32_t       value;
    const char    *err;
    const u_char  *q, *start, *end;

    q = p;
    end = p + len;
    n = 0;

    if (len && len <= NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN) {

        for ( ;; ) {
            start = q;
            value = 0;

            while (q < end && (c = (unsigned) *q - '0') <= 9) {
                value = value * 10 + c;
                q++;
            }

            if (q == start || q - start > NGX_HTTP_STAGED_UPDATE_VERSION_DIGITS
                || n == NGX_HTTP_STAGED_UPDATE_VERSION_PARTS)
            {
                break;
            }

            v->part[n++] = value;

            if (q == end) {
                while (n < NGX_HTTP_STAGED_UPDATE_VERSION_PARTS) {
                    v->part[n++] = 0;
                }

                return NULL;
            }

            if (*q != '.' || ++q == end) {
                break;
            }
        }
    }

    err = ngx_http_staged_update_version_parse_bound(p, len, v, &wildcard);

    if (err == NULL && wildcard) {
        return "a version cannot contain \"*\"";
    }

    return err;
}


const char *
ngx_http_staged_update_range_parse(const u_char *p, size_t len,
    ngx_http_staged_update_range_t *r)
{
    size_t       i;
    unsigned     wildcard;
    const char  *err;

    for (i = 0; i < len; i++) {
        if (p[i] == '-') {
            break;
        }
    }

    if (i == len) {

        /* "1.7.0", "1.7.*" or "*": lo fills the wildcard with 0 */

        err = ngx_http_staged_update_version_parse_bound(p, len, &r->hi,
                                                         &wildcard);
        if (err) {
            return err;
        }

        r->lo = r->hi;

        for (i = 0; i < NGX_HTTP_STAGED_UPDATE_VERSION_PARTS; i++) {
            if (r->lo.part[i] == NGX_HTTP_STAGED_UPDATE_VERSION_ANY) {
                r->lo.part[i] = 0;
            }
        }

        return NULL;
    }

    /* "lo-hi": lo is an exact version, hi may end with a wildcard */

    err = ngx_http_staged_update_version_parse(p, i, &r->lo);
    if (err) {
        return "the start of the range is not a version "
               "(1 to 4 dot-separated numbers of at most 9 digits)";
    }

    err = ngx_http_staged_update_version_parse_bound(p + i + 1, len - i - 1,
                                                     &r->hi, &wildcard);
    if (err) {
        return "the end of the range is not a version or a wildcard "
               "such as \"1.9.*\"";
    }

    if (ngx_http_staged_update_version_cmp(&r->lo, &r->hi) > 0) {
        return "the range is empty: its start is above its end";
    }

    return NULL;
}


/*
 * Parses "1", "1.2.3.4", "1.2.*" and "*"; a "*" can only be the last
 * component and stretches it and every later one to VERSION_ANY.
 */

static const char *
ngx_http_staged_update_version_parse_bound(const u_char *p, size_t len,
    ngx_http_staged_update_version_t *v, unsigned *wildcard)
{
    size_t       i, n, digits;
    uint32_t     value;
    const u_char *end;

    *wildcard = 0;

    if (len == 0) {
        return "the version is empty";
    }

    if (len > NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN) {
        return "the version is too long";
    }

    end = p + len;
    n = 0;

    for ( ;; ) {

        if (n == NGX_HTTP_STAGED_UPDATE_VERSION_PARTS) {
            return "a version has at most 4 components";
        }

        if (*p == '*') {
            if (p + 1 != end) {
                return "\"*\" can only be the last component";
            }

            for (i = n; i < NGX_HTTP_STAGED_UPDATE_VERSION_PARTS; i++) {
                v->part[i] = NGX_HTTP_STAGED_UPDATE_VERSION_ANY;
            }

            *wildcard = 1;
            return NULL;
        }

        value = 0;
        digits = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            if (++digits > NGX_HTTP_STAGED_UPDATE_VERSION_DIGITS) {
                return "a version component has at most 9 digits";
            }

            value = value * 10 + (*p++ - '0');
        }

        if (digits == 0) {
            return "a version is 1 to 4 dot-separated numbers";
        }

        v->part[n++] = value;

        if (p == end) {
            break;
        }

        if (*p != '.' || ++p == end) {
            return "a version is 1 to 4 dot-separated numbers";
        }
    }

    for (i = n; i < NGX_HTTP_STAGED_UPDATE_VERSION_PARTS; i++) {
        v->part[i] = 0;
    }

    return NULL;
}


size_t
ngx_http_staged_update_version_print(u_char *buf,
    const ngx_http_staged_update_version_t *v)
{
    size_t    i, n, len;
    uint32_t  x, div;

    n = NGX_HTTP_STAGED_UPDATE_VERSION_PARTS;

    while (n > 3 && v->part[n - 1] == 0) {
        n--;
    }

    len = 0;

    for (i = 0; i < n; i++) {
        if (i) {
            buf[len++] = '.';
        }

        x = v->part[i];

        if (x == NGX_HTTP_STAGED_UPDATE_VERSION_ANY) {
            buf[len++] = '*';
            break;
        }

        for (div = 1; x / div >= 10; div *= 10) { /* void */ }

        for ( /* void */ ; div; div /= 10) {
            buf[len++] = (u_char) ('0' + x / div % 10);
        }
    }

    return len;
}
