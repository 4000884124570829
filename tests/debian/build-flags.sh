#!/usr/bin/env bash
# Copyright (C) The ngx_http_staged_update_module authors
#
# The module is built as Debian builds nginx (make build-test, after make):
#
#  1. build/nginx-dev/objs/ngx_auto_config.h, what configure found for our
#     build, is the one that Debian's flags alone give: a copy of nginx-dev
#     configured with conf_flags and the --with-cc-opt and --with-ld-opt
#     that Debian's /usr/sbin/nginx was built with (nginx -V), without the
#     module.  They differ in the NGX_CONFIGURE line only, and there by the
#     module and the source path in -ffile-prefix-map.
#  2. hardening-check passes on the .so.  Control flow protection is not
#     asked for when Debian's nginx has none either (bookworm's
#     dpkg-buildflags does not enable -fcf-protection).
#  3. A warning in a module file fails make: a copy of the tree with a -Wall
#     warning in the module's main file and a -Wextra warning in a file of
#     src/ does not build, and the compiler names both as errors.
#
# usage: tests/debian/build-flags.sh BUILD_DIR

set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
ours=$build/nginx-dev/objs
so=$build/ngx_http_staged_update_module.so
ngx_dev=${NGX_DEV:-/usr/share/nginx/src}
nginx=${NGINX:-/usr/sbin/nginx}
failed=0

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }

# the value of a --name='...' option in a configure line
opt() { sed -n "s/.*--$1='\([^']*\)'.*/\1/p"; }

# the configure line without the module and the source path
normalize() {
    sed -e 's/ --add-dynamic-module=[^ "]*//' \
        -e 's/-ffile-prefix-map=[^ ]*=\./-ffile-prefix-map=SRC=./g'
}


# 1. the same configuration as Debian's flags alone

nginx_v=$("$nginx" -V 2>&1)
cc_opt=$(opt with-cc-opt <<< "$nginx_v")
ld_opt=$(opt with-ld-opt <<< "$nginx_v")

[ -n "$cc_opt" ] && [ -n "$ld_opt" ] || {
    echo "no --with-cc-opt/--with-ld-opt in $nginx -V" >&2; exit 1; }

ref=$build/flags-ref
rm -rf "$ref"
cp -a "$ngx_dev" "$ref"
( cd "$ref" && . ./conf_flags &&
  ./configure --with-cc-opt="$cc_opt" --with-ld-opt="$ld_opt" \
      "${NGX_CONF_FLAGS[@]}" > "$ref/configure.log" 2>&1 ) \
    || { tail -20 "$ref/configure.log"; exit 1; }

if diff -u <(grep -v '^#define NGX_CONFIGURE ' "$ref/objs/ngx_auto_config.h") \
           <(grep -v '^#define NGX_CONFIGURE ' "$ours/ngx_auto_config.h")
then
    ok "ngx_auto_config.h: the features that Debian's flags alone find"
else
    not_ok "ngx_auto_config.h differs from the one of Debian's flags alone"
fi

ref_line=$(grep '^#define NGX_CONFIGURE ' "$ref/objs/ngx_auto_config.h" \
           | normalize)
our_line=$(grep '^#define NGX_CONFIGURE ' "$ours/ngx_auto_config.h" \
           | normalize)

if [ "$ref_line" = "$our_line" ]; then
    ok "configured with nginx -V's cc-opt, ld-opt and conf_flags"
else
    not_ok "configure line: $our_line, Debian's nginx: $ref_line"
fi

rm -rf "$ref"


# 2. hardened

hc_opts=()
if { hardening-check "$nginx" || true; } \
       | grep -q 'Control flow integrity: no'; then
    hc_opts+=(--nocfprotection)
fi

if hardening-check "${hc_opts[@]}" "$so"; then
    ok "hardening-check ${hc_opts[*]} $so"
else
    not_ok "hardening-check ${hc_opts[*]} $so"
fi


# 3. a warning in a module file fails make

w=$build/werror
rm -rf "$w"
mkdir -p "$w"
cp -a "$top/Makefile" "$top/config" "$top/ngx_http_staged_update_module.c" \
      "$top/src" "$w/"

cat >> "$w/ngx_http_staged_update_module.c" << 'END'

int ngx_http_staged_update_injected_wall(void);

int
ngx_http_staged_update_injected_wall(void)
{
    int  unused;

    return 0;
}
END

cat >> "$w/src/ngx_http_staged_update_version.c" << 'END'

int ngx_http_staged_update_injected_wextra(int a, unsigned b);

int
ngx_http_staged_update_injected_wextra(int a, unsigned b)
{
    return a < b;
}
END

if make -k -C "$w" module NGX_DEV="$ngx_dev" > "$w/make.log" 2>&1; then
    not_ok "make built the module with warnings in its files"
else
    for e in 'ngx_http_staged_update_module.c:.*\[-Werror=unused-variable\]' \
             'ngx_http_staged_update_version.c:.*\[-Werror=sign-compare\]'
    do
        if grep -q "$e" "$w/make.log"; then
            ok "make fails: $e"
        else
            not_ok "make failed, but without $e"
            tail -20 "$w/make.log"
        fi
    done
fi

[ -e "$w/build/ngx_http_staged_update_module.so" ] \
    && not_ok "a .so was built despite the warnings"

rm -rf "$w"

exit $failed
