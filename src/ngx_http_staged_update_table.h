
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * The probability tables of a release track and the decision of SYSTEM.md.
 *
 * A track's tables are built once, at configuration load, into one
 * relocatable block (offsets, no pointers): the first probability table,
 * then every business server with its bounds and its second table, and a
 * hash of the server IDs.  The block is copied as it is into the shared
 * memory zone and read there by every worker without a lock.
 *
 * Pure logic: this file needs no running nginx (see tests/unit and fuzz/).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_TABLE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_TABLE_H_INCLUDED_


#include "ngx_http_staged_update_version.h"


/* percentages are kept in hundredths of a percent: 0 .. 10000 */
#define NGX_HTTP_STAGED_UPDATE_PCT_MAX      10000

/* "100.00" */
#define NGX_HTTP_STAGED_UPDATE_PCT_LEN      6

#define NGX_HTTP_STAGED_UPDATE_ID_MAXLEN    64


/* why a decision was taken */
#define NGX_HTTP_STAGED_UPDATE_LATEST       0    /* at or above latest */
#define NGX_HTTP_STAGED_UPDATE_MINIMUM      1    /* below minimum */
#define NGX_HTTP_STAGED_UPDATE_RULE         2    /* a rule's percentage */
#define NGX_HTTP_STAGED_UPDATE_DEFAULT      3    /* the default */


typedef struct {
    ngx_http_staged_update_range_t    range;
    uint32_t                          pct;
    uint32_t                          text;      /* offset in the block */
    uint32_t                          text_len;
} ngx_http_staged_update_rule_t;


/* a track's own table, or a business server's */

typedef struct {
    ngx_http_staged_update_version_t  latest;
    ngx_http_staged_update_version_t  minimum;
    uint32_t                          pct;       /* the default */
    uint32_t                          release;   /* the caller's index */
    uint32_t                          nrules;
    uint32_t                          rules;     /* offset in the block */
    uint32_t                          name;      /* offset in the block */
    uint32_t                          name_len;
    uint32_t                          next;      /* server index + 1 */
} ngx_http_staged_update_scope_t;


typedef struct {
    uint32_t                          size;      /* of the whole block */
    uint32_t                          nservers;
    uint32_t                          servers;   /* offset in the block */
    uint32_t                          mask;      /* buckets - 1 */
    uint32_t                          buckets;   /* offset in the block */
    ngx_http_staged_update_scope_t    track;
} ngx_http_staged_update_table_t;


/* what the configuration gives the builder */

typedef struct {
    ngx_http_staged_update_range_t    range;
    uint32_t                          pct;
    const u_char                     *text;
    size_t                            text_len;
    uintptr_t                         data;      /* the caller's, e.g. line */
    const u_char                     *file;      /* the caller's */
} ngx_http_staged_update_rule_spec_t;


typedef struct {
    const u_char                         *name;
    size_t                                name_len;
    ngx_http_staged_update_version_t      latest;
    ngx_http_staged_update_version_t      minimum;
    uint32_t                              pct;
    uint32_t                              release;
    ngx_http_staged_update_rule_spec_t   *rules;
    size_t                                nrules;
} ngx_http_staged_update_scope_spec_t;


typedef struct {
    const ngx_http_staged_update_scope_t  *scope;  /* whose table decided */
    const ngx_http_staged_update_rule_t   *rule;   /* NULL but for RULE */
    uint32_t                               pct;
    uint32_t                               reason;
} ngx_http_staged_update_decision_t;


/*
 * The steps of a decision, as ngx_http_staged_update_decide_steps() walks
 * them, for staged_update_explain: each bound compared, the rule lookup,
 * the default.  The last step is the one that decided.
 */

#define NGX_HTTP_STAGED_UPDATE_STEP_LATEST   0  /* v against the track's */
#define NGX_HTTP_STAGED_UPDATE_STEP_SERVER   1  /* v against the server's */
#define NGX_HTTP_STAGED_UPDATE_STEP_MINIMUM  2  /* v against the minimum */
#define NGX_HTTP_STAGED_UPDATE_STEP_RULE     3  /* the table's rules */
#define NGX_HTTP_STAGED_UPDATE_STEP_DEFAULT  4  /* the table's default */

