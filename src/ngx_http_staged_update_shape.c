
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Load shaping in nginx: the lines of a track block, the nodes in the
 * zone and the two calls of a check.
 *
 * A node is a cap's bucket or a ramp's paused time, allocated in the
 * zone once per name ("game", "game/shard-1", "game~weekly") and found
 * again by name at a reload, so that a reload keeps the cap's debt, the
 * deferred clients' slots and a ramp's paused time.  The buckets are
 * updated under the zone's mutex, held only for the arithmetic (the model
 * is ngx_http_limit_req_module.c); a ramp is read without a lock: each
 * worker keeps the step in force and the times between which it stays,
 * and computes it again only when a check falls outside them.
 */


#include "ngx_http_staged_update_shape.h"


typedef struct {
    ngx_queue_t                          nodes;
} ngx_http_staged_update_shape_sh_t;


typedef struct {
    ngx_queue_t                          queue;
    ngx_http_staged_update_rate_state_t  state;
    uint32_t                             rate;      /* live, 0: none */
    uint32_t                             burst;
    ngx_atomic_t                         deferred;
    ngx_atomic_t                         paused;    /* ramp: seconds */
    ngx_atomic_t                         hold;      /* ramp: since, or 0 */
    size_t                               len;
    u_char                               name[1];
} ngx_http_staged_update_shape_node_t;


/* a cap: of the track (server 0) or of server index server - 1 */

typedef struct {
    ngx_uint_t                           server;
    ngx_str_t                            id;
    uint32_t                             rate;
    uint32_t                             burst;
    ngx_str_t                            key;
    ngx_uint_t                           line;
    ngx_http_staged_update_shape_node_t *node;
    unsigned                             burst_set:1;
} ngx_http_staged_update_cap_t;


typedef struct {
    ngx_str_t                            name;
    ngx_http_staged_update_ramp_t        ramp;
    ngx_str_t                            key;
    ngx_http_staged_update_shape_node_t *node;

    /* this worker's: the step in force between lo and hi */
    int64_t                              lo;
    int64_t                              hi;
    uint32_t                             pct;
    int                                  step;
} ngx_http_staged_update_ramp_conf_t;


typedef struct {
    ngx_array_t                          caps;      /* cap_t */
    ngx_array_t                          ramps;     /* ramp_conf_t */
    ngx_http_staged_update_cap_t        *track;     /* the track's cap */
    ngx_http_staged_update_cap_t       **servers;   /* by server index */
    ngx_uint_t                           nservers;
    unsigned                             exempt:1;
    unsigned                             rate_set:1;
} ngx_http_staged_update_shape_conf_t;


static ngx_http_staged_update_shape_conf_t *ngx_http_staged_update_shape_get(
    ngx_conf_t *cf, ngx_http_staged_update_track_t *track);
static char *ngx_http_staged_update_shape_rate(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track);
static char *ngx_http_staged_update_shape_ramp(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track);
static ngx_http_staged_update_cap_t *ngx_http_staged_update_shape_cap(
    ngx_conf_t *cf, ngx_http_staged_update_track_t *track, ngx_uint_t server,
    ngx_str_t *id);
static ngx_http_staged_update_shape_node_t *ngx_http_staged_update_shape_node(
    ngx_slab_pool_t *shpool, ngx_http_staged_update_shape_sh_t *sh,
    ngx_str_t *key);
static u_char *ngx_http_staged_update_shape_rate_json(u_char *p,
    ngx_http_staged_update_cap_t *cap);
static uint32_t ngx_http_staged_update_shape_burst(uint32_t rate);
static ngx_http_staged_update_cap_t *ngx_http_staged_update_shape_find(
    ngx_http_staged_update_track_t *track, const u_char *id, size_t len);
static void ngx_http_staged_update_shape_settle(
    ngx_http_staged_update_shape_node_t *node, uint32_t rate, uint32_t burst);
static uint64_t ngx_http_staged_update_shape_msec(void);


#define ngx_http_staged_update_node_size(len)                                 \
    ngx_align(offsetof(ngx_http_staged_update_shape_node_t, name) + (len), 8)


