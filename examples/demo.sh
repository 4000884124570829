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
    mkdir -p "$prefix/tmp" "$prefix/keys" "$prefix/state"
    # the overrides' state file: written by the workers (nobody under root)
    chmod 1777 "$prefix/state"
    "$top/examples/make-release.sh" "$prefix/releases"
    keys=$prefix/keys
    [ -f "$keys/token.secret" ] || openssl rand -hex 32 > "$keys/token.secret"
    if [ ! -f "$keys/manifest.pem" ]; then
        openssl genpkey -algorithm ed25519 -out "$keys/manifest.pem"
        openssl pkey -in "$keys/manifest.pem" -pubout -out "$keys/manifest.pub.pem"
    fi
    [ -f "$keys/demo.crt" ] || openssl req -x509 -newkey ec \
        -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$keys/demo.key" -out "$keys/demo.crt" 2>/dev/null
    chmod 600 "$keys/token.secret" "$keys/manifest.pem" "$keys/demo.key"
    sed -e "s#@PREFIX@#$prefix#g" -e "s#@MODULE@#$module#g" \
        -e "s#@RELEASES@#$prefix/releases#g" \
        "$top/examples/nginx.conf" > "$prefix/nginx.conf"
    "$nginx" -t -q -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
    "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
    echo "the demo version server listens on http://127.0.0.1:8080"
    echo "and https://127.0.0.1:8443 (certificate: $keys/demo.crt)"
    echo "  curl -i 'http://127.0.0.1:8080/update/check?version=0.9.0'"
    echo "  curl -s http://127.0.0.1:8080/update/api/tracks/game"
    echo "  curl -i --cacert $keys/demo.crt 'https://127.0.0.1:8443/update/check?version=1.9.0&server=shard-1'"
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
