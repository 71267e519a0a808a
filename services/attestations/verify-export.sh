#!/usr/bin/env bash
# Verifies an attestation export offline, as an auditor would: with jq,
# openssl, base64 and sha256sum and the public key obtained out of band,
# without trusting the service that made the export. README.md explains
# each step.
#
#   verify-export.sh EXPORT.json PUBLIC-KEY.pem...
#
# Each PEM is a key the auditor trusts (the current one and any earlier one,
# from GET /v1/attestations:public-key or from the operator). It refuses a
# file with a key twice in one object (JSON readers disagree on which value
# counts). It proves:
#   - every record: its canonical bytes hash to its hash, link to the record
#     before, carry the next sequence of this tenant's and entity's chain,
#     and are signed by a trusted key;
#   - every readable field of every record (decision, member, comment, ...)
#     equals the value its canonical bytes sign, and a record has no field
#     beyond them;
#   - the head: signed, vouching for the last record, its readable fields
#     equal to what it signs;
#   - every campaign: referred to by a record, its id, entity, kind and
#     statement hash those the records sign, its statement hashing to it;
#   - the export's statement, signed by a trusted key: its tenant, entity
#     and export time are the export's, its number of records and its head
#     those of the export (so an export re-dated, handed over for another
#     entity, or emptied of its records and head, fails);
#   - the keys listed and the service's own verdict agree with all this.
# Exits 0 and prints "valid: N records, head HASH, entity ID, exported TIME"
# (the entity and the time as the statement signs them) when everything
# checks out; otherwise prints "INVALID at sequence N: why" for the first
# failing sequence, or "INVALID: why" when no sequence fails but the export
# as a whole does (its statement) or the file is not an export at all, and
# exits 1. Exits 2 on a usage error.
set -euo pipefail

