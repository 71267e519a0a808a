#!/usr/bin/env bash
# Creates the private certificate authority of Bulwark's internal gRPC
# traffic and one certificate per process, with OpenSSL. Every internal
# channel is mutual TLS: a service accepts a caller only with a certificate
# signed by this CA, and reads the caller's identity from its common name
# (the process name: gateway, scoping, crosswalk, ...).
#
#   make-certs.sh [--rotate] DIR NAME...
#
# DIR/ca.pem and DIR/ca.key are created once (ECDSA P-256, 10 years). For
# each NAME, DIR/NAME.pem and DIR/NAME.key are created when missing, when
# they expire within 30 days, or with --rotate (a new key and certificate:
# the processes pick the new files up within a minute, without a restart).
# Each certificate is valid for 825 days, names NAME as its common name and
# carries the subject alternative names DNS:NAME, DNS:localhost and
# IP:127.0.0.1, plus those in BULWARK_TLS_EXTRA_SANS (comma-separated, in
# OpenSSL's form: "DNS:scoping.bulwark.svc,IP:10.0.0.7"). Every file is
# mode 600. The same script serves the local scripts, docker-compose and the
# Kubernetes instructions (deploy/k8s/README.md).
set -euo pipefail

rotate=0
if [[ ${1:-} == --rotate ]]; then
    rotate=1
    shift
fi
if (($# < 2)); then
    printf 'usage: %s [--rotate] DIR NAME...\n' "$0" >&2
    exit 2
fi
dir=$1
shift
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

if [[ ! -f $dir/ca.pem || ! -f $dir/ca.key ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key.tmp"
    openssl req -x509 -new -key "$dir/ca.key.tmp" -sha256 -days 3650 \
        -subj "/O=Bulwark/CN=Bulwark internal CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/ca.pem.tmp"
    mv "$dir/ca.key.tmp" "$dir/ca.key"
    mv "$dir/ca.pem.tmp" "$dir/ca.pem"
fi

for name in "$@"; do
    if [[ ! $name =~ ^[a-z][a-z0-9-]{0,62}$ ]]; then
        printf '%s: "%s" is not a process name (lower-case letters, digits, -)\n' "$0" "$name" >&2
        exit 2
    fi
    cert=$dir/$name.pem key=$dir/$name.key
    if ((rotate == 0)) && [[ -f $cert && -f $key ]] &&
        openssl x509 -in "$cert" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 &&
        openssl verify -CAfile "$dir/ca.pem" "$cert" >/dev/null 2>&1; then
        continue
    fi
    sans="DNS:$name,DNS:localhost,IP:127.0.0.1${BULWARK_TLS_EXTRA_SANS:+,$BULWARK_TLS_EXTRA_SANS}"
    openssl ecparam -name prime256v1 -genkey -noout -out "$key.tmp"
    openssl req -new -key "$key.tmp" -subj "/O=Bulwark/CN=$name" -out "$cert.csr"
    openssl x509 -req -in "$cert.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -CAserial "$dir/ca.srl" -days 825 -sha256 \
        -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$sans") \
        -out "$cert.tmp" 2>/dev/null
    rm -f "$cert.csr"
    # The key first: a reader that sees the new certificate finds its key.
    mv "$key.tmp" "$key"
    mv "$cert.tmp" "$cert"
done
