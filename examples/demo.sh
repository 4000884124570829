#!/bin/sh
# Starts (or stops) Debian's nginx with the module on the demo release.
# usage: demo.sh start|stop      (make run / make stop)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=$top/build/demo
module=$top/build/ngx_http_staged_update_module.so
nginx=${NGINX:-/usr/sbin/nginx}

stop() {
    if [ -f "$prefix/nginx.pid" ]; then
        kill "$(cat "$prefix/nginx.pid")" 2>/dev/null || true
        sleep 0.5
    fi
}

case "${1:-start}" in
start)
    stop
    mkdir -p "$prefix/tmp"
    "$top/examples/make-release.sh" "$prefix/releases"
    sed -e "s#@PREFIX@#$prefix#g" -e "s#@MODULE@#$module#g" \
        -e "s#@RELEASES@#$prefix/releases#g" \
        "$top/examples/nginx.conf" > "$prefix/nginx.conf"
    "$nginx" -t -q -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
    "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
    echo "the demo version server listens on http://127.0.0.1:8080"
    echo "  curl -i 'http://127.0.0.1:8080/update/check?version=0.9.0'"
    echo "  stop it with: make stop"
    ;;
stop)
    stop
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
