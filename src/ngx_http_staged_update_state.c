
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Live overrides in the shared memory zone.
 *
 * The overrides themselves are kept by name in the zone (a record per
 * track, a list of ov_t), which outlives a reload of the same zone size,
 * and in the zone's state file (state=), which is read when the zone is
 * created anew (a start, a changed size).  Each loaded configuration maps
 * them onto its own tables: beside each track's table in the set, a
 * "live" block holds one word per scope (the effective default, paused,
 * halted) and one per rule (the effective percentage).  Writers change
 * the words under the zone's lock inside a sequence count; the check
 * reads them without a lock and reads again if a writer was at work.
 *
 * Every change bumps the zone's generation; a set whose words were made
 * for an older generation (another configuration's workers wrote, during
 * a reload) maps the overrides again at its next check.
 *
 * nginx.conf wins: an override whose configured percentage is no longer
 * what nginx.conf says, or whose server or rule is gone, is dropped with
 * a notice when a configuration is loaded.
 */


#include "ngx_http_staged_update_state.h"
#include "ngx_http_staged_update_shape.h"

#include <jansson.h>


#define NGX_HTTP_STAGED_UPDATE_W_PCT        0x0000ffff
#define NGX_HTTP_STAGED_UPDATE_W_SET        0x00010000
#define NGX_HTTP_STAGED_UPDATE_W_PAUSED     0x00020000
#define NGX_HTTP_STAGED_UPDATE_W_HALTED     0x00040000

/* the percentage in force of a table or rule: a live one, else nginx.conf's
 * (a ramp's step now) */
#define ngx_http_staged_update_word_pct(track, word, conf)                    \
    (((word) & NGX_HTTP_STAGED_UPDATE_W_SET)                                  \
     ? ((word) & NGX_HTTP_STAGED_UPDATE_W_PCT)                                \
     : ngx_http_staged_update_pct_now(track, conf))

#define NGX_HTTP_STAGED_UPDATE_STATE_MAX    (16 * 1024 * 1024)


typedef struct {
    ngx_atomic_t                        gen;
    ngx_queue_t                         tracks;    /* state_track_t */
} ngx_http_staged_update_state_sh_t;


typedef struct {
    ngx_queue_t                         queue;
    ngx_queue_t                         ovs;       /* state_ov_t */
    uint32_t                            etag;
    int64_t                             ramp_paused;  /* the file's */
    int64_t                             ramp_at;
    size_t                              name_len;
    u_char                              name[1];
} ngx_http_staged_update_state_track_t;


typedef struct {
    ngx_queue_t                         queue;
    ngx_http_staged_update_ov_t         ov;
} ngx_http_staged_update_state_ov_t;


typedef struct {
    ngx_atomic_t                        seq;       /* odd: being written */
    ngx_atomic_t                        gen;       /* of the zone, mapped */
    ngx_atomic_t                        any;       /* overrides mapped */
    uint32_t                            nscopes;
    uint32_t                            nrules;
    uint32_t                            word[1];   /* scopes, then rules */
} ngx_http_staged_update_live_t;


typedef struct {
    ngx_http_staged_update_zone_t         *zone;
    ngx_http_staged_update_state_track_t  *track;
} ngx_http_staged_update_load_t;


static ngx_http_staged_update_state_track_t *ngx_http_staged_update_record(
    ngx_http_staged_update_zone_t *zone, const u_char *name, size_t len,
    ngx_uint_t create);
static ngx_uint_t ngx_http_staged_update_map(
    ngx_http_staged_update_zone_t *zone,
    ngx_http_staged_update_track_t *track, ngx_log_t *log);
static void ngx_http_staged_update_map_all(
    ngx_http_staged_update_zone_t *zone);
static void ngx_http_staged_update_resync(ngx_http_staged_update_zone_t *zone);
static void ngx_http_staged_update_load(ngx_http_staged_update_zone_t *zone,
    ngx_log_t *log);
static int ngx_http_staged_update_load_track(void *data, const u_char *name,
    size_t len, uint32_t etag, int64_t paused, int64_t at);
static int ngx_http_staged_update_load_ov(void *data,
    const ngx_http_staged_update_ov_t *ov);
static void *ngx_http_staged_update_json_alloc(size_t size);
static void ngx_http_staged_update_json_free(void *p);
static void ngx_http_staged_update_clear(ngx_http_staged_update_zone_t *zone);
static void ngx_http_staged_update_save(ngx_http_staged_update_zone_t *zone,
    ngx_log_t *log);
static size_t ngx_http_staged_update_save_doc(u_char *dst,
    ngx_http_staged_update_zone_t *zone);
static size_t ngx_http_staged_update_doc(u_char *dst,
    ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_state_track_t *rec, ngx_uint_t tables);
static size_t ngx_http_staged_update_ov_list(u_char *dst,
    ngx_http_staged_update_state_track_t *rec, ngx_uint_t lines);
static size_t ngx_http_staged_update_flags(u_char *dst, uint32_t w);
static size_t ngx_http_staged_update_scope_doc(u_char *dst,
    ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_scope_t *s, uint32_t si);
static void ngx_http_staged_update_log_change(ngx_log_t *log,
    ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_ov_t *ov, ngx_uint_t set, uint32_t old,
    ngx_uint_t remove, ngx_str_t *from);
static ngx_uint_t ngx_http_staged_update_held(
    ngx_http_staged_update_state_track_t *rec);
static ngx_http_staged_update_track_t *ngx_http_staged_update_track_named(
    ngx_http_staged_update_zone_t *zone, const u_char *name, size_t len);
static size_t ngx_http_staged_update_rate_doc(u_char *dst,
    ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_scope_t *s, uint32_t si);
static uint32_t ngx_http_staged_update_nrules(
    const ngx_http_staged_update_table_t *t);


