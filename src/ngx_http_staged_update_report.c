
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Install reports and the automatic halt (issue 11).
 *
 * In the zone (the header's "report" pointer): a record per track, kept
 * by name across reloads, with
 *   - a fixed-size open-addressing set of the clients that reported, one
 *     64-bit word each: the hash of "<target>\n<client>" (its low 4 bits
 *     cleared) and the bits of the results that client reported for that
 *     target; when 7/8 full, a new client's report is refused (409) and
 *     the known ones still count;
 *   - its funnel rows, one per (scope, target): the scope is the track's
 *     own table or a business server; counters are atomics.
 * Each loaded configuration maps its scopes to their rows at init_zone;
 * the check adds one to "granted" with one atomic increment.
 *
 * A report is counted only with the proof of a grant: a download token of
 * the upgrade answer (the grant, a URL of that answer), made by the track's
 * secret for that path, bound to the reporting client (tracks with reports
 * must use "token ... client"), for the reported version, and expired at
 * most late= ago.
 */


#include "ngx_http_staged_update_report.h"
#include "ngx_http_staged_update_state.h"
#include "ngx_http_staged_update_handler.h"


#define NGX_HTTP_STAGED_UPDATE_CLIENTS_DEFAULT  16384
#define NGX_HTTP_STAGED_UPDATE_LATE_DEFAULT     86400

#define NGX_HTTP_STAGED_UPDATE_VLEN  NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN


typedef struct {
    ngx_queue_t                         tracks;    /* report_rec_t */
} ngx_http_staged_update_report_sh_t;


typedef struct {
    ngx_queue_t                         queue;
    ngx_queue_t                         rows;      /* funnel_t */
    ngx_uint_t                          nslots;    /* a power of 2 */
    ngx_uint_t                          used;
    ngx_atomic_t                        refused;   /* clients, when full */
    uint64_t                           *slots;
    size_t                              name_len;
    u_char                              name[NGX_HTTP_STAGED_UPDATE_ID_MAXLEN];
} ngx_http_staged_update_report_rec_t;


typedef struct {
    ngx_str_t                           server;    /* len 0: the track */
    uint32_t                            threshold; /* hundredths of % */
    ngx_uint_t                          min;
    uint32_t                            confidence;
    double                              z;
} ngx_http_staged_update_halt_t;


static ngx_http_staged_update_report_conf_t *ngx_http_staged_update_rcf(
    ngx_conf_t *cf, ngx_http_staged_update_track_t *track);
static ngx_http_staged_update_funnel_t *ngx_http_staged_update_row(
    ngx_http_staged_update_zone_t *zone,
    ngx_http_staged_update_report_rec_t *rec, u_char *scope, size_t slen,
    ngx_http_staged_update_version_t *v);
static ngx_int_t ngx_http_staged_update_report_handler(ngx_http_request_t *r);
static void ngx_http_staged_update_report_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_staged_update_report_post(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, u_char *body, size_t len);
static ngx_int_t ngx_http_staged_update_report_count(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_outcome_t *o, ngx_uint_t si);
static void ngx_http_staged_update_report_halt(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_halt_t *h, ngx_http_staged_update_funnel_t *row,
    uint64_t k, uint64_t n);
static ngx_int_t ngx_http_staged_update_report_answer(ngx_http_request_t *r,
    ngx_uint_t status, const char *fmt, ...);
static size_t ngx_http_staged_update_report_doc(u_char *dst,
    ngx_http_staged_update_track_t *track);
static size_t ngx_http_staged_update_report_prom(u_char *dst,
    ngx_http_staged_update_main_conf_t *smcf);


static const char  *ngx_http_staged_update_counter_names[] = {
    "granted", "downloaded", "installed", "started", "failed", "rolled_back",
    "outcomes", "failures"
};


char *
ngx_http_staged_update_report(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_staged_update_loc_conf_t *slcf = conf;

    time_t                                 late;
    ngx_int_t                              n;
    ngx_str_t                             *value, v;
    ngx_uint_t                             i, clients;
    ngx_http_core_loc_conf_t              *clcf;
    ngx_http_staged_update_report_conf_t  *rcf;

    if (slcf->report) {
        return "is duplicate";
    }

    if (slcf->track || slcf->explain) {
        return "cannot share a location with \"staged_update\" or "
               "\"staged_update_explain\"";
    }

    value = cf->args->elts;
    clients = NGX_HTTP_STAGED_UPDATE_CLIENTS_DEFAULT;
    late = NGX_HTTP_STAGED_UPDATE_LATE_DEFAULT;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "clients=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;
            n = ngx_atoi(v.data, v.len);

            if (n < 64 || n > 16 * 1024 * 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "staged_update_report %V: invalid "
                                   "\"%V\", clients= is a number from 64 "
                                   "to 16777216", &value[1], &value[i]);
                return NGX_CONF_ERROR;
            }

            clients = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "late=", 5) == 0) {
            v.data = value[i].data + 5;
            v.len = value[i].len - 5;
            late = ngx_parse_time(&v, 1);

            if (late == (time_t) NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "staged_update_report %V: invalid "
                                   "\"%V\", late= is a time such as 1d",
                                   &value[1], &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_report %V: invalid parameter "
                           "\"%V\", expected clients=<n> or late=<time>",
                           &value[1], &value[i]);
        return NGX_CONF_ERROR;
    }

    slcf->report = ngx_http_staged_update_track_get(cf, &value[1]);
    if (slcf->report == NULL) {
        return NGX_CONF_ERROR;
    }

    rcf = ngx_http_staged_update_rcf(cf, slcf->report);
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    /* several locations of one track: the largest set, the longest late */

    if (!rcf->located || clients > rcf->clients) {
        rcf->clients = clients;
    }

    if (!rcf->located || late > rcf->late) {
        rcf->late = late;
    }

    rcf->located = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_staged_update_report_handler;

    return NGX_CONF_OK;
}