static ngx_http_staged_update_shape_conf_t *
ngx_http_staged_update_shape_get(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    ngx_http_staged_update_shape_conf_t  *sc;

    if (track->shape) {
        return track->shape;
    }

    sc = ngx_pcalloc(cf->pool, sizeof(ngx_http_staged_update_shape_conf_t));
    if (sc == NULL) {
        return NULL;
    }

    if (ngx_array_init(&sc->caps, cf->pool, 2,
                       sizeof(ngx_http_staged_update_cap_t))
        != NGX_OK
        || ngx_array_init(&sc->ramps, cf->pool, 2,
                          sizeof(ngx_http_staged_update_ramp_conf_t))
           != NGX_OK)
    {
        return NULL;
    }

    track->shape = sc;

    return sc;
}


/* "rate ..." or "ramp ..." in a track block */

char *
ngx_http_staged_update_shape_line(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    if (value[0].len == 4 && ngx_strncmp(value[0].data, "rate", 4) == 0) {
        return ngx_http_staged_update_shape_rate(cf, track);
    }

    return ngx_http_staged_update_shape_ramp(cf, track);
}


/* rate <n>/s|<n>/m [burst=<m>] [mandatory=exempt|defer]; */

static char *
ngx_http_staged_update_shape_rate(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    ngx_str_t                            *value, v;
    ngx_uint_t                            i;
    const char                           *err;
    ngx_http_staged_update_cap_t         *cap;
    ngx_http_staged_update_shape_conf_t  *sc;

    value = cf->args->elts;

    sc = ngx_http_staged_update_shape_get(cf, track);
    if (sc == NULL) {
        return NGX_CONF_ERROR;
    }

    if (sc->rate_set) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"rate\" is "
                           "duplicate", &track->name);
        return NGX_CONF_ERROR;
    }

    sc->rate_set = 1;

    if (cf->args->nelts < 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"rate\" takes "
                           "<n>/s [burst=<n>] [mandatory=exempt|defer]",
                           &track->name);
        return NGX_CONF_ERROR;
    }

    cap = ngx_http_staged_update_shape_cap(cf, track, 0, &track->name);
    if (cap == NULL) {
        return NGX_CONF_ERROR;
    }

    err = ngx_http_staged_update_rate_parse(value[1].data, value[1].len,
                                            &cap->rate);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"rate\" has an "
                           "invalid rate \"%V\": %s",
                           &track->name, &value[1], err);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (value[i].len > 6 && ngx_strncmp(value[i].data, "burst=", 6) == 0)
        {
            v.data = value[i].data + 6;
            v.len = value[i].len - 6;

            cap->burst_set = 1;
            err = ngx_http_staged_update_burst_parse(v.data, v.len,
                                                     &cap->burst);
            if (err) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "staged_update_track \"%V\": \"rate\" "
                                   "has an invalid burst \"%V\": %s",
                                   &track->name, &v, err);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (value[i].len == sizeof("mandatory=exempt") - 1
            && ngx_strncmp(value[i].data, "mandatory=exempt",
                           value[i].len) == 0)
        {
            sc->exempt = 1;
            continue;
        }

        if (value[i].len == sizeof("mandatory=defer") - 1
            && ngx_strncmp(value[i].data, "mandatory=defer",
                           value[i].len) == 0)
        {
            sc->exempt = 0;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"rate\" has an "
                           "invalid parameter \"%V\", expected burst=<n>, "
                           "mandatory=exempt or mandatory=defer",
                           &track->name, &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* ramp <name> <pct>... every <interval> from <time>; */

static char *
ngx_http_staged_update_shape_ramp(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    size_t                                bad;
    u_char                               *p;
    ngx_str_t                            *value;
    ngx_uint_t                            i;
    const char                           *err;
    ngx_http_staged_update_word_t        *words;
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_conf_t  *sc;

    value = cf->args->elts;

    sc = ngx_http_staged_update_shape_get(cf, track);
    if (sc == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts < 2
        || !ngx_http_staged_update_safe(value[1].data, value[1].len,
                                        NGX_HTTP_STAGED_UPDATE_ID_MAXLEN)
        || value[1].data[value[1].len - 1] == '%')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"ramp\" needs a "
                           "name of 1 to 64 letters, digits, '.', '_', '-' "
                           "or ':', then <percent>... every <interval> "
                           "from <time>", &track->name);
        return NGX_CONF_ERROR;
    }

    rc = sc->ramps.elts;

    for (i = 0; i < sc->ramps.nelts; i++) {
        if (rc[i].name.len == value[1].len
            && ngx_strncmp(rc[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update_track \"%V\": ramp \"%V\" is "
                               "duplicate", &track->name, &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    words = ngx_palloc(cf->temp_pool, cf->args->nelts
                                      * sizeof(ngx_http_staged_update_word_t));
    if (words == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        words[i - 2].data = value[i].data;
        words[i - 2].len = value[i].len;
    }

    rc = ngx_array_push(&sc->ramps);
    if (rc == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(rc, sizeof(ngx_http_staged_update_ramp_conf_t));
    rc->name = value[1];

    bad = 0;
    err = ngx_http_staged_update_ramp_parse(words, cf->args->nelts - 2,
                                            &rc->ramp, &bad);
    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": ramp \"%V\" is "
                           "invalid at \"%V\": %s", &track->name, &value[1],
                           cf->args->nelts > 2 ? &value[bad + 2] : &value[1],
                           err);
        return NGX_CONF_ERROR;
    }

    /* its node: "<track>~<ramp>" */

    p = ngx_pnalloc(cf->pool, track->name.len + 1 + value[1].len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    rc->key.data = p;
    rc->key.len = ngx_sprintf(p, "%V~%V", &track->name, &value[1]) - p;

    return NGX_CONF_OK;
}


/* the cap of the track (server 0) or of a server (index + 1) */

static ngx_http_staged_update_cap_t *
ngx_http_staged_update_shape_cap(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track, ngx_uint_t server, ngx_str_t *id)
{
    u_char                               *p;
    ngx_uint_t                            i;
    ngx_http_staged_update_cap_t         *cap;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = ngx_http_staged_update_shape_get(cf, track);
    if (sc == NULL) {
        return NULL;
    }

    cap = sc->caps.elts;

    for (i = 0; i < sc->caps.nelts; i++) {
        if (cap[i].server == server) {
            return &cap[i];
        }
    }

    cap = ngx_array_push(&sc->caps);
    if (cap == NULL) {
        return NULL;
    }

    ngx_memzero(cap, sizeof(ngx_http_staged_update_cap_t));

    cap->server = server;
    cap->id = *id;
    cap->line = cf->conf_file->line;

    /* its node: "<track>" or "<track>/<server>" */

    p = ngx_pnalloc(cf->pool, track->name.len + 1 + id->len);
    if (p == NULL) {
        return NULL;
    }

    cap->key.data = p;

    if (server) {
        cap->key.len = ngx_sprintf(p, "%V/%V", &track->name, id) - p;

    } else {
        cap->key.len = ngx_sprintf(p, "%V", &track->name) - p;
    }

    return cap;
}


/* rate=<n>/s and burst=<n> on a server line: NGX_DECLINED for others */

ngx_int_t
ngx_http_staged_update_shape_server(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track, ngx_uint_t server, ngx_str_t *id,
    ngx_str_t *arg)
{
    ngx_str_t                      v;
    ngx_uint_t                     is_rate;
    const char                    *err;
    ngx_http_staged_update_cap_t  *cap;

    if (arg->len > 5 && ngx_strncmp(arg->data, "rate=", 5) == 0) {
        is_rate = 1;
        v.data = arg->data + 5;
        v.len = arg->len - 5;

    } else if (arg->len > 6 && ngx_strncmp(arg->data, "burst=", 6) == 0) {
        is_rate = 0;
        v.data = arg->data + 6;
        v.len = arg->len - 6;

    } else {
        return NGX_DECLINED;
    }

    cap = ngx_http_staged_update_shape_cap(cf, track, server + 1, id);
    if (cap == NULL) {
        return NGX_ERROR;
    }

    if (is_rate) {
        if (cap->rate) {
            goto duplicate;
        }

        err = ngx_http_staged_update_rate_parse(v.data, v.len, &cap->rate);

    } else {
        if (cap->burst_set) {
            goto duplicate;
        }

        cap->burst_set = 1;
        err = ngx_http_staged_update_burst_parse(v.data, v.len, &cap->burst);
    }

    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": server \"%V\" has "
                           "an invalid %s \"%V\": %s", &track->name, id,
                           is_rate ? "rate=" : "burst=", &v, err);
        return NGX_ERROR;
    }

    return NGX_OK;

duplicate:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "staged_update_track \"%V\": server \"%V\" has a "
                       "repeated parameter \"%V\"", &track->name, id, arg);
    return NGX_ERROR;
}


