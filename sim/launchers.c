/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * A population of launchers against a real nginx, in real time: each
 * launcher starts following a daily curve (or evenly, for a benchmark),
 * checks at its start, upgrades when granted, and comes back when a
 * deferral's Retry-After has passed (a running launcher re-checks then);
 * a launcher that was told "no upgrade" checks again at its next start,
 * the next day.  An upgraded launcher's later checks would be answered
 * "latest" and are not sent; the download is not made: the grant (a 200
 * manifest or a 302 to the archive) counts as the upgrade.
 *
 * With --report, a bad release: a granted launcher (a 302 whose Location
 * carries the download token) installs it, and reports on the same
 * connection, with that Location as the proof of its grant; a share
 * --fail of the launchers (a fixed set) fail, report "rolled-back" and go
 * on with the old version (they check again at their next start); the
 * others report "started".
 *
 * One process, non-blocking keep-alive HTTP/1.1 connections to 127.0.0.1
 * driven by epoll, one request in flight per connection; the starts are
 * kept in a timing wheel of 10 ms slots.  At the end it prints one CSV
 * line per second:
 *
 *     second,checks,grants,none,deferred,errors,upgraded,queued,
 *     failed,halted
 *
 * (failed: counted reports of a failure; halted: checks answered with
 * X-Update-Rule <track>:halted) and a summary on stderr; with --report it
 * ends with "halt at <ms>, <g> grants before it, <a> granted checks sent
 * after it" (-1 and 0: no halt seen).
 *
 *   launchers --port 27100 --path /check --n 1000000 --day 120 --days 2
 *             [--curve daily|flat] [--conns 64] [--version 1.0]
 *             [--key client] [--no-retry] [--seed 1] [--at unix-time]
 *             [--report /update/report --to 2.0.0 --fail 0.3]
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define SLOT_MS     10
#define NONE        (-1)
#define BUF         8192


typedef struct {
    int         fd;
    int32_t     who;        /* the launcher in flight, or NONE */
    int         reporting;  /* its request is a report */
    int64_t     sent;       /* when its check was sent, ms */
    size_t      len;
    char        buf[BUF];
} conn_t;


typedef struct {
    uint64_t    checks, grants, none, deferred, errors, upgraded, queued,
                failed, halted;
} sec_t;


static int        port = 27100, nconns = 64, days = 1, retry = 1;
static int64_t    n = 1000, day_ms = 60000;
static const char *path = "/update/check", *version = "1.0", *key = "client",
                  *curve = "daily", *report, *to = "2.0.0";
static double     fail = 1.0;
static int64_t    halt_ms = -1;   /* the first halted answer, ms */
static uint64_t   before_halt, after_halt;
static uint64_t   seed = 1;
static double     at;          /* unix time of the start, 0: now */

static int32_t   *next_of;     /* the wheel's lists */
static int64_t   *tod;         /* a launcher's time of day, ms */
static uint8_t   *upgraded;
static int32_t   *wheel;       /* slot -> first launcher */
static int64_t    nslots, total_ms;

static int32_t   *queue;       /* due launchers, a ring */
static int64_t    qhead, qtail;

static sec_t     *secs;
static int64_t    nsecs;
static uint64_t   upgraded_total, dropped, distinct;

static struct timespec  t0;


static uint64_t
rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}


static double
unit(void)
{
    return (rnd() >> 11) * (1.0 / 9007199254740992.0);
}


static int64_t
now_ms(void)
{
    struct timespec  t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
}


static void
schedule(int32_t who, int64_t at)
{
    int64_t  s;

    if (at >= total_ms) {
        dropped++;
        return;
    }

    s = at / SLOT_MS;
    next_of[who] = wheel[s];
    wheel[s] = who;
}


/* a time of day from the daily curve 1 - 0.8 cos(2 pi x): a peak at noon */

static int64_t
time_of_day(void)
{
    double  x;

    if (strcmp(curve, "flat") == 0) {
        return (int64_t) (unit() * day_ms);
    }

    for ( ;; ) {
        x = unit();

        if (unit() * 1.8 <= 1.0 - 0.8 * cos(2 * M_PI * x)) {
            return (int64_t) (x * day_ms);
        }
    }
}


static sec_t *
sec_at(int64_t ms)
{
    int64_t  s;

    s = ms / 1000;

    if (s >= nsecs) {
        s = nsecs - 1;
    }

    return &secs[s];
}


