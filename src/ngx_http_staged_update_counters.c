
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include "ngx_http_staged_update_counters.h"
#include "ngx_http_staged_update_handler.h"


typedef struct {
    ngx_rbtree_t                        tree;
    ngx_rbtree_node_t                   sentinel;
} ngx_http_staged_update_croot_t;


static ngx_uint_t ngx_http_staged_update_counters_opt(ngx_str_t *value,
    const char *name, ngx_uint_t *n);
static ngx_int_t ngx_http_staged_update_slot_text(ngx_conf_t *cf,
    ngx_http_staged_update_slot_t *slot, const u_char *scope, size_t len,
    const u_char *what, size_t what_len);
static void ngx_http_staged_update_slot_pct(
    ngx_http_staged_update_slot_t *slot, uint32_t pct);
static ngx_atomic_t *ngx_http_staged_update_cnode(ngx_slab_pool_t *shpool,
    ngx_rbtree_t *tree, u_char *key, size_t len, ngx_uint_t n);
static size_t ngx_http_staged_update_cnode_size(size_t key, ngx_uint_t n);
static size_t ngx_http_staged_update_track_bytes(
    ngx_http_staged_update_counters_t *c);


/* the invalid checks, in the order of the handler's errors */

ngx_str_t  ngx_http_staged_update_error_names[] = {
    ngx_string("method"),
    ngx_string("duplicate"),
    ngx_string("version_missing"),
    ngx_string("version_malformed"),
    ngx_string("server_malformed"),
    ngx_string("client_malformed"),
    ngx_string("unknown_server"),
    ngx_string("escape_malformed"),
    ngx_string("client_missing"),
    ngx_null_string
};


char *
ngx_http_staged_update_counters_conf(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    ngx_str_t                          *value;
    ngx_uint_t                          i;
    ngx_http_staged_update_counters_t  *c;

    if (track->counters) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"counters\" is "
                           "duplicate", &track->name);
        return NGX_CONF_ERROR;
    }

    c = ngx_pcalloc(cf->pool, sizeof(ngx_http_staged_update_counters_t));
    if (c == NULL) {
        return NGX_CONF_ERROR;
    }

    c->versions = NGX_HTTP_STAGED_UPDATE_VERSIONS;
    c->installations = NGX_HTTP_STAGED_UPDATE_INSTALLATIONS;
    track->counters = c;

    value = cf->args->elts;

    if (cf->args->nelts == 2 && value[1].len == 3
        && ngx_strncmp(value[1].data, "off", 3) == 0)
    {
        c->off = 1;
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_http_staged_update_counters_opt(&value[i], "versions=",
                                                &c->versions)
            || ngx_http_staged_update_counters_opt(&value[i],
                                                   "installations=",
                                                   &c->installations))
        {
            continue;
        }

        goto invalid;
    }

    if (c->installations > c->versions) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "staged_update_track \"%V\": \"counters\" has "
                           "installations=%ui above versions=%ui: only the "
                           "versions counted can have installations",
                           &track->name, c->installations, c->versions);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "staged_update_track \"%V\": \"counters\" has an "
                       "invalid parameter \"%V\"; expected \"off\", or "
                       "versions=<n> and installations=<n>, numbers from 0 "
                       "to %d", &track->name, &value[i],
                       NGX_HTTP_STAGED_UPDATE_VERSIONS_MAX);
    return NGX_CONF_ERROR;
}


/* "<name><n>", 0 <= n <= VERSIONS_MAX: 1 and n in *n */

static ngx_uint_t
ngx_http_staged_update_counters_opt(ngx_str_t *value, const char *name,
    ngx_uint_t *n)
{
    size_t     len;
    ngx_int_t  v;

    len = ngx_strlen(name);

    if (value->len <= len || ngx_strncmp(value->data, name, len) != 0) {
        return 0;
    }

    v = ngx_atoi(value->data + len, value->len - len);

    if (v == NGX_ERROR || v > NGX_HTTP_STAGED_UPDATE_VERSIONS_MAX) {
        return 0;
    }

    *n = v;

    return 1;
}


/*
 * The slots of a track's tables: 4 per scope (latest, minimum, -, default)
 * and one per rule, each with its "<scope>:<what>" text made once here.
 */

