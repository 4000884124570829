
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * The tables live in a shared memory zone, one immutable set of tables per
 * loaded configuration.  A reload builds a new set beside the old one: the
 * old workers go on reading theirs while they finish, and a set is freed
 * at a later reload once none of the workers that used it is alive (each
 * worker writes its pid into its set; a worker that was killed is found
 * dead with kill(pid, 0), so its set does not stay), and so is the set of a
 * reload that failed after the zone took it.  The zone header is
 * kept across reloads (same name and size), so state that must outlive a
 * reload (counters, live overrides) belongs there.
 */


#include "ngx_http_staged_update_zone.h"
#include "ngx_http_staged_update_state.h"
#include "ngx_http_staged_update_counters.h"
#include "ngx_http_staged_update_shape.h"
#include "ngx_http_staged_update_report.h"


typedef struct {
    ngx_queue_t                         sets;
    ngx_uint_t                          generation;
    void                               *state;     /* live overrides */
    void                               *counters;  /* see counters.c */
    void                               *shape;     /* see *_shape.c */
    void                               *report;    /* install reports */
} ngx_http_staged_update_shctx_t;


typedef struct {
    ngx_queue_t                         queue;
    ngx_uint_t                          generation;
    ngx_uint_t                          pinned;    /* never freed */
    size_t                              size;      /* bytes, tables too */
    ngx_uint_t                          npids;
    ngx_pid_t                           pids[1];   /* npids: its workers */
    /* the tables of the zone's tracks follow */
} ngx_http_staged_update_set_t;


static ngx_int_t ngx_http_staged_update_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static size_t ngx_http_staged_update_set_head(ngx_uint_t npids);
static void ngx_http_staged_update_sweep(ngx_http_staged_update_zone_t *zone,
    void *running, size_t *held, ngx_uint_t *nheld);
static size_t ngx_http_staged_update_zone_other(ngx_shm_zone_t *shm_zone);
static size_t ngx_http_staged_update_zone_need(ngx_shm_zone_t *shm_zone,
    size_t size, size_t held);
static void ngx_http_staged_update_too_small(ngx_shm_zone_t *shm_zone,
    size_t size, size_t held, ngx_uint_t nheld);
static ngx_uint_t ngx_http_staged_update_alive(ngx_pid_t pid);


char *
ngx_http_staged_update_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t                         size;
    ngx_str_t                      *value, state;
    ngx_http_staged_update_zone_t  *zone;

    value = cf->args->elts;
    ngx_str_null(&state);

    if (cf->args->nelts == 4) {

        if (value[3].len <= sizeof("state=") - 1
            || ngx_strncmp(value[3].data, "state=", sizeof("state=") - 1)
               != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "staged_update_zone \"%V\": invalid parameter "
                               "\"%V\", expected state=<file>",
                               &value[1], &value[3]);
            return NGX_CONF_ERROR;
        }

        state.data = value[3].data + sizeof("state=") - 1;
        state.len = value[3].len - (sizeof("state=") - 1);

        if (ngx_conf_full_name(cf->cycle, &state, 0) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_staged_update_state_dir(cf, &value[1], &state)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_zone \"%V\": invalid size \"%V\"",
                           &value[1], &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_zone \"%V\": size \"%V\" is too "
                           "small, the minimum is %uzk",
                           &value[1], &value[2], 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    zone = ngx_http_staged_update_zone_get(cf, &value[1]);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (zone->shm_zone) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_zone \"%V\" is duplicate",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    zone->shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                           &ngx_http_staged_update_module);
    if (zone->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (zone->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_zone \"%V\": a shared memory zone "
                           "of this name is already declared", &value[1]);
        return NGX_CONF_ERROR;
    }

    zone->shm_zone->init = ngx_http_staged_update_init_zone;
    zone->shm_zone->data = zone;
    zone->state_file = state;

    return NGX_CONF_OK;
}


/* a zone by name, created on first mention: a track may name it first */