static int
conn_open(conn_t *c, int ep)
{
    int                 fd, one;
    struct sockaddr_in  sa;
    struct epoll_event  ev;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        perror("socket");
        return -1;
    }

    one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
        && errno != EINPROGRESS)
    {
        perror("connect");
        close(fd);
        return -1;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = c;

    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        perror("epoll_ctl");
        close(fd);
        return -1;
    }

    c->fd = fd;
    c->len = 0;

    return 0;
}


static int
conn_send(conn_t *c, int32_t who)
{
    int      len;
    ssize_t  w;
    char     req[512];

    len = snprintf(req, sizeof(req),
                   "GET %s?version=%s&%s=L%d HTTP/1.1\r\n"
                   "Host: sim\r\n\r\n", path, version, key, who);

    w = send(c->fd, req, len, MSG_NOSIGNAL);

    if (w == len) {
        c->who = who;
        c->reporting = 0;
        c->sent = now_ms();
        return 0;
    }

    /* a connect still in progress or a full socket: rare, wait a little */

    if (w < 0 && (errno == EAGAIN || errno == ENOTCONN)) {
        struct timespec  ts = { 0, 200000 };

        nanosleep(&ts, NULL);
        return conn_send(c, who);
    }

    return -1;
}


/* a launcher of the bad release's failing share */

static int
fails(int32_t who)
{
    return (uint32_t) who * 2654435761u % 1000000 < fail * 1000000;
}


/* its report, with the grant's Location (its path) as the proof */

static int
report_send(conn_t *c, int32_t who, const char *loc)
{
    int      len, blen;
    ssize_t  w;
    char     body[768], req[1024];

    if (strncmp(loc, "http://", 7) == 0 && strchr(loc + 7, '/') != NULL) {
        loc = strchr(loc + 7, '/');
    }

    blen = snprintf(body, sizeof(body),
                    "{\"version\":\"%s\",\"from\":\"%s\",\"result\":\"%s\","
                    "\"client\":\"L%d\",\"grant\":\"%s\"}", to, version,
                    fails(who) ? "rolled-back" : "started", who, loc);

    len = snprintf(req, sizeof(req),
                   "POST %s HTTP/1.1\r\nHost: sim\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n%s", report, blen, body);

    if (blen >= (int) sizeof(body) || len >= (int) sizeof(req)) {
        return -1;
    }

    w = send(c->fd, req, len, MSG_NOSIGNAL);

    if (w != len) {
        return -1;
    }

    c->who = who;
    c->reporting = 1;

    return 0;
}


/*
 * a whole answer in c->buf: its status, Retry-After, Location (into loc)
 * and whether X-Update-Rule says halted; 0 if incomplete
 */

