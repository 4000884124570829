
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * A release directory, read once when nginx loads its configuration: every
 * regular file under it (but the top-level ".update" folder) with its size
 * and SHA-256, and the answers built from that list.
 */


#include "ngx_http_staged_update_release.h"

#include <openssl/evp.h>


#define NGX_HTTP_STAGED_UPDATE_DEPTH   32
#define NGX_HTTP_STAGED_UPDATE_BUFSIZE 65536


typedef struct {
    ngx_conf_t                        *cf;
    ngx_http_staged_update_release_t  *rel;
    ngx_array_t                        files;     /* file_t */
    ngx_str_t                          archive;   /* file name, or empty */
    u_char                            *buf;
    EVP_MD_CTX                        *md;
} ngx_http_staged_update_walk_t;


static ngx_int_t ngx_http_staged_update_walk(
    ngx_http_staged_update_walk_t *w, ngx_str_t *dir, size_t root,
    ngx_uint_t depth, ngx_uint_t meta);
static ngx_int_t ngx_http_staged_update_add_file(
    ngx_http_staged_update_walk_t *w, ngx_str_t *path, size_t root,
    ngx_file_info_t *fi);
static int ngx_libc_cdecl ngx_http_staged_update_file_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_staged_update_build(
    ngx_http_staged_update_walk_t *w);
static u_char *ngx_http_staged_update_concat(ngx_pool_t *pool, ngx_str_t *dst,
    ngx_str_t *a, ngx_str_t *b);


ngx_int_t
ngx_http_staged_update_release_load(ngx_conf_t *cf, ngx_str_t *track,
    ngx_http_staged_update_release_t *rel)
{
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
    w.rel = rel;

    if (ngx_array_init(&w.files, cf->temp_pool, 64,
                       sizeof(ngx_http_staged_update_file_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    w.buf = ngx_palloc(cf->temp_pool, NGX_HTTP_STAGED_UPDATE_BUFSIZE);
    if (w.buf == NULL) {
        return NGX_ERROR;
    }

    w.md = EVP_MD_CTX_new();
    if (w.md == NULL) {
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
        return NGX_ERROR;
    }

    ngx_memcpy(p, dir.data, dir.len);
    p[dir.len] = '\0';
    dir.data = p;

    rc = ngx_http_staged_update_walk(&w, &dir, dir.len + 1, 0, 0);

    EVP_MD_CTX_free(w.md);

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

            /* inside ".update": note the full archive, list nothing */

            if (ngx_is_file(&fi)
                && len > sizeof(NGX_HTTP_STAGED_UPDATE_ARCHIVE) - 1
                && ngx_strncmp(p, NGX_HTTP_STAGED_UPDATE_ARCHIVE,
                               sizeof(NGX_HTTP_STAGED_UPDATE_ARCHIVE) - 1)
                   == 0
                && (w->archive.len == 0
                    || ngx_strcmp(path.data + root, w->archive.data) < 0))
            {
                w->archive.data = path.data + root;
                w->archive.len = path.len - root;
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
    off_t                           left;
    ssize_t                         n;
    ngx_fd_t                        fd;
    ngx_http_staged_update_file_t  *file;

    if (!ngx_http_staged_update_utf8_valid(path->data + root,
                                           path->len - root))
    {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "release directory \"%V\": the name of \"%V\" is not "
                      "valid UTF-8", &w->rel->dir, path);
        return NGX_ERROR;
    }

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, ngx_errno,
                      "release directory \"%V\": " ngx_open_file_n
                      " \"%V\" failed", &w->rel->dir, path);
        return NGX_ERROR;
    }

    file = ngx_array_push(&w->files);
    if (file == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    file->path = path->data + root;
    file->path_len = path->len - root;
    file->size = ngx_file_size(fi);

    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);

    for (left = ngx_file_size(fi); /* void */; left -= n) {
        n = read(fd, w->buf, NGX_HTTP_STAGED_UPDATE_BUFSIZE);

        if (n == -1) {
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, ngx_errno,
                          "release directory \"%V\": read() \"%V\" failed",
                          &w->rel->dir, path);
            ngx_close_file(fd);
            return NGX_ERROR;
        }

        if (n == 0) {
            break;
        }

        EVP_DigestUpdate(w->md, w->buf, n);
    }

    ngx_close_file(fd);

    if (left != 0) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "release directory \"%V\": \"%V\" changed while it "
                      "was read", &w->rel->dir, path);
        return NGX_ERROR;
    }

    EVP_DigestFinal_ex(w->md, file->sha256, NULL);

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