if (($# < 2)); then
    printf 'usage: %s EXPORT.json PUBLIC-KEY.pem...\n' "$0" >&2
    exit 2
fi
export_file=$1
shift
for tool in jq openssl base64 sha256sum; do
    command -v "$tool" >/dev/null || {
        printf '%s: %s is needed\n' "$0" "$tool" >&2
        exit 2
    }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/verify-export.XXXXXX")
trap 'rm -rf "$work"' EXIT

# raw_key PEM: writes the raw 32-byte public key (the last 32 bytes of its
# DER form) to $work/raw and sets key_id to the key id, the first 16 hex
# digits of its SHA-256. Fails when PEM holds no public key.
raw_key() {
    openssl pkey -pubin -in "$1" -outform DER >"$work/der" 2>/dev/null || return 1
    tail -c 32 "$work/der" >"$work/raw"
    key_id=$(sha256sum "$work/raw")
    key_id=${key_id:0:16}
}

# sha256_of FILE: sets digest to the lower-case hex SHA-256 of FILE.
sha256_of() {
    digest=$(sha256sum "$1")
    digest=${digest%% *}
}

declare -A keys=()
for pem in "$@"; do
    raw_key "$pem" || {
        printf '%s: %s is not a readable PEM public key\n' "$0" "$pem" >&2
        exit 2
    }
    keys[$key_id]=$pem
done

# A key twice in one object, anywhere in the file: jq, like most JSON
# readers, keeps the last value, so a record reading "decision":"APPROVE",
# "decision":"REJECT" would be checked as the REJECT it signs while a person
# reading the file sees APPROVE. The parsed document no longer shows the
# first value; the parser's events (--stream) do. A level of the path being
# read is {key, done, seen}: the key the events are under, whether its value
# has ended (a scalar's event, or the closing event of its container), and
# the keys its object has had. A key met again once its value ended, or met
# again after another, is a duplicate. Prints the first one's path
# (.records[1].decision), nothing when there is none or the file is no JSON.
duplicate=$(jq -n -r --stream '
  def show: map(if type == "number" then "[\(.)]"
                elif test("^[A-Za-z_][A-Za-z0-9_]*$") then ".\(.)"
                else ".[\(tojson)]" end) | join("");
  first(foreach inputs as $e ({lv: [], dup: null};
      ($e[0]) as $p | ($p | length) as $len
      | if $len == 0 then .
        elif ($e | length) == 1 then
          # [path]: the container of the last step of path closed, so the
          # value one level up ended.
          .lv |= (.[0:$len - 1] | if $len >= 2 then .[$len - 2].done = true else . end)
        else
          reduce range(0; $len) as $d (.;
            if .dup != null then .
            else ($p[$d] | tojson) as $k
              | if .lv[$d] != null and .lv[$d].key == $k then
                  (if .lv[$d].done then .dup = $p[0:$d + 1] else . end)
                elif .lv[$d] != null and ($p[$d] | type) == "string" and .lv[$d].seen[$k] then
                  .dup = $p[0:$d + 1]
                else
                  .lv = .lv[0:$d] + [{key: $k, done: false,
                      seen: (if ($p[$d] | type) == "string"
                             then (.lv[$d].seen // {}) + {($k): true} else {} end)}]
                end
            end)
          | .lv[$len - 1].done = true
          | .lv |= .[0:$len]
        end;
      select(.dup != null) | .dup | show))
' "$export_file" 2>/dev/null) || true
if [[ -n $duplicate ]]; then
    printf 'INVALID: the key %s appears twice in one object; a reader sees one value and the check reads another\n' \
        "$duplicate" >&2
    exit 1
fi

# Every check that needs no cryptography, in one pass of jq. It prints one
# line per finding or item to check, fields separated by the ASCII unit
# separator (control characters inside a field become blanks):
#   E why                                 the file is not an export
#   F seq why                             a readable field is not what was signed
#   R seq canonical signature hash keyId previousHash    a record
#   H seq canonical signature keyId hash  the head
#   C seq statement-base64 statementSha256 a campaign (seq: its first record)
#   K seq keyId pem-base64 raw            a listed key (seq: the last record)
#   V seq headHash                        the service's verdict (seq: the last record)
#   S 0 canonical signature keyId entity exportTime    the export's statement
# A finding about the export as a whole has seq 0.
checks=$(jq -r '
  def b64: type == "string" and test("^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$");
  def decode: if b64 then (try (@base64d | fromjson) catch null) else null end
              | if type == "object" then . else null end;
  def instant: if type == "string"
      then [capture("^(?<s>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\\.(?<f>[0-9]{1,9}))?Z$")]
           | if length == 0 then null else .[0] | .s + "." + ((.f // "") + "000000000")[0:9] end
      else null end;
  def num: if type == "number" or type == "string" then tostring else "?" end;
  def str: if type == "string" then . else "" end;
  # Fields are separated by the unit separator, which no field may hold.
  def line($fields): $fields | map(tostring | gsub("[\u0000-\u001f]"; " ")) | join("\u001f");

  def record_keys: ["campaign","canonical","comment","decision","entity","hash","id","keyId",
      "kind","member","memberName","onBehalf","previousHash","recordedAt","recordedBy",
      "sequence","signature","statementSha256","tenant"];
  def v1_keys: ["campaign","comment","decision","entity","format","keyId","kind","member",
      "memberName","onBehalf","previousHash","recordedAt","recordedBy","sequence",
      "statementSha256","tenant"];
  def signed_strings: ["tenant","entity","campaign","kind","member","memberName","decision",
      "comment","statementSha256","recordedBy","keyId","previousHash"];

  . as $x
  | if type != "object" then line(["E", "the file is not a JSON object"])
    elif $x.format != "bulwark.attestation-export.v3" then
      line(["E", "the export format \(($x.format // "none") | tostring) is not bulwark.attestation-export.v3; export again with a current service"])
    elif ($x.tenant | type) != "string" or ($x.entity | type) != "string" then
      line(["E", "the export names no tenant or entity"])
    elif (($x.records // []) | type) != "array" or (($x.campaigns // []) | type) != "array"
         or (($x.keys // []) | type) != "array" then
      line(["E", "records, campaigns and keys must be lists"])
    elif ($x.statement | type) != "object" then
      line(["E", "the export carries no signed statement: its time, entity and number of records are bound to nothing"])
    else
      ($x.records // []) as $records
      | ($records | length) as $n
      | [$records | to_entries[] | {s: (.key + 1), r: .value,
           c: (if (.value | type) == "object" then (.value.canonical | decode) else null end)}] as $recs
      | ($x.campaigns // []) as $campaigns
      | ($x.head) as $h
      | (if ($h | type) == "object" then ($h.canonical | decode) else null end) as $hc
      | ($x.statement) as $st
      | ($st.canonical | decode) as $sc
      # Where findings about the whole chain are reported: its last record,
      # as the records or the head count them.
      | ([$n, 1, ($hc.sequence? // 0 | if type == "number" then . else 0 end)] | max) as $last_seq
      # The first record (sequence) that refers to a campaign, or that a key signed.
      | def first_use(f): [$recs[] | select(.c != null and (.c | f)) | .s] | min;
      (
        ([$x | keys[] | select(. as $k | ["format","tenant","entity","exportTime","records","head",
            "campaigns","keys","verification","statement"] | index($k) | not)] | if length > 0
            then line(["F", 1, "the export holds fields no signature covers: \(join(", "))"]) else empty end),
        ($x.exportTime | if . == null or instant != null then empty
            else line(["F", 1, "exportTime is not an RFC 3339 time"]) end),

        # The statement: what the service signs about the export as a whole.
        ([$st | keys[] | select(. as $k | ["format","tenant","entity","exportTime","records",
            "headSequence","headHash","keyId","signature","canonical"] | index($k) | not)]
           | if length > 0 then line(["F", 0, "the statement has fields its signature does not cover: \(join(", "))"])
             else empty end),
        (if $sc == null then line(["F", 0, "the canonical bytes of the statement are not base64 of a JSON object"])
         elif ($sc | keys) != ["entity","exportTime","format","headHash","headSequence","keyId","records","tenant"]
              or $sc.format != $x.format or ($sc.records | type) != "number"
              or ($sc.headSequence | type) != "number" or ($sc.exportTime | instant) == null
           then line(["F", 0, "the statement does not have the members of this export format"])
         else
           (["format","tenant","entity","headHash","keyId"][] as $f | if $st[$f] != $sc[$f]
              then line(["F", 0, "the readable \($f) of the statement is not what it signs"]) else empty end),
           (["records","headSequence"][] as $f | if ($st[$f] | num) != ($sc[$f] | num)
              then line(["F", 0, "the readable \($f) of the statement is not what it signs"]) else empty end),
           (if ($st.exportTime | instant) != ($sc.exportTime | instant)
              then line(["F", 0, "the readable exportTime of the statement is not what it signs"]) else empty end),
           (if $sc.tenant != $x.tenant or $sc.entity != $x.entity
              then line(["F", 0, "the export names another tenant or entity than its statement signs"]) else empty end),
           (if ($x.exportTime | instant) != ($sc.exportTime | instant)
              then line(["F", 0, "the exportTime \($x.exportTime | tostring) is not the one the statement signs, \($sc.exportTime)"])
            else empty end),
           (if $sc.records != $n
              then line(["F", 0, "the export holds \($n) records; its statement signs \($sc.records)"])
            else empty end),
           (if ($hc == null and ($sc.headSequence != 0 or $sc.headHash != ""))
               or ($hc != null and ($sc.headSequence != $hc.sequence or $sc.headHash != $hc.hash))
              then line(["F", 0, "the head is not the one the statement signs, at sequence \($sc.headSequence)"])
            else empty end),
           line(["S", 0, ($st.canonical | if b64 then . else "" end), ($st.signature | if b64 then . else "" end),
                 ($sc.keyId | str), ($sc.entity | str), ($sc.exportTime | str)])
         end),

        # Records.
        ($recs[] | . as {s: $s, r: $r, c: $c}
          | if ($r | type) != "object" then line(["F", $s, "record \($s) is not an object"])
            else
              ([$r | keys[] | select(. as $k | record_keys | index($k) | not)] | if length > 0
                 then line(["F", $s, "the record has fields its signature does not cover: \(join(", "))"])
                 else empty end),
              (if $c == null then line(["F", $s, "its canonical bytes are not base64 of a JSON object"])
               elif ($c.format != "bulwark.attestation.v1" and $c.format != "bulwark.attestation.v2")
                 then line(["F", $s, "unknown record format \($c.format | tostring)"])
               elif ($c | keys) != (if $c.format == "bulwark.attestation.v1" then v1_keys
                                    else (v1_keys + ["id"] | sort) end)
                 then line(["F", $s, "the signed record does not have the members of its format"])
               else
                 (if ($c.sequence | num) != ($s | tostring)
                    then line(["F", $s, "record \($s) is missing: the record in its place signs sequence \($c.sequence | num)"])
                  else empty end),
                 (if $c.tenant != $x.tenant or $c.entity != $x.entity
                    then line(["F", $s, "the record belongs to another tenant or entity"]) else empty end),
                 (signed_strings[] as $f | if $r[$f] != $c[$f]
                    then line(["F", $s, "the readable \($f) is not what the record signs"]) else empty end),
                 (if ($r.sequence | num) != ($c.sequence | num)
                    then line(["F", $s, "the readable sequence is not what the record signs"]) else empty end),
                 (if $r.onBehalf != $c.onBehalf
                    then line(["F", $s, "the readable onBehalf is not what the record signs"]) else empty end),
                 (if ($r.recordedAt | instant) == null or ($r.recordedAt | instant) != ($c.recordedAt | instant)
                    then line(["F", $s, "the readable recordedAt is not what the record signs"]) else empty end),
                 (if $c.format == "bulwark.attestation.v1"
                    then (if ($r.id // "") != "" then line(["F", $s, "the readable id is not signed by this version 1 record"]) else empty end)
                    else (if $r.id != $c.id then line(["F", $s, "the readable id is not what the record signs"]) else empty end)
                  end),
                 (if [$campaigns[] | select(type == "object" and .id == $c.campaign)] | length != 1
                    then line(["F", $s, "the campaign record \($s) signs is not in the export exactly once"]) else empty end),
                 ($campaigns[] | select(type == "object" and .id == $c.campaign)
                   | if .entity != $c.entity or .kind != $c.kind or .statementSha256 != $c.statementSha256
                       then line(["F", $s, "the readable entity, kind or statement hash of campaign \(.id) is not what record \($s) signs"])
                     else empty end),
                 line(["R", $s, ($r.canonical | if b64 then . else "" end), ($r.signature | if b64 then . else "" end),
                       ($r.hash | str), ($c.keyId | str), ($c.previousHash | str)])
               end)
            end),

        # The head.
        (if $h == null then
           (if $n > 0 then line(["F", $n, "the chain head is missing"]) else empty end)
         elif ($h | type) != "object" then line(["F", ([$n, 1] | max), "the chain head is not an object"])
         else
           ([$h | keys[] | select(. as $k | ["sequence","hash","keyId","signature","canonical"] | index($k) | not)]
              | if length > 0 then line(["F", ([$n, 1] | max), "the head has fields its signature does not cover: \(join(", "))"]) else empty end),
           (if $hc == null then line(["F", ([$n, 1] | max), "the canonical bytes of the head are not base64 of a JSON object"])
            elif $hc.format != "bulwark.attestation-head.v1" or ($hc | keys) != ["entity","format","hash","keyId","sequence","tenant"]
              then line(["F", ([$n, 1] | max), "unknown head format"])
            elif $hc.tenant != $x.tenant or $hc.entity != $x.entity
              then line(["F", ([$n, 1] | max), "the head belongs to another tenant or entity"])
            elif ($hc.sequence | type) != "number" then line(["F", ([$n, 1] | max), "the head signs no sequence"])
            elif $hc.sequence > $n then line(["F", $n + 1, "records are missing from the end of the chain"])
            elif $hc.sequence < $n then line(["F", $hc.sequence + 1, "the head does not vouch for record \($hc.sequence + 1)"])
            else
              (if ($h.sequence | num) != ($hc.sequence | num) or $h.hash != $hc.hash or $h.keyId != $hc.keyId
                 then line(["F", ([$n, 1] | max), "the readable head is not what the head signs"]) else empty end),
              line(["H", ([$n, 1] | max), ($h.canonical | if b64 then . else "" end), ($h.signature | if b64 then . else "" end),
                    ($hc.keyId | str), ($hc.hash | str)])
            end)
         end),

        # Campaigns: each one is evidence only through the records that sign it.
        ($campaigns | to_entries[] | .value as $k
          | if ($k | type) != "object" then line(["F", ([$n, 1] | max), "campaign \(.key + 1) is not an object"])
            else
              ((first_use(.campaign == $k.id)) // ([$n, 1] | max)) as $first
              | ([$k | keys[] | select(. as $f | ["id","entity","kind","statement","statementSha256"] | index($f) | not)]
                   | if length > 0 then line(["F", $first, "campaign \($k.id) has fields no signature covers: \(join(", "))"]) else empty end),
                (if first_use(.campaign == $k.id) == null
                   then line(["F", $first, "campaign \($k.id | tostring) is not one the records sign"]) else empty end),
                (if ($k.statement | type) != "string"
                   then line(["F", $first, "campaign \($k.id) has no statement"])
                 else line(["C", $first, ($k.statement | @base64), ($k.statementSha256 | str)]) end)
            end),

        # The keys the export lists, a statement about the whole export (the
        # auditor trusts only their own keys): each one a key that signs in it.
        (($x.keys // []) | .[] | . as $key | $last_seq as $at
          | if ($key | type) != "object" then line(["F", $at, "a listed key is not an object"])
            elif first_use(.keyId == $key.keyId) == null and ($hc == null or $hc.keyId != $key.keyId)
                 and ($sc == null or $sc.keyId != $key.keyId)
              then line(["F", $at, "the export lists key \($key.keyId | tostring), which signs nothing in it"])
            else
              ([$key | keys[] | select(. as $f | ["keyId","algorithm","pem","raw","current","createTime"] | index($f) | not)]
                 | if length > 0 then line(["F", $at, "a listed key has unknown fields: \(join(", "))"]) else empty end),
              (if $key.algorithm != "Ed25519" then line(["F", $at, "key \($key.keyId) is not an Ed25519 key"]) else empty end),
              line(["K", $at, ($key.keyId | str), ($key.pem | str | @base64), ($key.raw | str)])
            end),

        # The verdict of the service itself.
        ($x.verification as $v
          | if $v == null then empty
            elif ($v | type) != "object" or $v.valid != true or ($v.records | num) != ($n | tostring)
                 or (($v.sequence // 0) | num) != "0" or ($v.reason // "") != "" or ($v.detail // "") != ""
              then line(["F", $last_seq, "the verification in the export does not say this chain of \($n) records is valid"])
            else line(["V", $last_seq, ($v.headHash | str)]) end)
      )
    end
' "$export_file") || {
    printf 'INVALID: %s is not a JSON document\n' "$export_file" >&2
    exit 1
}

sep=$'\x1f'
envelope=$(grep -m1 "^E$sep" <<<"$checks" || true)
if [[ -n $envelope ]]; then
    printf 'INVALID: %s\n' "${envelope#E"$sep"}" >&2
    exit 1
fi

failures=()
fail() { failures+=("$1"$'\t'"$2"); }

# signed_by FILE SIG-BASE64 KEY-ID: 0 when a trusted key KEY-ID signed FILE.
signed_by() {
    [[ -n $3 && -n ${keys[$3]:-} && -n $2 ]] || return 1
    base64 -d <<<"$2" >"$work/sig" 2>/dev/null || return 1
    openssl pkeyutl -verify -pubin -inkey "${keys[$3]}" -rawin -in "$1" -sigfile "$work/sig" \
        >/dev/null 2>&1
}

prev=0000000000000000000000000000000000000000000000000000000000000000
n=0
signed_entity=
signed_time=
verdict_at=
verdict_head=
while IFS=$sep read -r kind seq a b c d e; do
    case $kind in
    F)
        fail "$seq" "$a"
        ;;
    R)
        n=$seq
        rec=$work/record.json
        if ! base64 -d <<<"$a" >"$rec" 2>/dev/null || [[ -z $a ]]; then
            fail "$seq" "its canonical bytes are not base64"
            prev=unreadable
            continue
        fi
        sha256_of "$rec"
        hash=$digest
        [[ $hash == "$c" ]] || fail "$seq" "the hash does not match the canonical bytes"
        [[ $e == "$prev" ]] || fail "$seq" "not linked to the record before"
        if [[ -z $d || -z ${keys[$d]:-} ]]; then
            fail "$seq" "signed by key ${d:-(none)}, which is not among the trusted keys"
        elif ! signed_by "$rec" "$b" "$d"; then
            fail "$seq" "the signature does not verify"
        fi
        prev=$hash
        ;;
    H)
        head=$work/head.json
        if ! base64 -d <<<"$a" >"$head" 2>/dev/null || [[ -z $a ]]; then
            fail "$seq" "the canonical bytes of the head are not base64"
        elif [[ $d != "$prev" ]]; then
            fail "$seq" "the head does not vouch for the last record"
        elif ! signed_by "$head" "$b" "$c"; then
            fail "$seq" "the signature of the head does not verify with a trusted key"
        fi
        ;;
    C)
        if ! base64 -d <<<"$a" >"$work/statement" 2>/dev/null; then
            fail "$seq" "a campaign's statement cannot be read"
        else
            sha256_of "$work/statement"
            [[ $digest == "$b" ]] || fail "$seq" "the campaign's statement is not the one attested"
        fi
        ;;
    K)
        if ! base64 -d <<<"$b" >"$work/listed.pem" 2>/dev/null || ! raw_key "$work/listed.pem" ||
            [[ $key_id != "$a" || $(base64 -w0 "$work/raw") != "$c" ]]; then
            fail "$seq" "the listed key $a is not the key its PEM holds"
        fi
        ;;
    V)
        verdict_at=$seq
        verdict_head=$a
        ;;
    S)
        statement=$work/export-statement.json
        if ! base64 -d <<<"$a" >"$statement" 2>/dev/null || [[ -z $a ]]; then
            fail 0 "the canonical bytes of the statement are not base64"
        elif [[ -z $c || -z ${keys[$c]:-} ]]; then
            fail 0 "the statement is signed by key ${c:-(none)}, which is not among the trusted keys"
        elif ! signed_by "$statement" "$b" "$c"; then
            fail 0 "the signature of the statement does not verify"
        else
            signed_entity=$d
            signed_time=$e
        fi
        ;;
    esac
done <<<"$checks"

if [[ -n $verdict_at && $verdict_head != "$prev" ]]; then
    fail "$verdict_at" "the verification in the export names another head hash"
fi

if [[ -z $signed_entity ]] && ((${#failures[@]} == 0)); then
    fail 0 "the statement was not checked"
fi
if ((${#failures[@]} > 0)); then
    # The first failing sequence; a finding about the export as a whole (0)
    # when no sequence fails.
    first=$(printf '%s\n' "${failures[@]}" | sort -t$'\t' -k1,1n -s | grep -m1 -v $'^0\t' || true)
    if [[ -n $first ]]; then
        printf 'INVALID at sequence %s: %s\n' "${first%%$'\t'*}" "${first#*$'\t'}" >&2
    else
        first=$(printf '%s\n' "${failures[@]}" | head -n1)
        printf 'INVALID: %s\n' "${first#*$'\t'}" >&2
    fi
    exit 1
fi
printf 'valid: %d records, head %s, entity %s, exported %s\n' "$n" "$prev" "$signed_entity" \
    "$signed_time"
