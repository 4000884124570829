#!/usr/bin/env bash
# Copyright (C) The ngx_http_staged_update_module authors
#
# The Debian package on this machine (make deb-test, as root, after make deb):
# apt-get install of the .deb puts the module where Debian's modules go and
# enables it through /etc/nginx/modules-enabled; an nginx of this test's own
# (its configuration includes modules-enabled as Debian's nginx.conf does,
# listens on 127.0.0.1:TEST_NGINX_PORT+190) loads it, and a track answers;
# apt-get remove disables it, purge takes the link away, and Debian's
# nginx -t passes all along.  The nginx service is never started or
# stopped here (installing a module only triggers its reload, when it runs).
#
# usage: tests/debian/package.sh DEB_DIR

set -euo pipefail

pkg=libnginx-mod-http-staged-update
debdir=$(cd "${1:?usage: $0 DEB_DIR}" && pwd)
nginx=${NGINX:-/usr/sbin/nginx}
port=$(( ${TEST_NGINX_PORT:-1984} + 190 ))
dir=$debdir/smoke
so=/usr/lib/nginx/modules/ngx_http_staged_update_module.so
available=/usr/share/nginx/modules-available/mod-http-staged-update.conf
enabled=/etc/nginx/modules-enabled/50-mod-http-staged-update.conf
failed=0

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

apt() {
    DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o DPkg::Lock::Timeout=300 \
        "$@" > "$dir/apt.log" 2>&1 || { cat "$dir/apt.log"; return 1; }
}

[ "$(id -u)" = 0 ] || { echo "$0 installs the package: run it as root" >&2; exit 1; }

deb=$(ls "$debdir"/${pkg}_*.deb)

rm -rf "$dir"
mkdir -p "$dir/releases/2.0.0" "$dir/logs" "$dir/tmp"
echo "2.0.0" > "$dir/releases/2.0.0/version.txt"

# the module's own configuration: Debian's convention for the modules,
# everything else in $dir
cat > "$dir/nginx.conf" << END
include /etc/nginx/modules-enabled/*.conf;
daemon on;
worker_processes 1;
pid $dir/logs/nginx.pid;
error_log $dir/logs/error.log;
events { }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    staged_update_zone updates 1m;
    staged_update_track game {
        zone    updates;
        latest  2.0.0 $dir/releases/2.0.0;
        minimum 1.0.0;
    }
    server {
        listen 127.0.0.1:$port;
        location = /update/check { staged_update game; }
    }
}
END

stop_nginx() {
    local pid
    [ -s "$dir/logs/nginx.pid" ] || return 0
    pid=$(cat "$dir/logs/nginx.pid")
    kill -QUIT "$pid" 2> /dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2> /dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2> /dev/null || true
}
trap stop_nginx EXIT

# from a machine without the package
if dpkg-query -W -f='${Status}' $pkg 2> /dev/null | grep -q installed; then
    apt purge $pkg
fi
check "Debian's nginx -t passes before the install" "$nginx" -t -q


# install

apt install "$deb"

check "the .so is in /usr/lib/nginx/modules" test -f $so
check "$available loads it" \
    grep -qx 'load_module modules/ngx_http_staged_update_module.so;' $available
check "$enabled links to it" \
    test "$(readlink $enabled)" = $available
abi=$(sed -n 's/^nginx:abi=//p' /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
field_has() { dpkg-query -W -f="\${$2}" "$1" | grep -qw -- "$3"; }
check "it depends on the ABI it was built for, $abi" field_has $pkg Depends "$abi"
check "Debian's nginx provides $abi" field_has nginx Provides "$abi"
check "Debian's nginx -t passes with the module enabled" "$nginx" -t -q
check "nginx -t of a track with the installed module" \
    "$nginx" -t -q -c "$dir/nginx.conf"

"$nginx" -c "$dir/nginx.conf"

# the status of a check of version $1; the body in $dir/body
answer() {
    curl -s -o "$dir/body" -w '%{http_code}' \
        "http://127.0.0.1:$port/update/check?version=$1" || true
}

mandatory_upgrade() {
    [ "$(answer "$1")" = 200 ] \
        && grep -q "\"version\":\"$2\"" "$dir/body" \
        && grep -q '"mandatory":true' "$dir/body"
}

for _ in $(seq 100); do
    [ "$(answer 2.0.0)" = 000 ] || break
    sleep 0.1
done

check "the track answers 2.0.0 with 204" test "$(answer 2.0.0)" = 204
check "the track answers 0.9.0 with a mandatory upgrade to 2.0.0" \
    mandatory_upgrade 0.9.0 2.0.0

stop_nginx


# remove, then purge

apt remove $pkg

check "remove: the .so is gone" test ! -e $so
check "remove: the module is disabled" test ! -e $enabled
check "Debian's nginx -t passes after remove" "$nginx" -t -q
if "$nginx" -t -q -c "$dir/nginx.conf" 2> "$dir/t.log"; then
    not_ok "remove: the track's configuration still loads"
else
    check "remove: the track's directives are unknown" \
        grep -q 'unknown directive "staged_update_zone"' "$dir/t.log"
fi

apt purge $pkg

check "purge: no link left in modules-enabled" \
    test -z "$(find /etc/nginx/modules-enabled -name '*staged-update*')"
check "Debian's nginx -t passes after purge" "$nginx" -t -q

[ $failed = 0 ] && rm -rf "$dir"
exit $failed
