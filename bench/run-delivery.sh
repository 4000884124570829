#!/usr/bin/env bash
# Copyright (C) The ngx_http_staged_update_module authors
#
# The two delivery goals, in one run:
#
#  1. tokens in upgrade answers cost at most 10% more: ../shared/bench/run.sh
#     with bench/module.conf and bench/module-tokens.conf side by side (its
#     own mix.lua: 40% current version, the rest checks that the tables
#     upgrade or not), then the same pair on an upgrade answer alone
#     (version=0.9.0 is below the minimum: always the 20-file manifest);
#  2. a download through staged_update_verify runs at least 0.95x the same
#     static file without it: bench/download.sh.
#
# Writes $BENCH_RELEASE/bench.secret (openssl rand -hex 32) if missing: the
# token templates read it from there (see gen-conf.py).
#
# usage: run-delivery.sh [-d SECS] [-r ROUNDS]   (6 s, 3 rounds)
# env:   BENCH_RELEASE (/tmp/benchrel), STAGED_UPDATE_SO (build/...so),
#        BENCH_PORT (18181), BENCH_SHARED (../shared/bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
secs=6 rounds=3
while getopts d:r: o; do case $o in d) secs=$OPTARG;; r) rounds=$OPTARG;; *) exit 2;; esac; done
bench_release
"$here/gen-conf.py"

echo "== check mix (../shared/bench/run.sh -d $secs -r $rounds)" >&2
mix=$(BENCH_PORT=$bench_port "$bench_shared/run.sh" -d "$secs" -r "$rounds" \
      "$here/module.conf" "$here/module-tokens.conf")
echo "$mix"
plain=$(awk -F= '/^module.conf / {print $2}' <<<"$mix")
tokens=$(awk -F= '/^module-tokens.conf / {print $2}' <<<"$mix")

echo "== upgrade answer alone (version=0.9.0, -d $secs -r $rounds)" >&2
url="http://127.0.0.1:$bench_port/update/check?version=0.9.0&client=c00000042"
declare -A up
for ((k=1; k<=rounds; k++)); do
  for conf in module.conf module-tokens.conf; do
    dir=$(bench_start "$here/$conf")
    n=$(curl -s "$url" | python3 -c 'import json, sys
d = json.load(sys.stdin); print(len(d["files"]), sum("?token=" in f["url"] for f in d["files"]))')
    rps=$(bench_wrk "$secs" "$url") || { bench_stop "$dir"; exit 1; }
    bench_stop "$dir"
    up[$conf]="${up[$conf]:-} $rps"
    echo "round $k $conf files,tokens=${n// /,} rps=$rps" >&2
  done
  pairs="${pairs:-} $(bench_ratio "$rps" "${up[module.conf]##* }")"
done
up_plain=$(bench_median "${up[module.conf]}")
up_tokens=$(bench_median "${up[module-tokens.conf]}")
echo "upgrade module.conf median_rps=$up_plain"
echo "upgrade module-tokens.conf median_rps=$up_tokens"

echo "== download (bench/download.sh -d $secs -r $rounds)" >&2
dl=$("$here/download.sh" -d "$secs" -r "$rounds")
echo "$dl"

echo
echo "check mix:      tokens/plain = $(bench_ratio "$tokens" "$plain") ($tokens / $plain req/s; goal >= 0.909, i.e. <= 10% more cost)"
echo "upgrade answer: tokens/plain = $(bench_ratio "$up_tokens" "$up_plain") ($up_tokens / $up_plain req/s), $(bench_median "$pairs") median of the rounds' ratios (goal >= 0.909)"
echo "$dl" | tail -1
