#!/bin/sh
# Prints the minisign public key of an Ed25519 key of "sign key.pem;" (its
# private key or its public key, PEM), in the forms that take it:
#
#   tools/minisign-pubkey.sh key.pem          the minisign.pub file's text
#                                             (minisign -V -p file)
#   tools/minisign-pubkey.sh -P key.pem       its key line alone
#                                             (minisign -V -P <key>)
#   tools/minisign-pubkey.sh -tauri key.pem   the base64 of the file's text,
#                                             for Tauri's "pubkey"
#
# The key: "Ed", keynum (the first 8 bytes of the SHA-256 of the raw public
# key), the raw public key; minisign's key ID is keynum read as a
# little-endian number.  Needs openssl, od, base64 (coreutils).
set -eu

form=file
case "${1:-}" in
-P) form=line; shift ;;
-tauri) form=tauri; shift ;;
esac

[ $# -eq 1 ] || {
    echo "usage: $0 [-P | -tauri] key.pem" >&2
    exit 2
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the public key in DER ends with the 32 raw bytes

if grep -q 'PRIVATE KEY' "$1"; then
    openssl pkey -in "$1" -pubout -outform DER -out "$tmp/der"
else
    openssl pkey -pubin -in "$1" -outform DER -out "$tmp/der"
fi

openssl pkey -pubin -inform DER -in "$tmp/der" -noout -text 2>/dev/null \
    | grep -q 'ED25519' || {
    echo "$0: $1 is not an Ed25519 key" >&2
    exit 1
}

tail -c 32 "$tmp/der" > "$tmp/raw"
openssl dgst -sha256 -binary "$tmp/raw" | head -c 8 > "$tmp/keynum"

id=$(od -An -tx1 "$tmp/keynum" | tr -d ' \n' | tr 'a-f' 'A-F' \
     | sed -e 's/\(..\)/\1 /g' | awk '{ for (i = NF; i > 0; i--) printf "%s", $i }')
key=$({ printf Ed; cat "$tmp/keynum" "$tmp/raw"; } | base64 -w0)

case $form in
line)  echo "$key" ;;
file)  printf 'untrusted comment: minisign public key %s\n%s\n' "$id" "$key" ;;
tauri) printf 'untrusted comment: minisign public key %s\n%s\n' "$id" "$key" \
           | base64 -w0; echo ;;
esac
