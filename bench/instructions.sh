#!/usr/bin/env bash
# Copyright (C) The ngx_http_staged_update_module authors
#
# Instructions per check (callgrind), for each template on the same fixed
# list of requests: a count that does not depend on the machine's load, to
# compare configurations side by side.  By default the whole work of nginx
# on the requests (the counters are zeroed after the start and a warm-up,
# so the configuration's load is left out); TOGGLE=ngx_http_staged_update_handler
# counts the module's handler alone.
#
# usage: instructions.sh [N] TEMPLATE...   (N requests, default 3000)
# env:   STAGED_UPDATE_SO, BENCH_RELEASE (/tmp/benchrel), NGINX, TOGGLE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=3000
case "${1:-}" in [0-9]*) n=$1; shift;; esac
so=${STAGED_UPDATE_SO:-$here/../build/ngx_http_staged_update_module.so}
rel=${BENCH_RELEASE:-/tmp/benchrel}
nginx=${NGINX:-/usr/sbin/nginx}
port=${BENCH_PORT:-18191}
[ -f "$rel/manifest-2.0.0.json" ] || "$here/../../shared/bench/make-release.py" "$rel"
[ -f "$rel/bench.secret" ] || openssl rand -hex 32 > "$rel/bench.secret"
cp "$here"/bench-override*.json "$rel/"          # module-override*.conf

for conf in "$@"; do
    # a server left on the port (nginx with reuseport shares it) would take
    # some of the requests and make the count per check too small
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
        echo "instructions.sh: 127.0.0.1:$port is in use (BENCH_PORT)" >&2
        exit 1
    fi
    dir=$(mktemp -d /tmp/instr.XXXX)
    sed -e "s#@DIR@#$dir#g" -e "s#@PORT@#$port#g" -e "s#@REL@#$rel#g" \
        -e "s#@MODULE@#$so#g" -e 's#daemon on;#daemon off; master_process off;#' \
        "$conf" > "$dir/nginx.conf"
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
        ${TOGGLE:+--toggle-collect=$TOGGLE} \
        "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        2>"$dir/valgrind.log" &
    vg=$!
    for i in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/update/check?version=2.0.0" && break
        sleep 0.2
    done
    for i in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/update/check?version=0.9.0"
    done
    callgrind_control -z "$vg" >/dev/null

    # the mix of ../shared/bench/README.md, seeded: the same list each time
    python3 - "$port" "$n" <<'PY'
import http.client, random, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
random.seed(42)
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    r = random.randint(1, 100)
    k = "c%08d" % random.randint(1, 99999999)
    if r <= 40: q = "version=2.0.0"
    elif r <= 70: q = "version=1.%d.%d" % (random.randint(5, 9), random.randint(0, 9))
    elif r <= 80: q = "version=1.2.%d" % random.randint(0, 30)
    elif r <= 85: q = "version=0.9.0"
    else: q = "version=1.%d.%d&server=s%d" % (random.randint(6, 7), random.randint(0, 9), random.randint(0, 999))
    c.request("GET", "/update/check?" + q + "&client=" + k)
    c.getresponse().read()
PY
    kill "$vg"; wait "$vg" 2>/dev/null || true
    total=$(grep -hE '^(summary|totals):' "$dir"/cg.out* | awk '{print $2}' \
            | sort -n | tail -1)
    echo "$(basename "$conf") instructions_per_check=$((total / n))"
    rm -rf "$dir"
done