ngx_int_t
ngx_http_staged_update_counters_track(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track)
{
    u_char                                *base;
    ngx_uint_t                             i, j, k, r;
    ngx_http_staged_update_rule_t         *rules;
    ngx_http_staged_update_slot_t         *slot;
    ngx_http_staged_update_scope_t        *s;
    ngx_http_staged_update_table_t        *t;
    ngx_http_staged_update_counters_t     *c;

    c = track->counters;

    if (c == NULL) {
        c = ngx_pcalloc(cf->pool, sizeof(ngx_http_staged_update_counters_t));
        if (c == NULL) {
            return NGX_ERROR;
        }

        c->versions = NGX_HTTP_STAGED_UPDATE_VERSIONS;
        c->installations = NGX_HTTP_STAGED_UPDATE_INSTALLATIONS;
        track->counters = c;
    }

    c->cap = 1;

    while (c->cap < 2 * c->versions) {
        c->cap <<= 1;
    }

    t = track->table;
    base = (u_char *) t;

    c->nscopes = t->nservers + 1;
    c->nrules = 0;

    for (i = 0; i < c->nscopes; i++) {
        s = i ? (ngx_http_staged_update_scope_t *) (base + t->servers) + i - 1
              : &t->track;
        c->nrules += s->nrules;
    }

    c->scopes = ngx_pcalloc(cf->pool, NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes
                                      * sizeof(ngx_http_staged_update_slot_t));
    c->rules = ngx_pcalloc(cf->pool, (c->nrules + 1)
                                     * sizeof(ngx_http_staged_update_slot_t));
    if (c->scopes == NULL || c->rules == NULL) {
        return NGX_ERROR;
    }

    r = 0;

    for (i = 0; i < c->nscopes; i++) {
        s = i ? (ngx_http_staged_update_scope_t *) (base + t->servers) + i - 1
              : &t->track;

        for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NREASONS; k++) {
            slot = &c->scopes[NGX_HTTP_STAGED_UPDATE_NREASONS * i + k];
            slot->n = c->none;

            if (k == NGX_HTTP_STAGED_UPDATE_RULE) {
                continue;
            }

            ngx_http_staged_update_slot_pct(slot,
                k == NGX_HTTP_STAGED_UPDATE_MINIMUM
                ? NGX_HTTP_STAGED_UPDATE_PCT_MAX
                : k == NGX_HTTP_STAGED_UPDATE_DEFAULT ? s->pct : 0);

            if (ngx_http_staged_update_slot_text(cf, slot, base + s->name,
                    s->name_len, ngx_http_staged_update_reasons[k].data,
                    ngx_http_staged_update_reasons[k].len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        rules = (ngx_http_staged_update_rule_t *) (base + s->rules);

        for (j = 0; j < s->nrules; j++) {
            slot = &c->rules[r++];
            slot->n = c->none;

            ngx_http_staged_update_slot_pct(slot, rules[j].pct);

            if (ngx_http_staged_update_slot_text(cf, slot, base + s->name,
                    s->name_len, base + rules[j].text, rules[j].text_len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    c->downloads = ngx_pcalloc(cf->pool, (track->releases.nelts + 1)
                                         * sizeof(ngx_atomic_t *));
    c->vcache = ngx_pcalloc(cf->pool,
                            NGX_HTTP_STAGED_UPDATE_VCACHE
                            * sizeof(ngx_http_staged_update_vcache_t));
    if (c->downloads == NULL || c->vcache == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_staged_update_slot_text(ngx_conf_t *cf,
    ngx_http_staged_update_slot_t *slot, const u_char *scope, size_t len,
    const u_char *what, size_t what_len)
{
    u_char  *p;

    p = ngx_pnalloc(cf->pool, len + 1 + what_len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    slot->rule.data = p;
    p = ngx_cpymem(p, scope, len);
    *p++ = ':';
    ngx_memcpy(p, what, what_len);
    slot->rule.len = len + 1 + what_len;

    return NGX_OK;
}


static void
ngx_http_staged_update_slot_pct(ngx_http_staged_update_slot_t *slot,
    uint32_t pct)
{
    slot->pct = pct;
    slot->pct_len = ngx_http_staged_update_pct_print(slot->pct_text, pct);
}


/* a node as the slab allocates it: a power of two, or whole pages */

static size_t
ngx_http_staged_update_cnode_size(size_t key, ngx_uint_t n)
{
    size_t  size, chunk;

    size = offsetof(ngx_http_staged_update_cnode_t, v)
           + n * sizeof(ngx_atomic_t) + key;

    if (size > ngx_pagesize / 2) {
        return ngx_align(size, ngx_pagesize);
    }

    for (chunk = 8; chunk < size; chunk <<= 1) { /* void */ }

    return chunk;
}


/* the values of a track's own node: tcounters_t, the vslots, the sketches */

static size_t
ngx_http_staged_update_track_bytes(ngx_http_staged_update_counters_t *c)
{
    return sizeof(ngx_http_staged_update_tcounters_t)
           + c->cap * sizeof(ngx_http_staged_update_vslot_t)
           + c->installations * NGX_HTTP_STAGED_UPDATE_HLL_M;
}


size_t
ngx_http_staged_update_counters_size(ngx_http_staged_update_zone_t *zone)
{
    size_t                               size, key;
    ngx_uint_t                           i, k;
    ngx_http_staged_update_track_t     **track;
    ngx_http_staged_update_counters_t   *c;

    size = ngx_http_staged_update_cnode_size(
               sizeof(ngx_http_staged_update_croot_t), 0);

    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        c = track[i]->counters;

        if (c == NULL || c->off) {
            continue;
        }

        key = 2 + track[i]->name.len + 2 * NGX_INT_T_LEN + 2;

        size += ngx_http_staged_update_cnode_size(key,
                    ngx_http_staged_update_track_bytes(c)
                    / sizeof(ngx_atomic_t));

        for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes; k++) {
            if (c->scopes[k].rule.len) {
                size += ngx_http_staged_update_cnode_size(
                            4 + track[i]->name.len + c->scopes[k].rule.len, 2);
            }
        }

        for (k = 0; k < c->nrules; k++) {
            size += ngx_http_staged_update_cnode_size(
                        4 + track[i]->name.len + c->rules[k].rule.len, 2);
        }

        size += track[i]->releases.nelts
                * ngx_http_staged_update_cnode_size(
                      4 + track[i]->name.len
                      + NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN, 2);
    }

    return size;
}


/*
 * In init_zone, under the slab mutex: each name of this configuration is
 * found in the zone or given its counters there.  NGX_ERROR: no room.
 */

ngx_int_t
ngx_http_staged_update_counters_zone(ngx_http_staged_update_zone_t *zone,
    void **root)
{
    u_char                              *p, key[512];
    ngx_uint_t                           i, k, n;
    ngx_atomic_t                        *v;
    ngx_slab_pool_t                     *shpool;
    ngx_http_staged_update_croot_t      *cr;
    ngx_http_staged_update_track_t     **track;
    ngx_http_staged_update_release_t    *rel;
    ngx_http_staged_update_counters_t   *c;

    shpool = zone->shpool;
    cr = *root;
    track = zone->tracks.elts;

    for (i = 0; i < zone->tracks.nelts; i++) {
        c = track[i]->counters;

        if (c->off) {
            continue;
        }

        if (cr == NULL) {
            cr = ngx_slab_alloc_locked(shpool,
                                       sizeof(ngx_http_staged_update_croot_t));
            if (cr == NULL) {
                return NGX_ERROR;
            }

            ngx_rbtree_init(&cr->tree, &cr->sentinel,
                            ngx_str_rbtree_insert_value);
            *root = cr;
        }

        /* the track: its errors, versions and sketches */

        p = ngx_sprintf(key, "t\n%V\n%ui,%ui", &track[i]->name, c->versions,
                        c->installations);

        v = ngx_http_staged_update_cnode(shpool, &cr->tree, key, p - key,
                ngx_http_staged_update_track_bytes(c) / sizeof(ngx_atomic_t));
        if (v == NULL) {
            return NGX_ERROR;
        }

        c->sh = (ngx_http_staged_update_tcounters_t *) v;
        c->vslots = (ngx_http_staged_update_vslot_t *) (c->sh + 1);
        c->sketches = (u_char *) (c->vslots + c->cap);

        /* the scopes' latest, minimum and default, then the rules */

        for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes + c->nrules; k++) {
            n = (k < NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes) ? k : 0;

            if (k < NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes && c->scopes[n].rule.len == 0) {
                continue;
            }

            p = ngx_sprintf(key, "s\n%V\n%V", &track[i]->name,
                            k < NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes
                            ? &c->scopes[k].rule
                            : &c->rules[k - NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes].rule);

            v = ngx_http_staged_update_cnode(shpool, &cr->tree, key, p - key,
                                             2);
            if (v == NULL) {
                return NGX_ERROR;
            }

            if (k < NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes) {
                c->scopes[k].n = v;

            } else {
                c->rules[k - NGX_HTTP_STAGED_UPDATE_NREASONS * c->nscopes].n = v;
            }
        }

        /* the downloads of each release */

        rel = track[i]->releases.elts;

        for (k = 0; k < track[i]->releases.nelts; k++) {
            p = ngx_sprintf(key, "d\n%V\n%V", &track[i]->name,
                            &rel[k].version);

            c->downloads[k] = ngx_http_staged_update_cnode(shpool, &cr->tree,
                                                           key, p - key, 2);
            if (c->downloads[k] == NULL) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_atomic_t *
ngx_http_staged_update_cnode(ngx_slab_pool_t *shpool, ngx_rbtree_t *tree,
    u_char *key, size_t len, ngx_uint_t n)
{
    size_t                           size;
    uint32_t                         hash;
    ngx_str_t                        name;
    ngx_str_node_t                  *sn;
    ngx_http_staged_update_cnode_t  *node;

    name.data = key;
    name.len = len;
    hash = ngx_crc32_short(key, len);

    sn = ngx_str_rbtree_lookup(tree, &name, hash);

    if (sn) {
        node = (ngx_http_staged_update_cnode_t *) sn;

        if (node->n == n) {
            return node->v;
        }
    }

    size = offsetof(ngx_http_staged_update_cnode_t, v)
           + n * sizeof(ngx_atomic_t) + len;

    node = ngx_slab_alloc_locked(shpool, size);
    if (node == NULL) {
        return NULL;
    }

    ngx_memzero(node, size);

    node->n = n;
    node->sn.node.key = hash;
    node->sn.str.len = len;
    node->sn.str.data = (u_char *) &node->v[n];
    ngx_memcpy(node->sn.str.data, key, len);

    ngx_rbtree_insert(tree, &node->sn.node);

    return node->v;
}


const char *
ngx_http_staged_update_version_get(ngx_http_staged_update_track_t *track,
    u_char *p, size_t len, ngx_http_staged_update_version_t *v,
    ngx_http_staged_update_vcache_t **vc)
{
    uint64_t                          text[2];
    const char                       *err;
    ngx_http_staged_update_vcache_t  *e;

    if (len == 0 || len > sizeof(text)) {
        *vc = NULL;
        return ngx_http_staged_update_version_parse(p, len, v);
    }

    text[0] = 0;
    text[1] = 0;
    ngx_memcpy(text, p, len);

    e = &track->counters->vcache[((text[0] ^ (text[1] * 0xc2b2ae3d27d4eb4fULL))
                                  * 0x9e3779b97f4a7c15ULL) >> 56];

    if (e->len == len && e->text[0] == text[0] && e->text[1] == text[1]) {
        *v = e->v;
        *vc = e;
        return NULL;
    }

    err = ngx_http_staged_update_version_parse(p, len, v);

    if (err) {
        *vc = NULL;
        return err;
    }

    e->text[0] = text[0];
    e->text[1] = text[1];
    e->len = len;
    e->v = *v;
    e->vslot = NULL;

    *vc = e;

    return NULL;
}


/*
 * A check: its slot, then its client version (found, or taken among the
 * free ones while fewer than "versions" are taken, otherwise "other"),
 * then the client key in that version's sketch.
 */

void
ngx_http_staged_update_count(ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_slot_t *slot, ngx_uint_t granted,
    ngx_http_staged_update_version_t *v, uint64_t *key,
    ngx_http_staged_update_vcache_t *vc)
{
    u_char                              rank;
    uint32_t                            idx;
    uint64_t                            h;
    ngx_uint_t                          i, probes, spin, shift;
    ngx_atomic_t                       *word;
    ngx_atomic_uint_t                   hv, cur, k, old, state;
    ngx_http_staged_update_vslot_t     *s;
    ngx_http_staged_update_counters_t  *c;

    (void) ngx_atomic_fetch_add(&slot->n[granted], 1);

    c = track->counters;

    if (c->sh == NULL) {
        return;
    }

    if (vc && vc->vslot) {
        s = vc->vslot;
        goto found;
    }

    /* the hash as the atomics hold it, never 0 (a free slot) */

    hv = (ngx_atomic_uint_t) ngx_http_staged_update_version_hash(v->part);

    if (hv == 0) {
        hv = 1;
    }

    i = hv & (c->cap - 1);

    for (probes = 0; probes < c->cap; probes++, i = (i + 1) & (c->cap - 1)) {
        s = &c->vslots[i];
        cur = s->hash;

        if (cur == 0) {

            if (c->sh->used >= c->versions) {
                break;
            }

            k = ngx_atomic_fetch_add(&c->sh->used, 1);

            if (k >= c->versions) {
                break;
            }

            if (ngx_atomic_cmp_set(&s->hash, 0, hv)) {
                s->part[0] = v->part[0];
                s->part[1] = v->part[1];
                s->part[2] = v->part[2];
                s->part[3] = v->part[3];
                ngx_memory_barrier();
                s->state = (k < c->installations) ? 2 + k : 1;
                goto found;
            }

            /* another process took this one meanwhile */

            cur = s->hash;
        }

        if (cur != hv) {
            continue;
        }

        for (spin = 0; s->state == 0 && spin < 1000; spin++) {
            ngx_cpu_pause();
        }

        if (s->state
            && s->part[0] == v->part[0] && s->part[1] == v->part[1]
            && s->part[2] == v->part[2] && s->part[3] == v->part[3])
        {
            goto found;
        }
    }

    /* not found, and no room left: "other" (not remembered in the cache:
     * another process may be writing this very version into the table) */

    (void) ngx_atomic_fetch_add(&c->sh->other, 1);
    return;

found:

    if (vc) {
        vc->vslot = s;
    }

    (void) ngx_atomic_fetch_add(&s->checks, 1);

    state = s->state;

    if (state < 2 || key == NULL) {
        return;
    }

    /* the register only grows: a CAS of its word while it is below */

    h = *key;
    idx = ngx_http_staged_update_hll_index(h);
    rank = ngx_http_staged_update_hll_rank(h);

    word = (ngx_atomic_t *) (c->sketches
                             + (state - 2) * NGX_HTTP_STAGED_UPDATE_HLL_M
                             + (idx & ~(sizeof(ngx_atomic_t) - 1)));
    shift = (idx & (sizeof(ngx_atomic_t) - 1)) * 8;

    for ( ;; ) {
        old = *word;

        if (((old >> shift) & 0xff) >= rank) {
            return;
        }

        if (ngx_atomic_cmp_set(word, old,
                               (old & ~((ngx_atomic_uint_t) 0xff << shift))
                               | ((ngx_atomic_uint_t) rank << shift)))
        {
            return;
        }
    }
}


void
ngx_http_staged_update_count_error(ngx_http_staged_update_track_t *track,
    ngx_uint_t e)
{
    if (track->counters->sh && e < NGX_HTTP_STAGED_UPDATE_NERRORS) {
        (void) ngx_atomic_fetch_add(&track->counters->sh->errors[e], 1);
    }
}


ngx_atomic_t *
ngx_http_staged_update_count_download(ngx_http_staged_update_track_t *track,
    u_char *token, size_t len)
{
    u_char                            *p;
    ngx_uint_t                         i;
    ngx_http_staged_update_release_t  *rel;

    if (track->counters->sh == NULL) {
        return NULL;
    }

    p = ngx_strlchr(token, token + len, '~');

    if (p == NULL) {
        return NULL;
    }

    len = p - token;
    rel = track->releases.elts;

    for (i = 0; i < track->releases.nelts; i++) {
        if (rel[i].version.len == len
            && ngx_strncmp(rel[i].version.data, token, len) == 0)
        {
            return track->counters->downloads[i];
        }
    }

    return NULL;
}


void
ngx_http_staged_update_vslot_version(ngx_http_staged_update_vslot_t *s,
    ngx_http_staged_update_version_t *v)
{
    v->part[0] = (uint32_t) s->part[0];
    v->part[1] = (uint32_t) s->part[1];
    v->part[2] = (uint32_t) s->part[2];
    v->part[3] = (uint32_t) s->part[3];
}