/*
 * jansson's allocations while a state file is read, from one pool that is
 * destroyed at once: thousands of small mallocs and frees would otherwise
 * leave the heap of every worker fragmented (a cost on every request).
 * Set only for the duration of one parse, in the master.
 */
static ngx_pool_t  *ngx_http_staged_update_json_pool;


static const char  *ngx_http_staged_update_ov_names[] = {
    "paused", "halted", "default", "rule", "rate"
};


ngx_int_t
ngx_http_staged_update_state_dir(ngx_conf_t *cf, ngx_str_t *zone,
    ngx_str_t *file)
{
    u_char           *dir, *slash;
    ngx_file_info_t   fi;

    dir = ngx_pnalloc(cf->temp_pool, file->len + 1);
    if (dir == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dir, file->data, file->len);
    dir[file->len] = '\0';

    for (slash = dir + file->len; slash > dir && slash[-1] != '/'; slash--) {
        /* void */
    }

    /* slash: just after the last "/" (a full name has one) */

    if (slash == dir || *slash == '\0') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_zone \"%V\": state=\"%V\" is not "
                           "a file name", zone, file);
        return NGX_ERROR;
    }

    *(slash - 1 == dir ? slash : slash - 1) = '\0';

    if (ngx_file_info(dir, &fi) == NGX_FILE_ERROR || !ngx_is_dir(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "staged_update_zone \"%V\": the directory \"%s\" "
                           "of state=\"%V\" does not exist", zone, dir, file);
        return NGX_ERROR;
    }

    return NGX_OK;
}


size_t
ngx_http_staged_update_state_size(const ngx_http_staged_update_table_t *t)
{
    return ngx_align(offsetof(ngx_http_staged_update_live_t, word)
                     + (1 + t->nservers + ngx_http_staged_update_nrules(t))
                       * sizeof(uint32_t), 8);
}


/* the rules of all the tables of a track: one after the other in its block */

static uint32_t
ngx_http_staged_update_nrules(const ngx_http_staged_update_table_t *t)
{
    uint32_t                               i, n;
    const ngx_http_staged_update_scope_t  *s;

    n = t->track.nrules;
    s = (const ngx_http_staged_update_scope_t *)
            ((const u_char *) t + t->servers);

    for (i = 0; i < t->nservers; i++) {
        n += s[i].nrules;
    }

    return n;
}


