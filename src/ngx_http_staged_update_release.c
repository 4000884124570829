
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * A release directory, read once when nginx loads its configuration: every
 * regular file under it (but the top-level ".update" folder) with its size
 * and SHA-256, and the answers built from that list.
 */


#include "ngx_http_staged_update_release.h"
#include "ngx_http_staged_update_minisign.h"

#include <openssl/evp.h>


#define NGX_HTTP_STAGED_UPDATE_DEPTH   32
#define NGX_HTTP_STAGED_UPDATE_BUFSIZE 65536


typedef struct {
    ngx_str_t                          name;      /* in ".update" */
    ngx_str_t                          path;      /* full, null-terminated */
    off_t                              size;
} ngx_http_staged_update_meta_t;


/* a delta, while the best for each base is chosen */

typedef struct {
    ngx_http_staged_update_meta_t     *meta;
    ngx_http_staged_update_version_t   from;
    ngx_str_t                          text;      /* the base, as named */
} ngx_http_staged_update_cand_t;


typedef struct {
    ngx_conf_t                        *cf;
    ngx_http_staged_update_track_t    *track;
    ngx_http_staged_update_release_t  *rel;
    ngx_array_t                        files;     /* file_t */
    ngx_array_t                        meta;      /* meta_t */
    time_t                             mtime;     /* the newest file's */
    u_char                            *buf;
    EVP_MD_CTX                        *md;
    EVP_MD_CTX                        *b2;        /* with "sign" */
} ngx_http_staged_update_walk_t;


static ngx_int_t ngx_http_staged_update_walk(
    ngx_http_staged_update_walk_t *w, ngx_str_t *dir, size_t root,
    ngx_uint_t depth, ngx_uint_t meta);
static ngx_int_t ngx_http_staged_update_add_file(
    ngx_http_staged_update_walk_t *w, ngx_str_t *path, size_t root,
    ngx_file_info_t *fi);
static ngx_int_t ngx_http_staged_update_hash(ngx_http_staged_update_walk_t *w,
    ngx_str_t *path, off_t size, u_char *sha256, u_char *content,
    u_char *blake2b);
static int ngx_libc_cdecl ngx_http_staged_update_file_cmp(const void *one,
    const void *two);
static int ngx_libc_cdecl ngx_http_staged_update_meta_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_staged_update_artifacts(
    ngx_http_staged_update_walk_t *w);
static ngx_int_t ngx_http_staged_update_artifact(
    ngx_http_staged_update_walk_t *w, ngx_http_staged_update_meta_t *m,
    ngx_http_staged_update_cand_t *delta);
static ngx_http_staged_update_meta_t *ngx_http_staged_update_meta_find(
    ngx_http_staged_update_walk_t *w, ngx_str_t *name, const char *suffix);
static ngx_int_t ngx_http_staged_update_read(ngx_http_staged_update_walk_t *w,
    ngx_http_staged_update_meta_t *m, ngx_str_t *text);
static ngx_int_t ngx_http_staged_update_minisign(
    ngx_http_staged_update_walk_t *w, ngx_http_staged_update_meta_t *m,
    u_char *blake2b, ngx_str_t *sig);
static ngx_int_t ngx_http_staged_update_build(
    ngx_http_staged_update_walk_t *w);
static ngx_int_t ngx_http_staged_update_list(ngx_pool_t *pool,
    ngx_http_staged_update_release_t *rel,
    ngx_http_staged_update_file_t *files, ngx_str_t *list);
static ngx_int_t ngx_http_staged_update_sign(ngx_http_staged_update_walk_t *w,
    ngx_str_t *tail);