/* "ramp:<name>" where a percentage goes: NGX_DECLINED for a percentage */

ngx_int_t
ngx_http_staged_update_shape_pct(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track, const char *what,
    ngx_str_t *value, uint32_t *pct)
{
    ngx_uint_t                            i;
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_conf_t  *sc;

    if (value->len < 5 || ngx_strncmp(value->data, "ramp:", 5) != 0) {
        return NGX_DECLINED;
    }

    sc = track->shape;

    if (sc) {
        rc = sc->ramps.elts;

        for (i = 0; i < sc->ramps.nelts; i++) {
            if (rc[i].name.len == value->len - 5
                && ngx_strncmp(rc[i].name.data, value->data + 5,
                               rc[i].name.len)
                   == 0)
            {
                *pct = NGX_HTTP_STAGED_UPDATE_PCT_RAMP | (uint32_t) i;
                return NGX_OK;
            }
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "staged_update_track \"%V\": \"%s\" names ramp "
                       "\"%V\", which no \"ramp\" line above declares",
                       &track->name, what, value);
    return NGX_ERROR;
}


/* the track is parsed: caps by server index, a burst needs a rate */

ngx_int_t
ngx_http_staged_update_shape_done(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track, ngx_uint_t nservers)
{
    ngx_uint_t                            i;
    ngx_http_staged_update_cap_t         *cap;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    if (sc == NULL) {
        return NGX_OK;
    }

    sc->nservers = nservers;
    sc->servers = ngx_pcalloc(cf->pool,
                              (nservers + 1) * sizeof(void *));
    if (sc->servers == NULL) {
        return NGX_ERROR;
    }

    cap = sc->caps.elts;

    for (i = 0; i < sc->caps.nelts; i++) {

        if (cap[i].rate == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "staged_update_track \"%V\": server \"%V\" has "
                          "burst= without rate=<n>/s in %s:%ui",
                          &track->name, &cap[i].id, track->conf_file,
                          cap[i].line);
            return NGX_ERROR;
        }

        if (!cap[i].burst_set) {
            cap[i].burst = ngx_http_staged_update_shape_burst(cap[i].rate);
        }

        if (cap[i].server == 0) {
            sc->track = &cap[i];

        } else {
            sc->servers[cap[i].server - 1] = &cap[i];
        }
    }

    return NGX_OK;
}


