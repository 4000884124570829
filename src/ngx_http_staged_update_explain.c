
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * staged_update_explain: the answer a check with the same input gets, and
 * why, step by step, in JSON, for a support engineer.  It reads the input
 * as a check does (ngx_http_staged_update_validate()), walks the same
 * decision (ngx_http_staged_update_decide_steps()), draws the same sticky
 * bucket, and is never counted: it issues no tokens and sets no variables.
 */


#include "ngx_http_staged_update_explain.h"
#include "ngx_http_staged_update_handler.h"
#include "ngx_http_staged_update_release.h"
#include "ngx_http_staged_update_override.h"
#include "ngx_http_staged_update_state.h"
#include "ngx_http_staged_update_shape.h"


/* the text of an explanation but for the file names and the artifact */
#define NGX_HTTP_STAGED_UPDATE_EXPLAIN_LEN  4096


typedef struct {
    ngx_http_staged_update_track_t       *track;
    ngx_str_t                            *value;
    ngx_http_staged_update_version_t      v;
    ngx_http_staged_update_decision_t     d;
    ngx_http_staged_update_steps_t        steps;
    ngx_http_staged_update_release_t     *rel;
    ngx_http_staged_update_decision_t     conf;     /* before overrides */
    ngx_uint_t                            manual;
} ngx_http_staged_update_explain_t;


static u_char *ngx_http_staged_update_explain_input(u_char *p, u_char *last,
    ngx_str_t *value);
static u_char *ngx_http_staged_update_explain_step(u_char *p, u_char *last,
    ngx_http_staged_update_explain_t *x, ngx_http_staged_update_step_t *s);
static u_char *ngx_http_staged_update_explain_override(u_char *p,
    u_char *last, ngx_http_staged_update_explain_t *x);
static u_char *ngx_http_staged_update_explain_draw(u_char *p, u_char *last,
    ngx_http_staged_update_explain_t *x);
static u_char *ngx_http_staged_update_explain_upgrade(u_char *p, u_char *last,
    ngx_http_staged_update_explain_t *x);
static u_char *ngx_http_staged_update_explain_version(u_char *p, u_char *last,
    const ngx_http_staged_update_version_t *v);
static u_char *ngx_http_staged_update_explain_pct(u_char *p, u_char *last,
    uint32_t pct);


/* by NGX_HTTP_STAGED_UPDATE_STEP_* */

static ngx_str_t  ngx_http_staged_update_explain_steps[] = {
    ngx_string("latest"),
    ngx_string("server latest"),
    ngx_string("minimum"),
    ngx_string("rule"),
    ngx_string("default")
};