void
ngx_http_staged_update_report_merge(ngx_conf_t *cf,
    ngx_http_staged_update_loc_conf_t *prev,
    ngx_http_staged_update_loc_conf_t *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (conf->report == NULL && prev->report && clcf->lmt_excpt
        && clcf->handler == NULL)
    {
        conf->report = prev->report;
        clcf->handler = ngx_http_staged_update_report_handler;
    }
}


static ngx_http_staged_update_report_conf_t *
ngx_http_staged_update_rcf(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    ngx_http_staged_update_report_conf_t  *rcf;

    if (track->report) {
        return track->report;
    }

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_staged_update_report_conf_t));
    if (rcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&rcf->halts, cf->pool, 2,
                       sizeof(ngx_http_staged_update_halt_t))
        != NGX_OK)
    {
        return NULL;
    }

    rcf->clients = NGX_HTTP_STAGED_UPDATE_CLIENTS_DEFAULT;
    rcf->late = NGX_HTTP_STAGED_UPDATE_LATE_DEFAULT;
    track->report = rcf;

    return rcf;
}


/* halt_on [<server>] failures=<percent> min=<n> [confidence=<percent>]; */

char *
ngx_http_staged_update_halt_on(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    ngx_int_t                              n;
    ngx_str_t                             *value, v;
    ngx_uint_t                             i;
    const char                            *e;
    ngx_http_staged_update_halt_t         *h, *halts;
    ngx_http_staged_update_report_conf_t  *rcf;

    value = cf->args->elts;

    rcf = ngx_http_staged_update_rcf(cf, track);
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    h = ngx_array_push(&rcf->halts);
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(h, sizeof(ngx_http_staged_update_halt_t));
    h->confidence = 9500;
    h->threshold = (uint32_t) -1;
    n = -1;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "failures=", 9) == 0) {
            e = ngx_http_staged_update_pct_parse(value[i].data + 9,
                                                 value[i].len - 9,
                                                 &h->threshold);
            if (e || h->threshold >= NGX_HTTP_STAGED_UPDATE_PCT_MAX) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "min=", 4) == 0) {
            n = ngx_atoi(value[i].data + 4, value[i].len - 4);
            if (n < 1 || n > 1000000) {
                goto invalid;
            }

            h->min = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "confidence=", 11) == 0) {
            e = ngx_http_staged_update_pct_parse(value[i].data + 11,
                                                 value[i].len - 11,
                                                 &h->confidence);
            if (e || h->confidence < 5000
                || h->confidence > 9999)
            {
                goto invalid;
            }

            continue;
        }

        if (i == 1 && ngx_strchr(value[i].data, '=') == NULL) {
            if (!ngx_http_staged_update_safe(value[i].data, value[i].len,
                                             NGX_HTTP_STAGED_UPDATE_ID_MAXLEN))
            {
                goto invalid;
            }

            h->server = value[i];
            continue;
        }

        goto invalid;
    }

    if (h->threshold == (uint32_t) -1 || n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"halt_on\" needs "
                           "failures=<percent> and min=<n>", &track->name);
        return NGX_CONF_ERROR;
    }

    halts = rcf->halts.elts;

    for (i = 0; i + 1 < rcf->halts.nelts; i++) {
        if (halts[i].server.len == h->server.len
            && ngx_strncmp(halts[i].server.data, h->server.data,
                           h->server.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update_track \"%V\": \"halt_on\" is "
                               "duplicate for %s%V", &track->name,
                               h->server.len ? "server " : "the track",
                               &h->server);
            return NGX_CONF_ERROR;
        }
    }

    h->z = ngx_http_staged_update_z(h->confidence / 10000.0);

    return NGX_CONF_OK;

invalid:

    v = value[i];

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "staged_update_track \"%V\": \"halt_on\" has an "
                       "invalid parameter \"%V\": expected [<server>] "
                       "failures=<percent below 100%%> min=<1 to 1000000> "
                       "[confidence=<50%% to 99.99%%>]", &track->name, &v);
    return NGX_CONF_ERROR;
}


ngx_int_t
ngx_http_staged_update_report_check(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    ngx_uint_t                             i;
    ngx_http_staged_update_halt_t         *h;
    ngx_http_staged_update_report_conf_t  *rcf;

    rcf = track->report;

    if (rcf == NULL) {
        return NGX_OK;
    }

    if (!track->token.on || !track->token.client) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "%s %V: the track's tokens must be bound to clients "
                      "(\"token secret=<file> client;\"), or one token "
                      "could vote for many clients, in %s:%ui",
                      rcf->located ? "staged_update_report" : "halt_on",
                      &track->name, track->conf_file, track->conf_line);
        return NGX_ERROR;
    }

    h = rcf->halts.elts;

    for (i = 0; i < rcf->halts.nelts; i++) {
        if (h[i].server.len
            && ngx_http_staged_update_table_server(track->table,
                                                   h[i].server.data,
                                                   h[i].server.len)
               == NULL)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "staged_update_track \"%V\": \"halt_on\" names "
                          "an unknown server \"%V\" in %s:%ui",
                          &track->name, &h[i].server, track->conf_file,
                          track->conf_line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


size_t
ngx_http_staged_update_report_size(ngx_http_staged_update_zone_t *zone)
{
    size_t                                 size;
    ngx_uint_t                             i, n;
    ngx_http_staged_update_track_t       **track;
    ngx_http_staged_update_report_conf_t  *rcf;

    size = sizeof(ngx_http_staged_update_report_sh_t);
    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        rcf = track[i]->report;

        if (rcf == NULL) {
            continue;
        }

        for (n = 64; n < rcf->clients + rcf->clients / 7; n <<= 1) {
            /* void */
        }

        size += sizeof(ngx_http_staged_update_report_rec_t)
                + n * sizeof(uint64_t)
                + (1 + track[i]->table->nservers)
                  * sizeof(ngx_http_staged_update_funnel_t);
    }

    return size;
}