ngx_int_t
ngx_http_staged_update_state_init(ngx_http_staged_update_zone_t *zone,
    void **state, ngx_log_t *log)
{
    ngx_uint_t                            i, dropped, fresh;
    ngx_http_staged_update_live_t        *live;
    ngx_http_staged_update_track_t      **track;
    ngx_http_staged_update_state_sh_t    *sh;
    ngx_http_staged_update_state_track_t *rec;
    const ngx_http_staged_update_table_t *t;

    sh = *state;
    fresh = (sh == NULL);

    if (sh == NULL) {
        sh = ngx_slab_alloc(zone->shpool,
                            sizeof(ngx_http_staged_update_state_sh_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        sh->gen = 1;
        ngx_queue_init(&sh->tracks);

        *state = sh;
        zone->state = sh;

        ngx_shmtx_lock(&zone->shpool->mutex);
        ngx_http_staged_update_load(zone, log);
        ngx_shmtx_unlock(&zone->shpool->mutex);

    } else {
        zone->state = sh;
    }

    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        live = track[i]->live;
        t = track[i]->shared;

        live->seq = 0;
        live->gen = 0;
        live->any = 0;
        live->nscopes = 1 + t->nservers;
        live->nrules = ngx_http_staged_update_nrules(t);
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    /*
     * A zone made anew (a start): the ramps' clocks as the file kept them,
     * stopped for ramp_paused seconds until ramp_at, and still stopped
     * since then if the track is paused or halted.  A reload keeps them
     * in the zone: shifting again would count the paused time twice.
     */

    for (i = 0; fresh && i < zone->tracks.nelts; i++) {
        rec = ngx_http_staged_update_record(zone, track[i]->name.data,
                                            track[i]->name.len, 0);
        if (rec == NULL) {
            continue;
        }

        ngx_http_staged_update_shape_shift(track[i],
                                           (time_t) rec->ramp_paused);

        if (ngx_http_staged_update_held(rec) && rec->ramp_at) {
            ngx_http_staged_update_shape_hold_locked(track[i], 1,
                                                     (time_t) rec->ramp_at);
        }
    }

    dropped = 0;

    for (i = 0; i < zone->tracks.nelts; i++) {
        dropped += ngx_http_staged_update_map(zone, track[i], log);
    }

    if (dropped) {
        sh->gen++;
        ngx_http_staged_update_map_all(zone);

        if (!ngx_test_config) {
            ngx_http_staged_update_save(zone, log);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


static ngx_http_staged_update_state_track_t *
ngx_http_staged_update_record(ngx_http_staged_update_zone_t *zone,
    const u_char *name, size_t len, ngx_uint_t create)
{
    ngx_queue_t                           *q;
    ngx_http_staged_update_state_sh_t     *sh;
    ngx_http_staged_update_state_track_t  *rec;

    sh = zone->state;

    for (q = ngx_queue_head(&sh->tracks);
         q != ngx_queue_sentinel(&sh->tracks);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_staged_update_state_track_t, queue);

        if (rec->name_len == len && ngx_memcmp(rec->name, name, len) == 0) {
            return rec;
        }
    }

    if (!create) {
        return NULL;
    }

    rec = ngx_slab_alloc_locked(zone->shpool,
                                sizeof(ngx_http_staged_update_state_track_t)
                                + len);
    if (rec == NULL) {
        return NULL;
    }

    ngx_queue_init(&rec->ovs);
    rec->etag = 0;
    rec->ramp_paused = 0;
    rec->ramp_at = 0;
    rec->name_len = len;
    ngx_memcpy(rec->name, name, len);

    ngx_queue_insert_tail(&sh->tracks, &rec->queue);

    return rec;
}


/*
 * The overrides of a track onto this configuration's words, under the
 * lock.  With a log (a configuration is loaded), an override that no
 * longer fits nginx.conf is dropped with a notice; returns their number.
 */

static ngx_uint_t
ngx_http_staged_update_map(ngx_http_staged_update_zone_t *zone,
    ngx_http_staged_update_track_t *track, ngx_log_t *log)
{
    uint32_t                               i, si, *w, any, seq, conf;
    ngx_str_t                              id;
    ngx_uint_t                             dropped, held;
    const char                            *why;
    ngx_queue_t                           *q, *next;
    ngx_http_staged_update_ov_t           *ov;
    ngx_http_staged_update_live_t         *live;
    ngx_http_staged_update_state_sh_t     *sh;
    ngx_http_staged_update_state_ov_t     *e;
    ngx_http_staged_update_state_track_t  *rec;
    const ngx_http_staged_update_rule_t   *rule, *rules;
    const ngx_http_staged_update_table_t  *t;
    const ngx_http_staged_update_scope_t  *s, *servers;

    sh = zone->state;
    live = track->live;
    t = track->shared;

    rec = ngx_http_staged_update_record(zone, track->name.data,
                                        track->name.len, 0);

    /* odd while written; a writer killed here left it odd already */

    seq = live->seq | 1;
    live->seq = seq;
    ngx_memory_barrier();

    w = live->word;
    servers = (const ngx_http_staged_update_scope_t *)
                  ((const u_char *) t + t->servers);
    rules = (const ngx_http_staged_update_rule_t *)
                ((const u_char *) t + t->track.rules);

    w[0] = t->track.pct;

    for (i = 0; i < t->nservers; i++) {
        w[1 + i] = servers[i].pct;
    }

    for (i = 0; i < live->nrules; i++) {
        w[live->nscopes + i] = rules[i].pct;
    }

    /* the caps in the zone are shared by name: nginx.conf's, then ours */

    ngx_http_staged_update_shape_reset_locked(track);

    any = 0;
    held = 0;
    dropped = 0;

    for (q = rec ? ngx_queue_head(&rec->ovs) : NULL;
         rec && q != ngx_queue_sentinel(&rec->ovs);
         q = next)
    {
        next = ngx_queue_next(q);
        e = ngx_queue_data(q, ngx_http_staged_update_state_ov_t, queue);
        ov = &e->ov;

        why = NULL;
        s = ov->server_len ? ngx_http_staged_update_table_server(t,
                                 ov->server, ov->server_len)
                           : &t->track;

        if (s == NULL) {
            why = "the server is no longer in nginx.conf";
            goto drop;
        }

        si = ngx_http_staged_update_scope_index(t, s);

        switch (ov->kind) {

        case NGX_HTTP_STAGED_UPDATE_OV_PAUSED:
            w[si] |= NGX_HTTP_STAGED_UPDATE_W_PAUSED;
            held |= (si == 0);
            break;

        case NGX_HTTP_STAGED_UPDATE_OV_HALTED:
            w[si] |= NGX_HTTP_STAGED_UPDATE_W_HALTED;
            held |= (si == 0);
            break;

        case NGX_HTTP_STAGED_UPDATE_OV_RATE:
            if (ngx_http_staged_update_shape_rate_get(track, ov->server,
                                                  ov->server_len, &conf,
                                                  NULL, NULL)
                != NGX_OK)
            {
                why = "nginx.conf no longer caps its rate";
                goto drop;
            }

            if (conf != ov->conf) {
                why = "nginx.conf changed the rate it replaced";
                goto drop;
            }

            id.data = ov->server;
            id.len = ov->server_len;

            (void) ngx_http_staged_update_shape_set_rate_locked(track,
                       ov->server_len ? &id : NULL, ov->value, ov->burst);

            continue;       /* nothing for the check's words */

        case NGX_HTTP_STAGED_UPDATE_OV_DEFAULT:
            if (s->pct != ov->conf) {
                why = "nginx.conf changed the default it replaced";
                goto drop;
            }

            w[si] = (w[si] & ~NGX_HTTP_STAGED_UPDATE_W_PCT) | ov->value
                    | NGX_HTTP_STAGED_UPDATE_W_SET;
            break;

        default: /* NGX_HTTP_STAGED_UPDATE_OV_RULE */
            rule = ngx_http_staged_update_rule_named(t, s, ov->pattern,
                                                     ov->pattern_len);
            if (rule == NULL) {
                why = "the rule is no longer in nginx.conf";
                goto drop;
            }

            if (rule->pct != ov->conf) {
                why = "nginx.conf changed the percentage it replaced";
                goto drop;
            }

            w[live->nscopes + (rule - rules)] = ov->value
                                                | NGX_HTTP_STAGED_UPDATE_W_SET;
            break;
        }

        any++;
        continue;

    drop:

        if (log == NULL) {
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "staged_update: track \"%V\"%s%*s%s: override of %s"
                      "%s%*s%s dropped: %s (nginx.conf wins)",
                      &track->name, ov->server_len ? " server \"" : "",
                      (size_t) ov->server_len, ov->server,
                      ov->server_len ? "\"" : "",
                      ngx_http_staged_update_ov_names[ov->kind],
                      ov->pattern_len ? " \"" : "",
                      (size_t) ov->pattern_len, ov->pattern,
                      ov->pattern_len ? "\"" : "", why);

        ngx_queue_remove(q);
        ngx_slab_free_locked(zone->shpool, e);
        rec->etag++;
        dropped++;
    }

    ngx_memory_barrier();
    live->seq = seq + 1;

    live->any = any;
    live->gen = sh->gen;

    /* a paused or halted track stops its ramps' clocks (shape.c) */

    ngx_http_staged_update_shape_hold_locked(track, held, ngx_time());

    return dropped;
}


/* this configuration's tracks of the zone, after a change (locked) */

static void
ngx_http_staged_update_map_all(ngx_http_staged_update_zone_t *zone)
{
    ngx_uint_t                        i;
    ngx_http_staged_update_track_t  **track;

    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        (void) ngx_http_staged_update_map(zone, track[i], NULL);
    }
}


static void
ngx_http_staged_update_resync(ngx_http_staged_update_zone_t *zone)
{
    ngx_uint_t                           i;
    ngx_http_staged_update_live_t       *live;
    ngx_http_staged_update_track_t     **track;
    ngx_http_staged_update_state_sh_t   *sh;

    sh = zone->state;
    track = zone->tracks.elts;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < zone->tracks.nelts; i++) {
        live = track[i]->live;

        if (live->gen != sh->gen) {
            (void) ngx_http_staged_update_map(zone, track[i], NULL);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/*
 * The check's path: no lock.  Paused: optional upgrades become none,
 * mandatory ones stay.  Halted: no upgrade at all.  A changed percentage
 * replaces the configured one before the draw.
 */

void
ngx_http_staged_update_state_apply(ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_decision_t *d)
{
    uint32_t                               seq, si, ri, tw, sw, rw, flag;
    ngx_uint_t                             spins;
    ngx_http_staged_update_live_t         *live;
    ngx_http_staged_update_state_sh_t     *sh;
    const ngx_http_staged_update_table_t  *t;

    live = track->live;
    sh = track->zone->state;

    if (live->gen != sh->gen) {
        ngx_http_staged_update_resync(track->zone);
    }

    if (live->any == 0 || d->reason == NGX_HTTP_STAGED_UPDATE_LATEST) {
        return;
    }

    t = track->shared;
    si = ngx_http_staged_update_scope_index(t, d->scope);
    ri = d->rule ? live->nscopes
                   + (uint32_t) (d->rule
                                 - (const ngx_http_staged_update_rule_t *)
                                       ((const u_char *) t + t->track.rules))
                 : si;

    for (spins = 0; /* void */; spins++) {
        seq = live->seq;
        ngx_memory_barrier();

        tw = live->word[0];
        sw = live->word[si];
        rw = live->word[ri];

        ngx_memory_barrier();

        if (!(seq & 1) && seq == live->seq) {
            break;
        }

        /*
         * a writer that stays: killed in the middle of its words (the
         * master releases its lock); map them again under the lock
         */

        if (spins == 4096) {
            ngx_shmtx_lock(&track->zone->shpool->mutex);
            (void) ngx_http_staged_update_map(track->zone, track, NULL);
            ngx_shmtx_unlock(&track->zone->shpool->mutex);
            spins = 0;
        }

        ngx_cpu_pause();
    }

    flag = NGX_HTTP_STAGED_UPDATE_W_HALTED;

    if (!((tw | sw) & flag)) {

        if (d->reason == NGX_HTTP_STAGED_UPDATE_MINIMUM) {
            return;
        }

        flag = NGX_HTTP_STAGED_UPDATE_W_PAUSED;

        if (!((tw | sw) & flag)) {

            /* a live percentage; else nginx.conf's, a ramp's resolved */

            if (rw & NGX_HTTP_STAGED_UPDATE_W_SET) {
                d->pct = rw & NGX_HTTP_STAGED_UPDATE_W_PCT;
            }

            return;
        }
    }

    /* the table that holds the flag names it in the trace */

    if (!(sw & flag)) {
        d->scope = &t->track;
    }

    d->rule = NULL;
    d->pct = 0;
    d->reason = (flag == NGX_HTTP_STAGED_UPDATE_W_HALTED)
                ? NGX_HTTP_STAGED_UPDATE_HALTED : NGX_HTTP_STAGED_UPDATE_PAUSED;
}


ngx_int_t
ngx_http_staged_update_state_change(ngx_log_t *log,
    ngx_http_staged_update_track_t *track, ngx_str_t *server,
    ngx_http_staged_update_ov_t *ov, size_t n, ngx_str_t *if_match,
    ngx_str_t *from, uint32_t *etag)
{
    u_char                                 buf[NGX_INT32_LEN + 2];
    size_t                                 i, len;
    uint32_t                               old;
    ngx_int_t                              rc;
    ngx_queue_t                           *q, *next;
    ngx_http_staged_update_zone_t         *zone;
    ngx_http_staged_update_state_sh_t     *sh;
    ngx_http_staged_update_state_ov_t     *e;
    ngx_http_staged_update_state_ov_t    **fresh;
    ngx_http_staged_update_state_track_t  *rec;

    zone = track->zone;
    sh = zone->state;
    fresh = NULL;

    if (n) {
        fresh = ngx_alloc(n * sizeof(ngx_http_staged_update_state_ov_t *),
                          log);
        if (fresh == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    rec = ngx_http_staged_update_record(zone, track->name.data,
                                        track->name.len, ov != NULL);

    *etag = rec ? rec->etag : 0;

    if (if_match && !(if_match->len == 1 && if_match->data[0] == '*')) {
        len = ngx_sprintf(buf, "\"%uD\"", *etag) - buf;

        if (if_match->len != len || ngx_memcmp(if_match->data, buf, len) != 0)
        {
            rc = NGX_DECLINED;
            goto done;
        }
    }

    if (ov == NULL) {

        /* back to nginx.conf: the track's overrides, or one server's */

        for (q = rec ? ngx_queue_head(&rec->ovs) : NULL;
             rec && q != ngx_queue_sentinel(&rec->ovs);
             q = next)
        {
            next = ngx_queue_next(q);
            e = ngx_queue_data(q, ngx_http_staged_update_state_ov_t, queue);

            if (server
                && (e->ov.server_len != server->len
                    || ngx_memcmp(e->ov.server, server->data, server->len)
                       != 0))
            {
                continue;
            }

            ngx_http_staged_update_log_change(log, track, &e->ov, 1,
                                              e->ov.value, 1, from);
            ngx_queue_remove(q);
            ngx_slab_free_locked(zone->shpool, e);
            *etag = ++rec->etag;
        }

        rc = NGX_OK;
        goto changed;
    }

    if (rec == NULL) {
        rc = NGX_BUSY;
        goto done;
    }

    /* the room for the new ones first: all or nothing */

    for (i = 0; i < n; i++) {
        fresh[i] = NULL;

        for (q = ngx_queue_head(&rec->ovs);
             q != ngx_queue_sentinel(&rec->ovs);
             q = ngx_queue_next(q))
        {
            e = ngx_queue_data(q, ngx_http_staged_update_state_ov_t, queue);

            if (ngx_http_staged_update_ov_same(&e->ov, &ov[i])) {
                fresh[i] = e;
                break;
            }
        }

        if (fresh[i] || ov[i].remove) {
            continue;
        }

        e = ngx_slab_alloc_locked(zone->shpool,
                                  sizeof(ngx_http_staged_update_state_ov_t));
        if (e == NULL) {
            while (i--) {
                if (fresh[i] && fresh[i]->queue.next == NULL) {
                    ngx_slab_free_locked(zone->shpool, fresh[i]);
                }
            }

            rc = NGX_BUSY;
            goto done;
        }

        e->queue.next = NULL;       /* not in the list yet */
        fresh[i] = e;
    }

    for (i = 0; i < n; i++) {
        e = fresh[i];

        if (ov[i].remove) {
            if (e) {
                ngx_http_staged_update_log_change(log, track, &e->ov, 1,
                                                  e->ov.value, 1, from);
                ngx_queue_remove(&e->queue);
                ngx_slab_free_locked(zone->shpool, e);
            }

            continue;
        }

        if (e->queue.next) {
            old = e->ov.value;
            ngx_http_staged_update_log_change(log, track, &ov[i], 1, old, 0,
                                              from);

        } else {
            ngx_http_staged_update_log_change(log, track, &ov[i], 0,
                                              ov[i].conf, 0, from);
            ngx_queue_insert_tail(&rec->ovs, &e->queue);
        }

        e->ov = ov[i];
    }

    *etag = ++rec->etag;
    rc = NGX_OK;

changed:

    sh->gen++;
    ngx_http_staged_update_map_all(zone);
    ngx_http_staged_update_save(zone, log);

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (fresh) {
        ngx_free(fresh);
    }

    return rc;
}


/* "track "game" server "shard-1": default 10.00% -> 5.00% by 127.0.0.1" */

static void
ngx_http_staged_update_log_change(ngx_log_t *log,
    ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_ov_t *ov, ngx_uint_t set, uint32_t old,
    ngx_uint_t remove, ngx_str_t *from)
{
    u_char   a[NGX_HTTP_STAGED_UPDATE_PCT_LEN + NGX_INT32_LEN + 4];
    u_char   b[NGX_HTTP_STAGED_UPDATE_PCT_LEN + NGX_INT32_LEN + 4];
    u_char   c[sizeof(" burst ") + NGX_INT32_LEN];
    size_t   alen, blen, clen;

    clen = 0;

    if (ov->kind == NGX_HTTP_STAGED_UPDATE_OV_PAUSED
        || ov->kind == NGX_HTTP_STAGED_UPDATE_OV_HALTED)
    {
        alen = ngx_sprintf(a, "%s", set ? "true" : "false") - a;
        blen = ngx_sprintf(b, "%s", remove ? "false" : "true") - b;

    } else if (ov->kind == NGX_HTTP_STAGED_UPDATE_OV_RATE) {

        /* "200/s" without its quotes */

        alen = ngx_http_staged_update_rate_json(a, old) - 2;
        ngx_memmove(a, a + 1, alen);
        blen = ngx_http_staged_update_rate_json(b, remove ? ov->conf
                                                         : ov->value) - 2;
        ngx_memmove(b, b + 1, blen);

        if (!remove && ov->burst) {
            clen = ngx_sprintf(c, " burst %uD", ov->burst) - c;
        }

    } else {
        alen = ngx_http_staged_update_pct_print(a, old);
        a[alen++] = '%';
        blen = ngx_http_staged_update_pct_print(b, remove ? ov->conf
                                                         : ov->value);
        b[blen++] = '%';
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "staged_update_api: track \"%V\"%s%*s%s: %s%s%*s%s "
                  "%*s -> %*s%*s%s by %V",
                  &track->name, ov->server_len ? " server \"" : "",
                  (size_t) ov->server_len, ov->server,
                  ov->server_len ? "\"" : "",
                  ngx_http_staged_update_ov_names[ov->kind],
                  ov->pattern_len ? " \"" : "",
                  (size_t) ov->pattern_len, ov->pattern,
                  ov->pattern_len ? "\"" : "",
                  alen, a, blen, b, clen, c, remove ? " (nginx.conf)" : "",
                  from);
}


/* a paused or halted track: its ramps' clocks are stopped */

static ngx_uint_t
ngx_http_staged_update_held(ngx_http_staged_update_state_track_t *rec)
{
    ngx_queue_t                        *q;
    ngx_http_staged_update_state_ov_t  *e;

    for (q = ngx_queue_head(&rec->ovs);
         q != ngx_queue_sentinel(&rec->ovs);
         q = ngx_queue_next(q))
    {
        e = ngx_queue_data(q, ngx_http_staged_update_state_ov_t, queue);

        if (e->ov.server_len == 0
            && (e->ov.kind == NGX_HTTP_STAGED_UPDATE_OV_PAUSED
                || e->ov.kind == NGX_HTTP_STAGED_UPDATE_OV_HALTED))
        {
            return 1;
        }
    }

    return 0;
}


static ngx_http_staged_update_track_t *
ngx_http_staged_update_track_named(ngx_http_staged_update_zone_t *zone,
    const u_char *name, size_t len)
{
    ngx_uint_t                        i;
    ngx_http_staged_update_track_t  **track;

    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        if (track[i]->name.len == len
            && ngx_memcmp(track[i]->name.data, name, len) == 0)
        {
            return track[i];
        }
    }

    return NULL;
}


/* the state file: read when the zone is created anew */

static void
ngx_http_staged_update_load(ngx_http_staged_update_zone_t *zone,
    ngx_log_t *log)
{
    char                            err[NGX_HTTP_STAGED_UPDATE_ERR_LEN];
    u_char                         *buf, *bad;
    ssize_t                         n;
    ngx_fd_t                        fd;
    ngx_pool_t                     *pool;
    json_free_t                     free_fn;
    json_malloc_t                   malloc_fn;
    ngx_file_info_t                 fi;
    const char                     *e;
    ngx_http_staged_update_load_t   ld;

    if (zone->state_file.len == 0) {
        return;
    }

    fd = ngx_open_file(zone->state_file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);

    if (fd == NGX_INVALID_FILE) {
        if (ngx_errno != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "staged_update_zone \"%V\": state file \"%V\" "
                          "cannot be read, starting from nginx.conf",
                          &zone->name, &zone->state_file);
        }

        return;
    }

    e = NULL;

    pool = ngx_create_pool(16384, log);
    if (pool == NULL) {
        ngx_close_file(fd);
        return;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        e = "cannot be read";
        goto failed;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_STAGED_UPDATE_STATE_MAX) {
        e = "is too large";
        goto failed;
    }

    buf = ngx_pnalloc(pool, ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        e = "cannot be read";
        goto failed;
    }

    n = ngx_read_fd(fd, buf, ngx_file_size(&fi));

    if (n != (ssize_t) ngx_file_size(&fi)) {
        e = "cannot be read";
        goto failed;
    }

    ld.zone = zone;
    ld.track = NULL;

    json_get_alloc_funcs(&malloc_fn, &free_fn);
    ngx_http_staged_update_json_pool = pool;
    json_set_alloc_funcs(ngx_http_staged_update_json_alloc,
                         ngx_http_staged_update_json_free);

    e = ngx_http_staged_update_state_parse(buf, n,
                                           ngx_http_staged_update_load_track,
                                           ngx_http_staged_update_load_ov,
                                           &ld, err, sizeof(err));

    json_set_alloc_funcs(malloc_fn, free_fn);
    ngx_http_staged_update_json_pool = NULL;

    if (e == NULL) {
        ngx_destroy_pool(pool);
        ngx_close_file(fd);
        return;
    }

failed:

    ngx_destroy_pool(pool);
    ngx_close_file(fd);

    ngx_http_staged_update_clear(zone);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "staged_update_zone \"%V\": state file \"%V\" %s%s, "
                  "starting from nginx.conf; the file is kept as \"%V.bad\"",
                  &zone->name, &zone->state_file,
                  e == err ? "is corrupt: " : "", e, &zone->state_file);

    if (ngx_test_config) {
        return;
    }

    bad = ngx_alloc(zone->state_file.len + sizeof(".bad"), log);
    if (bad == NULL) {
        return;
    }

    ngx_sprintf(bad, "%V.bad%Z", &zone->state_file);

    if (ngx_rename_file(zone->state_file.data, bad) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_rename_file_n " \"%V\" to \"%s\" failed",
                      &zone->state_file, bad);
    }

    ngx_free(bad);
}


static void *
ngx_http_staged_update_json_alloc(size_t size)
{
    return ngx_palloc(ngx_http_staged_update_json_pool, size);
}


static void
ngx_http_staged_update_json_free(void *p)
{
    /* the pool is destroyed at once */
}


static int
ngx_http_staged_update_load_track(void *data, const u_char *name, size_t len,
    uint32_t etag, int64_t paused, int64_t at)
{
    ngx_http_staged_update_load_t  *ld = data;

    ld->track = ngx_http_staged_update_record(ld->zone, name, len, 1);

    if (ld->track == NULL) {
        return 1;
    }

    ld->track->etag = etag;
    ld->track->ramp_paused = paused;
    ld->track->ramp_at = at;

    return 0;
}


static int
ngx_http_staged_update_load_ov(void *data,
    const ngx_http_staged_update_ov_t *ov)
{
    ngx_http_staged_update_load_t  *ld = data;

    ngx_http_staged_update_state_ov_t  *e;

    e = ngx_slab_alloc_locked(ld->zone->shpool,
                              sizeof(ngx_http_staged_update_state_ov_t));
    if (e == NULL) {
        return 1;
    }

    e->ov = *ov;
    ngx_queue_insert_tail(&ld->track->ovs, &e->queue);

    return 0;
}


static void
ngx_http_staged_update_clear(ngx_http_staged_update_zone_t *zone)
{
    ngx_queue_t                           *q, *o;
    ngx_http_staged_update_state_sh_t     *sh;
    ngx_http_staged_update_state_track_t  *rec;

    sh = zone->state;

    while (!ngx_queue_empty(&sh->tracks)) {
        q = ngx_queue_head(&sh->tracks);
        rec = ngx_queue_data(q, ngx_http_staged_update_state_track_t, queue);

        while (!ngx_queue_empty(&rec->ovs)) {
            o = ngx_queue_head(&rec->ovs);
            ngx_queue_remove(o);
            ngx_slab_free_locked(zone->shpool,
                                 ngx_queue_data(o,
                                     ngx_http_staged_update_state_ov_t,
                                     queue));
        }

        ngx_queue_remove(q);
        ngx_slab_free_locked(zone->shpool, rec);
    }
}


/*
 * After each change, under the lock: a temporary file in the same
 * directory, fsync, rename.  A crash leaves the old file or the new one.
 */

static void
ngx_http_staged_update_save(ngx_http_staged_update_zone_t *zone,
    ngx_log_t *log)
{
    u_char      *doc, *tmp;
    size_t       len;
    ngx_fd_t     fd;
    const char  *what;

    if (zone->state_file.len == 0) {
        return;
    }

    len = ngx_http_staged_update_save_doc(NULL, zone);

    doc = ngx_alloc(len + zone->state_file.len + sizeof(".tmp.")
                    + NGX_INT_T_LEN, log);
    if (doc == NULL) {
        return;
    }

    (void) ngx_http_staged_update_save_doc(doc, zone);

    tmp = doc + len;
    ngx_sprintf(tmp, "%V.tmp.%P%Z", &zone->state_file, ngx_pid);

    what = ngx_open_file_n;
    fd = ngx_open_file(tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {
        goto failed;
    }

    what = ngx_write_fd_n;

    if (ngx_write_fd(fd, doc, len) != (ssize_t) len) {
        ngx_close_file(fd);
        goto failed;
    }

    what = "fsync()";

    if (fsync(fd) == -1) {
        ngx_close_file(fd);
        goto failed;
    }

    ngx_close_file(fd);

    what = ngx_rename_file_n;

    if (ngx_rename_file(tmp, zone->state_file.data) == NGX_FILE_ERROR) {
        goto failed;
    }

    ngx_free(doc);

    return;

failed:

    ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                  "staged_update_zone \"%V\": state file \"%V\": %s \"%s\" "
                  "failed, the change is live but not saved",
                  &zone->name, &zone->state_file, what, tmp);

    (void) ngx_delete_file(tmp);
    ngx_free(doc);
}


static size_t
ngx_http_staged_update_save_doc(u_char *dst,
    ngx_http_staged_update_zone_t *zone)
{
    u_char                                 num[NGX_INT64_LEN * 2 + 32];
    size_t                                 n, k;
    time_t                                 now;
    int64_t                                paused, ramp_at;
    ngx_queue_t                           *q;
    ngx_http_staged_update_track_t        *track;
    ngx_http_staged_update_state_sh_t     *sh;
    ngx_http_staged_update_state_track_t  *rec;

#define put(s, l)                                                             \
    do { if (dst) ngx_memcpy(dst + n, s, l); n += l; } while (0)
#define putl(s)  put(s, sizeof(s) - 1)
#define at       (dst ? dst + n : NULL)

    sh = zone->state;
    n = 0;

    putl("{\"staged_update_state\":1,\"tracks\":{");

    for (q = ngx_queue_head(&sh->tracks);
         q != ngx_queue_sentinel(&sh->tracks);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_staged_update_state_track_t, queue);

        if (q != ngx_queue_head(&sh->tracks)) {
            putl(",");
        }

        putl("\n");
        n += ngx_http_staged_update_json_str(at, rec->name, rec->name_len);
        putl(":{\"etag\":");
        k = ngx_sprintf(num, "%uD", rec->etag) - num;
        put(num, k);

        /* the seconds its ramps' clocks stopped until now (shape.c) */

        track = ngx_http_staged_update_track_named(zone, rec->name,
                                                   rec->name_len);
        now = ngx_time();
        paused = track ? ngx_http_staged_update_shape_paused(track, now)
                       : rec->ramp_paused;
        ramp_at = track ? now : rec->ramp_at;

        if (paused || ramp_at) {
            k = ngx_sprintf(num, ",\"ramp_paused\":%L,\"ramp_at\":%L",
                            paused, ramp_at)
                - num;
            put(num, k);
        }

        putl(",\"overrides\":");
        n += ngx_http_staged_update_ov_list(at, rec, 1);
        putl("}");
    }

    putl("}}\n");

    return n;
}


ngx_int_t
ngx_http_staged_update_state_json(ngx_pool_t *pool,
    ngx_http_staged_update_track_t *track, ngx_uint_t tables,
    ngx_str_t *out, uint32_t *etag)
{
    ngx_http_staged_update_zone_t         *zone;
    ngx_http_staged_update_live_t         *live;
    ngx_http_staged_update_state_sh_t     *sh;
    ngx_http_staged_update_state_track_t  *rec;

    zone = track->zone;
    sh = zone->state;
    live = track->live;

    /* one hold of the lock: the size and the document agree */

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (live->gen != sh->gen) {
        (void) ngx_http_staged_update_map(zone, track, NULL);
    }

    rec = ngx_http_staged_update_record(zone, track->name.data,
                                        track->name.len, 0);

    out->len = ngx_http_staged_update_doc(NULL, track, rec, tables);
    out->data = ngx_pnalloc(pool, out->len);

    if (out->data) {
        (void) ngx_http_staged_update_doc(out->data, track, rec, tables);
    }

    *etag = rec ? rec->etag : 0;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return out->data ? NGX_OK : NGX_ERROR;
}


static size_t
ngx_http_staged_update_doc(u_char *dst, ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_state_track_t *rec, ngx_uint_t tables)
{
    u_char                                 num[NGX_INT32_LEN + 4];
    size_t                                 n, k;
    uint32_t                               i, w;
    ngx_http_staged_update_live_t         *live;
    const ngx_http_staged_update_table_t  *t;
    const ngx_http_staged_update_scope_t  *servers;

    live = track->live;
    t = track->shared;
    w = live->word[0];
    n = 0;

    putl("{\"track\":");
    n += ngx_http_staged_update_json_str(at, track->name.data,
                                         track->name.len);
    putl(",\"etag\":\"\\\"");
    k = ngx_sprintf(num, "%uD", rec ? rec->etag : 0) - num;
    put(num, k);
    putl("\\\"\"");
    n += ngx_http_staged_update_flags(at, w);

    if (tables) {
        putl(",");
        n += ngx_http_staged_update_scope_doc(at, track, &t->track, 0);
        putl(",\"servers\":[");

        servers = (const ngx_http_staged_update_scope_t *)
                      ((const u_char *) t + t->servers);

        for (i = 0; i < t->nservers; i++) {
            if (i) {
                putl(",");
            }

            putl("{\"id\":");
            n += ngx_http_staged_update_json_str(at,
                     ngx_http_staged_update_str(t, servers[i].name),
                     servers[i].name_len);
            n += ngx_http_staged_update_flags(at, live->word[1 + i]);
            putl(",");
            n += ngx_http_staged_update_scope_doc(at, track, &servers[i],
                                                  1 + i);
            putl("}");
        }

        putl("]");
    }

    putl(",\"overrides\":");
    n += ngx_http_staged_update_ov_list(at, rec, 0);
    putl("}");

    return n;
}


/* [<ov_json>, ...]; in a state file, one a line */

static size_t
ngx_http_staged_update_ov_list(u_char *dst,
    ngx_http_staged_update_state_track_t *rec, ngx_uint_t lines)
{
    size_t                              n;
    ngx_queue_t                        *o;
    ngx_http_staged_update_state_ov_t  *e;

    n = 0;
    putl("[");

    for (o = rec ? ngx_queue_head(&rec->ovs) : NULL;
         rec && o != ngx_queue_sentinel(&rec->ovs);
         o = ngx_queue_next(o))
    {
        e = ngx_queue_data(o, ngx_http_staged_update_state_ov_t, queue);

        if (o != ngx_queue_head(&rec->ovs)) {
            putl(",");
        }

        if (lines) {
            putl("\n  ");
        }

        n += ngx_http_staged_update_ov_json(at, &e->ov);
    }

    putl("]");

    return n;
}


/* ,"paused":false,"halted":false */

static size_t
ngx_http_staged_update_flags(u_char *dst, uint32_t w)
{
    size_t  n;

    n = 0;

    if (w & NGX_HTTP_STAGED_UPDATE_W_PAUSED) {
        putl(",\"paused\":true");

    } else {
        putl(",\"paused\":false");
    }

    if (w & NGX_HTTP_STAGED_UPDATE_W_HALTED) {
        putl(",\"halted\":true");

    } else {
        putl(",\"halted\":false");
    }

    return n;
}


/* "default":{"configured":..,"effective":..},"rules":[{"pattern":..}] */

static size_t
ngx_http_staged_update_scope_doc(u_char *dst,
    ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_scope_t *s, uint32_t si)
{
    size_t                                 n;
    uint32_t                               i, ri;
    ngx_http_staged_update_live_t         *live;
    const ngx_http_staged_update_rule_t   *rules, *first;
    const ngx_http_staged_update_table_t  *t;

    live = track->live;
    t = track->shared;
    n = 0;

    putl("\"default\":{\"configured\":");
    n += ngx_http_staged_update_pct_json(at,
             ngx_http_staged_update_pct_now(track, s->pct));
    putl(",\"effective\":");
    n += ngx_http_staged_update_pct_json(at,
             ngx_http_staged_update_word_pct(track, live->word[si], s->pct));
    putl("},\"rules\":[");

    first = (const ngx_http_staged_update_rule_t *)
                ((const u_char *) t + t->track.rules);
    rules = (const ngx_http_staged_update_rule_t *)
                ((const u_char *) t + s->rules);

    for (i = 0; i < s->nrules; i++) {
        ri = live->nscopes + (uint32_t) (&rules[i] - first);

        if (i) {
            putl(",");
        }

        putl("{\"pattern\":");
        n += ngx_http_staged_update_json_str(at,
                 ngx_http_staged_update_str(t, rules[i].text),
                 rules[i].text_len);
        putl(",\"configured\":");
        n += ngx_http_staged_update_pct_json(at,
                 ngx_http_staged_update_pct_now(track, rules[i].pct));
        putl(",\"effective\":");
        n += ngx_http_staged_update_pct_json(at,
                 ngx_http_staged_update_word_pct(track, live->word[ri],
                                                 rules[i].pct));
        putl("}");
    }

    putl("]");

    n += ngx_http_staged_update_rate_doc(at, track, s, si);

    return n;
}


/* ,"rate":{"configured":"200/s","effective":"100/s","burst":2} if capped */

static size_t
ngx_http_staged_update_rate_doc(u_char *dst,
    ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_scope_t *s, uint32_t si)
{
    u_char                                 num[NGX_INT32_LEN];
    size_t                                 n, k;
    uint32_t                               conf, live, burst;
    const ngx_http_staged_update_table_t  *t;

    t = track->shared;
    n = 0;

    if (ngx_http_staged_update_shape_rate_get(track,
            si ? ngx_http_staged_update_str(t, s->name) : NULL,
            si ? s->name_len : 0, &conf, &live, &burst)
        != NGX_OK)
    {
        return 0;
    }

    putl(",\"rate\":{\"configured\":");
    n += ngx_http_staged_update_rate_json(at, conf);
    putl(",\"effective\":");
    n += ngx_http_staged_update_rate_json(at, live);
    putl(",\"burst\":");
    k = ngx_sprintf(num, "%uD", burst) - num;
    put(num, k);
    putl("}");

    return n;
}

#undef put
#undef putl
#undef at
