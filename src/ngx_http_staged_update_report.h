
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Install reports and the automatic halt (issue 11), in the zone: the
 * funnel of each target per scope (the track's own table or a business
 * server): granted, downloaded, installed, started, failed, rolled back;
 * one vote per client and target; the halt_on rule.
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_REPORT_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_REPORT_H_INCLUDED_


#include "ngx_http_staged_update_module.h"
#include "ngx_http_staged_update_outcome.h"


#define NGX_HTTP_STAGED_UPDATE_C_GRANTED      0
#define NGX_HTTP_STAGED_UPDATE_C_DOWNLOADED   1
#define NGX_HTTP_STAGED_UPDATE_C_RESULT       2   /* + result: 2 .. 5 */
#define NGX_HTTP_STAGED_UPDATE_C_OUTCOMES     6
#define NGX_HTTP_STAGED_UPDATE_C_FAILURES     7
#define NGX_HTTP_STAGED_UPDATE_NCOUNTERS      8


typedef struct {
    ngx_queue_t                         queue;
    ngx_atomic_t                        c[NGX_HTTP_STAGED_UPDATE_NCOUNTERS];
    ngx_atomic_t                        tripped;   /* halt_on fired */
    uint32_t                            scope_len; /* 0: the track's */
    uint32_t                            version_len;
    u_char                              scope[NGX_HTTP_STAGED_UPDATE_ID_MAXLEN];
    u_char                              version[39];  /* VERSION_MAXLEN */
} ngx_http_staged_update_funnel_t;


/* track->report: the configuration, and this cycle's rows in the zone */

typedef struct {
    ngx_uint_t                          clients;   /* room for votes */
    time_t                              late;      /* expired tokens ok */
    ngx_array_t                         halts;     /* halt_t */
    ngx_uint_t                          located;   /* a report location */

    void                               *rec;       /* the zone's record */
    ngx_http_staged_update_funnel_t   **scopes;    /* by scope index */
    void                              **rules;     /* halt_t *, by scope */
} ngx_http_staged_update_report_conf_t;


/* the check granted an upgrade from this scope: one atomic increment */

static ngx_inline void
ngx_http_staged_update_report_grant(ngx_http_staged_update_track_t *track,
    const ngx_http_staged_update_scope_t *scope)
{
    ngx_http_staged_update_report_conf_t  *rcf = track->report;

    if (rcf == NULL || rcf->scopes == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&rcf->scopes[
               ngx_http_staged_update_scope_index(track->shared, scope)]
               ->c[NGX_HTTP_STAGED_UPDATE_C_GRANTED], 1);
}


/* staged_update_report <track> [clients=<n>] [late=<time>]; */
char *ngx_http_staged_update_report(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the nested location of limit_except answers reports too */
void ngx_http_staged_update_report_merge(ngx_conf_t *cf,
    ngx_http_staged_update_loc_conf_t *prev,
    ngx_http_staged_update_loc_conf_t *conf);

/* halt_on [<server>] failures=<percent> min=<n> [confidence=<percent>]; */
char *ngx_http_staged_update_halt_on(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track);

/* at postconfiguration: tokens bound to clients, halt_on's servers */
ngx_int_t ngx_http_staged_update_report_check(ngx_conf_t *cf,
    ngx_http_staged_update_track_t *track);

/* the zone's bytes for reports (see zone_other() in zone.c) */
size_t ngx_http_staged_update_report_size(ngx_http_staged_update_zone_t *zone);

/* init_zone: *report is the zone header's pointer (NULL: a new zone) */
ngx_int_t ngx_http_staged_update_report_init(
    ngx_http_staged_update_zone_t *zone, void **report, ngx_log_t *log);

/* staged_update_verify let a download of this path with this token in */
void ngx_http_staged_update_report_download(ngx_http_request_t *r,
    ngx_http_staged_update_track_t *track, ngx_str_t *token);

/*
 * The funnel of a track as one JSON object, for staged_update_status:
 * {"track":"game","clients":{"size":16384,"used":3,"refused":0},
 *  "funnel":[{"server":null,"version":"2.0.0","granted":..,
 *  "downloaded":..,"installed":..,"started":..,"failed":..,
 *  "rolled_back":..,"outcomes":..,"failures":..,"halted_by_rule":false,
 *  "halt_on":{...}|null}, ...]}
 */
ngx_int_t ngx_http_staged_update_report_json(ngx_pool_t *pool,
    ngx_http_staged_update_track_t *track, ngx_str_t *out);

/*
 * The funnels of all tracks with reports as Prometheus text lines (with
 * their # HELP and # TYPE): staged_update_grants_total{track,scope,
 * version}, staged_update_downloads_total{...}, staged_update_reports_total
 * {track,scope,version,outcome}, staged_update_report_outcomes_total and
 * staged_update_report_failures_total (the halt's sample).
 */
ngx_int_t ngx_http_staged_update_report_prometheus(ngx_pool_t *pool,
    ngx_http_staged_update_main_conf_t *smcf, ngx_str_t *out);


#endif /* _NGX_HTTP_STAGED_UPDATE_REPORT_H_INCLUDED_ */