ngx_int_t
ngx_http_staged_update_release_load(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *tr, ngx_http_staged_update_release_t *rel)
{
    ngx_str_t  *track = &tr->name;

    u_char                         *p;
    ngx_int_t                       rc;
    ngx_str_t                       dir;
    ngx_file_info_t                 fi;
    ngx_http_staged_update_walk_t   w;

    if (ngx_file_info(rel->dir.data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "staged_update_track \"%V\": release directory \"%V\" "
                      "of version %V: " ngx_file_info_n " failed in %s:%ui",
                      track, &rel->dir, &rel->version,
                      rel->conf_file, rel->conf_line);
        return NGX_ERROR;
    }

    if (!ngx_is_dir(&fi)) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\": release directory \"%V\" "
                      "of version %V is not a directory in %s:%ui",
                      track, &rel->dir, &rel->version,
                      rel->conf_file, rel->conf_line);
        return NGX_ERROR;
    }

    ngx_memzero(&w, sizeof(ngx_http_staged_update_walk_t));

    w.cf = cf;
    w.track = tr;
    w.rel = rel;

    if (ngx_array_init(&w.files, cf->temp_pool, 64,
                       sizeof(ngx_http_staged_update_file_t))
        != NGX_OK
        || ngx_array_init(&w.meta, cf->temp_pool, 4,
                          sizeof(ngx_http_staged_update_meta_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    w.buf = ngx_palloc(cf->temp_pool, NGX_HTTP_STAGED_UPDATE_BUFSIZE);
    if (w.buf == NULL) {
        return NGX_ERROR;
    }

    w.md = EVP_MD_CTX_new();
    w.b2 = tr->nkeys ? EVP_MD_CTX_new() : NULL;

    if (w.md == NULL || (tr->nkeys && w.b2 == NULL)) {
        EVP_MD_CTX_free(w.md);
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "EVP_MD_CTX_new() failed");
        return NGX_ERROR;
    }

    /* the directory without its trailing slashes, null-terminated */

    dir = rel->dir;

    while (dir.len > 1 && dir.data[dir.len - 1] == '/') {
        dir.len--;
    }

    p = ngx_pnalloc(cf->temp_pool, dir.len + 1);
    if (p == NULL) {
        EVP_MD_CTX_free(w.md);
        EVP_MD_CTX_free(w.b2);
        return NGX_ERROR;
    }

    ngx_memcpy(p, dir.data, dir.len);
    p[dir.len] = '\0';
    dir.data = p;

    rc = ngx_http_staged_update_walk(&w, &dir, dir.len + 1, 0, 0);

    if (rc == NGX_OK) {
        rc = ngx_http_staged_update_artifacts(&w);
    }

    EVP_MD_CTX_free(w.md);
    EVP_MD_CTX_free(w.b2);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (w.files.nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\": release directory \"%V\" "
                      "of version %V holds no files in %s:%ui",
                      track, &rel->dir, &rel->version,
                      rel->conf_file, rel->conf_line);
        return NGX_ERROR;
    }

    return ngx_http_staged_update_build(&w);
}


/*
 * root: the length of the release directory's path and its slash;
 * meta: dir is the top-level ".update" folder
 */

static ngx_int_t
ngx_http_staged_update_walk(ngx_http_staged_update_walk_t *w, ngx_str_t *dir,
    size_t root, ngx_uint_t depth, ngx_uint_t meta)
{
    u_char           *p;
    size_t            len;
    ngx_int_t         rc;
    ngx_str_t         path;
    ngx_dir_t         d;
    ngx_err_t         err;
    ngx_file_info_t   fi;

    ngx_http_staged_update_meta_t  *m;

    if (depth > NGX_HTTP_STAGED_UPDATE_DEPTH) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "release directory \"%V\": \"%V\" is nested more than "
                      "%d levels deep (a symbolic link loop?) in %s:%ui",
                      &w->rel->dir, dir, NGX_HTTP_STAGED_UPDATE_DEPTH,
                      w->rel->conf_file, w->rel->conf_line);
        return NGX_ERROR;
    }

    if (ngx_open_dir(dir, &d) == NGX_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, ngx_errno,
                      "release directory \"%V\" of version %V: "
                      ngx_open_dir_n " \"%V\" failed in %s:%ui",
                      &w->rel->dir, &w->rel->version, dir,
                      w->rel->conf_file, w->rel->conf_line);
        return NGX_ERROR;
    }

    rc = NGX_OK;

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&d) == NGX_ERROR) {
            err = ngx_errno;

            if (err != NGX_ENOMOREFILES) {
                ngx_log_error(NGX_LOG_EMERG, w->cf->log, err,
                              "release directory \"%V\": " ngx_read_dir_n
                              " \"%V\" failed", &w->rel->dir, dir);
                rc = NGX_ERROR;
            }

            break;
        }

        len = ngx_de_namelen(&d);
        p = ngx_de_name(&d);

        if (p[0] == '.'
            && (len == 1 || (len == 2 && p[1] == '.')))
        {
            continue;
        }

        path.len = dir->len + 1 + len;
        path.data = ngx_pnalloc(w->cf->temp_pool, path.len + 1);
        if (path.data == NULL) {
            rc = NGX_ERROR;
            break;
        }

        ngx_sprintf(path.data, "%V/%s%Z", dir, p);

        /* stat(), not lstat(): links to files and folders are followed */

        if (ngx_file_info(path.data, &fi) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, ngx_errno,
                          "release directory \"%V\": " ngx_file_info_n
                          " \"%V\" failed", &w->rel->dir, &path);
            rc = NGX_ERROR;
            break;
        }

        if (depth == 0
            && len == sizeof(NGX_HTTP_STAGED_UPDATE_META) - 1
            && ngx_strncmp(p, NGX_HTTP_STAGED_UPDATE_META, len) == 0)
        {
            if (ngx_is_dir(&fi)) {
                rc = ngx_http_staged_update_walk(w, &path, root, 1, 1);
                if (rc != NGX_OK) {
                    break;
                }
            }

            continue;
        }

        if (meta) {

            /* inside ".update": archives, patches, notes, signatures */

            if (ngx_is_file(&fi)) {
                m = ngx_array_push(&w->meta);
                if (m == NULL) {
                    rc = NGX_ERROR;
                    break;
                }

                m->name.data = path.data + path.len - len;
                m->name.len = len;
                m->path = path;
                m->size = ngx_file_size(&fi);

                w->mtime = ngx_max(w->mtime, ngx_file_mtime(&fi));
            }

            continue;
        }

        if (ngx_is_dir(&fi)) {
            rc = ngx_http_staged_update_walk(w, &path, root, depth + 1, 0);
            if (rc != NGX_OK) {
                break;
            }

            continue;
        }

        if (!ngx_is_file(&fi)) {
            continue;
        }

        rc = ngx_http_staged_update_add_file(w, &path, root, &fi);
        if (rc != NGX_OK) {
            break;
        }
    }

    if (ngx_close_dir(&d) == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, w->cf->log, ngx_errno,
                      ngx_close_dir_n " \"%V\" failed", dir);
    }

    return rc;
}