ngx_http_staged_update_zone_t *
ngx_http_staged_update_zone_get(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                           i;
    ngx_http_staged_update_zone_t       *zone, **zones;
    ngx_http_staged_update_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_staged_update_module);

    zones = smcf->zones.elts;

    for (i = 0; i < smcf->zones.nelts; i++) {
        if (zones[i]->name.len == name->len
            && ngx_strncmp(zones[i]->name.data, name->data, name->len) == 0)
        {
            return zones[i];
        }
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_staged_update_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    zone->name = *name;
    zone->cycle = cf->cycle;

    if (ngx_array_init(&zone->tracks, cf->pool, 4,
                       sizeof(ngx_http_staged_update_track_t *))
        != NGX_OK)
    {
        return NULL;
    }

    zones = ngx_array_push(&smcf->zones);
    if (zones == NULL) {
        return NULL;
    }

    *zones = zone;

    return zone;
}


ngx_int_t
ngx_http_staged_update_zones_check(ngx_conf_t *cf)
{
    ngx_uint_t                           i;
    ngx_http_staged_update_zone_t      **zones;
    ngx_http_staged_update_track_t     **track;
    ngx_http_staged_update_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_staged_update_module);

    zones = smcf->zones.elts;

    for (i = 0; i < smcf->zones.nelts; i++) {

        if (zones[i]->shm_zone) {
            continue;
        }

        track = zones[i]->tracks.elts;

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "staged_update_track \"%V\": unknown zone \"%V\", "
                      "declare it with \"staged_update_zone %V <size>;\" "
                      "in %s:%ui",
                      &track[0]->name, &zones[i]->name, &zones[i]->name,
                      track[0]->conf_file, track[0]->conf_line);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_staged_update_zone_t  *ozone = data;

    u_char                           *p;
    size_t                            size, len, held;
    ngx_int_t                         crc;
    ngx_uint_t                        i, npids, nheld;
    ngx_slab_pool_t                  *shpool;
    ngx_core_conf_t                  *ccf;
    ngx_http_staged_update_set_t     *set;
    ngx_http_staged_update_zone_t    *zone;
    ngx_http_staged_update_track_t  **track;
    ngx_http_staged_update_shctx_t   *sh;

    zone = shm_zone->data;

    if (ozone) {
        zone->shpool = ozone->shpool;
        zone->sh = ozone->sh;

    } else {
        zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            zone->sh = zone->shpool->data;

        } else {
            /* the header and the slab errors' context: one allocation */

            len = sizeof(" in staged_update_zone \"\"")
                  + shm_zone->shm.name.len;

            sh = ngx_slab_alloc(zone->shpool,
                                sizeof(ngx_http_staged_update_shctx_t) + len);
            if (sh == NULL) {
                return NGX_ERROR;
            }

            ngx_queue_init(&sh->sets);
            sh->generation = 0;
            sh->state = NULL;
            sh->counters = NULL;
            sh->shape = NULL;
            sh->report = NULL;

            zone->sh = sh;
            zone->shpool->data = sh;

            zone->shpool->log_ctx = (u_char *) (sh + 1);

            ngx_sprintf(zone->shpool->log_ctx, " in staged_update_zone \"%V\"%Z",
                        &shm_zone->shm.name);

            zone->shpool->log_nomem = 0;
        }
    }

    sh = zone->sh;
    shpool = zone->shpool;

    /* a slot for each worker, and a few for those respawned meanwhile */

    ccf = (ngx_core_conf_t *) ngx_get_conf(zone->cycle->conf_ctx,
                                           ngx_core_module);
    npids = ccf->worker_processes + 8;

    size = ngx_http_staged_update_set_head(npids);
    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        size += ngx_align(track[i]->table->size, 8)
                + ngx_http_staged_update_state_size(track[i]->table);
    }

    held = 0;
    nheld = 0;

    ngx_shmtx_lock(&shpool->mutex);

    if (ozone && ngx_process != NGX_PROCESS_SINGLE) {
        ngx_http_staged_update_sweep(zone, ozone->set, &held, &nheld);
    }

    set = ngx_slab_alloc_locked(shpool, size);

    /* the counters, kept by name across reloads (counters.c) */

    crc = NGX_OK;

    if (set) {
        crc = ngx_http_staged_update_counters_zone(zone, &sh->counters);

        if (crc != NGX_OK) {
            ngx_slab_free_locked(shpool, set);
            set = NULL;
        }
    }

    if (set && ozone == NULL) {

        /* a new zone: a reload must find room for a second set */

        p = ngx_slab_alloc_locked(shpool, size);

        if (p == NULL) {
            ngx_slab_free_locked(shpool, set);
            set = NULL;

        } else {
            ngx_slab_free_locked(shpool, p);
        }
    }

    /* the caps' and ramps' state, found by name or made */

    if (set && ngx_http_staged_update_shape_zone(zone, &sh->shape) != NGX_OK)
    {
        ngx_slab_free_locked(shpool, set);
        set = NULL;
    }

    if (set) {
        ngx_memzero(set, ngx_http_staged_update_set_head(npids));
        set->generation = ++sh->generation;
        set->size = size;
        set->npids = npids;
        ngx_queue_insert_tail(&sh->sets, &set->queue);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (crc != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "staged_update_zone \"%V\" of %uzk is too small for "
                      "the counters of its tracks: they take %uz bytes "
                      "besides the tables; use at least %uzk, or "
                      "\"counters off;\" in the tracks",
                      &shm_zone->shm.name, shm_zone->shm.size / 1024,
                      ngx_http_staged_update_counters_size(zone),
                      ngx_http_staged_update_zone_need(shm_zone, size, held));
        return NGX_ERROR;
    }

    if (set == NULL) {
        ngx_http_staged_update_too_small(shm_zone, size, held, nheld);
        return NGX_ERROR;
    }

    zone->set = set;

    p = (u_char *) set + ngx_http_staged_update_set_head(npids);

    for (i = 0; i < zone->tracks.nelts; i++) {
        ngx_memcpy(p, track[i]->table, track[i]->table->size);
        track[i]->shared = (ngx_http_staged_update_table_t *) p;
        p += ngx_align(track[i]->table->size, 8);
        track[i]->live = p;
        p += ngx_http_staged_update_state_size(track[i]->table);
    }

    if (ngx_http_staged_update_state_init(zone, &sh->state,
                                          shm_zone->shm.log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_staged_update_report_init(zone, &sh->report,
                                              shm_zone->shm.log);
}


static size_t
ngx_http_staged_update_set_head(ngx_uint_t npids)
{
    return ngx_align(offsetof(ngx_http_staged_update_set_t, pids)
                     + npids * sizeof(ngx_pid_t), 8);
}


/*
 * Frees the sets that no live worker uses, but the running configuration's
 * (its workers may have been forked and not have written their pids yet):
 * the sets of finished configurations and those of reloads that failed
 * after this zone was initialized (their workers never started).  Counts
 * the sets that stay and their bytes.  Not in the single process mode: its
 * process does not start anew at a reload.
 */

static void
ngx_http_staged_update_sweep(ngx_http_staged_update_zone_t *zone,
    void *running, size_t *held, ngx_uint_t *nheld)
{
    ngx_uint_t                       i, alive;
    ngx_queue_t                     *q, *next;
    ngx_http_staged_update_set_t    *set;
    ngx_http_staged_update_shctx_t  *sh;

    sh = zone->sh;

    for (q = ngx_queue_head(&sh->sets);
         q != ngx_queue_sentinel(&sh->sets);
         q = next)
    {
        next = ngx_queue_next(q);
        set = ngx_queue_data(q, ngx_http_staged_update_set_t, queue);

        alive = (set->pinned || (void *) set == running);

        for (i = 0; !alive && i < set->npids; i++) {
            if (set->pids[i] && ngx_http_staged_update_alive(set->pids[i])) {
                alive = 1;
            }
        }

        if (alive) {
            *held += ngx_align(set->size, ngx_pagesize);
            (*nheld)++;
            continue;
        }

        ngx_queue_remove(q);
        ngx_slab_free_locked(zone->shpool, set);
    }
}


/*
 * What the zone holds besides its table sets: the slab pool's header,
 * slots and page descriptors, the zone header and its log text, rounded
 * up to whole pages.  Anything else kept in the zone (counters, live
 * overrides) adds its bytes here: this is the one place where the advice
 * of a refused load counts them.
 */

static size_t
ngx_http_staged_update_zone_other(ngx_shm_zone_t *shm_zone)
{
    size_t  size;

    size = sizeof(ngx_http_staged_update_shctx_t)
           + sizeof(" in staged_update_zone \"\"") + shm_zone->shm.name.len;

    return ngx_align(size, ngx_pagesize) + 16 * ngx_pagesize
           + ngx_http_staged_update_counters_size(shm_zone->data)
           + ngx_http_staged_update_shape_size(shm_zone->data)
           + ngx_http_staged_update_report_size(shm_zone->data);
}


/*
 * The size to advise, in kilobytes, for tables of size bytes besides the
 * sets that old workers still hold: room for two sets, or for the held
 * ones and the new one, and what else the zone holds; never at or below
 * the zone's size.
 */

static size_t
ngx_http_staged_update_zone_need(ngx_shm_zone_t *shm_zone, size_t size,
    size_t held)
{
    size_t  need, set;

    set = ngx_align(size, ngx_pagesize);
    need = ngx_max(2 * set, held + set)
           + ngx_http_staged_update_zone_other(shm_zone);

    if (need <= shm_zone->shm.size) {
        need = shm_zone->shm.size + set;
    }

    return (need + 1023) / 1024;
}


/*
 * The refusal of a zone without room for the new set of tables, and the
 * size to use: the new set twice (a later reload builds the next one beside
 * it), or the sets that live workers still hold and the new one if more,
 * and what the zone holds besides; always above the zone's size now.
 */

static void
ngx_http_staged_update_too_small(ngx_shm_zone_t *shm_zone, size_t size,
    size_t held, ngx_uint_t nheld)
{
    size_t  need;

    need = ngx_http_staged_update_zone_need(shm_zone, size, held);

    if (nheld == 0) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "staged_update_zone \"%V\" of %uzk is too small for "
                      "the tables of its tracks: they take %uz bytes, and "
                      "twice as much while a reload replaces them; "
                      "use at least %uzk",
                      &shm_zone->shm.name, shm_zone->shm.size / 1024, size,
                      need);
        return;
    }

    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "staged_update_zone \"%V\" of %uzk is too small for "
                  "the tables of its tracks: they take %uz bytes, and "
                  "twice as much while a reload replaces them; "
                  "%ui sets of tables that workers still use hold %uz "
                  "bytes; use at least %uzk",
                  &shm_zone->shm.name, shm_zone->shm.size / 1024, size,
                  nheld, held, need);
}


