# Copyright (C) The ngx_http_staged_update_module authors
#
# Helpers of bench/download.sh and bench/run-delivery.sh, in the way of
# ../shared/bench/run.sh: one nginx worker pinned to CPU 0, wrk pinned to
# CPU 1 with 1 thread and 64 keep-alive connections; medians of
# interleaved rounds.  Sourced, not run.

bench_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_shared=${BENCH_SHARED:-$(cd "$bench_here/../.." && pwd)/shared/bench}
export BENCH_RELEASE=${BENCH_RELEASE:-/tmp/benchrel}
export STAGED_UPDATE_SO=${STAGED_UPDATE_SO:-$(cd "$bench_here/.." && pwd)/build/ngx_http_staged_update_module.so}
bench_port=${BENCH_PORT:-18181}

# the release of ../shared/bench and the token secret in it
bench_release() {
  [ -f "$BENCH_RELEASE/manifest-2.0.0.json" ] || "$bench_shared/make-release.py" "$BENCH_RELEASE"
  [ -s "$BENCH_RELEASE/bench.secret" ] || (umask 077; openssl rand -hex 32 > "$BENCH_RELEASE/bench.secret")
  [ -f "$bench_here/download-verify.conf" ] && [ -f "$bench_here/module-tokens.conf" ] \
    || "$bench_here/gen-conf.py"
}

# bench_start TEMPLATE: a fresh prefix, nginx started on it; prints the prefix
bench_start() {
  local dir
  dir=$(mktemp -d /tmp/bench.XXXX)
  sed -e "s#@DIR@#$dir#g" -e "s#@PORT@#$bench_port#g" -e "s#@PEERS@#$bench_shared/peers#g" \
      -e "s#@REL@#$BENCH_RELEASE#g" -e "s#@MODULE@#$STAGED_UPDATE_SO#g" "$1" > "$dir/nginx.conf"
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >/dev/null 2>&1 \
    || { echo "$1: nginx failed" >&2; cat "$dir/error.log" >&2; rm -rf "$dir"; return 1; }
  sleep 0.3
  echo "$dir"
}

bench_stop() {
  kill "$(cat "$1/nginx.pid")"; sleep 0.3; rm -rf "$1"
}

# bench_wrk SECS URL: requests/s; fails if any answer is not a 2xx or 3xx
bench_wrk() {
  local out
  out=$(taskset -c 1 wrk -t1 -c64 -d"$1s" "$2")
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "wrk $2: $(grep 'Non-2xx' <<<"$out")" >&2; return 1
  fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

# bench_median "v1 v2 ...": the median (the lower middle of an even count)
bench_median() {
  tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# bench_ratio A B: A / B with 3 decimals
bench_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}