static ngx_int_t
ngx_http_staged_update_add_file(ngx_http_staged_update_walk_t *w,
    ngx_str_t *path, size_t root, ngx_file_info_t *fi)
{
    u_char                         *content;
    off_t                           size;
    ngx_str_t                       src, dst;
    ngx_http_staged_update_file_t  *file;

    if (!ngx_http_staged_update_name_valid(path->data + root,
                                           path->len - root))
    {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "release directory \"%V\": the name of \"%V\" is not "
                      "valid UTF-8 or holds a control character",
                      &w->rel->dir, path);
        return NGX_ERROR;
    }

    /* a token signs the URL's path: it must fit */

    if (w->rel->path.len + path->len - root
        > NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN)
    {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "release directory \"%V\": the URL path of \"%V\" is "
                      "longer than %d bytes", &w->rel->dir, path,
                      NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN);
        return NGX_ERROR;
    }

    file = ngx_array_push(&w->files);
    if (file == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(file, sizeof(ngx_http_staged_update_file_t));

    size = ngx_file_size(fi);

    file->path = path->data + root;
    file->path_len = path->len - root;
    file->size = size;

    w->mtime = ngx_max(w->mtime, ngx_file_mtime(fi));

    /* a small file can be given inline, base64 */

    content = NULL;

    if (w->track->inline_max && size <= (off_t) w->track->inline_max) {
        content = ngx_pnalloc(w->cf->temp_pool, size + 1);
        if (content == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_staged_update_hash(w, path, size, file->sha256, content,
                                    NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (content) {
        src.data = content;
        src.len = size;

        dst.len = ngx_base64_encoded_length(size);
        dst.data = ngx_pnalloc(w->cf->pool, dst.len);
        if (dst.data == NULL) {
            return NGX_ERROR;
        }

        ngx_encode_base64(&dst, &src);

        file->content = dst.len ? dst.data : (u_char *) "";
        file->content_len = dst.len;
    }

    return NGX_OK;
}


/*
 * SHA-256 of a file; with content, its bytes too (size bytes); with
 * blake2b, its BLAKE2b-512 too
 */

static ngx_int_t
ngx_http_staged_update_hash(ngx_http_staged_update_walk_t *w, ngx_str_t *path,
    off_t size, u_char *sha256, u_char *content, u_char *blake2b)
{
    off_t     left;
    ssize_t   n;
    ngx_fd_t  fd;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, ngx_errno,
                      "release directory \"%V\": " ngx_open_file_n
                      " \"%V\" failed", &w->rel->dir, path);
        return NGX_ERROR;
    }

    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);

    if (blake2b) {
        EVP_DigestInit_ex(w->b2, EVP_blake2b512(), NULL);
    }

    for (left = size; /* void */; left -= n) {
        n = read(fd, w->buf, NGX_HTTP_STAGED_UPDATE_BUFSIZE);

        if (n == -1) {
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, ngx_errno,
                          "release directory \"%V\": read() \"%V\" failed",
                          &w->rel->dir, path);
            ngx_close_file(fd);
            return NGX_ERROR;
        }

        if (n == 0 || n > left) {
            break;
        }

        if (content) {
            content = ngx_cpymem(content, w->buf, n);
        }

        EVP_DigestUpdate(w->md, w->buf, n);

        if (blake2b) {
            EVP_DigestUpdate(w->b2, w->buf, n);
        }
    }

    ngx_close_file(fd);

    if (left != 0) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "release directory \"%V\": \"%V\" changed while it "
                      "was read", &w->rel->dir, path);
        return NGX_ERROR;
    }

    EVP_DigestFinal_ex(w->md, sha256, NULL);

    if (blake2b) {
        EVP_DigestFinal_ex(w->b2, blake2b, NULL);
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_staged_update_file_cmp(const void *one, const void *two)
{
    size_t                                len;
    ngx_int_t                             rc;
    const ngx_http_staged_update_file_t  *a, *b;

    a = one;
    b = two;

    len = ngx_min(a->path_len, b->path_len);

    rc = ngx_memcmp(a->path, b->path, len);
    if (rc) {
        return rc;
    }

    return (a->path_len > b->path_len) - (a->path_len < b->path_len);
}


static int ngx_libc_cdecl
ngx_http_staged_update_meta_cmp(const void *one, const void *two)
{
    const ngx_http_staged_update_meta_t  *a, *b;

    a = one;
    b = two;

    return ngx_strcmp(a->name.data, b->name.data);
}


/*
 * ".update/full.<ext>" takes any client to the release, and
 * ".update/from-<version>.<ext>" a client at that version; of several
 * for the same client, the smallest; a delta no smaller than the full
 * archive is left out.  "<name>.sig" is the artifact's signature for
 * Tauri's updater.
 */

static ngx_int_t
ngx_http_staged_update_artifacts(ngx_http_staged_update_walk_t *w)
{
    u_char                             *p, *end, *q, *last;
    ngx_uint_t                          i, j, k, n;
    ngx_http_staged_update_meta_t      *m, *full;
    ngx_http_staged_update_cand_t      *c, t;
    ngx_http_staged_update_release_t   *rel;

    rel = w->rel;
    m = w->meta.elts;
    n = w->meta.nelts;

    ngx_qsort(m, n, sizeof(ngx_http_staged_update_meta_t),
              ngx_http_staged_update_meta_cmp);

    full = NULL;

    c = ngx_pcalloc(w->cf->temp_pool,
                    (n + 1) * sizeof(ngx_http_staged_update_cand_t));
    if (c == NULL) {
        return NGX_ERROR;
    }

    k = 0;

    for (i = 0; i < n; i++) {
        p = m[i].name.data;
        end = p + m[i].name.len;

        if (m[i].name.len > 4 && ngx_strcmp(end - 4, ".sig") == 0) {
            continue;
        }

        if (m[i].name.len > 5 && ngx_strncmp(p, "full.", 5) == 0) {
            if (full == NULL || m[i].size < full->size) {
                full = &m[i];
            }

            continue;
        }

        if (ngx_strncmp(p, "from-", 5) != 0) {
            continue;
        }

        /*
         * "from-1.9.0.tar.gz": the version is the leading numbers, the
         * extension what follows them ("from-1.9.0.7z" too); a number
         * that goes on with anything but a letter ("from-1.9.1-win.zip")
         * is not taken for a shorter version
         */

        q = p + 5;
        last = NULL;

        for (j = 0; j < NGX_HTTP_STAGED_UPDATE_VERSION_PARTS; j++) {
            p = q;

            while (q < end && *q >= '0' && *q <= '9') {
                q++;
            }

            if (q == p || q == end || *q != '.') {
                break;
            }

            last = q++;
        }

        c[k].meta = &m[i];
        c[k].text.data = m[i].name.data + 5;
        c[k].text.len = last ? (size_t) (last - c[k].text.data) : 0;

        if (last == NULL || last + 1 == end
            || (q > p && q < end && *q != '.'
                && !((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
            || ngx_http_staged_update_version_parse(c[k].text.data,
                                                    c[k].text.len,
                                                    &c[k].from)
               != NULL)
        {
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                          "release directory \"%V\": the patch \"%V\" is "
                          "not named from-<version>.<extension>, with the "
                          "version alone between \"from-\" and the extension",
                          &rel->dir, &m[i].path);
            return NGX_ERROR;
        }

        for (j = 0; j < k; j++) {
            if (ngx_http_staged_update_version_cmp(&c[j].from, &c[k].from)
                == 0)
            {
                break;
            }
        }

        if (j == k) {
            k++;

        } else if (m[i].size < c[j].meta->size) {
            c[j] = c[k];
        }
    }

    /* the deltas sorted by their base version, then the full archive */

    for (i = 1; i < k; i++) {
        for (j = i;
             j > 0 && ngx_http_staged_update_version_cmp(&c[j - 1].from,
                                                         &c[j].from) > 0;
             j--)
        {
            t = c[j];
            c[j] = c[j - 1];
            c[j - 1] = t;
        }
    }

    rel->artifacts = ngx_pcalloc(w->cf->pool, (k + 1)
                                 * sizeof(ngx_http_staged_update_artifact_t));
    if (rel->artifacts == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < k; i++) {
        if (full == NULL || c[i].meta->size < full->size) {
            if (ngx_http_staged_update_artifact(w, c[i].meta, &c[i])
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            rel->ndeltas++;
        }
    }

    if (full) {
        return ngx_http_staged_update_artifact(w, full, NULL);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_artifact(ngx_http_staged_update_walk_t *w,
    ngx_http_staged_update_meta_t *m, ngx_http_staged_update_cand_t *delta)
{
    u_char                             *p;
    size_t                              len;
    ngx_str_t                           sig, name;
    ngx_http_staged_update_meta_t      *s;
    ngx_http_staged_update_release_t   *rel;
    ngx_http_staged_update_artifact_t  *a;
    u_char                              sha[NGX_HTTP_STAGED_UPDATE_SHA256_LEN];
    u_char                              hex[2 * NGX_HTTP_STAGED_UPDATE_SHA256_LEN];
    u_char      b2[NGX_HTTP_STAGED_UPDATE_MINISIGN_HASH_LEN];

    rel = w->rel;
    a = &rel->artifacts[rel->nartifacts++];

    if (delta) {
        a->delta = 1;
        a->from = delta->from;
    }

    s = ngx_http_staged_update_meta_find(w, &m->name, ".sig");

    if (ngx_http_staged_update_hash(w, &m->path, m->size, sha, NULL,
                                    (s == NULL && w->track->nkeys) ? b2 : NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_hex_dump(hex, sha, sizeof(sha));

    /* the URL and its path: the release's prefix and ".update/<name>" */

    name.len = sizeof(NGX_HTTP_STAGED_UPDATE_META "/") - 1 + m->name.len;
    name.data = ngx_pnalloc(w->cf->temp_pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(name.data, NGX_HTTP_STAGED_UPDATE_META "/%V", &m->name);

    a->url.len = rel->url.len
                 + ngx_http_staged_update_url_path(NULL, name.data, name.len);
    a->url.data = ngx_pnalloc(w->cf->pool, a->url.len);
    if (a->url.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(a->url.data, rel->url.data, rel->url.len);
    ngx_http_staged_update_url_path(p, name.data, name.len);

    a->path.len = rel->path.len + name.len;
    a->path.data = ngx_pnalloc(w->cf->pool, a->path.len);
    if (a->path.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(a->path.data, rel->path.data, rel->path.len);
    ngx_memcpy(p, name.data, name.len);

    /*
     * its signature for Tauri: the release's own "<name>.sig" if it has
     * one, else a minisign signature with the track's first key
     */

    ngx_str_null(&sig);

    if (s && ngx_http_staged_update_read(w, s, &sig) != NGX_OK) {
        return NGX_ERROR;
    }

    if (s == NULL && w->track->nkeys
        && ngx_http_staged_update_minisign(w, m, b2, &sig) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* ,"artifact":{"type":"delta","from":"1.9.0","size":N,"sha256":"..."} */

    len = sizeof(",\"artifact\":{\"type\":\"delta\",\"from\":\"\","
                 "\"size\":,\"sha256\":\"\"}") - 1
          + NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN + NGX_OFF_T_LEN + sizeof(hex)
          + sizeof(",\"signature\":") - 1
          + ngx_http_staged_update_json_str(NULL, sig.data, sig.len);

    a->info.data = ngx_pnalloc(w->cf->pool, len);
    if (a->info.data == NULL) {
        return NGX_ERROR;
    }

    if (delta) {
        p = ngx_sprintf(a->info.data, ",\"artifact\":{\"type\":\"delta\","
                        "\"from\":\"%V\"", &delta->text);

    } else {
        p = ngx_sprintf(a->info.data, ",\"artifact\":{\"type\":\"full\"");
    }

    p = ngx_sprintf(p, ",\"size\":%O,\"sha256\":\"%*s\"}",
                    m->size, sizeof(hex), hex);

    if (sig.len) {
        p = ngx_cpymem(p, ",\"signature\":", sizeof(",\"signature\":") - 1);
        p += ngx_http_staged_update_json_str(p, sig.data, sig.len);
    }

    a->info.len = p - a->info.data;

    /* ,"url":"<url>" and the info: the part without tokens */

    a->part.len = sizeof(",\"url\":\"\"") - 1 + a->url.len + a->info.len;
    a->part.data = ngx_pnalloc(w->cf->pool, a->part.len);
    if (a->part.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(a->part.data, ",\"url\":\"%V\"", &a->url);
    ngx_memcpy(p, a->info.data, a->info.len);

    return NGX_OK;
}


/* the file of ".update" named name + suffix */

static ngx_http_staged_update_meta_t *
ngx_http_staged_update_meta_find(ngx_http_staged_update_walk_t *w,
    ngx_str_t *name, const char *suffix)
{
    size_t                          len;
    ngx_uint_t                      i;
    ngx_http_staged_update_meta_t  *m;

    len = ngx_strlen(suffix);
    m = w->meta.elts;

    for (i = 0; i < w->meta.nelts; i++) {
        if (m[i].name.len == name->len + len
            && ngx_strncmp(m[i].name.data, name->data, name->len) == 0
            && ngx_strncmp(m[i].name.data + name->len, suffix, len) == 0)
        {
            return &m[i];
        }
    }

    return NULL;
}


/*
 * Tauri's "signature" of an artifact: the base64 of a minisign signature
 * file made with the track's first key, whose trusted comment is the one
 * minisign writes: the release's time, the file's name, "hashed"
 */

static ngx_int_t
ngx_http_staged_update_minisign(ngx_http_staged_update_walk_t *w,
    ngx_http_staged_update_meta_t *m, u_char *blake2b, ngx_str_t *sig)
{
    u_char     *comment;
    size_t      len;
    ngx_str_t   text;

    comment = ngx_pnalloc(w->cf->temp_pool,
                          sizeof("timestamp:\tfile:\thashed") - 1
                          + NGX_TIME_T_LEN + m->name.len);
    if (comment == NULL) {
        return NGX_ERROR;
    }

    len = ngx_sprintf(comment, "timestamp:%T\tfile:%V\thashed", w->mtime,
                      &m->name)
          - comment;

    text.data = ngx_pnalloc(w->cf->temp_pool,
                            NGX_HTTP_STAGED_UPDATE_MINISIGN_SIG_LEN(len));
    sig->data = ngx_pnalloc(w->cf->temp_pool, ngx_base64_encoded_length(
                                NGX_HTTP_STAGED_UPDATE_MINISIGN_SIG_LEN(len)));

    if (text.data == NULL || sig->data == NULL) {
        return NGX_ERROR;
    }

    text.len = ngx_http_staged_update_minisign_sign(text.data,
                   w->track->keys[0], blake2b, comment, len);

    if (text.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "staged_update_track \"%V\": the minisign signature "
                      "of \"%V\" failed", &w->track->name, &m->path);
        return NGX_ERROR;
    }

    ngx_encode_base64(sig, &text);

    return NGX_OK;
}


/* a small text of ".update": notes, a signature; trailing space trimmed */

static ngx_int_t
ngx_http_staged_update_read(ngx_http_staged_update_walk_t *w,
    ngx_http_staged_update_meta_t *m, ngx_str_t *text)
{
    ssize_t     n;
    ngx_file_t  file;

    if (m->size > NGX_HTTP_STAGED_UPDATE_INLINE_MAX) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "release directory \"%V\": \"%V\" is larger than %d "
                      "bytes", &w->rel->dir, &m->path,
                      NGX_HTTP_STAGED_UPDATE_INLINE_MAX);
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = m->path;
    file.log = w->cf->log;

    file.fd = ngx_open_file(m->path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", &m->path);
        return NGX_ERROR;
    }

    text->data = ngx_pnalloc(w->cf->temp_pool, m->size + 1);
    if (text->data == NULL) {
        ngx_close_file(file.fd);
        return NGX_ERROR;
    }

    n = ngx_read_file(&file, text->data, m->size, 0);

    ngx_close_file(file.fd);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    text->len = n;

    while (text->len
           && (text->data[text->len - 1] == '\n'
               || text->data[text->len - 1] == '\r'
               || text->data[text->len - 1] == ' '))
    {
        text->len--;
    }

    if (!ngx_http_staged_update_utf8_valid(text->data, text->len)) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "release directory \"%V\": \"%V\" is not valid UTF-8",
                      &w->rel->dir, &m->path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_build(ngx_http_staged_update_walk_t *w)
{
    u_char                            *p;
    size_t                             len;
    ngx_str_t                          notes, name;
    ngx_tm_t                           tm;
    ngx_uint_t                         m;
    ngx_pool_t                        *pool;
    ngx_http_staged_update_meta_t     *meta;
    ngx_http_staged_update_release_t  *rel;

    rel = w->rel;
    pool = w->cf->pool;

    ngx_qsort(w->files.elts, w->files.nelts,
              sizeof(ngx_http_staged_update_file_t),
              ngx_http_staged_update_file_cmp);

    rel->files = w->files.elts;
    rel->nfiles = w->files.nelts;

    /* the file names stay for the tokens: the temporary pool goes */

    for (m = 0; m < rel->nfiles; m++) {
        p = ngx_pnalloc(pool, rel->files[m].path_len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, rel->files[m].path, rel->files[m].path_len);
        rel->files[m].path = p;
    }

    p = ngx_palloc(pool, rel->nfiles * sizeof(ngx_http_staged_update_file_t));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, rel->files,
               rel->nfiles * sizeof(ngx_http_staged_update_file_t));
    rel->files = (ngx_http_staged_update_file_t *) p;

    /* {"version":"2.0.0","mandatory":false */

    for (m = 0; m < 2; m++) {
        rel->head[m].data = ngx_pnalloc(pool,
                               sizeof("{\"version\":\"\",\"mandatory\":false")
                               - 1 + rel->version.len);
        if (rel->head[m].data == NULL) {
            return NGX_ERROR;
        }

        rel->head[m].len = ngx_sprintf(rel->head[m].data,
                                       "{\"version\":\"%V\",\"mandatory\":%s",
                                       &rel->version, m ? "true" : "false")
                           - rel->head[m].data;
    }

    /* ,"name":"2.0.0","pub_date":"2026-11-24T02:00:00Z","notes":"..." */

    ngx_str_null(&notes);
    ngx_str_set(&name, "notes.txt");

    meta = ngx_http_staged_update_meta_find(w, &name, "");

    if (meta && ngx_http_staged_update_read(w, meta, &notes) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_gmtime(w->mtime, &tm);

    len = sizeof(",\"name\":\"\",\"pub_date\":\"1970-01-01T00:00:00Z\""
                 ",\"notes\":") - 1
          + rel->version.len
          + ngx_http_staged_update_json_str(NULL, notes.data, notes.len);

    rel->mid.data = ngx_pnalloc(pool, len);
    if (rel->mid.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(rel->mid.data,
                    ",\"name\":\"%V\",\"pub_date\":\"%4d-%02d-%02dT"
                    "%02d:%02d:%02dZ\"",
                    &rel->version, tm.ngx_tm_year, tm.ngx_tm_mon,
                    tm.ngx_tm_mday, tm.ngx_tm_hour, tm.ngx_tm_min,
                    tm.ngx_tm_sec);

    if (notes.len) {
        p = ngx_cpymem(p, ",\"notes\":", sizeof(",\"notes\":") - 1);
        p += ngx_http_staged_update_json_str(p, notes.data, notes.len);
    }

    rel->mid.len = p - rel->mid.data;

    if (ngx_http_staged_update_list(pool, rel, rel->files, &rel->list)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* ,"signed":"...","signatures":[...]}\n */

    return ngx_http_staged_update_sign(w, &rel->tail);
}


/* ,"files":[...]: the release's files, their URLs with tokens or without */

static ngx_int_t
ngx_http_staged_update_list(ngx_pool_t *pool,
    ngx_http_staged_update_release_t *rel,
    ngx_http_staged_update_file_t *files, ngx_str_t *list)
{
    u_char  *p;
    size_t   len;

    len = sizeof(",\"files\":") - 1
          + ngx_http_staged_update_json_files(NULL, files, rel->nfiles,
                                              rel->url.data, rel->url.len);

    list->data = ngx_pnalloc(pool, len);
    if (list->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(list->data, ",\"files\":", sizeof(",\"files\":") - 1);
    ngx_http_staged_update_json_files(p, files, rel->nfiles,
                                      rel->url.data, rel->url.len);
    list->len = len;

    return NGX_OK;
}


/*
 * The signed part: the target and every file with its size and SHA-256,
 * one per line, signed with each of the track's Ed25519 keys; built and
 * signed once.  A launcher checks a signature over the bytes of "signed"
 * with the operator's public key, then the files against its lines:
 *
 *     staged-update-manifest 1
 *     track game
 *     version 2.0.0
 *     file <sha256> <size> <path>
 */

static ngx_int_t
ngx_http_staged_update_sign(ngx_http_staged_update_walk_t *w, ngx_str_t *tail)
{
    u_char                            *p, *text;
    size_t                             len, siglen;
    ngx_str_t                          src, dst;
    ngx_uint_t                         i;
    EVP_MD_CTX                        *ctx;
    ngx_http_staged_update_file_t     *f;
    ngx_http_staged_update_track_t    *track;
    ngx_http_staged_update_release_t  *rel;
    u_char                             sig[64];
    u_char      id[NGX_HTTP_STAGED_UPDATE_MINISIGN_KEYNUM_LEN];

    rel = w->rel;
    track = w->track;

    if (track->nkeys == 0) {
        ngx_str_set(tail, "}\n");
        return NGX_OK;
    }

    len = sizeof("staged-update-manifest 1\ntrack \nversion \n") - 1
          + track->name.len + rel->version.len;

    for (i = 0; i < rel->nfiles; i++) {
        len += sizeof("file  \n") - 1 + 2 * NGX_HTTP_STAGED_UPDATE_SHA256_LEN
               + NGX_OFF_T_LEN + 1 + rel->files[i].path_len;
    }

    text = ngx_pnalloc(w->cf->temp_pool, len);
    if (text == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(text, "staged-update-manifest 1\ntrack %V\nversion %V\n",
                    &track->name, &rel->version);

    for (i = 0; i < rel->nfiles; i++) {
        f = &rel->files[i];

        p = ngx_cpymem(p, "file ", 5);
        p = ngx_hex_dump(p, f->sha256, sizeof(f->sha256));
        p = ngx_sprintf(p, " %uL %*s\n", f->size, f->path_len, f->path);
    }

    len = p - text;

    /* ,"signed":"<text>","signatures":[{"keyid":"<hex>","sig":"<b64>"}] */

    tail->data = ngx_pnalloc(w->cf->pool,
                             sizeof(",\"signed\":,\"signatures\":[]}\n") - 1
                             + ngx_http_staged_update_json_str(NULL, text, len)
                             + track->nkeys
                               * (sizeof("{\"keyid\":\"\",\"sig\":\"\"},") - 1
                                  + 16 + ngx_base64_encoded_length(64)));
    if (tail->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(tail->data, ",\"signed\":", sizeof(",\"signed\":") - 1);
    p += ngx_http_staged_update_json_str(p, text, len);
    p = ngx_cpymem(p, ",\"signatures\":[", sizeof(",\"signatures\":[") - 1);

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < track->nkeys; i++) {
        siglen = sizeof(sig);

        if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, track->keys[i]) != 1
            || EVP_DigestSign(ctx, sig, &siglen, text, len) != 1
            || ngx_http_staged_update_minisign_keynum(track->keys[i], id) != 0)
        {
            EVP_MD_CTX_free(ctx);
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                          "staged_update_track \"%V\": signing the manifest "
                          "of %V failed", &track->name, &rel->version);
            return NGX_ERROR;
        }

        EVP_MD_CTX_reset(ctx);

        /* the key's ID: the first 8 bytes of the public key's SHA-256 */

        p = ngx_cpymem(p, i ? ",{\"keyid\":\"" : "{\"keyid\":\"",
                       i ? 11 : 10);
        p = ngx_hex_dump(p, id, 8);
        p = ngx_cpymem(p, "\",\"sig\":\"", 9);

        src.data = sig;
        src.len = siglen;
        dst.data = p;
        ngx_encode_base64(&dst, &src);
        p += dst.len;

        p = ngx_cpymem(p, "\"}", 2);
    }

    EVP_MD_CTX_free(ctx);

    p = ngx_cpymem(p, "]}\n", 3);
    tail->len = p - tail->data;

    return NGX_OK;
}


/*
 * The parts of a manifest whose URLs carry tokens: the files and each
 * artifact, for an expiry and, when tokens are bound to it, a client.
 */

ngx_int_t
ngx_http_staged_update_release_tokens(ngx_pool_t *pool,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_release_t *rel, time_t expires, ngx_str_t *client,
    ngx_str_t *list, ngx_str_t *parts)
{
    u_char                             *p, *q;
    ngx_uint_t                          i;
    ngx_http_staged_update_file_t      *files;
    ngx_http_staged_update_artifact_t  *a;
    u_char                              path[NGX_HTTP_STAGED_UPDATE_PATH_MAXLEN];

    files = ngx_palloc(pool,
                       rel->nfiles * sizeof(ngx_http_staged_update_file_t));
    if (files == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(files, rel->files,
               rel->nfiles * sizeof(ngx_http_staged_update_file_t));

    for (i = 0; i < rel->nfiles; i++) {

        if (rel->path.len + files[i].path_len > sizeof(path)) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(path, rel->path.data, rel->path.len);
        p = ngx_cpymem(p, files[i].path, files[i].path_len);

        q = ngx_pnalloc(pool, sizeof("?token=") - 1
                              + NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN);
        if (q == NULL) {
            return NGX_ERROR;
        }

        files[i].query = q;
        files[i].query_len = sizeof("?token=") - 1
                             + ngx_http_staged_update_token_sign(
                                   ngx_cpymem(q, "?token=", 7),
                                   &track->token.secrets[0],
                                   rel->version.data, rel->version.len,
                                   expires, client->data, client->len,
                                   path, p - path);
    }

    if (ngx_http_staged_update_list(pool, rel, files, list) != NGX_OK) {
        return NGX_ERROR;
    }

    /* ,"url":"<url>?token=<token>" and the artifact's info */

    for (i = 0; i < rel->nartifacts; i++) {
        a = &rel->artifacts[i];

        if (a->path.len > sizeof(path)) {
            return NGX_ERROR;
        }

        parts[i].data = ngx_pnalloc(pool, sizeof(",\"url\":\"?token=\"") - 1
                                          + a->url.len
                                          + NGX_HTTP_STAGED_UPDATE_TOKEN_MAXLEN
                                          + a->info.len);
        if (parts[i].data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(parts[i].data, ",\"url\":\"%V?token=", &a->url);
        p += ngx_http_staged_update_token_sign(p, &track->token.secrets[0],
                                               rel->version.data,
                                               rel->version.len, expires,
                                               client->data, client->len,
                                               a->path.data, a->path.len);
        *p++ = '"';
        p = ngx_cpymem(p, a->info.data, a->info.len);

        parts[i].len = p - parts[i].data;
    }

    return NGX_OK;
}
