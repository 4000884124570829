
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Live overrides of a track's tables (issue 9): pause, halt, a changed
 * default or rule percentage.  An override is kept by name (the server ID,
 * the rule's pattern as written), so that it outlives a reload that
 * rebuilds the tables, and with the configured percentage it replaced, so
 * that a changed nginx.conf wins over it.
 *
 * Pure logic: the PATCH body and the state file are parsed with jansson;
 * no running nginx is needed (see tests/unit and fuzz/fuzz_override.c).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_OVERRIDE_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_OVERRIDE_H_INCLUDED_


#include "ngx_http_staged_update_table.h"
#include "ngx_http_staged_update_json.h"
#include "ngx_http_staged_update_rate.h"


#define NGX_HTTP_STAGED_UPDATE_OV_PAUSED        0
#define NGX_HTTP_STAGED_UPDATE_OV_HALTED        1
#define NGX_HTTP_STAGED_UPDATE_OV_DEFAULT       2
#define NGX_HTTP_STAGED_UPDATE_OV_RULE          3
#define NGX_HTTP_STAGED_UPDATE_OV_RATE          4

#define NGX_HTTP_STAGED_UPDATE_PATTERN_MAXLEN   96
#define NGX_HTTP_STAGED_UPDATE_FROM_MAXLEN      64

/* the fields of one PATCH, rules included */
#define NGX_HTTP_STAGED_UPDATE_PATCH_MAX        64

#define NGX_HTTP_STAGED_UPDATE_ERR_LEN          256


typedef struct {
    uint32_t    kind;
    uint32_t    value;      /* the percentage; 1 for paused, halted;
                               a rate: thousandths of a grant a second */
    uint32_t    conf;       /* the configured percentage (rate) replaced */
    uint32_t    remove;     /* PATCH: null or false, back to nginx.conf */
    uint32_t    burst;      /* a rate's burst, 0: the default */
    int64_t     when;       /* seconds since the epoch */
    uint32_t    server_len; /* 0: the track's own table */
    uint32_t    pattern_len;
    uint32_t    from_len;
    u_char      server[NGX_HTTP_STAGED_UPDATE_ID_MAXLEN];
    u_char      pattern[NGX_HTTP_STAGED_UPDATE_PATTERN_MAXLEN];
    u_char      from[NGX_HTTP_STAGED_UPDATE_FROM_MAXLEN];
} ngx_http_staged_update_ov_t;


typedef int (*ngx_http_staged_update_track_pt)(void *data,
    const u_char *name, size_t len, uint32_t etag, int64_t paused,
    int64_t at);
typedef int (*ngx_http_staged_update_ov_pt)(void *data,
    const ngx_http_staged_update_ov_t *ov);


/* "1", "true", "yes", "on" in any case: a manual check */
int ngx_http_staged_update_truthy(const u_char *p, size_t len);

/*
 * A PATCH body: {"paused": bool, "halted": bool, "default": "5%" | null,
 * "rules": {"<pattern>": "10%" | null, ...}, "rate": "200/s" | "0/s" |
 * null, "burst": N}, every field optional, at least one ("burst" only
 * with a rate).  Fills ov[0 .. *n - 1] (at most max); server, conf, when
 * and from are left to the caller.  Returns NULL, or a sentence in err.
 */
const char *ngx_http_staged_update_patch_parse(const u_char *body,
    size_t len, ngx_http_staged_update_ov_t *ov, size_t max, size_t *n,
    char *err, size_t errlen);

/*
 * Checks the overrides against a scope of a table (the track's or a
 * server's): every rule pattern must be one of its rules' as written.
 * Sets each one's conf to the configured percentage.  Returns NULL, or a
 * sentence in err.
 */
const char *ngx_http_staged_update_patch_check(
    const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *scope,
    ngx_http_staged_update_ov_t *ov, size_t n, char *err, size_t errlen);

/* the rule of a scope whose pattern is p as written, or NULL */
const ngx_http_staged_update_rule_t *ngx_http_staged_update_rule_named(
    const ngx_http_staged_update_table_t *t,
    const ngx_http_staged_update_scope_t *scope, const u_char *p,
    size_t len);

/* the same override: same table, same field (and pattern) */
int ngx_http_staged_update_ov_same(const ngx_http_staged_update_ov_t *a,
    const ngx_http_staged_update_ov_t *b);

/*
 * {"server":"shard-1"|null,"field":"default","pattern":"1.7.*",
 *  "value":"5.00%","configured":"10.00%","when":"2026-...Z","from":"..."}
 * dst NULL: the length only.
 */
size_t ngx_http_staged_update_ov_json(u_char *dst,
    const ngx_http_staged_update_ov_t *ov);

/* "5.00%" (dst NULL: the length) */
size_t ngx_http_staged_update_pct_json(u_char *dst, uint32_t pct);

/*
 * "200/s", or "12000/m" for a rate of no whole grants a second: what
 * rate_parse() reads back as the same rate (dst NULL: the length)
 */
size_t ngx_http_staged_update_rate_json(u_char *dst, uint32_t rate);

/*
 * A state file: {"staged_update_state":1,"tracks":{"<name>":{"etag":N,
 * "ramp_paused":S,"ramp_at":T,"overrides":[<ov_json>, ...]}}}: S the
 * seconds its ramps' clocks were stopped at T (seconds since the epoch),
 * both optional (0).  Calls track() for each track, then ov() for each of
 * its overrides; a callback that returns non-zero stops
 * the parse (an error).  Returns NULL, or a sentence in err.
 */
const char *ngx_http_staged_update_state_parse(const u_char *p, size_t len,
    ngx_http_staged_update_track_pt track, ngx_http_staged_update_ov_pt ov,
    void *data, char *err, size_t errlen);


#endif /* _NGX_HTTP_STAGED_UPDATE_OVERRIDE_H_INCLUDED_ */