#define NGX_HTTP_STAGED_UPDATE_STEPS_MAX     8

typedef struct {
    uint32_t                                 what;
    int                                      cmp;    /* v against bound */
    const ngx_http_staged_update_scope_t    *scope;
    const ngx_http_staged_update_version_t  *bound;  /* NULL: no bound */
    const ngx_http_staged_update_rule_t     *rule;   /* RULE: found */
} ngx_http_staged_update_step_t;


typedef struct {
    ngx_http_staged_update_step_t   step[NGX_HTTP_STAGED_UPDATE_STEPS_MAX];
    uint32_t                        n;
} ngx_http_staged_update_steps_t;


/* a server ID or a client key: letters, digits, ".", "_", "-", ":" */
int ngx_http_staged_update_safe(const u_char *p, size_t len, size_t max);

/*
 * A client key checked as ngx_http_staged_update_safe() does, and in the
 * same pass its hash for the installations sketch, in *h: the same value
 * as ngx_http_staged_update_hll_hash() (FNV-1a, then the finalizer).
 */
int ngx_http_staged_update_key_hash(const u_char *p, size_t len, size_t max,
    uint64_t *h);

const char *ngx_http_staged_update_pct_parse(const u_char *p, size_t len,
    uint32_t *pct);
size_t ngx_http_staged_update_pct_print(u_char *buf, uint32_t pct);

/*
 * Sorts the rules of one table by their start and merges overlapping
 * rules of equal percentage.  Returns the new number of rules, or -1 and
 * the two rules that overlap with different percentages in *a and *b.
 */
ssize_t ngx_http_staged_update_rules_sort(
    ngx_http_staged_update_rule_spec_t *rules, size_t n,
    ngx_http_staged_update_rule_spec_t *a,
    ngx_http_staged_update_rule_spec_t *b);

size_t ngx_http_staged_update_table_size(
    const ngx_http_staged_update_scope_spec_t *track,
    const ngx_http_staged_update_scope_spec_t *servers, size_t nservers);

/*
 * Builds the block into buf (table_size() bytes, aligned for uint32_t).
 * The rules must be sorted.  Returns NULL, or the index of a server whose
 * ID is given twice in *dup and a sentence.
 */
const char *ngx_http_staged_update_table_build(void *buf,
    const ngx_http_staged_update_scope_spec_t *track,
    const ngx_http_staged_update_scope_spec_t *servers, size_t nservers,
    size_t *dup);

const ngx_http_staged_update_scope_t *ngx_http_staged_update_table_server(
    const ngx_http_staged_update_table_t *t, const u_char *id, size_t len);

void ngx_http_staged_update_decide(const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *server,
    const ngx_http_staged_update_version_t *v,
    ngx_http_staged_update_decision_t *d);

/* the same decision, with its steps */
void ngx_http_staged_update_decide_steps(
    const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *server,
    const ngx_http_staged_update_version_t *v,
    ngx_http_staged_update_decision_t *d,
    ngx_http_staged_update_steps_t *steps);

/* a rule's index among all rules of the block, in the order of the specs */
uint32_t ngx_http_staged_update_rule_index(
    const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_rule_t *rule);

/*
 * Sticky bucketing: the bucket 0 .. 9999 of a client key; the state of
 * the hash after the salt (the track and the target) is computed once.
 * An upgrade is granted when the bucket is below the percentage.
 */
uint64_t ngx_http_staged_update_hash_init(const u_char *salt, size_t len);
uint32_t ngx_http_staged_update_bucket(uint64_t state, const u_char *key,
    size_t len);

/* the draw: an upgrade when the bucket (sticky or random) is below pct */
#define ngx_http_staged_update_granted(bucket, pct)  ((bucket) < (pct))


#define ngx_http_staged_update_str(t, off)                                    \
    ((const u_char *) (t) + (off))

/* a scope's index in its table: 0 the track's own, 1 + i server i */
#define ngx_http_staged_update_scope_index(t, s)                              \
    ((s) == &(t)->track ? 0                                                   \
     : 1 + (uint32_t) ((s) - (const ngx_http_staged_update_scope_t *)         \
                             ((const u_char *) (t) + (t)->servers)))


#endif /* _NGX_HTTP_STAGED_UPDATE_TABLE_H_INCLUDED_ */