/* the default burst: the grants of 20 ms, at least 2 */

static uint32_t
ngx_http_staged_update_shape_burst(uint32_t rate)
{
    return ngx_max(2, rate / 50000);
}


/*
 * The time of a grant: the monotonic clock read now, not nginx's cached
 * ngx_current_msec (the same clock, but read coarsely, in steps of the
 * kernel's tick of up to 10 ms, and once per event loop of each worker):
 * with it a cap loses the grants that a tick's time holds beyond the
 * burst, up to half of them at 200/s with a burst of 1.  A vDSO call of
 * a few dozen nanoseconds, only for a check that won its draw.
 */

static uint64_t
ngx_http_staged_update_shape_msec(void)
{
#if (NGX_HAVE_CLOCK_MONOTONIC)
    struct timespec  ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
        return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
#endif

    return ngx_current_msec;
}


size_t
ngx_http_staged_update_shape_size(ngx_http_staged_update_zone_t *zone)
{
    size_t                                size;
    ngx_uint_t                            i, k;
    ngx_http_staged_update_cap_t         *cap;
    ngx_http_staged_update_track_t      **track;
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_conf_t  *sc;

    size = 0;
    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        sc = track[i]->shape;

        if (sc == NULL) {
            continue;
        }

        size += sizeof(ngx_http_staged_update_shape_sh_t);

        cap = sc->caps.elts;

        for (k = 0; k < sc->caps.nelts; k++) {
            size += ngx_http_staged_update_node_size(cap[k].key.len);
        }

        rc = sc->ramps.elts;

        for (k = 0; k < sc->ramps.nelts; k++) {
            size += ngx_http_staged_update_node_size(rc[k].key.len);
        }
    }

    return size;
}


