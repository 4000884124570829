/*
 * The reference launcher: the login to the sample business server
 * (examples/shard/shard.py). POST /login {"user":..,"password":..}
 * answers {"server":"<ID>"}: the ID the check sends as server=. A real
 * launcher has its own login; the library only needs the ID.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"


typedef struct {
    char    *data;
    size_t   len;
} cli_buf_t;


static size_t
cli_body(char *p, size_t size, size_t n, void *data)
{
    char       *d;
    cli_buf_t  *b = data;

    n *= size;

    if (b->len + n > 65536) {
        return 0;
    }

    d = realloc(b->data, b->len + n + 1);
    if (d == NULL) {
        return 0;
    }

    memcpy(d + b->len, p, n);
    b->data = d;
    b->len += n;
    b->data[b->len] = '\0';

    return n;
}


char *
cli_login(const char *shard, const char *user, const char *password,
    const char *cacert)
{
    CURL               *c;
    long                status = -1;
    char               *url, *body, *id = NULL;
    json_t             *req, *r;
    CURLcode            rc;
    cli_buf_t           b = { NULL, 0 };
    const char         *s;
    struct curl_slist  *h;

    req = json_pack("{s:s, s:s}", "user", user, "password", password);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);

    c = curl_easy_init();

    if (body == NULL || c == NULL || asprintf(&url, "%s/login", shard) < 0) {
        cli_say("login: out of memory");
        free(body);
        curl_easy_cleanup(c);
        return NULL;
    }

    h = curl_slist_append(NULL, "Content-Type: application/json");

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "staged-update-launcher/1");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cli_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);

    if (cacert) {
        curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
    }

    rc = curl_easy_perform(c);

    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    } else {
        cli_say("%s: %s", url, curl_easy_strerror(rc));
    }

    r = (status == 200 && b.data) ? json_loads(b.data, 0, NULL) : NULL;
    s = json_string_value(json_object_get(r, "server"));

    if (s != NULL && *s != '\0') {
        id = strdup(s);
    } else {
        cli_say("login to %s failed (HTTP %ld)", shard, status);
    }

    json_decref(r);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(b.data);
    free(body);
    free(url);

    return id;
}