static ngx_uint_t
ngx_http_staged_update_alive(ngx_pid_t pid)
{
    return kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH;
}


/*
 * A worker starts (1) or exits (0) using its cycle's sets.  Only workers
 * count: the cache manager and loader serve no requests, and they exit
 * without calling exit_process.  A worker that finds no free slot pins
 * its set, which then stays until the zone is created anew.
 */

void
ngx_http_staged_update_zones_use(ngx_cycle_t *cycle, ngx_uint_t start)
{
    ngx_pid_t                            pid, find;
    ngx_uint_t                           i, k;
    ngx_http_staged_update_set_t        *set;
    ngx_http_staged_update_zone_t      **zones;
    ngx_http_staged_update_main_conf_t  *smcf;

    if (ngx_process != NGX_PROCESS_WORKER
        || cycle->conf_ctx[ngx_http_module.index] == NULL)
    {
        return;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_staged_update_module);
    if (smcf == NULL) {
        return;
    }

    pid = ngx_getpid();
    find = start ? 0 : pid;

    zones = smcf->zones.elts;

    for (i = 0; i < smcf->zones.nelts; i++) {
        set = zones[i]->set;

        if (set == NULL) {
            continue;
        }

        ngx_shmtx_lock(&zones[i]->shpool->mutex);

        for (k = 0; k < set->npids; k++) {
            if (set->pids[k] == find
                || (start && !ngx_http_staged_update_alive(set->pids[k])))
            {
                set->pids[k] = start ? pid : 0;
                break;
            }
        }

        if (start && k == set->npids) {
            set->pinned = 1;
        }

        ngx_shmtx_unlock(&zones[i]->shpool->mutex);
    }
}
