#!/usr/bin/env bash
# The rate cap's precision under pressure: nginx with 2 workers, offered
# 10 times the cap for 30 s by sim/launchers.c (each check a distinct
# client key, evenly spread, no comeback), grants counted per second;
# side by side with the same load without the cap.
#
# usage: bench/rate.sh [CAP] [SECONDS]        (default 500/s, 30 s)
# env:   STAGED_UPDATE_SO, NGINX, BENCH_PORT (27500)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cap=${1:-500}
secs=${2:-30}
so=${STAGED_UPDATE_SO:-$here/../build/ngx_http_staged_update_module.so}
nginx=${NGINX:-/usr/sbin/nginx}
port=${BENCH_PORT:-27500}
work=$(mktemp -d /tmp/rate.XXXX)
trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/launchers" "$here/../sim/launchers.c" -lm
mkdir -p "$work/rel/2.0.0/.update"
echo "version=2.0.0" > "$work/rel/2.0.0/version.txt"
echo "the archive" > "$work/rel/2.0.0/.update/full.tar.gz"

run() {    # run NAME RATE-LINE: the CSV of the launchers
    local dir="$work/$1"
    mkdir -p "$dir"
    cat > "$dir/nginx.conf" <<CONF
load_module $so;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000000;
    staged_update_zone rate 1m;
    staged_update_track game {
        zone rate;
        latest 2.0.0 $work/rel/2.0.0;
        default 100%;
        $2
    }
    server {
        listen 127.0.0.1:$port reuseport;
        location = /update/check { staged_update game redirect; }
    }
}
CONF
    "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    sleep 0.3
    "$work/launchers" --port "$port" --n $((cap * 10 * secs)) --day "$secs" \
        --curve flat --no-retry --version 1.5 --conns 32 \
        > "$dir/out.csv" 2> "$dir/summary"
    kill -QUIT "$(cat "$dir/nginx.pid")"
    sleep 0.5
}

# seconds 1 .. secs-2: the first holds the burst, the last the end
stats() {
    awk -F, -v cap="$2" -v secs="$secs" '
        NR > 2 && $1 >= 1 && $1 <= secs - 2 {
            n++; s += $3; o += $2
            if (min == "" || $3 < min) min = $3
            if ($3 > max) max = $3
            if (cap && $3 >= cap * 0.98 && $3 <= cap * 1.02) in2++
        }
        END {
            printf "%-9s offered %7.1f/s  grants/s mean %7.1f  min %5d  max %5d", \
                   "'"$1"'", o / n, s / n, min, max
            if (cap) printf "  (%+.2f%%, %+.2f%%, %+.2f%%)  seconds within 2%%: %d of %d", \
                   100 * (s / n / cap - 1), 100 * (min / cap - 1), \
                   100 * (max / cap - 1), in2, n
            printf "\n"
        }' "$work/$1/out.csv"
}

run capped "rate $cap/s;"
run uncapped ""

echo "cap $cap/s, offered $((cap * 10))/s for $secs s, 2 workers"
stats uncapped 0
stats capped "$cap"
total=$(awk -F, 'NR > 1 { s += $3 } END { print s }' "$work/capped/out.csv")
echo "capped: $total grants in $secs s: $(awk -v t="$total" -v c="$cap" -v s="$secs" \
      'BEGIN { printf "%.1f/s, %+.2f%% of the cap (the burst included)", t / s, 100 * (t / s / c - 1) }')"