ngx_int_t
ngx_http_staged_update_report_init(ngx_http_staged_update_zone_t *zone,
    void **report, ngx_log_t *log)
{
    size_t                                 slen;
    u_char                                *scope;
    ngx_uint_t                             i, k, s, n, nscopes;
    ngx_queue_t                           *q;
    ngx_http_staged_update_halt_t         *h, *track_rule;
    ngx_http_staged_update_track_t       **track;
    ngx_http_staged_update_release_t      *rel;
    ngx_http_staged_update_report_sh_t    *sh;
    ngx_http_staged_update_report_rec_t   *rec;
    ngx_http_staged_update_report_conf_t  *rcf;
    const ngx_http_staged_update_table_t  *t;
    const ngx_http_staged_update_scope_t  *servers, *sc;

    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        if (track[i]->report) {
            break;
        }
    }

    if (i == zone->tracks.nelts && *report == NULL) {
        return NGX_OK;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    sh = *report;

    if (sh == NULL) {
        sh = ngx_slab_alloc_locked(zone->shpool,
                                   sizeof(ngx_http_staged_update_report_sh_t));
        if (sh == NULL) {
            goto nomem;
        }

        ngx_queue_init(&sh->tracks);
        *report = sh;
    }

    for (i = 0; i < zone->tracks.nelts; i++) {
        rcf = track[i]->report;

        if (rcf == NULL) {
            continue;
        }

        t = track[i]->shared;
        rec = NULL;

        for (q = ngx_queue_head(&sh->tracks);
             q != ngx_queue_sentinel(&sh->tracks);
             q = ngx_queue_next(q))
        {
            rec = ngx_queue_data(q, ngx_http_staged_update_report_rec_t,
                                 queue);

            if (rec->name_len == track[i]->name.len
                && ngx_memcmp(rec->name, track[i]->name.data,
                              rec->name_len) == 0)
            {
                break;
            }

            rec = NULL;
        }

        if (rec == NULL) {

            /* the set's size is fixed when the record is made */

            for (n = 64; n < rcf->clients + rcf->clients / 7; n <<= 1) {
                /* void */
            }

            rec = ngx_slab_calloc_locked(zone->shpool,
                      sizeof(ngx_http_staged_update_report_rec_t));
            if (rec == NULL) {
                goto nomem;
            }

            rec->slots = ngx_slab_calloc_locked(zone->shpool,
                                                n * sizeof(uint64_t));
            if (rec->slots == NULL) {
                ngx_slab_free_locked(zone->shpool, rec);
                goto nomem;
            }

            rec->nslots = n;
            rec->name_len = track[i]->name.len;
            ngx_memcpy(rec->name, track[i]->name.data, rec->name_len);
            ngx_queue_init(&rec->rows);
            ngx_queue_insert_tail(&sh->tracks, &rec->queue);
        }

        rcf->rec = rec;

        nscopes = 1 + t->nservers;

        rcf->scopes = ngx_pcalloc(zone->cycle->pool,
                                  nscopes * sizeof(void *));
        rcf->rules = ngx_pcalloc(zone->cycle->pool, nscopes * sizeof(void *));

        if (rcf->scopes == NULL || rcf->rules == NULL) {
            goto nomem;
        }

        servers = (const ngx_http_staged_update_scope_t *)
                      ((const u_char *) t + t->servers);

        h = rcf->halts.elts;
        track_rule = NULL;

        for (k = 0; k < rcf->halts.nelts; k++) {
            if (h[k].server.len == 0) {
                track_rule = &h[k];
            }
        }

        for (s = 0; s < nscopes; s++) {
            sc = s ? &servers[s - 1] : &t->track;
            scope = s ? (u_char *) ngx_http_staged_update_str(t, sc->name)
                      : NULL;
            slen = s ? sc->name_len : 0;

            rel = (ngx_http_staged_update_release_t *)
                      track[i]->releases.elts + sc->release;

            rcf->scopes[s] = ngx_http_staged_update_row(zone, rec, scope,
                                                        slen, &rel->v);
            if (rcf->scopes[s] == NULL) {
                goto nomem;
            }

            /* a server without a halt_on of its own takes the track's */

            rcf->rules[s] = track_rule;

            for (k = 0; s && k < rcf->halts.nelts; k++) {
                if (h[k].server.len == slen
                    && ngx_memcmp(h[k].server.data, scope, slen) == 0)
                {
                    rcf->rules[s] = &h[k];
                }
            }
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;

nomem:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_log_error(NGX_LOG_EMERG, log, 0,
                  "staged_update_zone \"%V\" has no room for the reports of "
                  "its tracks (staged_update_report clients=): use a larger "
                  "zone", &zone->name);

    return NGX_ERROR;
}


/* the funnel row of a scope and target, made if new (locked) */

static ngx_http_staged_update_funnel_t *
ngx_http_staged_update_row(ngx_http_staged_update_zone_t *zone,
    ngx_http_staged_update_report_rec_t *rec, u_char *scope, size_t slen,
    ngx_http_staged_update_version_t *v)
{
    u_char                            ver[NGX_HTTP_STAGED_UPDATE_VLEN];
    size_t                            vlen;
    ngx_queue_t                      *q;
    ngx_http_staged_update_funnel_t  *row;

    vlen = ngx_http_staged_update_version_print(ver, v);

    for (q = ngx_queue_head(&rec->rows);
         q != ngx_queue_sentinel(&rec->rows);
         q = ngx_queue_next(q))
    {
        row = ngx_queue_data(q, ngx_http_staged_update_funnel_t, queue);

        if (row->scope_len == slen && row->version_len == vlen
            && ngx_memcmp(row->scope, scope, slen) == 0
            && ngx_memcmp(row->version, ver, vlen) == 0)
        {
            return row;
        }
    }

    row = ngx_slab_calloc_locked(zone->shpool,
                                 sizeof(ngx_http_staged_update_funnel_t));
    if (row == NULL) {
        return NULL;
    }

    row->scope_len = (uint32_t) slen;
    row->version_len = (uint32_t) vlen;
    ngx_memcpy(row->scope, scope, slen);
    ngx_memcpy(row->version, ver, vlen);
    ngx_queue_insert_tail(&rec->rows, &row->queue);

    return row;
}


/*
 * A download that starts (no Range, or from byte 0) of a release's
 * artifact or of its first file: counted in the row of the first scope
 * (the track's, then the servers' in order) whose target it is.  Tokens
 * do not name the server.
 */

void
ngx_http_staged_update_report_download(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, ngx_str_t *token)
{
    size_t                                 vlen, clen;
    ngx_uint_t                             i, s, nscopes;
    const u_char                          *ver, *client;
    ngx_http_staged_update_version_t       v;
    ngx_http_staged_update_release_t      *rel;
    ngx_http_staged_update_report_conf_t  *rcf;
    const ngx_http_staged_update_table_t  *t;
    const ngx_http_staged_update_scope_t  *servers, *sc;

    rcf = track->report;

    if (rcf == NULL || rcf->scopes == NULL) {
        return;
    }

    if (r->headers_in.range
        && !(r->headers_in.range->value.len == 8
             && ngx_strncmp(r->headers_in.range->value.data, "bytes=0-", 8)
                == 0))
    {
        return;
    }

    if (!ngx_http_staged_update_token_fields(token->data, token->len, &ver,
                                             &vlen, &client, &clen)
        || ngx_http_staged_update_version_parse(ver, vlen, &v) != NULL)
    {
        return;
    }

    t = track->shared;
    servers = (const ngx_http_staged_update_scope_t *)
                  ((const u_char *) t + t->servers);
    nscopes = 1 + t->nservers;

    for (s = 0; s < nscopes; s++) {
        sc = s ? &servers[s - 1] : &t->track;
        rel = (ngx_http_staged_update_release_t *) track->releases.elts
              + sc->release;

        if (ngx_http_staged_update_version_cmp(&rel->v, &v) != 0) {
            continue;
        }

        if (r->uri.len <= rel->path.len
            || ngx_strncmp(r->uri.data, rel->path.data, rel->path.len) != 0)
        {
            return;
        }

        for (i = 0; i < rel->nartifacts; i++) {
            if (rel->artifacts[i].path.len == r->uri.len
                && ngx_strncmp(rel->artifacts[i].path.data, r->uri.data,
                               r->uri.len) == 0)
            {
                goto count;
            }
        }

        if (rel->nfiles
            && rel->files[0].path_len == r->uri.len - rel->path.len
            && ngx_strncmp(rel->files[0].path, r->uri.data + rel->path.len,
                           rel->files[0].path_len) == 0)
        {
            goto count;
        }

        return;

    count:

        (void) ngx_atomic_fetch_add(
                   &rcf->scopes[s]->c[NGX_HTTP_STAGED_UPDATE_C_DOWNLOADED], 1);
        return;
    }
}


static ngx_int_t
ngx_http_staged_update_report_handler(ngx_http_request_t *r)
{
    ngx_int_t                           rc;
    ngx_str_t                           doc;
    ngx_table_elt_t                    *h;
    ngx_http_core_loc_conf_t           *clcf;
    ngx_http_staged_update_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_staged_update_module);

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        /* ?format=prometheus: every track's funnel, until the status has it */

        if (ngx_http_arg(r, (u_char *) "format", 6, &doc) == NGX_OK
            && doc.len == 10 && ngx_strncmp(doc.data, "prometheus", 10) == 0)
        {
            if (ngx_http_staged_update_report_prometheus(r->pool,
                    ngx_http_get_module_main_conf(r,
                        ngx_http_staged_update_module), &doc)
                != NGX_OK
                || ngx_http_staged_update_no_store(r) != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_str_set(&r->headers_out.content_type,
                        "text/plain; version=0.0.4");
            r->headers_out.content_type_len =
                                         r->headers_out.content_type.len;
            r->headers_out.status = NGX_HTTP_OK;

            return ngx_http_staged_update_send(r, &doc, 1);
        }

        if (ngx_http_staged_update_report_json(r->pool, slcf->report, &doc)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_staged_update_report_answer(r, NGX_HTTP_OK, NULL,
                                                    &doc);
    }

    if (r->method != NGX_HTTP_POST) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD, POST");
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif

        return ngx_http_staged_update_report_answer(r, NGX_HTTP_NOT_ALLOWED,
                   "method not allowed, use POST (a report) or GET (the "
                   "funnel)");
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->headers_in.content_length_n > NGX_HTTP_STAGED_UPDATE_REPORT_MAX
        || r->headers_in.content_length_n
           > (off_t) clcf->client_body_buffer_size)
    {
        return ngx_http_staged_update_report_answer(r,
                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "the body is larger than %uz bytes",
                   ngx_min((size_t) NGX_HTTP_STAGED_UPDATE_REPORT_MAX,
                           clcf->client_body_buffer_size));
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_staged_update_report_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_staged_update_report_body(ngx_http_request_t *r)
{
    size_t                              max;
    ngx_int_t                           rc;
    ngx_str_t                           body;
    ngx_http_core_loc_conf_t           *clcf;
    ngx_http_staged_update_loc_conf_t  *slcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_staged_update_module);

    max = ngx_min((size_t) NGX_HTTP_STAGED_UPDATE_REPORT_MAX,
                  clcf->client_body_buffer_size);

    rc = ngx_http_staged_update_body(r, max, &body);

    if (rc == NGX_DECLINED) {
        rc = ngx_http_staged_update_report_answer(r,
                 NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                 "the body is larger than %uz bytes", max);

    } else if (rc == NGX_OK) {
        rc = ngx_http_staged_update_report_post(r, slcf->report, body.data,
                                                body.len);

    } else {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_staged_update_report_post(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, u_char *body, size_t len)
{
    char                                   err[NGX_HTTP_STAGED_UPDATE_ERR_LEN];
    size_t                                 vlen, clen, n;
    const char                            *e;
    const u_char                          *ver, *client;
    ngx_http_staged_update_version_t       tv;
    ngx_http_staged_update_outcome_t      *o;
    ngx_http_staged_update_release_t      *rel;
    ngx_http_staged_update_report_conf_t  *rcf;
    const ngx_http_staged_update_scope_t  *scope;

    rcf = track->report;

    o = ngx_palloc(r->pool, sizeof(ngx_http_staged_update_outcome_t));
    if (o == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    e = ngx_http_staged_update_outcome_parse(body, len, o, err, sizeof(err));
    if (e) {
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_BAD_REQUEST,
                                                    "%s", e);
    }

    scope = &track->shared->track;

    if (o->server_len) {
        scope = ngx_http_staged_update_table_server(track->shared, o->server,
                                                    o->server_len);
        if (scope == NULL) {
            return ngx_http_staged_update_report_answer(r,
                       NGX_HTTP_BAD_REQUEST, "unknown server");
        }
    }

    rel = (ngx_http_staged_update_release_t *) track->releases.elts
          + scope->release;

    if (ngx_http_staged_update_version_cmp(&rel->v, &o->version) != 0) {
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_BAD_REQUEST,
                   "unknown version: the release of %s%*s is %V",
                   o->server_len ? "server " : "the track",
                   o->server_len, o->server, &rel->version);
    }

    /* the proof: a token of this track, for this version and client */

    if (o->token_len == 0) {
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_FORBIDDEN,
                   "a report needs the proof of its grant: \"grant\", a URL "
                   "of the upgrade answer with its token");
    }

    n = (track->token.secrets[1].len
         && ngx_time() < track->token.previous_until) ? 2 : 1;

    switch (ngx_http_staged_update_token_verify(o->token, o->token_len,
                                                track->token.secrets, n,
                                                o->path, o->path_len,
                                                ngx_time() - rcf->late))
    {
    case NGX_HTTP_STAGED_UPDATE_TOKEN_OK:
        break;

    case NGX_HTTP_STAGED_UPDATE_TOKEN_EXPIRED:
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_FORBIDDEN,
                   "the grant's token expired more than %T seconds ago",
                   rcf->late);

    case NGX_HTTP_STAGED_UPDATE_TOKEN_INVALID:
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_FORBIDDEN,
                   "the grant's token was not made by this server for that "
                   "URL");

    default: /* NGX_HTTP_STAGED_UPDATE_TOKEN_MALFORMED */
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_FORBIDDEN,
                   "the grant's token is malformed");
    }

    if (!ngx_http_staged_update_token_fields(o->token, o->token_len, &ver,
                                             &vlen, &client, &clen)
        || ngx_http_staged_update_version_parse(ver, vlen, &tv) != NULL
        || ngx_http_staged_update_version_cmp(&tv, &o->version) != 0)
    {
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_FORBIDDEN,
                   "the grant's token is for another version");
    }

    if (clen != o->client_len || ngx_memcmp(client, o->client, clen) != 0) {
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_FORBIDDEN,
                   "the grant's token is for another client");
    }

    return ngx_http_staged_update_report_count(r, track, o,
               ngx_http_staged_update_scope_index(track->shared, scope));
}


