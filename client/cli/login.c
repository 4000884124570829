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


char *
cli_login(const char *shard, const char *user, const char *password,
    const char *cacert)
{
    CURL               *c;
    FILE               *out;
    long                status = -1;
    char               *url, *body, *answer = NULL, *id = NULL;
    size_t              len = 0;
    json_t             *req, *r;
    CURLcode            rc;
    const char         *s;
    struct curl_slist  *h;

    req = json_pack("{s:s, s:s}", "user", user, "password", password);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);

    c = curl_easy_init();
    out = open_memstream(&answer, &len);

    if (body == NULL || c == NULL || out == NULL
        || asprintf(&url, "%s/login", shard) < 0)
    {
        cli_say("login: out of memory");
        free(body);
        curl_easy_cleanup(c);
        if (out) {
            fclose(out);
            free(answer);
        }
        return NULL;
    }

    h = curl_slist_append(NULL, "Content-Type: application/json");

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "staged-update-launcher/1");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE, 65536L);

    if (cacert) {
        curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
    }

    rc = curl_easy_perform(c);

    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    } else {
        cli_say("%s: %s", url, curl_easy_strerror(rc));
    }

    fclose(out);
    r = (status == 200) ? json_loadb(answer, len, 0, NULL) : NULL;
    s = json_string_value(json_object_get(r, "server"));

    if (s != NULL && *s != '\0') {
        id = strdup(s);
    } else {
        cli_say("login to %s failed (HTTP %ld)", shard, status);
    }

    json_decref(r);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(answer);
    free(body);
    free(url);

    return id;
}
