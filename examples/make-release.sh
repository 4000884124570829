#!/bin/sh
# Copyright (C) The ngx_http_staged_update_module authors
#
# Writes the demo releases under DIR: DIR/2.0.0 and DIR/1.9.0, each with a
# few files and its full archive in .update/full.tar.gz.  Deterministic: the
# same bytes every time, so anyone can check sizes and hashes.
# usage: make-release.sh DIR
set -eu
dir=${1:?usage: make-release.sh DIR}

for v in 2.0.0 1.9.0; do
    r=$dir/$v
    rm -rf "$r"
    mkdir -p "$r/bin" "$r/data" "$r/.update"
    printf '#!/bin/sh\necho "demo game %s"\n' "$v" > "$r/bin/game"
    chmod 755 "$r/bin/game"
    printf 'version=%s\n' "$v" > "$r/version.txt"
    i=0
    while [ $i -lt 3 ]; do
        # 4 KiB of text per pack, different for each version and pack
        yes "$v pack $i" | head -c 4096 > "$r/data/pack$i.pak"
        i=$((i + 1))
    done
    (cd "$r" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        -czf .update/full.tar.gz bin data version.txt)
    printf 'Demo release %s.\n' "$v" > "$r/.update/notes.txt"
done

# a delta from 1.9.0 to 2.0.0: the files that differ, smaller than the full
(cd "$dir/2.0.0" && tar --sort=name --mtime=@0 --owner=0 --group=0 \
    --numeric-owner -czf .update/from-1.9.0.tar.gz bin version.txt)
