#!/bin/sh
# Copyright (C) The ngx_http_staged_update_module authors
#
# Starts (or stops) Debian's nginx with the module on the demo release.
# usage: demo.sh start|stop      (make run / make stop)
# env:   PORT (8080), TLS_PORT (8443): the demo's ports on 127.0.0.1;
#        DEMO_DIR (build/demo), MODULE (build/ngx_http_staged_update_module.so)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${DEMO_DIR:-$top/build/demo}
module=${MODULE:-$top/build/ngx_http_staged_update_module.so}
nginx=${NGINX:-/usr/sbin/nginx}
unset NGINX     # nginx itself would take it for inherited listening sockets
port=${PORT:-8080}
tls_port=${TLS_PORT:-8443}

# stops a process of the demos by its pid file, and waits (5 s at most)

stop_pid() {
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    if kill "$pid" 2>/dev/null; then
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
    fi
    rm -f "$1"
}

# everything the demos started: nginx, and the sample shard of
# examples/launcher/demo.sh

stop() {
    stop_pid "$prefix/shard.pid"
    stop_pid "$prefix/nginx.pid"
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
        -e "s#@PORT@#$port#g" -e "s#@TLS_PORT@#$tls_port#g" \
        "$top/examples/nginx.conf" > "$prefix/nginx.conf"
    "$nginx" -t -q -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
    if ! "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
         2> "$prefix/start.err"
    then
        busy=$(sed -n 's/.*bind() to \([^ ]*\) failed (98: .*/\1/p' \
               "$prefix/start.err" | head -1)
        if [ -n "$busy" ]; then
            echo "demo: $busy is in use by another program; choose free" \
                 "ports: make run PORT=... TLS_PORT=..." >&2
        else
            cat "$prefix/start.err" >&2
        fi
        exit 1
    fi
    echo "the demo version server listens on http://127.0.0.1:$port"
    echo "and https://127.0.0.1:$tls_port (certificate: $keys/demo.crt)"
    echo "  configuration: $prefix/nginx.conf (from examples/nginx.conf)"
    echo "  logs:          $prefix/error.log, $prefix/access.log"
    echo "  releases:      $prefix/releases"
    echo "  curl -i 'http://127.0.0.1:$port/update/check?version=0.9.0'"
    echo "  curl -s http://127.0.0.1:$port/update/api/tracks/game"
    echo "  state file:    $prefix/state/ (the API's overrides)"
    echo "  curl -i --cacert $keys/demo.crt 'https://127.0.0.1:$tls_port/update/check?version=1.9.0&server=shard-1'"
    echo "  Tauri's pubkey: tools/minisign-pubkey.sh -tauri $keys/manifest.pem"
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
