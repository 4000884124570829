
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * JSON and URL text for the answers: the file list of a manifest, escaped
 * strings, percent-encoded paths.  Every function takes dst == NULL to
 * return the length it would write, so callers size one buffer exactly.
 *
 * Pure logic: this file needs no running nginx (see tests/unit and fuzz/).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_JSON_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define NGX_HTTP_STAGED_UPDATE_SHA256_LEN  32


typedef struct {
    const u_char  *path;         /* relative to the release directory */
    size_t         path_len;
    uint64_t       size;
    u_char         sha256[NGX_HTTP_STAGED_UPDATE_SHA256_LEN];
    const u_char  *query;        /* appended to the url, e.g. "?token=..." */
    size_t         query_len;
    const u_char  *content;      /* base64, for a file given inline, or NULL */
    size_t         content_len;
} ngx_http_staged_update_file_t;


int ngx_http_staged_update_utf8_valid(const u_char *p, size_t len);

/* valid UTF-8 without control characters: a file name for a manifest */
int ngx_http_staged_update_name_valid(const u_char *p, size_t len);

/* a JSON string with its quotes */
size_t ngx_http_staged_update_json_str(u_char *dst, const u_char *src,
    size_t len);

/* a URL path: unreserved characters and "/" stay, the rest is %XX */
size_t ngx_http_staged_update_url_path(u_char *dst, const u_char *src,
    size_t len);

/*
 * A query value percent-decoded ("+" stays): dst has room for len bytes.
 * Returns the length, or -1 when a "%" is not followed by two hex digits.
 */
ssize_t ngx_http_staged_update_unescape(u_char *dst, const u_char *src,
    size_t len);

/*
 * [{"path":"bin/game","size":123,"sha256":"<hex>",
 *   "url":"<prefix><path><query>"[,"content":"<base64>"]}, ...]
 */
size_t ngx_http_staged_update_json_files(u_char *dst,
    const ngx_http_staged_update_file_t *files, size_t n,
    const u_char *prefix, size_t prefix_len);


#endif /* _NGX_HTTP_STAGED_UPDATE_JSON_H_INCLUDED_ */
