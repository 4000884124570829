
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 */


#include <string.h>

#include "ngx_http_staged_update_ramp.h"
#include "ngx_http_staged_update_version.h"
#include "ngx_http_staged_update_table.h"


static int64_t ngx_http_staged_update_days(int64_t y, int64_t m, int64_t d);
static int ngx_http_staged_update_digits(const u_char *p, size_t n,
    int64_t *v);


const char *
ngx_http_staged_update_ramp_parse(const ngx_http_staged_update_word_t *w,
    size_t n, ngx_http_staged_update_ramp_t *ramp, size_t *bad)
{
    size_t       i, k;
    const char  *err;

    memset(ramp, 0, sizeof(ngx_http_staged_update_ramp_t));

    for (i = 0; i < n; i++) {
        if (w[i].len == 5 && memcmp(w[i].data, "every", 5) == 0) {
            break;
        }

        *bad = i;

        if (i == NGX_HTTP_STAGED_UPDATE_RAMP_STEPS) {
            return "a ramp has at most 32 steps";
        }

        err = ngx_http_staged_update_pct_parse(w[i].data, w[i].len,
                                               &ramp->pct[i]);
        if (err) {
            return err;
        }

        if (i && ramp->pct[i] < ramp->pct[i - 1]) {
            return "a ramp never goes down: each step is at least the one "
                   "before";
        }
    }

    *bad = i < n ? i : n - 1;

    if (i == 0) {
        return "a ramp starts with its percentages, as in "
               "\"1% 10% 100% every 24h from 2026-12-01T00:00:00Z\"";
    }

    ramp->nsteps = (uint32_t) i;
    k = i;

    if (k + 4 != n || w[k + 2].len != 4 || memcmp(w[k + 2].data, "from", 4))
    {
        return "a ramp ends with \"every <interval> from <time>\", as in "
               "\"every 24h from 2026-12-01T00:00:00Z\"";
    }

    *bad = k + 1;

    err = ngx_http_staged_update_interval_parse(w[k + 1].data, w[k + 1].len,
                                                &ramp->every);
    if (err) {
        return err;
    }

    *bad = k + 3;

    return ngx_http_staged_update_time_parse(w[k + 3].data, w[k + 3].len,
                                             &ramp->from);
}


const char *
ngx_http_staged_update_interval_parse(const u_char *p, size_t len,
    int64_t *sec)
{
    int64_t       total, v, unit;
    size_t        digits;
    const u_char *end;

    end = p + len;
    total = 0;

    if (len == 0) {
        goto invalid;
    }

    while (p < end) {
        v = 0;
        digits = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            if (++digits > 9) {
                goto invalid;
            }

            v = v * 10 + (*p++ - '0');
        }

        if (digits == 0 || p == end) {
            goto invalid;
        }

        switch (*p++) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default:
            goto invalid;
        }

        total += v * unit;

        if (total > NGX_HTTP_STAGED_UPDATE_EVERY_MAX) {
            return "an interval is at most a year";
        }
    }

    if (total == 0) {
        return "an interval is at least 1s";
    }

    *sec = total;

    return NULL;

invalid:

    return "an interval is numbers with units s, m, h or d, as in \"24h\", "
           "\"90s\" or \"1h30m\"";
}


static int
ngx_http_staged_update_digits(const u_char *p, size_t n, int64_t *v)
{
    *v = 0;

    while (n--) {
        if (*p < '0' || *p > '9') {
            return 0;
        }

        *v = *v * 10 + (*p++ - '0');
    }

    return 1;
}


/* days since 1970-01-01 of a proleptic Gregorian date */

static int64_t
ngx_http_staged_update_days(int64_t y, int64_t m, int64_t d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


const char *
ngx_http_staged_update_time_parse(const u_char *p, size_t len, int64_t *t)
{
    int64_t  y, mo, d, h, mi, s, mdays;

    static const int64_t  month[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
                                      31, 30, 31 };

    if (len != NGX_HTTP_STAGED_UPDATE_TIME_LEN
        || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':'
        || p[16] != ':' || p[19] != 'Z'
        || !ngx_http_staged_update_digits(p, 4, &y)
        || !ngx_http_staged_update_digits(p + 5, 2, &mo)
        || !ngx_http_staged_update_digits(p + 8, 2, &d)
        || !ngx_http_staged_update_digits(p + 11, 2, &h)
        || !ngx_http_staged_update_digits(p + 14, 2, &mi)
        || !ngx_http_staged_update_digits(p + 17, 2, &s))
    {
        return "a time is UTC in the form 2026-12-01T00:00:00Z";
    }

    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59
        || y < 1970)
    {
        return "a time has a month, day, hour, minute or second out of "
               "range, or a year before 1970";
    }

    mdays = month[mo - 1];

    if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        mdays = 29;
    }

    if (d > mdays) {
        return "a time has a day that its month does not have";
    }

    *t = ngx_http_staged_update_days(y, mo, d) * 86400 + h * 3600 + mi * 60
         + s;

    return NULL;
}


size_t
ngx_http_staged_update_time_print(u_char *buf, int64_t t)
{
    int64_t  z, era, doe, yoe, y, doy, mp, d, m, sec;
    size_t   i;
    int64_t  part[6];

    static const size_t  width[6] = { 4, 2, 2, 2, 2, 2 };
    static const char    sep[6] = { '-', '-', 'T', ':', ':', 'Z' };

    if (t < 0) {
        t = 0;
    }

    z = t / 86400 + 719468;
    sec = t % 86400;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;

    if (y > 9999) {
        y = 9999;
    }

    part[0] = y;
    part[1] = m;
    part[2] = d;
    part[3] = sec / 3600;
    part[4] = sec / 60 % 60;
    part[5] = sec % 60;

    for (i = 0; i < 6; i++) {
        switch (width[i]) {
        case 4:
            *buf++ = (u_char) ('0' + part[i] / 1000);
            *buf++ = (u_char) ('0' + part[i] / 100 % 10);
            /* fall through */
        default:
            *buf++ = (u_char) ('0' + part[i] / 10 % 10);
            *buf++ = (u_char) ('0' + part[i] % 10);
        }

        *buf++ = (u_char) sep[i];
    }

    return NGX_HTTP_STAGED_UPDATE_TIME_LEN;
}


int
ngx_http_staged_update_ramp_step(const ngx_http_staged_update_ramp_t *r,
    int64_t t, int64_t *lo, int64_t *hi)
{
    int64_t  i;

    if (t < r->from) {
        *lo = INT64_MIN;
        *hi = r->from;
        return -1;
    }

    i = (t - r->from) / r->every;

    if (i >= (int64_t) r->nsteps - 1) {
        i = r->nsteps - 1;
        *lo = r->from + i * r->every;
        *hi = INT64_MAX;
        return (int) i;
    }

    *lo = r->from + i * r->every;
    *hi = *lo + r->every;

    return (int) i;
}


uint32_t
ngx_http_staged_update_ramp_pct(const ngx_http_staged_update_ramp_t *r,
    int step)
{
    return step < 0 ? 0 : r->pct[step];
}