static int
answer(conn_t *c, int *status, long *ra, size_t *used, char *loc,
    size_t locsize, int *halted)
{
    char    *end, *h, *e;
    long     cl;

    c->buf[c->len] = '\0';

    end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL) {
        return 0;
    }

    if (c->len < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0) {
        return -1;
    }

    *status = atoi(c->buf + 9);
    *ra = 0;
    *halted = 0;
    loc[0] = '\0';
    cl = 0;

    for (h = strstr(c->buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
    {
        if (strncasecmp(h + 2, "Retry-After:", 12) == 0) {
            *ra = atol(h + 14);

        } else if (strncasecmp(h + 2, "Content-Length:", 15) == 0) {
            cl = atol(h + 17);

        } else if (strncasecmp(h + 2, "Location: ", 10) == 0) {
            e = strstr(h + 12, "\r\n");

            if ((size_t) (e - (h + 12)) < locsize) {
                memcpy(loc, h + 12, e - (h + 12));
                loc[e - (h + 12)] = '\0';
            }

        } else if (strncasecmp(h + 2, "X-Update-Rule:", 14) == 0) {
            e = strstr(h + 16, "\r\n");
            *halted = (e - h) >= 7 && strncmp(e - 7, ":halted", 7) == 0;
        }
    }

    if ((size_t) (end + 4 - c->buf) + cl > c->len) {
        if ((size_t) (end + 4 - c->buf) + cl >= BUF) {
            /* a body larger than the buffer: read and drop it */
            return -2;
        }

        return 0;
    }

    *used = (end + 4 - c->buf) + cl;

    return 1;
}


static void
record(int32_t who, int status, long ra, int64_t t, int64_t sent, int halted)
{
    sec_t    *s;
    int64_t   next, d;

    s = sec_at(t);

    if (halted) {
        s->halted++;

        if (halt_ms < 0) {
            halt_ms = t;
        }
    }

    if (status == 200 || status == 302) {
        s->grants++;
        upgraded_total++;

        /* a check sent after a halted answer came back must not win */

        if (halt_ms >= 0 && sent > halt_ms) {
            after_halt++;

        } else {
            before_halt++;
        }

        if (report == NULL || !fails(who)) {
            upgraded[who] |= 1;
            return;
        }

        /* rolled back: on the old version, it checks at its next start */

    } else if (status == 204 && ra > 0) {
        s->deferred++;

        if (retry) {
            schedule(who, t + ra * 1000);
        }

        return;

    } else if (status == 204) {
        s->none++;

    } else {
        s->errors++;
    }

    /* its next start: the next day, at its time of day */

    d = t / day_ms + 1;
    next = d * day_ms + tod[who];
    schedule(who, next);
}


int
main(int argc, char **argv)
{
    int                  i, ep, k, nev, status, rc, halted;
    long                 ra;
    size_t               used;
    ssize_t              r;
    int64_t              t, slot, done_slot, s, last_sec;
    int32_t              who;
    conn_t              *conns, *c;
    struct epoll_event   evs[256];
    char                 loc[512];

    for (i = 1; i < argc; i++) {
        const char  *a = argv[i], *v = (i + 1 < argc) ? argv[i + 1] : "";

        if (strcmp(a, "--no-retry") == 0) { retry = 0; continue; }
        else if (strcmp(a, "--port") == 0) port = atoi(v);
        else if (strcmp(a, "--conns") == 0) nconns = atoi(v);
        else if (strcmp(a, "--n") == 0) n = atoll(v);
        else if (strcmp(a, "--day") == 0) day_ms = (int64_t) (atof(v) * 1000);
        else if (strcmp(a, "--days") == 0) days = atoi(v);
        else if (strcmp(a, "--path") == 0) path = v;
        else if (strcmp(a, "--version") == 0) version = v;
        else if (strcmp(a, "--key") == 0) key = v;
        else if (strcmp(a, "--curve") == 0) curve = v;
        else if (strcmp(a, "--seed") == 0) seed = strtoull(v, NULL, 10) | 1;
        else if (strcmp(a, "--at") == 0) at = atof(v);
        else if (strcmp(a, "--report") == 0) report = v;
        else if (strcmp(a, "--to") == 0) to = v;
        else if (strcmp(a, "--fail") == 0) fail = atof(v);
        else {
            fprintf(stderr, "launchers: unknown argument \"%s\"\n", a);
            return 1;
        }

        i++;
    }

    if (n < 1 || n > 100000000 || day_ms < 1000 || days < 1 || nconns < 1) {
        fprintf(stderr, "launchers: bad --n, --day, --days or --conns\n");
        return 1;
    }

    total_ms = day_ms * days;
    nslots = total_ms / SLOT_MS + 1;
    nsecs = total_ms / 1000 + 2;

    next_of = malloc(n * sizeof(int32_t));
    tod = malloc(n * sizeof(int64_t));
    upgraded = calloc(n, 1);
    wheel = malloc(nslots * sizeof(int32_t));
    queue = malloc((n + 1) * sizeof(int32_t));
    secs = calloc(nsecs, sizeof(sec_t));
    conns = calloc(nconns, sizeof(conn_t));

    if (!next_of || !tod || !upgraded || !wheel || !queue || !secs || !conns) {
        fprintf(stderr, "launchers: out of memory\n");
        return 1;
    }

    for (s = 0; s < nslots; s++) {
        wheel[s] = NONE;
    }

    for (who = 0; who < n; who++) {
        tod[who] = time_of_day();
        schedule(who, tod[who]);
    }

    ep = epoll_create1(0);

    for (k = 0; k < nconns; k++) {
        conns[k].who = NONE;

        if (conn_open(&conns[k], ep) != 0) {
            return 1;
        }
    }

    /* start at a given wall-clock time: the simulator's ramps begin then */

    if (at > 0) {
        struct timespec  w, d;
        double           left;

        clock_gettime(CLOCK_REALTIME, &w);
        left = at - (w.tv_sec + w.tv_nsec / 1e9);

        if (left > 0) {
            d.tv_sec = (time_t) left;
            d.tv_nsec = (long) ((left - d.tv_sec) * 1e9);
            nanosleep(&d, NULL);
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);

    done_slot = 0;
    last_sec = 0;

    for ( ;; ) {
        t = now_ms();
        slot = t / SLOT_MS;

        if (slot >= nslots) {
            slot = nslots - 1;
        }

        /* the due starts and comebacks, into the queue */

        for ( ; done_slot <= slot; done_slot++) {
            for (who = wheel[done_slot]; who != NONE; who = next_of[who]) {
                queue[qtail++ % (n + 1)] = who;
            }

            wheel[done_slot] = NONE;
        }

        if (t / 1000 != last_sec) {
            sec_at(last_sec * 1000)->queued = qtail - qhead;
            last_sec = t / 1000;
        }

        if (t >= total_ms) {
            int  busy = 0;

            for (k = 0; k < nconns; k++) {
                busy += conns[k].who != NONE;
            }

            if (busy == 0 || t >= total_ms + 5000) {
                break;
            }

            qhead = qtail;     /* the run is over: no new checks */
        }

        /* idle connections take the next due launchers */

        for (k = 0; k < nconns && qhead < qtail; k++) {
            c = &conns[k];

            if (c->who != NONE) {
                continue;
            }

            who = queue[qhead++ % (n + 1)];

            if (upgraded[who] & 1) {
                continue;
            }

            if (!(upgraded[who] & 2)) {
                upgraded[who] |= 2;
                distinct++;
            }

            if (conn_send(c, who) != 0) {
                close(c->fd);
                conn_open(c, ep);
                qhead--;
                continue;
            }

            sec_at(t)->checks++;
        }

        nev = epoll_wait(ep, evs, 256, 1);

        for (i = 0; i < nev; i++) {
            c = evs[i].data.ptr;

            r = recv(c->fd, c->buf + c->len, BUF - 1 - c->len, 0);

            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }

                /* closed: open again, and send the check again */

                who = c->who;
                close(c->fd);
                conn_open(c, ep);
                c->who = NONE;

                if (who != NONE && !c->reporting) {
                    queue[qtail++ % (n + 1)] = who;
                }

                c->reporting = 0;

                continue;
            }

            c->len += r;

            rc = answer(c, &status, &ra, &used, loc, sizeof(loc), &halted);

            if (rc == 0) {
                continue;
            }

            if (rc < 0 || c->who == NONE) {
                fprintf(stderr, "launchers: a malformed or too long answer\n");
                return 1;
            }

            t = now_ms();
            who = c->who;

            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            c->who = NONE;

            if (c->reporting) {
                c->reporting = 0;

                if (status != 200) {
                    sec_at(t)->errors++;

                } else if (fails(who)) {
                    sec_at(t)->failed++;
                }

                continue;
            }

            record(who, status, ra, t, c->sent, halted);

            /* a grant of the bad release: installed, and reported */

            if (report != NULL && (status == 200 || status == 302)) {
                if (loc[0] == '\0' || report_send(c, who, loc) != 0) {
                    fprintf(stderr, "launchers: no Location to report, "
                            "or the report could not be sent\n");
                    return 1;
                }
            }
        }
    }

    t = now_ms();

    {
        uint64_t  cum = 0, checks = 0, grants = 0, deferred = 0, errors = 0;

        printf("second,checks,grants,none,deferred,errors,upgraded,queued,"
               "failed,halted\n");

        for (s = 0; s * 1000 < total_ms; s++) {
            cum += secs[s].grants;
            checks += secs[s].checks;
            grants += secs[s].grants;
            deferred += secs[s].deferred;
            errors += secs[s].errors;

            printf("%ld,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu\n", (long) s,
                   secs[s].checks, secs[s].grants, secs[s].none,
                   secs[s].deferred, secs[s].errors, cum, secs[s].queued,
                   secs[s].failed, secs[s].halted);
        }

        fprintf(stderr, "launchers: %ld launchers, %lu of them checked, "
                "%lu checks, %lu grants, %lu deferrals, %lu errors, "
                "%lu checks due after the end, %.1f s\n", (long) n, distinct,
                checks, grants, deferred, errors, dropped, t / 1000.0);

        if (report != NULL) {
            fprintf(stderr, "launchers: halt at %ld ms, %lu grants before "
                    "it, %lu granted checks sent after it\n", (long) halt_ms,
                    before_halt, after_halt);
        }
    }

    return 0;
}