/* one vote per client and target; the funnel; the halt rule */

static ngx_int_t
ngx_http_staged_update_report_count(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_outcome_t *o, ngx_uint_t si)
{
    u_char                                 ver[NGX_HTTP_STAGED_UPDATE_VLEN];
    size_t                                 vlen;
    uint32_t                               mask, dn, dk;
    uint64_t                               hash, key, k, n, *slot;
    ngx_uint_t                             i, fresh, counted, halt;
    ngx_http_staged_update_zone_t         *zone;
    ngx_http_staged_update_halt_t         *h;
    ngx_http_staged_update_funnel_t       *row;
    ngx_http_staged_update_report_rec_t   *rec;
    ngx_http_staged_update_report_conf_t  *rcf;

    rcf = track->report;
    rec = rcf->rec;
    row = rcf->scopes[si];
    h = rcf->rules[si];
    zone = track->zone;

    /* FNV-1a 64 of "<target>\n<client>", then MurmurHash3's finalizer */

    vlen = ngx_http_staged_update_version_print(ver, &o->version);
    hash = 0xcbf29ce484222325ULL;

    for (i = 0; i < vlen + 1 + o->client_len; i++) {
        hash ^= (i < vlen) ? ver[i] : (i == vlen) ? '\n'
                                                  : o->client[i - vlen - 1];
        hash *= 0x100000001b3ULL;
    }

    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;

    key = hash & ~(uint64_t) 0xf;
    if (key == 0) {
        key = 0x10;
    }

    counted = 0;
    halt = 0;
    k = 0;
    n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = hash & (rec->nslots - 1);
         rec->slots[i] && (rec->slots[i] & ~(uint64_t) 0xf) != key;
         i = (i + 1) & (rec->nslots - 1))
    {
        /* void */
    }

    slot = &rec->slots[i];
    fresh = (*slot == 0);

    if (fresh && rec->used >= rec->nslots - rec->nslots / 8) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        (void) ngx_atomic_fetch_add(&rec->refused, 1);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "staged_update_report %V: no room for the votes of "
                      "more clients (%ui kept): raise clients=",
                      &track->name, rec->used);

        return ngx_http_staged_update_report_answer(r, NGX_HTTP_CONFLICT,
                   "no room for the reports of more clients on this server");
    }

    mask = (uint32_t) (*slot & 0xf);

    if (ngx_http_staged_update_outcome_apply(&mask, o->result, &dn, &dk)) {
        counted = 1;

        if (fresh) {
            rec->used++;
        }

        *slot = key | mask;

        (void) ngx_atomic_fetch_add(
                   &row->c[NGX_HTTP_STAGED_UPDATE_C_RESULT + o->result], 1);
        (void) ngx_atomic_fetch_add(
                   &row->c[NGX_HTTP_STAGED_UPDATE_C_OUTCOMES], dn);
        (void) ngx_atomic_fetch_add(
                   &row->c[NGX_HTTP_STAGED_UPDATE_C_FAILURES], dk);

        n = row->c[NGX_HTTP_STAGED_UPDATE_C_OUTCOMES];
        k = row->c[NGX_HTTP_STAGED_UPDATE_C_FAILURES];

        if (h && dn + dk && !row->tripped
            && ngx_http_staged_update_halt_due(k, n, h->threshold, h->min,
                                               h->z))
        {
            row->tripped = 1;
            halt = 1;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (halt) {
        ngx_http_staged_update_report_halt(r, track, h, row, k, n);
    }

    if (!counted) {
        return ngx_http_staged_update_report_answer(r, NGX_HTTP_OK,
                   "{\"counted\":false,\"why\":\"already reported\"}");
    }

    return ngx_http_staged_update_report_answer(r, NGX_HTTP_OK,
                                                "{\"counted\":true}");
}


/* halt_on: the API's own halt, recorded in the state file */

static void
ngx_http_staged_update_report_halt(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, ngx_http_staged_update_halt_t *h,
    ngx_http_staged_update_funnel_t *row, uint64_t k, uint64_t n)
{
    u_char                        lb[16], th[16], cf[16];
    uint32_t                      etag;
    ngx_str_t                     server, from;
    ngx_http_staged_update_ov_t  *ov;

    ov = ngx_pcalloc(r->pool, sizeof(ngx_http_staged_update_ov_t));
    if (ov == NULL) {
        return;
    }

    ngx_str_set(&from, "halt_on");

    ov->kind = NGX_HTTP_STAGED_UPDATE_OV_HALTED;
    ov->value = 1;
    ov->when = ngx_time();
    ov->server_len = row->scope_len;
    ngx_memcpy(ov->server, row->scope, row->scope_len);
    ov->from_len = (uint32_t) from.len;
    ngx_memcpy(ov->from, from.data, from.len);

    server.data = row->scope;
    server.len = row->scope_len;

    lb[ngx_http_staged_update_pct_print(lb,
            (uint32_t) (ngx_http_staged_update_wilson_lower(k, n, h->z)
                        * NGX_HTTP_STAGED_UPDATE_PCT_MAX))] = '\0';
    th[ngx_http_staged_update_pct_print(th, h->threshold)] = '\0';
    cf[ngx_http_staged_update_pct_print(cf, h->confidence)] = '\0';

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "staged_update: track \"%V\"%s%V%s: release %*s halted by "
                  "halt_on: %uL failures in %uL outcomes, the lower bound "
                  "of the failure rate at %s%% confidence is %s%%, above "
                  "%s%% (min=%ui); lift it with the API",
                  &track->name, row->scope_len ? " server \"" : "", &server,
                  row->scope_len ? "\"" : "", (size_t) row->version_len,
                  row->version, k, n, cf, lb, th, h->min);

    if (ngx_http_staged_update_state_change(r->connection->log, track,
                                            row->scope_len ? &server : NULL,
                                            ov, 1, NULL, &from, &etag)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "staged_update: track \"%V\": the halt of halt_on "
                      "could not be recorded", &track->name);
    }
}


