
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Counters of the checks in the shared memory zone: per scope (the track
 * or a business server) and per what decided (latest, minimum, default or
 * a rule) the checks that got no upgrade and those that got one; per
 * track the invalid checks by error, the checks per client version (a
 * bounded number of versions, then "other") with the installations per
 * version (distinct client keys, a HyperLogLog sketch), and the downloads
 * per release.
 *
 * The counters are kept by name ("<track>", "<scope>", "<rule>",
 * "<version>") in the zone, so that they outlive a reload of the same zone
 * whatever the new tables are: at load, each name of the configuration is
 * mapped to its counters (found, or allocated), and a check only adds to
 * the counters its slot points to, with atomic adds and no lock.
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_COUNTERS_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_COUNTERS_H_INCLUDED_


#include "ngx_http_staged_update_module.h"
#include "ngx_http_staged_update_hll.h"


#define NGX_HTTP_STAGED_UPDATE_NERRORS        9
/* the slots of a scope, by decision.reason: table.h's, state.h's and
 * shape.h's */
#define NGX_HTTP_STAGED_UPDATE_NREASONS       7

#define NGX_HTTP_STAGED_UPDATE_VERSIONS       64
#define NGX_HTTP_STAGED_UPDATE_INSTALLATIONS  0
#define NGX_HTTP_STAGED_UPDATE_VERSIONS_MAX   4096


/* a counter's node in the zone: its name, then its values */

typedef struct {
    ngx_str_node_t                      sn;
    ngx_uint_t                          n;       /* values */
    ngx_atomic_t                        v[1];
} ngx_http_staged_update_cnode_t;


/* what decided a check: the trace header and where it is counted */

typedef struct {
    ngx_str_t                           rule;    /* "<scope>:<what>" */
    ngx_atomic_t                       *n;       /* [0] no upgrade,
                                                    [1] an upgrade */
    uint32_t                            pct;     /* as configured */
    uint32_t                            pct_len;
    u_char                  pct_text[NGX_HTTP_STAGED_UPDATE_PCT_LEN];
} ngx_http_staged_update_slot_t;


/* a client version of the distribution, one cache line */

typedef struct {
    ngx_atomic_t                        hash;    /* 0: free */
    ngx_atomic_t                        part[NGX_HTTP_STAGED_UPDATE_VERSION_PARTS];
    ngx_atomic_t                        state;   /* 0: being written,
                                                    1: ready, 2 + k: ready
                                                    with sketch k */
    ngx_atomic_t                        checks;
    ngx_atomic_t                        pad;
} ngx_http_staged_update_vslot_t;


/* a track's counters in the zone */

typedef struct {
    ngx_atomic_t                        errors[NGX_HTTP_STAGED_UPDATE_NERRORS];
    ngx_atomic_t                        other;   /* checks of versions
                                                    beyond the table */
    ngx_atomic_t                        used;    /* versions taken */
    ngx_atomic_t                        pad[6];
    /* vslot_t[cap], then installations * HLL_M registers */
} ngx_http_staged_update_tcounters_t;


/*
 * This worker's versions read lately: a version's text (up to 16 bytes)
 * to its parsed value and its slot of the distribution, so that a check
 * of a version seen before neither parses it nor looks it up again.
 */

#define NGX_HTTP_STAGED_UPDATE_VCACHE         256

typedef struct {
    uint64_t                            text[2]; /* zero-padded */
    size_t                              len;     /* 0: free */
    ngx_http_staged_update_version_t    v;
    ngx_http_staged_update_vslot_t     *vslot;   /* NULL: not looked up */
} ngx_http_staged_update_vcache_t;


struct ngx_http_staged_update_counters_s {
    ngx_uint_t                          versions;
    ngx_uint_t                          installations;
    ngx_uint_t                          cap;     /* vslots: 2^k >= 2n */
    ngx_uint_t                          off;     /* "counters off;" */

    ngx_http_staged_update_slot_t      *scopes;  /* NREASONS per scope */
    ngx_http_staged_update_slot_t      *rules;   /* in the table's order */
    ngx_uint_t                          nscopes;
    ngx_uint_t                          nrules;

    ngx_http_staged_update_tcounters_t *sh;      /* NULL: off */
    ngx_http_staged_update_vslot_t     *vslots;
    u_char                             *sketches;
    ngx_atomic_t                      **downloads; /* per release: files,
                                                      bytes */
    ngx_atomic_t                        none[2]; /* where slots count when
                                                    off: this process's */
    ngx_http_staged_update_vcache_t    *vcache;  /* VCACHE, this worker's */
};


/* "counters [versions=<n>] [installations=<n>] | off;" in a track block */
char *ngx_http_staged_update_counters_conf(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track);

/* at the end of a track block: the slots and their trace texts */
ngx_int_t ngx_http_staged_update_counters_track(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track);

/* the bytes the counters of a zone's tracks take, at most */
size_t ngx_http_staged_update_counters_size(
    ngx_http_staged_update_zone_t *zone);

/* at init_zone, the slab mutex held: map the names to the counters */
ngx_int_t ngx_http_staged_update_counters_zone(
    ngx_http_staged_update_zone_t *zone, void **root);

/* a check's version, parsed or from the cache (*vc: its entry or NULL) */
const char *ngx_http_staged_update_version_get(
    ngx_http_staged_update_track_t *track, u_char *p, size_t len,
    ngx_http_staged_update_version_t *v, ngx_http_staged_update_vcache_t **vc);

/* key: the hash of the client key (see table.h), or NULL without one */
void ngx_http_staged_update_count(ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_slot_t *slot, ngx_uint_t granted,
    ngx_http_staged_update_version_t *v, uint64_t *key,
    ngx_http_staged_update_vcache_t *vc);
void ngx_http_staged_update_count_error(
    ngx_http_staged_update_track_t *track, ngx_uint_t e);

/* the counters of a download of a release (token text "<version>~..") */
ngx_atomic_t *ngx_http_staged_update_count_download(
    ngx_http_staged_update_track_t *track, u_char *token, size_t len);

/* a version slot's version */
void ngx_http_staged_update_vslot_version(ngx_http_staged_update_vslot_t *s,
    ngx_http_staged_update_version_t *v);

extern ngx_str_t  ngx_http_staged_update_error_names[];


/* the slot of a decision: indexed, no search */

static ngx_inline ngx_http_staged_update_slot_t *
ngx_http_staged_update_slot(ngx_http_staged_update_track_t *track,
    ngx_http_staged_update_decision_t *d)
{
    const u_char                    *base;
    ngx_http_staged_update_table_t  *t;

    t = track->shared;
    base = (const u_char *) t;

    if (d->rule) {
        return &track->counters->rules[d->rule
                   - (const ngx_http_staged_update_rule_t *)
                         (base + t->track.rules)];
    }

    if (d->scope == &t->track) {
        return &track->counters->scopes[d->reason];
    }

    return &track->counters->scopes[(d->scope
               - (const ngx_http_staged_update_scope_t *) (base + t->servers)
               + 1) * NGX_HTTP_STAGED_UPDATE_NREASONS + d->reason];
}


#endif /* _NGX_HTTP_STAGED_UPDATE_COUNTERS_H_INCLUDED_ */
