#!/usr/bin/env bash
# Verifies an attestation export offline, as an auditor would: with
# openssl, jq, base64 and the public key obtained out of band, without
# trusting the service that made the export. README.md explains each step.
#
#   verify-export.sh EXPORT.json PUBLIC-KEY.pem...
#
# Each PEM is a key the auditor trusts (the current one and any earlier one,
# from GET /v1/attestations:public-key or from the operator). Exits 0 and
# prints the head hash when every record, every link, every signature, the
# head and every statement check out; exits 1 at the first failure, saying
# which sequence and why.
set -euo pipefail

if (($# < 2)); then
    printf 'usage: %s EXPORT.json PUBLIC-KEY.pem...\n' "$0" >&2
    exit 2
fi
export_file=$1
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/verify-export.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
    printf 'INVALID at sequence %s: %s\n' "$1" "$2" >&2
    exit 1
}

# The trusted keys by key id: the first 16 hex digits of the SHA-256 of the
# raw 32-byte public key, which is the last 32 bytes of its DER form.
declare -A keys=()
for pem in "$@"; do
    id=$(openssl pkey -pubin -in "$pem" -outform DER | tail -c 32 | openssl dgst -sha256 -r | cut -c1-16)
    keys[$id]=$pem
done

sha256() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }

# verify_sig JSON-FILE SIG-BASE64 SEQUENCE: the Ed25519 signature of the file
# by the key the file names.
verify_sig() {
    local kid
    kid=$(jq -r .keyId "$1")
    [[ -n ${keys[$kid]:-} ]] || fail "$3" "signed by key $kid, which is not among the trusted keys"
    printf '%s' "$2" | base64 -d >"$work/sig"
    openssl pkeyutl -verify -pubin -inkey "${keys[$kid]}" -rawin -in "$1" -sigfile "$work/sig" \
        >/dev/null 2>&1 || fail "$3" "the signature does not verify"
}

n=$(jq '.records | length' "$export_file")
entity=$(jq -r .entity "$export_file")
prev=0000000000000000000000000000000000000000000000000000000000000000
for ((i = 0; i < n; i++)); do
    seq=$((i + 1))
    rec=$work/record.json
    jq -r ".records[$i].canonical" "$export_file" | base64 -d >"$rec"
    [[ $(jq -r .format "$rec") == bulwark.attestation.v1 ]] || fail "$seq" "unknown record format"
    [[ $(jq -r .sequence "$rec") == "$seq" ]] || fail "$seq" "record $seq is missing"
    [[ $(jq -r .entity "$rec") == "$entity" ]] || fail "$seq" "the record belongs to another entity"
    hash=$(sha256 "$rec")
    [[ $hash == "$(jq -r ".records[$i].hash" "$export_file")" ]] || fail "$seq" "the hash does not match"
    [[ $(jq -r .previousHash "$rec") == "$prev" ]] || fail "$seq" "not linked to the record before"
    verify_sig "$rec" "$(jq -r ".records[$i].signature" "$export_file")" "$seq"
    # The statement attested: its text is in the export's campaigns.
    campaign=$(jq -r .campaign "$rec")
    jq -j --arg c "$campaign" '.campaigns[] | select(.id == $c) | .statement' "$export_file" \
        >"$work/statement"
    [[ $(sha256 "$work/statement") == "$(jq -r .statementSha256 "$rec")" ]] ||
        fail "$seq" "the campaign's statement is not the one attested"
    prev=$hash
done

# The signed head vouches for the last record: removing records from the end
# shows here.
if ((n > 0)); then
    head=$work/head.json
    jq -r '.head.canonical // empty' "$export_file" | base64 -d >"$head"
    [[ -s $head ]] || fail "$n" "the chain head is missing"
    [[ $(jq -r .format "$head") == bulwark.attestation-head.v1 ]] || fail "$n" "unknown head format"
    hseq=$(jq -r .sequence "$head")
    ((hseq <= n)) || fail "$((n + 1))" "records are missing from the end of the chain"
    ((hseq == n)) || fail "$((hseq + 1))" "the head does not vouch for record $((hseq + 1))"
    [[ $(jq -r .hash "$head") == "$prev" ]] || fail "$n" "the head does not vouch for the last record"
    verify_sig "$head" "$(jq -r .head.signature "$export_file")" "$n"
fi
printf 'valid: %d records, head %s\n' "$n" "$prev"