/* a JSON answer: fmt's text as {"error":...} for 4xx, else as it is */

static ngx_int_t
ngx_http_staged_update_report_answer(ngx_http_request_t *r,
    ngx_uint_t status, const char *fmt, ...)
{
    u_char     text[NGX_HTTP_STAGED_UPDATE_ERR_LEN * 2], *p;
    size_t     tlen;
    va_list    args;
    ngx_str_t  part[3], *doc;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    if (ngx_http_staged_update_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;

    if (fmt == NULL) {
        va_start(args, fmt);
        doc = va_arg(args, ngx_str_t *);
        va_end(args);

        part[0] = *doc;
        ngx_str_set(&part[1], "\n");

        return ngx_http_staged_update_send(r, part, 2);
    }

    va_start(args, fmt);
    p = ngx_vslprintf(text, text + sizeof(text), fmt, args);
    va_end(args);

    tlen = p - text;

    if (status < NGX_HTTP_BAD_REQUEST) {
        part[0].data = ngx_pstrdup(r->pool, &(ngx_str_t) { tlen, text });
        part[0].len = tlen;
        ngx_str_set(&part[1], "\n");

        return part[0].data ? ngx_http_staged_update_send(r, part, 2)
                            : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    part[1].len = ngx_http_staged_update_json_str(NULL, text, tlen);
    part[1].data = ngx_pnalloc(r->pool, part[1].len);
    if (part[1].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_http_staged_update_json_str(part[1].data, text, tlen);
    ngx_str_set(&part[0], "{\"error\":");
    ngx_str_set(&part[2], "}\n");

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "staged_update_report: %*s", tlen, text);

    return ngx_http_staged_update_send(r, part, 3);
}


ngx_int_t
ngx_http_staged_update_report_json(ngx_pool_t *pool,
    ngx_http_staged_update_track_t *track, ngx_str_t *out)
{
    /* rows are added under the lock: the same rows in both passes */

    ngx_shmtx_lock(&track->zone->shpool->mutex);

    out->len = ngx_http_staged_update_report_doc(NULL, track);
    out->data = ngx_pnalloc(pool, out->len);

    if (out->data) {
        out->len = ngx_http_staged_update_report_doc(out->data, track);
    }

    ngx_shmtx_unlock(&track->zone->shpool->mutex);

    return out->data ? NGX_OK : NGX_ERROR;
}


#define put(s, l)                                                             \
    do { if (dst) ngx_memcpy(dst + n, s, l); n += l; } while (0)
#define putl(s)  put(s, sizeof(s) - 1)
#define at       (dst ? dst + n : NULL)
/* counters grow meanwhile: the size pass counts their widest */
#define putnum(v)                                                             \
    do { u_char  num_[NGX_ATOMIC_T_LEN];                                      \
         if (dst == NULL) { n += NGX_ATOMIC_T_LEN; break; }                   \
         put(num_, ngx_sprintf(num_, "%uA", (ngx_atomic_uint_t) (v))          \
                   - num_); } while (0)


static size_t
ngx_http_staged_update_report_doc(u_char *dst,
    ngx_http_staged_update_track_t *track)
{
    size_t                                 n;
    ngx_uint_t                             i, s;
    ngx_queue_t                           *q;
    ngx_http_staged_update_halt_t         *h;
    ngx_http_staged_update_funnel_t       *row;
    ngx_http_staged_update_report_rec_t   *rec;
    ngx_http_staged_update_report_conf_t  *rcf;

    n = 0;
    rcf = track->report;
    rec = rcf ? rcf->rec : NULL;

    putl("{\"track\":");
    n += ngx_http_staged_update_json_str(at, track->name.data,
                                         track->name.len);

    if (rec == NULL) {
        putl(",\"funnel\":[]}");
        return n;
    }

    putl(",\"clients\":{\"size\":");
    putnum(rec->nslots - rec->nslots / 8);
    putl(",\"used\":");
    putnum(rec->used);
    putl(",\"refused\":");
    putnum(rec->refused);
    putl("},\"funnel\":[");

    for (q = ngx_queue_head(&rec->rows);
         q != ngx_queue_sentinel(&rec->rows);
         q = ngx_queue_next(q))
    {
        row = ngx_queue_data(q, ngx_http_staged_update_funnel_t, queue);

        if (q != ngx_queue_head(&rec->rows)) {
            putl(",");
        }

        putl("\n{\"server\":");

        if (row->scope_len) {
            n += ngx_http_staged_update_json_str(at, row->scope,
                                                 row->scope_len);
        } else {
            putl("null");
        }

        putl(",\"version\":\"");
        put(row->version, row->version_len);
        putl("\"");

        for (i = 0; i < NGX_HTTP_STAGED_UPDATE_NCOUNTERS; i++) {
            putl(",\"");
            put(ngx_http_staged_update_counter_names[i],
                ngx_strlen(ngx_http_staged_update_counter_names[i]));
            putl("\":");
            putnum(row->c[i]);
        }

        putl(",\"halted_by_rule\":");

        if (row->tripped) {
            putl("true");
        } else {
            putl("false");
        }

        /* the rule of this configuration, for the current rows */

        h = NULL;

        for (s = 0; rcf->scopes && s < 1 + track->shared->nservers; s++) {
            if (rcf->scopes[s] == row) {
                h = rcf->rules[s];
            }
        }

        putl(",\"halt_on\":");

        if (h == NULL) {
            putl("null");

        } else {
            putl("{\"failures\":");
            n += ngx_http_staged_update_pct_json(at, h->threshold);
            putl(",\"min\":");
            putnum(h->min);
            putl(",\"confidence\":");
            n += ngx_http_staged_update_pct_json(at, h->confidence);
            putl("}");
        }

        putl("}");
    }

    putl("]}");

    return n;
}


ngx_int_t
ngx_http_staged_update_report_prometheus(ngx_pool_t *pool,
    ngx_http_staged_update_main_conf_t *smcf, ngx_str_t *out)
{
    ngx_uint_t                        i;
    ngx_http_staged_update_zone_t   **zones;

    /* one view: every zone's lock held (rows are added under it) */

    zones = smcf->zones.elts;

    for (i = 0; i < smcf->zones.nelts; i++) {
        ngx_shmtx_lock(&zones[i]->shpool->mutex);
    }

    out->len = ngx_http_staged_update_report_prom(NULL, smcf);
    out->data = ngx_pnalloc(pool, out->len ? out->len : 1);

    if (out->data) {
        out->len = ngx_http_staged_update_report_prom(out->data, smcf);
    }

    for (i = smcf->zones.nelts; i--; /* void */) {
        ngx_shmtx_unlock(&zones[i]->shpool->mutex);
    }

    return out->data ? NGX_OK : NGX_ERROR;
}


/* a label value: \\, \" and \n escaped */

static size_t
ngx_http_staged_update_prom_label(u_char *dst, const u_char *p, size_t len)
{
    size_t  n, i;

    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '\\' || p[i] == '"') {
            put("\\", 1);
            put(&p[i], 1);

        } else if (p[i] == '\n') {
            putl("\\n");

        } else {
            put(&p[i], 1);
        }
    }

    return n;
}


