
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Versions: dotted numbers of 1 to 4 components, each of at most 9 digits,
 * compared numerically ("1.10" > "1.9", "1.2" == "1.2.0"), and version
 * patterns ("1.7.*", "1.5.0-1.9.*", "*") that name a closed interval.
 *
 * Pure logic: this file needs no running nginx (see tests/unit and fuzz/).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_VERSION_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_VERSION_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define NGX_HTTP_STAGED_UPDATE_VERSION_PARTS    4
#define NGX_HTTP_STAGED_UPDATE_VERSION_DIGITS   9

/* "999999999.999999999.999999999.999999999" */
#define NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN   39

/* a component that a wildcard stretches to: above any 9-digit number */
#define NGX_HTTP_STAGED_UPDATE_VERSION_ANY      0xffffffff


typedef struct {
    uint32_t    part[NGX_HTTP_STAGED_UPDATE_VERSION_PARTS];
} ngx_http_staged_update_version_t;


typedef struct {
    ngx_http_staged_update_version_t  lo;
    ngx_http_staged_update_version_t  hi;
} ngx_http_staged_update_range_t;


/*
 * Both parsers return NULL on success, or a static English sentence that
 * says what is wrong with the text.
 */
const char *ngx_http_staged_update_version_parse(const u_char *p, size_t len,
    ngx_http_staged_update_version_t *v);
const char *ngx_http_staged_update_range_parse(const u_char *p, size_t len,
    ngx_http_staged_update_range_t *r);

/*
 * The normalized text of a version, the one the sticky draw salts with:
 * its numbers without leading zeros, at least three ("2.0" and "2.0.0"
 * are "2.0.0"), a fourth only when it is not 0 ("1.2.3.0" is "1.2.3");
 * a pattern's wildcard part is printed as "*" ("1.7.*").  buf has room
 * for NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN bytes; returns the length.
 */
size_t ngx_http_staged_update_version_print(u_char *buf,
    const ngx_http_staged_update_version_t *v);

/* inline: the decision compares versions several times a check */

static inline int
ngx_http_staged_update_version_cmp(const ngx_http_staged_update_version_t *a,
    const ngx_http_staged_update_version_t *b)
{
    size_t  i;

    for (i = 0; i < NGX_HTTP_STAGED_UPDATE_VERSION_PARTS; i++) {
        if (a->part[i] != b->part[i]) {
            return a->part[i] < b->part[i] ? -1 : 1;
        }
    }

    return 0;
}


#endif /* _NGX_HTTP_STAGED_UPDATE_VERSION_H_INCLUDED_ */