static ngx_int_t
ngx_http_staged_update_build(ngx_http_staged_update_walk_t *w)
{
    u_char                            *p;
    size_t                             len;
    ngx_str_t                          head[2], tail, sv;
    ngx_uint_t                         m;
    ngx_pool_t                        *pool;
    ngx_http_staged_update_release_t  *rel;

    static ngx_str_t  server = ngx_string(",\"server\":\"");

    rel = w->rel;
    pool = w->cf->pool;

    ngx_qsort(w->files.elts, w->files.nelts,
              sizeof(ngx_http_staged_update_file_t),
              ngx_http_staged_update_file_cmp);

    rel->nfiles = w->files.nelts;

    /* ,"files":[...]}\n */

    len = ngx_http_staged_update_json_files(NULL, w->files.elts,
                                            w->files.nelts,
                                            rel->url.data, rel->url.len);

    tail.len = sizeof(",\"files\":") - 1 + len + sizeof("}\n") - 1;
    tail.data = ngx_pnalloc(pool, tail.len);
    if (tail.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(tail.data, ",\"files\":", sizeof(",\"files\":") - 1);
    p += ngx_http_staged_update_json_files(p, w->files.elts, w->files.nelts,
                                           rel->url.data, rel->url.len);
    ngx_memcpy(p, "}\n", 2);

    /* {"version":"2.0.0","mandatory":false */

    for (m = 0; m < 2; m++) {
        head[m].len = sizeof("{\"version\":\"\",\"mandatory\":false") - 1
                      + rel->version.len;
        head[m].data = ngx_pnalloc(pool, head[m].len);
        if (head[m].data == NULL) {
            return NGX_ERROR;
        }

        head[m].len = ngx_sprintf(head[m].data,
                                  "{\"version\":\"%V\",\"mandatory\":%s",
                                  &rel->version, m ? "true" : "false")
                      - head[m].data;

        if (ngx_http_staged_update_concat(pool, &rel->body[m], &head[m], &tail)
            == NULL
            || ngx_http_staged_update_concat(pool, &rel->head[m], &head[m],
                                             &server)
               == NULL)
        {
            return NGX_ERROR;
        }
    }

    sv.len = 1;
    sv.data = (u_char *) "\"";

    if (ngx_http_staged_update_concat(pool, &rel->tail, &sv, &tail) == NULL) {
        return NGX_ERROR;
    }

    if (w->archive.len) {
        len = rel->url.len
              + ngx_http_staged_update_url_path(NULL, w->archive.data,
                                                w->archive.len);

        rel->archive.data = ngx_pnalloc(pool, len);
        if (rel->archive.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(rel->archive.data, rel->url.data, rel->url.len);
        ngx_http_staged_update_url_path(p, w->archive.data, w->archive.len);
        rel->archive.len = len;
    }

    return NGX_OK;
}


static u_char *
ngx_http_staged_update_concat(ngx_pool_t *pool, ngx_str_t *dst, ngx_str_t *a,
    ngx_str_t *b)
{
    u_char  *p;

    dst->len = a->len + b->len;
    dst->data = ngx_pnalloc(pool, dst->len);
    if (dst->data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(dst->data, a->data, a->len);
    ngx_memcpy(p, b->data, b->len);

    return dst->data;
}
