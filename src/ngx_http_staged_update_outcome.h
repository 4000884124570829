
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * Install reports (issue 11), the pure part: a report's JSON body, the
 * fields of the download token that proves the grant, the rule of which
 * results of one client count, and the one-sided Wilson bound of the
 * automatic halt.
 *
 * Pure logic: jansson and libm, no running nginx (see tests/unit and
 * fuzz/fuzz_outcome.c).
 */


#ifndef _NGX_HTTP_STAGED_UPDATE_OUTCOME_H_INCLUDED_
#define _NGX_HTTP_STAGED_UPDATE_OUTCOME_H_INCLUDED_


#include "ngx_http_staged_update_version.h"
#include "ngx_http_staged_update_table.h"
#include "ngx_http_staged_update_token.h"


#define NGX_HTTP_STAGED_UPDATE_INSTALLED     0
#define NGX_HTTP_STAGED_UPDATE_STARTED       1
#define NGX_HTTP_STAGED_UPDATE_FAILED        2
#define NGX_HTTP_STAGED_UPDATE_ROLLED_BACK   3
#define NGX_HTTP_STAGED_UPDATE_NRESULTS      4

#define NGX_HTTP_STAGED_UPDATE_REASON_MAXLEN 128
#define NGX_HTTP_STAGED_UPDATE_REPORT_MAX    8192   /* a body, in bytes */


typedef struct {
    ngx_http_staged_update_version_t   version;   /* the one it went to */
    ngx_http_staged_update_version_t   from;      /* the one it came from */
    uint32_t                           result;
    size_t                             reason_len;
    size_t                             client_len;
    size_t                             server_len;  /* 0: none */
    size_t                             path_len;    /* of the grant */
    size_t                             token_len;   /* 0: no proof */
    u_char                             reason[128];  /* REASON_MAXLEN */
    u_char                             client[128];
    u_char                             server[64];   /* ID_MAXLEN */
    u_char                             path[4096];   /* PATH_MAXLEN */
    u_char                             token[240];   /* TOKEN_MAXLEN */
} ngx_http_staged_update_outcome_t;


/* "installed", "started", "failed", "rolled-back" */
extern const char  *ngx_http_staged_update_result_names[];

/*
 * A report: {"version":"2.0.0","from":"1.9.0","result":"started",
 * "reason":"...","client":"K","server":"shard-1","grant":"<a URL of the
 * upgrade answer, with its token>"}; reason and server optional.  The
 * grant's path (after an optional scheme and host) is percent-decoded,
 * and its token= too; without a grant or a token, token_len is 0 (the
 * caller refuses it with a 403).  Returns NULL, or a sentence in err.
 */
const char *ngx_http_staged_update_outcome_parse(const u_char *body,
    size_t len, ngx_http_staged_update_outcome_t *o, char *err,
    size_t errlen);

/*
 * The version and client fields of a token "<version>~<expires>[~<client>]
 * ~<mac>" (client_len 0: none).  Returns 0 if it has not that shape.
 */
int ngx_http_staged_update_token_fields(const u_char *token, size_t len,
    const u_char **version, size_t *version_len, const u_char **client,
    size_t *client_len);

/*
 * One client's results for one target, as bits (1 << result): a result
 * counts once; the client is one outcome of the halt's sample, a failure
 * if it ever reported failed or rolled-back, else a success once it
 * reported started.  Applies result to *mask; returns 0 for a repeat
 * (nothing changes), else 1 with the changes of the sample: *dn (0 or 1,
 * one more outcome) and *dk (0 or 1, one more failure).
 */
int ngx_http_staged_update_outcome_apply(uint32_t *mask, uint32_t result,
    uint32_t *dn, uint32_t *dk);

/* the z of a one-sided confidence c (0.5 < c < 1), e.g. 1.6449 for 0.95 */
double ngx_http_staged_update_z(double c);

/* the lower end of Wilson's score interval of k failures in n, at z */
double ngx_http_staged_update_wilson_lower(uint64_t k, uint64_t n, double z);

/*
 * The halt rule: at least min outcomes and the lower bound of the failure
 * rate above threshold (in hundredths of a percent, 500 = 5%).
 */
int ngx_http_staged_update_halt_due(uint64_t k, uint64_t n, uint32_t threshold,
    uint64_t min, double z);


#endif /* _NGX_HTTP_STAGED_UPDATE_OUTCOME_H_INCLUDED_ */
