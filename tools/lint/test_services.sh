#!/usr/bin/env bash
# The services-table check (services.py) fails on drift: a copy of the files
# it reads passes, then each seeded disagreement below, made in a fresh copy,
# must fail naming the file and the fact. Run by ctest test_services_table.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

copy() {
    rm -rf "$work/t"
    mkdir -p "$work/t"
    (cd "$repo" && git ls-files services/services.tsv 'services/*/main.c' \
        docker-compose.yml Dockerfile 'deploy/k8s/*.yaml' deploy/app-role.sql |
        tar -cf - -T - | tar -xf - -C "$work/t")
}

copy
python3 "$repo/tools/lint/services.py" "$work/t" || {
    echo "FAIL: the unchanged files do not pass" >&2
    exit 1
}

failed=0
# name | file | sed expression | what the finding must say
while IFS='|' read -r name file expr want; do
    copy
    sed -i -e "$expr" "$work/t/$file"
    if cmp -s "$work/t/$file" "$repo/$file"; then
        echo "FAIL: $name: the seed changed nothing in $file" >&2
        failed=1
        continue
    fi
    if out=$(python3 "$repo/tools/lint/services.py" "$work/t" 2>&1); then
        echo "FAIL: $name: passed" >&2
        failed=1
    elif ! grep -qF -- "$want" <<<"$out"; then
        echo "FAIL: $name: does not say \"$want\": $out" >&2
        failed=1
    else
        echo "ok: $name"
    fi
done <<'SEEDS'
a port changed in the table|services/services.tsv|s/^crosswalk\tcrosswalk\t50052/crosswalk\tcrosswalk\t50062/|the table says crosswalk:50062
a dial the table does not know|services/services.tsv|s/^integrations\tintegrations\t50055\tincidents/integrations\tintegrations\t50055\tincidents,scoping/|BULWARK_SCOPING_ADDR is missing
compose gives the wrong port|docker-compose.yml|s/BULWARK_SCOPING_ADDR: scoping:50051/BULWARK_SCOPING_ADDR: scoping:50057/|docker-compose.yml (crosswalk): BULWARK_SCOPING_ADDR is scoping:50057
compose /metrics port|docker-compose.yml|s/0.0.0.0:51054/0.0.0.0:51099/|docker-compose.yml (attestations): BULWARK_METRICS_ADDR
a manifest's Service port|deploy/k8s/scoping.yaml|s/port: 50051, targetPort/port: 50061, targetPort/|no Service port of 50051
a manifest's environment|deploy/k8s/gateway.yaml|s/"incidents:50053"/"incidents:50063"/|deploy/k8s/gateway.yaml: BULWARK_INCIDENTS_ADDR is incidents:50063
an image's port|Dockerfile|s/^EXPOSE 50053$/EXPOSE 50063/|Dockerfile (incidents): does not EXPOSE 50053
an image's address|Dockerfile|s/BULWARK_SCOPING_ADDR=scoping:50051/BULWARK_SCOPING_ADDR=scoping:50061/|Dockerfile (incidents): BULWARK_SCOPING_ADDR is scoping:50061
an image missing|Dockerfile|s/ AS crosswalk$/ AS xwalk/|no stage crosswalk that copies in bulwark-crosswalk
a login role missing|deploy/app-role.sql|/^\\getenv pw_crosswalk /d|login role bulwark_app_crosswalk: missing
a process only the table has|services/services.tsv|$a reports\treports\t50056\t-|docker-compose.yml: no service reports
SEEDS
exit "$failed"
