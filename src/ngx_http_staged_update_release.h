
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_RELEASE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_RELEASE_H_INCLUDED_


#include "ngx_http_staged_update_module.h"


/* the release directory's reserved top-level folder: archives, patches */
#define NGX_HTTP_STAGED_UPDATE_META        ".update"


ngx_int_t ngx_http_staged_update_release_load(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel);
ngx_int_t ngx_http_staged_update_release_tokens(ngx_pool_t *pool,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel, time_t expires, ngx_str_t *client,
    ngx_str_t *list, ngx_str_t *parts);


/*
 * The artifact that takes a client at version v to the release: the index
 * of its delta, else of the full archive, else -1.
 */

static ngx_inline ngx_int_t
ngx_http_staged_update_release_artifact(ngx_http_staged_update_release_t *rel,
    ngx_http_staged_update_version_t *v)
{
    ngx_int_t  lo, hi, mid, rc;

    lo = 0;
    hi = rel->ndeltas;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = ngx_http_staged_update_version_cmp(&rel->artifacts[mid].from, v);

        if (rc == 0) {
            return mid;
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return (rel->nartifacts > rel->ndeltas) ? (ngx_int_t) rel->ndeltas : -1;
}


#endif /* _NGX_HTTP_STAGED_UPDATE_RELEASE_H_INCLUDED_ */