static size_t
ngx_http_staged_update_report_prom(u_char *dst,
    ngx_http_staged_update_main_conf_t *smcf)
{
    size_t                                 n;
    ngx_uint_t                             f, i, m, fam;
    ngx_queue_t                           *q;
    ngx_http_staged_update_track_t       **tracks;
    ngx_http_staged_update_funnel_t       *row;
    ngx_http_staged_update_report_rec_t   *rec;
    ngx_http_staged_update_report_conf_t  *rcf;

    static const char  *names[] = {
        "staged_update_grants_total",
        "staged_update_download_starts_total",
        "staged_update_reports_total",
        "staged_update_report_outcomes_total",
        "staged_update_report_failures_total"
    };

    static const char  *help[] = {
        "Upgrades granted by the check, by target and scope.",
        "Downloads of a release started with a valid token.",
        "Install reports counted, one per client and result.",
        "Clients with a verdict (started, failed or rolled-back): the "
        "halt_on sample.",
        "Clients that reported failed or rolled-back: the halt_on sample."
    };

    n = 0;
    tracks = smcf->tracks.elts;

    for (fam = 0; fam < 5; fam++) {
        putl("# HELP ");
        put(names[fam], ngx_strlen(names[fam]));
        putl(" ");
        put(help[fam], ngx_strlen(help[fam]));
        putl("\n# TYPE ");
        put(names[fam], ngx_strlen(names[fam]));
        putl(" counter\n");

        for (i = 0; i < smcf->tracks.nelts; i++) {
            rcf = tracks[i]->report;
            rec = rcf ? rcf->rec : NULL;

            for (q = rec ? ngx_queue_head(&rec->rows) : NULL;
                 rec && q != ngx_queue_sentinel(&rec->rows);
                 q = ngx_queue_next(q))
            {
                row = ngx_queue_data(q, ngx_http_staged_update_funnel_t,
                                     queue);

                m = (fam == 2) ? NGX_HTTP_STAGED_UPDATE_NRESULTS : 1;

                for (f = 0; f < m; f++) {
                    put(names[fam], ngx_strlen(names[fam]));
                    putl("{track=\"");
                    n += ngx_http_staged_update_prom_label(at,
                             tracks[i]->name.data, tracks[i]->name.len);
                    putl("\",scope=\"");

                    if (row->scope_len) {
                        n += ngx_http_staged_update_prom_label(at,
                                 row->scope, row->scope_len);
                    } else {
                        putl("track");
                    }

                    putl("\",version=\"");
                    put(row->version, row->version_len);

                    if (fam == 2) {
                        putl("\",outcome=\"");
                        put(ngx_http_staged_update_result_names[f],
                            ngx_strlen(
                                ngx_http_staged_update_result_names[f]));
                    }

                    putl("\"} ");

                    switch (fam) {
                    case 0:
                        putnum(row->c[NGX_HTTP_STAGED_UPDATE_C_GRANTED]);
                        break;
                    case 1:
                        putnum(row->c[NGX_HTTP_STAGED_UPDATE_C_DOWNLOADED]);
                        break;
                    case 2:
                        putnum(row->c[NGX_HTTP_STAGED_UPDATE_C_RESULT + f]);
                        break;
                    case 3:
                        putnum(row->c[NGX_HTTP_STAGED_UPDATE_C_OUTCOMES]);
                        break;
                    default:
                        putnum(row->c[NGX_HTTP_STAGED_UPDATE_C_FAILURES]);
                        break;
                    }

                    putl("\n");
                }
            }
        }
    }

    return n;
}

#undef put
#undef putl
#undef at
#undef putnum