/*
 * The nodes of the zone's tracks, found by name or made; called by
 * init_zone with the zone's mutex held.  A node whose name no longer
 * appears stays (a few dozen bytes) until the zone is made anew.
 */

ngx_int_t
ngx_http_staged_update_shape_zone(ngx_http_staged_update_zone_t *zone,
    void **shp)
{
    ngx_uint_t                            i, k;
    ngx_http_staged_update_cap_t         *cap;
    ngx_http_staged_update_track_t      **track;
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_sh_t    *sh;
    ngx_http_staged_update_shape_conf_t  *sc;

    sh = *shp;
    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        sc = track[i]->shape;

        if (sc == NULL) {
            continue;
        }

        if (sh == NULL) {
            sh = ngx_slab_alloc_locked(zone->shpool, sizeof(*sh));
            if (sh == NULL) {
                return NGX_ERROR;
            }

            ngx_queue_init(&sh->nodes);
            *shp = sh;
        }

        cap = sc->caps.elts;

        for (k = 0; k < sc->caps.nelts; k++) {
            cap[k].node = ngx_http_staged_update_shape_node(zone->shpool, sh,
                                                            &cap[k].key);
            if (cap[k].node == NULL) {
                return NGX_ERROR;
            }

            /*
             * the configuration's cap; the debt and the slots are kept,
             * the debt settled at the cap in force until now (a live one
             * of the API, which the state module gives again next)
             */

            ngx_http_staged_update_shape_settle(cap[k].node, cap[k].rate,
                                                cap[k].burst);
        }

        rc = sc->ramps.elts;

        for (k = 0; k < sc->ramps.nelts; k++) {
            rc[k].node = ngx_http_staged_update_shape_node(zone->shpool, sh,
                                                           &rc[k].key);
            if (rc[k].node == NULL) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_http_staged_update_shape_node_t *
ngx_http_staged_update_shape_node(ngx_slab_pool_t *shpool,
    ngx_http_staged_update_shape_sh_t *sh, ngx_str_t *key)
{
    ngx_queue_t                          *q;
    ngx_http_staged_update_shape_node_t  *node;

    for (q = ngx_queue_head(&sh->nodes);
         q != ngx_queue_sentinel(&sh->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_staged_update_shape_node_t, queue);

        if (node->len == key->len
            && ngx_memcmp(node->name, key->data, key->len) == 0)
        {
            return node;
        }
    }

    node = ngx_slab_alloc_locked(shpool,
                                 ngx_http_staged_update_node_size(key->len));
    if (node == NULL) {
        return NULL;
    }

    ngx_memzero(node, ngx_http_staged_update_node_size(key->len));
    node->len = key->len;
    ngx_memcpy(node->name, key->data, key->len);
    ngx_queue_insert_tail(&sh->nodes, &node->queue);

    return node;
}


/* the percentage of a ramp now, from this worker's step while it holds */

uint32_t
ngx_http_staged_update_shape_ramp_pct(ngx_http_staged_update_track_t *track,
    uint32_t pct)
{
    int64_t                               t;
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;
    rc = (ngx_http_staged_update_ramp_conf_t *) sc->ramps.elts
         + (pct & ~NGX_HTTP_STAGED_UPDATE_PCT_RAMP);

    t = rc->node->hold ? (int64_t) rc->node->hold : (int64_t) ngx_time();
    t -= (int64_t) rc->node->paused;

    if (t < rc->lo || t >= rc->hi) {
        rc->step = ngx_http_staged_update_ramp_step(&rc->ramp, t, &rc->lo,
                                                    &rc->hi);
        rc->pct = ngx_http_staged_update_ramp_pct(&rc->ramp, rc->step);
    }

    return rc->pct;
}


/*
 * A check won its draw: 0 if the caps of its server and its track both
 * have room (and both are taken), else the seconds of its Retry-After,
 * and in *by the scope whose cap deferred it.
 */

ngx_uint_t
ngx_http_staged_update_shape_grant(ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_scope_t *server, ngx_uint_t mandatory,
    const ngx_http_staged_update_scope_t **by)
{
    uint32_t                              rnd;
    uint64_t                              now, wait, debt[2];
    ngx_uint_t                            i, n, retry;
    ngx_slab_pool_t                      *shpool;
    ngx_http_staged_update_cap_t         *cap[2];
    ngx_http_staged_update_shape_node_t  *node;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    if (mandatory && sc->exempt) {
        return 0;
    }

    n = 0;

    if (server) {
        i = server - (const ngx_http_staged_update_scope_t *)
                     ((u_char *) track->shared + track->shared->servers);

        if (sc->servers[i]) {
            cap[n++] = sc->servers[i];
        }
    }

    if (sc->track) {
        cap[n++] = sc->track;
    }

    if (n == 0) {
        return 0;
    }

    rnd = (uint32_t) ngx_random();
    now = ngx_http_staged_update_shape_msec();
    shpool = track->zone->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < n; i++) {
        node = cap[i]->node;

        if (node->rate == 0) {
            debt[i] = 0;
            continue;
        }

        debt[i] = ngx_http_staged_update_rate_try(&node->state, node->rate,
                                                  node->burst, now, &wait);
        if (debt[i] == 0) {
            retry = ngx_http_staged_update_rate_retry(&node->state,
                                                      node->rate, wait, now,
                                                      rnd);
            ngx_shmtx_unlock(&shpool->mutex);

            (void) ngx_atomic_fetch_add(&node->deferred, 1);

            *by = (cap[i]->server == 0) ? &track->shared->track : server;

            return retry;
        }
    }

    for (i = 0; i < n; i++) {
        if (debt[i]) {
            ngx_http_staged_update_rate_take(&cap[i]->node->state, debt[i],
                                             now);
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return 0;
}


ngx_int_t
ngx_http_staged_update_shape_set_rate(ngx_http_staged_update_track_t *track,
    ngx_str_t *id, uint32_t rate, uint32_t burst)
{
    ngx_int_t  rc;

    ngx_shmtx_lock(&track->zone->shpool->mutex);
    rc = ngx_http_staged_update_shape_set_rate_locked(track, id, rate, burst);
    ngx_shmtx_unlock(&track->zone->shpool->mutex);

    return rc;
}


static ngx_http_staged_update_cap_t *
ngx_http_staged_update_shape_find(ngx_http_staged_update_track_t *track,
    const u_char *id, size_t len)
{
    ngx_uint_t                            i;
    ngx_http_staged_update_cap_t         *cap;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    if (sc == NULL) {
        return NULL;
    }

    cap = sc->caps.elts;

    for (i = 0; i < sc->caps.nelts; i++) {
        if ((len == 0 && cap[i].server == 0)
            || (len && cap[i].server && cap[i].id.len == len
                && ngx_strncmp(cap[i].id.data, id, len) == 0))
        {
            return &cap[i];
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_staged_update_shape_set_rate_locked(
    ngx_http_staged_update_track_t *track, ngx_str_t *id, uint32_t rate,
    uint32_t burst)
{
    ngx_http_staged_update_cap_t  *cap;

    cap = ngx_http_staged_update_shape_find(track, id ? id->data : NULL,
                                            id ? id->len : 0);
    if (cap == NULL) {
        return NGX_DECLINED;
    }

    ngx_http_staged_update_shape_settle(cap->node, rate,
        burst ? burst : ngx_http_staged_update_shape_burst(rate));

    return NGX_OK;
}


/*
 * A cap changed live: the debt paid back so far at the old rate is
 * settled first, so that the new rate pays back only from now on.
 */

static void
ngx_http_staged_update_shape_settle(ngx_http_staged_update_shape_node_t *node,
    uint32_t rate, uint32_t burst)
{
    uint64_t                              now, ms, paid;
    ngx_http_staged_update_rate_state_t  *st;

    if (node->rate == rate && node->burst == burst) {
        return;
    }

    st = &node->state;
    now = ngx_http_staged_update_shape_msec();

    if (node->rate && st->last && now > st->last) {
        ms = ngx_min(now - st->last, (uint64_t) 1000000000);
        paid = ms * node->rate;
        st->debt = (paid >= st->debt) ? 0 : st->debt - paid;
        st->last = now;
    }

    node->rate = rate;
    node->burst = burst;
}


ngx_int_t
ngx_http_staged_update_shape_rate_get(
    ngx_http_staged_update_track_t *track, const u_char *id, size_t len,
    uint32_t *conf, uint32_t *live, uint32_t *burst)
{
    ngx_http_staged_update_cap_t  *cap;

    cap = ngx_http_staged_update_shape_find(track, id, len);
    if (cap == NULL) {
        return NGX_DECLINED;
    }

    *conf = cap->rate;

    if (live) {
        *live = cap->node->rate;
        *burst = cap->node->burst;
    }

    return NGX_OK;
}


void
ngx_http_staged_update_shape_reset_locked(
    ngx_http_staged_update_track_t *track)
{
    ngx_uint_t                            i;
    ngx_http_staged_update_cap_t         *cap;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    if (sc == NULL) {
        return;
    }

    cap = sc->caps.elts;

    for (i = 0; i < sc->caps.nelts; i++) {
        ngx_http_staged_update_shape_settle(cap[i].node, cap[i].rate,
                                            cap[i].burst);
    }
}


void
ngx_http_staged_update_shape_hold(ngx_http_staged_update_track_t *track,
    ngx_uint_t on, time_t now)
{
    ngx_shmtx_lock(&track->zone->shpool->mutex);
    ngx_http_staged_update_shape_hold_locked(track, on, now);
    ngx_shmtx_unlock(&track->zone->shpool->mutex);
}


void
ngx_http_staged_update_shape_hold_locked(
    ngx_http_staged_update_track_t *track, ngx_uint_t on, time_t now)
{
    ngx_uint_t                            i;
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_node_t  *node;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    if (sc == NULL) {
        return;
    }

    rc = sc->ramps.elts;

    for (i = 0; i < sc->ramps.nelts; i++) {
        node = rc[i].node;

        if (on && node->hold == 0) {
            node->hold = (ngx_atomic_uint_t) now;

        } else if (!on && node->hold) {
            if ((ngx_atomic_uint_t) now > node->hold) {
                node->paused += (ngx_atomic_uint_t) now - node->hold;
            }

            node->hold = 0;
        }
    }
}


void
ngx_http_staged_update_shape_shift(ngx_http_staged_update_track_t *track,
    time_t seconds)
{
    ngx_uint_t                            i;
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    if (sc == NULL || seconds <= 0) {
        return;
    }

    rc = sc->ramps.elts;

    for (i = 0; i < sc->ramps.nelts; i++) {
        (void) ngx_atomic_fetch_add(&rc[i].node->paused,
                                    (ngx_atomic_int_t) seconds);
    }
}


time_t
ngx_http_staged_update_shape_paused(ngx_http_staged_update_track_t *track,
    time_t now)
{
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_node_t  *node;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    if (sc == NULL || sc->ramps.nelts == 0) {
        return 0;
    }

    rc = sc->ramps.elts;
    node = rc[0].node;

    return (time_t) node->paused
           + (node->hold && (time_t) node->hold < now
              ? now - (time_t) node->hold : 0);
}


#define NGX_HTTP_STAGED_UPDATE_CAP_JSON_LEN                                   \
    (sizeof("{\"scope\":\"\",\"rate\":.000,\"burst\":,\"deferred\":},") - 1 \
     + NGX_HTTP_STAGED_UPDATE_ID_MAXLEN + 3 * NGX_ATOMIC_T_LEN)

#define NGX_HTTP_STAGED_UPDATE_RAMP_JSON_LEN                                  \
    (sizeof("{\"name\":\"\",\"step\":,\"steps\":,\"percent\":\"\","         \
            "\"next\":\"\",\"paused\":,\"held\":false},") - 1               \
     + NGX_HTTP_STAGED_UPDATE_ID_MAXLEN + 2 * NGX_INT_T_LEN                  \
     + NGX_HTTP_STAGED_UPDATE_PCT_LEN + NGX_HTTP_STAGED_UPDATE_TIME_LEN      \
     + NGX_ATOMIC_T_LEN)


size_t
ngx_http_staged_update_shape_json_len(ngx_http_staged_update_track_t *track)
{
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    return sizeof("{\"caps\":[],\"ramps\":[]}") - 1
           + (sc ? sc->caps.nelts * NGX_HTTP_STAGED_UPDATE_CAP_JSON_LEN
                   + sc->ramps.nelts * NGX_HTTP_STAGED_UPDATE_RAMP_JSON_LEN
                 : 0);
}


static u_char *
ngx_http_staged_update_shape_rate_json(u_char *p,
    ngx_http_staged_update_cap_t *cap)
{
    ngx_http_staged_update_shape_node_t  *node;

    node = cap->node;

    return ngx_sprintf(p, "{\"scope\":\"%V\",\"rate\":%uD.%03uD,"
                       "\"burst\":%uD,\"deferred\":%uA},",
                       &cap->id, node->rate / 1000, node->rate % 1000,
                       node->burst, node->deferred);
}


/*
 * {"caps":[{"scope":"game","rate":200.000,"burst":50,"deferred":12}],
 *  "ramps":[{"name":"weekly","step":2,"steps":7,"percent":"5.00",
 *            "next":"2026-12-04T00:00:00Z","paused":0,"held":false}]}
 * ("step" -1 before the first, "next" null after the last)
 */

u_char *
ngx_http_staged_update_shape_json(u_char *p,
    ngx_http_staged_update_track_t *track, time_t now)
{
    int                                   step;
    int64_t                               t, lo, hi;
    u_char                               *start;
    ngx_uint_t                            i;
    ngx_http_staged_update_cap_t         *cap;
    ngx_http_staged_update_ramp_conf_t   *rc;
    ngx_http_staged_update_shape_node_t  *node;
    ngx_http_staged_update_shape_conf_t  *sc;

    sc = track->shape;

    p = ngx_cpymem(p, "{\"caps\":[", sizeof("{\"caps\":[") - 1);
    start = p;

    if (sc) {
        cap = sc->caps.elts;

        for (i = 0; i < sc->caps.nelts; i++) {
            p = ngx_http_staged_update_shape_rate_json(p, &cap[i]);
        }
    }

    if (p > start) {
        p--;
    }

    p = ngx_cpymem(p, "],\"ramps\":[", sizeof("],\"ramps\":[") - 1);
    start = p;

    if (sc) {
        rc = sc->ramps.elts;

        for (i = 0; i < sc->ramps.nelts; i++) {
            node = rc[i].node;

            t = node->hold ? (int64_t) node->hold : (int64_t) now;
            t -= (int64_t) node->paused;

            step = ngx_http_staged_update_ramp_step(&rc[i].ramp, t, &lo, &hi);

            p = ngx_sprintf(p, "{\"name\":\"%V\",\"step\":%d,\"steps\":%uD,"
                            "\"percent\":\"", &rc[i].name, step,
                            rc[i].ramp.nsteps);
            p += ngx_http_staged_update_pct_print(p,
                     ngx_http_staged_update_ramp_pct(&rc[i].ramp, step));

            if (hi == INT64_MAX) {
                p = ngx_cpymem(p, "\",\"next\":null", 13);

            } else {
                p = ngx_cpymem(p, "\",\"next\":\"", 10);
                p += ngx_http_staged_update_time_print(p,
                                                 hi + (int64_t) node->paused
                                                 + (node->hold
                                                    ? now - (int64_t) node->hold
                                                    : 0));
                *p++ = '"';
            }

            p = ngx_sprintf(p, ",\"paused\":%uA,\"held\":%s},",
                            node->paused, node->hold ? "true" : "false");
        }
    }

    if (p > start) {
        p--;
    }

    return ngx_cpymem(p, "]}", 2);
}
