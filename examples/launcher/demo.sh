#!/bin/sh
# Copyright (C) The ngx_http_staged_update_module authors
#
# The launcher demo: the version server of "make run" (HTTPS on 8443), the
# sample shard "shard-1" on 9001, and the reference launcher upgrading a
# sample installation of 1.0.0 in build/demo/install.
# usage: examples/launcher/demo.sh [start|stop]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
demo=$top/build/demo
launcher=$top/build/launcher
dir=$demo/install
port=${SHARD_PORT:-9001}

stop() {
    if [ -f "$demo/shard.pid" ]; then
        kill "$(cat "$demo/shard.pid")" 2>/dev/null || true
        rm -f "$demo/shard.pid"
    fi
    "$top/examples/demo.sh" stop
}

step() {
    printf '\n$ %s\n' "$*" | sed -e "s#$top/##g"
    "$@" || echo "(exit $?)"
}

case "${1:-start}" in
stop)
    stop
    exit 0
    ;;
start)
    ;;
*)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac

[ -f "$top/build/ngx_http_staged_update_module.so" ] || {
    echo "build the module first: make" >&2
    exit 1
}

[ -x "$launcher" ] || make -C "$top" launcher >/dev/null

stop >/dev/null 2>&1 || true
"$top/examples/demo.sh" start >/dev/null

python3 "$top/examples/shard/shard.py" --port "$port" --id shard-1 \
    --users alice:secret > "$demo/shard.log" 2>&1 &
echo $! > "$demo/shard.pid"
sleep 0.5

# a sample installation of 1.0.0
rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/.launcher"
printf '#!/bin/sh\necho "demo game 1.0.0"\n' > "$dir/bin/game"
chmod 755 "$dir/bin/game"
printf 'version=1.0.0\n' > "$dir/version.txt"
echo 1.0.0 > "$dir/.launcher/version"

keys=$demo/keys
set -- "$launcher" --dir "$dir" --server "https://127.0.0.1:${TLS_PORT:-8443}" \
    --cacert "$keys/demo.crt" --pubkey "$keys/manifest.pub.pem"
shard="--shard http://127.0.0.1:$port --user alice --password secret"

# 1.0.0 is below shard-1's minimum 1.5.0: a mandatory upgrade to 1.9.0
step "$@" $shard --yes --exec bin/game
step "$@" $shard --exec bin/game
step "$launcher" --dir "$dir" --rollback --exec bin/game
step "$@" $shard --yes --exec bin/game
printf '\nthe shard saw:\n'
cat "$demo/shard.log"
printf '\nstop it with: examples/launcher/demo.sh stop\n'
