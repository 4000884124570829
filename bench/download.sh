#!/usr/bin/env bash
# Copyright (C) The ngx_http_staged_update_module authors
#
# A download through "staged_update_verify" against the same file served as
# a plain static file, side by side in one run:
#
#   download-static.conf  location /releases/ { alias $BENCH_RELEASE/; }
#   download-verify.conf  the same, plus "staged_update_verify bench;"
#
# Both serve $BENCH_RELEASE/2.0.0/data/<file> (default part10.pak, 22 KB)
# and both are asked the same URL, token included: the URL that the
# module's own check answer gives for that file (version=0.9.0 is below the
# minimum, so the answer is always the upgrade to 2.0.0).  1 worker pinned
# to CPU 0, wrk -t1 -c64 pinned to CPU 1, ROUNDS interleaved rounds of
# SECS seconds; prints the median requests/s of each and verify/static.
#
# usage: download.sh [-d SECS] [-r ROUNDS] [-f FILE]   (6 s, 3 rounds, part10.pak)
# env:   BENCH_RELEASE (/tmp/benchrel), STAGED_UPDATE_SO (build/...so),
#        BENCH_PORT (18181), BENCH_SHARED (../shared/bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
secs=6 rounds=3 file=part10.pak
while getopts d:r:f: o; do case $o in d) secs=$OPTARG;; r) rounds=$OPTARG;; f) file=$OPTARG;; *) exit 2;; esac; done
bench_release

base="http://127.0.0.1:$bench_port"
size=$(stat -c %s "$BENCH_RELEASE/2.0.0/data/$file")
declare -A res
for ((k=1; k<=rounds; k++)); do
  for kind in static verify; do
    dir=$(bench_start "$here/download-$kind.conf")
    url=$(curl -sf "$base/update/check?version=0.9.0&client=c00000042" \
          | python3 -c 'import json, sys
f = [f for f in json.load(sys.stdin)["files"] if f["path"] == "data/" + sys.argv[1]]
print(f[0]["url"])' "$file")
    case $url in *'?token='*) ;; *) echo "no token in $url" >&2; bench_stop "$dir"; exit 1;; esac
    # the token opens the file, its absence does not (where verified)
    got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$base$url")
    bare=$(curl -s -o /dev/null -w '%{http_code}' "$base${url%%\?*}")
    want_bare=200; [ $kind = verify ] && want_bare=403
    if [ "$got" != "200 $size" ] || [ "$bare" != $want_bare ]; then
      echo "$kind: $url gave \"$got\", without its token $bare (want \"200 $size\", $want_bare)" >&2
      bench_stop "$dir"; exit 1
    fi
    rps=$(bench_wrk "$secs" "$base$url") || { bench_stop "$dir"; exit 1; }
    bench_stop "$dir"
    res[$kind]="${res[$kind]:-} $rps"
    echo "round $k download-$kind rps=$rps" >&2
  done
  # the ratio within a round: both ran within seconds of each other
  pairs="${pairs:-} $(bench_ratio "$rps" "${res[static]##* }")"
done
static=$(bench_median "${res[static]}")
verify=$(bench_median "${res[verify]}")
echo "download-static.conf median_rps=$static"
echo "download-verify.conf median_rps=$verify"
echo "download $file ($size bytes): verify/static = $(bench_ratio "$verify" "$static") of the medians, $(bench_median "$pairs") median of the rounds' ratios (goal >= 0.95)"