ngx_int_t
ngx_http_staged_update_explain_handler(ngx_http_request_t *r)
{
    u_char                                *buf, *p, *last;
    size_t                                 len;
    uint32_t                               i;
    ngx_int_t                              rc;
    ngx_str_t                              value[NGX_HTTP_STAGED_UPDATE_NINPUTS];
    ngx_str_t                              part;
    ngx_uint_t                             e;
    ngx_http_staged_update_step_t         *s;
    ngx_http_staged_update_origin_t       *o;
    ngx_http_staged_update_explain_t       x;
    ngx_http_staged_update_loc_conf_t     *slcf;
    const ngx_http_staged_update_scope_t  *server;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_staged_update_module);

    x.track = slcf->explain;
    x.value = value;

    rc = ngx_http_staged_update_validate(r, slcf, x.track, value, &x.v,
                                         &server, &e);

    if (rc == NGX_DECLINED) {
        return ngx_http_staged_update_refuse(r, e);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_staged_update_decide_steps(x.track->shared, server, &x.v, &x.d,
                                        &x.steps);

    /* a ramp's step now, the live overrides and a manual check, as the
     * check applies them */

    x.d.pct = ngx_http_staged_update_pct_now(x.track, x.d.pct);
    x.conf = x.d;
    ngx_http_staged_update_state_apply(x.track, &x.d);

    x.manual = value[NGX_HTTP_STAGED_UPDATE_MANUAL].len
               && ngx_http_staged_update_truthy(
                      value[NGX_HTTP_STAGED_UPDATE_MANUAL].data,
                      value[NGX_HTTP_STAGED_UPDATE_MANUAL].len);

    x.rel = (ngx_http_staged_update_release_t *) x.track->releases.elts
            + x.d.scope->release;

    /* the size: the fixed text, the rule's file name, the artifact */

    len = NGX_HTTP_STAGED_UPDATE_EXPLAIN_LEN + x.rel->version.len;

    for (i = 0; i < x.steps.n; i++) {
        s = &x.steps.step[i];

        if (s->rule) {
            o = &x.track->origins[ngx_http_staged_update_rule_index(
                                      x.track->shared, s->rule)];
            len += ngx_http_staged_update_json_str(NULL, o->file,
                                                   ngx_strlen(o->file));
        }
    }

    part.len = 0;

    for (i = 0; i < x.rel->nartifacts; i++) {
        part.len = ngx_max(part.len, x.rel->artifacts[i].part.len);
    }

    len += part.len;

    if (x.track->shape) {
        len += ngx_http_staged_update_shape_json_len(x.track);
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = buf;
    last = buf + len;

    p = ngx_slprintf(p, last, "{\"track\":\"%V\",\"input\":", &x.track->name);
    p = ngx_http_staged_update_explain_input(p, last, value);

    p = ngx_slprintf(p, last, ",\"version\":\"");
    p = ngx_http_staged_update_explain_version(p, last, &x.v);
    p = ngx_slprintf(p, last, "\"");

    p = ngx_slprintf(p, last, ",\"scope\":{\"type\":\"%s\",\"name\":\"%*s\"}",
                     x.d.scope == &x.track->shared->track ? "track"
                                                          : "server",
                     (size_t) x.d.scope->name_len,
                     ngx_http_staged_update_str(x.track->shared,
                                                x.d.scope->name));

    p = ngx_slprintf(p, last, ",\"steps\":[");

    for (i = 0; i < x.steps.n; i++) {
        if (i) {
            p = ngx_slprintf(p, last, ",");
        }

        p = ngx_http_staged_update_explain_step(p, last, &x,
                                                &x.steps.step[i]);
    }

    p = ngx_http_staged_update_explain_override(p, last, &x);

    /* what the check's X-Update-Rule and X-Update-Percent say */

    p = ngx_slprintf(p, last, "],\"rule\":\"%*s:",
                     (size_t) x.d.scope->name_len,
                     ngx_http_staged_update_str(x.track->shared,
                                                x.d.scope->name));

    if (x.d.rule) {
        p = ngx_slprintf(p, last, "%*s\"", (size_t) x.d.rule->text_len,
                         ngx_http_staged_update_str(x.track->shared,
                                                    x.d.rule->text));

    } else {
        p = ngx_slprintf(p, last, "%V\"",
                         &ngx_http_staged_update_reasons[x.d.reason]);
    }

    p = ngx_slprintf(p, last, ",\"percent\":");
    p = ngx_http_staged_update_explain_pct(p, last, x.d.pct);

    p = ngx_http_staged_update_explain_draw(p, last, &x);

    p = ngx_slprintf(p, last, ",\"target\":\"%V\",\"mandatory\":%s",
                     &x.rel->version,
                     x.d.reason == NGX_HTTP_STAGED_UPDATE_MINIMUM
                     ? "true" : "false");

    p = ngx_http_staged_update_explain_upgrade(p, last, &x);

    /* the rate caps a grant must fit, and the ramps' steps in force */

    if (x.track->shape && last - p
        > (ssize_t) ngx_http_staged_update_shape_json_len(x.track) + 10)
    {
        p = ngx_cpymem(p, ",\"shape\":", sizeof(",\"shape\":") - 1);
        p = ngx_http_staged_update_shape_json(p, x.track, ngx_time());
    }

    p = ngx_slprintf(p, last, "}\n");

    if (ngx_http_staged_update_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    part.data = buf;
    part.len = p - buf;

    return ngx_http_staged_update_send(r, &part, 1);
}


/* the values as the request gave them; they passed the check's validation */

static u_char *
ngx_http_staged_update_explain_input(u_char *p, u_char *last,
    ngx_str_t *value)
{
    static const char  *names[] = { "version", "server", "client", "manual" };

    ngx_uint_t  k;

    for (k = 0; k < NGX_HTTP_STAGED_UPDATE_NINPUTS; k++) {
        p = ngx_slprintf(p, last, "%s\"%s\":", k ? "," : "{", names[k]);

        if (value[k].len) {
            p = ngx_slprintf(p, last, "\"%V\"", &value[k]);

        } else {
            p = ngx_slprintf(p, last, "null");
        }
    }

    return ngx_slprintf(p, last, "}");
}


/* one step of the decision: what was compared, and what followed */

static u_char *
ngx_http_staged_update_explain_step(u_char *p, u_char *last,
    ngx_http_staged_update_explain_t *x, ngx_http_staged_update_step_t *s)
{
    const char                       *outcome;
    ngx_http_staged_update_origin_t  *o;

    p = ngx_slprintf(p, last, "{\"step\":\"%V\",\"table\":\"%*s\"",
                     &ngx_http_staged_update_explain_steps[s->what],
                     (size_t) s->scope->name_len,
                     ngx_http_staged_update_str(x->track->shared,
                                                s->scope->name));

    switch (s->what) {

    case NGX_HTTP_STAGED_UPDATE_STEP_LATEST:
    case NGX_HTTP_STAGED_UPDATE_STEP_SERVER:
    case NGX_HTTP_STAGED_UPDATE_STEP_MINIMUM:

        if (s->what == NGX_HTTP_STAGED_UPDATE_STEP_MINIMUM) {
            outcome = (s->cmp < 0) ? "mandatory upgrade" : "go on";

        } else {
            outcome = (s->cmp >= 0) ? "no upgrade" : "go on";
        }

        p = ngx_slprintf(p, last, ",\"bound\":\"");
        p = ngx_http_staged_update_explain_version(p, last, s->bound);
        p = ngx_slprintf(p, last, "\",\"compare\":\"");
        p = ngx_http_staged_update_explain_version(p, last, &x->v);
        p = ngx_slprintf(p, last, " %s ",
                         s->cmp < 0 ? "<" : (s->cmp == 0 ? "=" : ">"));
        p = ngx_http_staged_update_explain_version(p, last, s->bound);

        return ngx_slprintf(p, last, "\",\"outcome\":\"%s\"}", outcome);

    case NGX_HTTP_STAGED_UPDATE_STEP_RULE:

        p = ngx_slprintf(p, last, ",\"rules\":%uD,\"match\":",
                         s->scope->nrules);

        if (s->rule == NULL) {
            return ngx_slprintf(p, last, "null,\"outcome\":\"go on\"}");
        }

        o = &x->track->origins[ngx_http_staged_update_rule_index(
                                   x->track->shared, s->rule)];

        p = ngx_slprintf(p, last, "{\"pattern\":\"%*s\",\"percent\":",
                         (size_t) s->rule->text_len,
                         ngx_http_staged_update_str(x->track->shared,
                                                    s->rule->text));
        p = ngx_http_staged_update_explain_pct(p, last,
                ngx_http_staged_update_pct_now(x->track, s->rule->pct));
        p = ngx_slprintf(p, last, ",\"file\":");

        if (last - p > (ssize_t) ngx_http_staged_update_json_str(NULL,
                                           o->file, ngx_strlen(o->file)))
        {
            p += ngx_http_staged_update_json_str(p, o->file,
                                                 ngx_strlen(o->file));
        }

        return ngx_slprintf(p, last, ",\"line\":%ui},\"outcome\":"
                            "\"the rule's percentage\"}", o->line);

    default: /* NGX_HTTP_STAGED_UPDATE_STEP_DEFAULT */

        p = ngx_slprintf(p, last, ",\"percent\":");
        p = ngx_http_staged_update_explain_pct(p, last,
                ngx_http_staged_update_pct_now(x->track, s->scope->pct));

        return ngx_slprintf(p, last, ",\"outcome\":\"the default "
                            "percentage\"}");
    }
}


/*
 * A live override that changed the decision (staged_update_api): a pause
 * or a halt, or a percentage other than nginx.conf's.
 */

static u_char *
ngx_http_staged_update_explain_override(u_char *p, u_char *last,
    ngx_http_staged_update_explain_t *x)
{
    const char  *outcome;

    if (x->d.reason == x->conf.reason && x->d.pct == x->conf.pct) {
        return p;
    }

    switch (x->d.reason) {

    case NGX_HTTP_STAGED_UPDATE_HALTED:
        outcome = "halted: no upgrade";
        break;

    case NGX_HTTP_STAGED_UPDATE_PAUSED:
        outcome = "paused: no optional upgrade";
        break;

    default:
        outcome = "the live percentage";
    }

    p = ngx_slprintf(p, last, ",{\"step\":\"override\",\"table\":\"%*s\","
                     "\"configured\":",
                     (size_t) x->d.scope->name_len,
                     ngx_http_staged_update_str(x->track->shared,
                                                x->d.scope->name));
    p = ngx_http_staged_update_explain_pct(p, last, x->conf.pct);
    p = ngx_slprintf(p, last, ",\"percent\":");
    p = ngx_http_staged_update_explain_pct(p, last, x->d.pct);

    return ngx_slprintf(p, last, ",\"outcome\":\"%s\"}", outcome);
}


/*
 * The draw, as the check makes it: with a client key its sticky bucket,
 * compared with the percentage in hundredths; without, what a fresh
 * random draw would be compared with.  Then the decision.
 */

static u_char *
ngx_http_staged_update_explain_draw(u_char *p, u_char *last,
    ngx_http_staged_update_explain_t *x)
{
    uint32_t     bucket, pct;
    ngx_str_t   *client;
    const char  *decision, *granted;

    client = &x->value[NGX_HTTP_STAGED_UPDATE_CLIENT];
    pct = x->d.pct;

    granted = (x->d.reason == NGX_HTTP_STAGED_UPDATE_MINIMUM) ? "mandatory"
                                                              : "upgrade";

    if (x->manual && pct != 0) {
        decision = granted;

        p = ngx_slprintf(p, last, ",\"draw\":{\"type\":\"manual\","
                         "\"threshold\":%uD,\"compare\":\"a manual check "
                         "skips the draw\"}", pct);

    } else if (client->len) {
        bucket = ngx_http_staged_update_bucket(x->rel->salt, client->data,
                                               client->len);

        decision = ngx_http_staged_update_granted(bucket, pct) ? granted
                                                               : "none";

        p = ngx_slprintf(p, last, ",\"draw\":{\"type\":\"sticky\","
                         "\"hashed\":\"%V/%V/%V\",\"bucket\":%uD,"
                         "\"threshold\":%uD,\"compare\":\"%uD %s %uD\"}",
                         &x->track->name, &x->rel->version, client, bucket,
                         pct, bucket,
                         ngx_http_staged_update_granted(bucket, pct)
                         ? "<" : ">=", pct);

    } else {
        if (pct == 0) {
            decision = "none";

        } else if (pct == NGX_HTTP_STAGED_UPDATE_PCT_MAX) {
            decision = granted;

        } else {
            decision = "random";
        }

        p = ngx_slprintf(p, last, ",\"draw\":{\"type\":\"random\","
                         "\"threshold\":%uD,\"compare\":\"a random bucket "
                         "0..9999 < %uD\"}", pct, pct);
    }

    return ngx_slprintf(p, last, ",\"decision\":\"%s\"", decision);
}


/*
 * What an upgrade would point to: the artifact that takes this version to
 * the target (a delta from it, else the full archive, else none), with
 * its URL as the check's answer gives it, less the token.  None when the
 * percentage is 0: no upgrade can be drawn.
 */

static u_char *
ngx_http_staged_update_explain_upgrade(u_char *p, u_char *last,
    ngx_http_staged_update_explain_t *x)
{
    ngx_int_t                           a;
    ngx_http_staged_update_artifact_t  *art;

    if (x->d.pct == 0) {
        return ngx_slprintf(p, last, ",\"upgrade\":null");
    }

    p = ngx_slprintf(p, last, ",\"upgrade\":{\"version\":\"%V\","
                     "\"token\":%s", &x->rel->version,
                     x->track->token.on ? "true" : "false");

    a = ngx_http_staged_update_release_artifact(x->rel, &x->v);

    if (a == -1) {
        return ngx_slprintf(p, last, ",\"url\":null,\"artifact\":null}");
    }

    art = &x->rel->artifacts[a];

    /* ,"url":"...","artifact":{"type":...} as in the manifest */

    return ngx_slprintf(p, last, "%V}", &art->part);
}


static u_char *
ngx_http_staged_update_explain_version(u_char *p, u_char *last,
    const ngx_http_staged_update_version_t *v)
{
    size_t  len;
    u_char  buf[NGX_HTTP_STAGED_UPDATE_VERSION_MAXLEN];

    len = ngx_http_staged_update_version_print(buf, v);

    return ngx_slprintf(p, last, "%*s", len, buf);
}


static u_char *
ngx_http_staged_update_explain_pct(u_char *p, u_char *last, uint32_t pct)
{
    u_char  buf[NGX_HTTP_STAGED_UPDATE_PCT_LEN];

    return ngx_slprintf(p, last, "\"%*s\"",
                        ngx_http_staged_update_pct_print(buf, pct), buf);
}
