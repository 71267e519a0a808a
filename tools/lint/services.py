#!/usr/bin/env python3
"""The services table (services/services.tsv) against every copy of it.

CMake, the C programs (through bw_services.h, which CMake writes from the
table) and the local scripts read the table itself; the compose file, the
Kubernetes manifests and the database roles say the same facts in their own
language, and this check fails when one of them disagrees with the table: a
process missing or extra, a gRPC port, a /metrics port, who dials whom, a
login role, an image's stage in the Dockerfile. Run by tools/lint/lint.sh;
`services.py ROOT` checks another tree (the seeded-drift test does).
Plain text matching only, so that it needs nothing beyond Python.
"""
import os
import re
import sys

import services_table

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def read(rel):
    try:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            return f.read()
    except OSError:
        err(rel, "missing")
        return ""


TABLE = services_table.load(ROOT, err)
BY_PROCESS = {r["process"]: r for r in TABLE}


def expected_addrs(row, listen_host, dial_host):
    """The BULWARK_<X>_ADDR values a process should be given: its own and those it dials."""
    want = {row["schema"]: f"{listen_host}:{row['port']}"}
    for d in row["dials"]:
        want[BY_PROCESS[d]["schema"]] = f"{dial_host(d)}:{BY_PROCESS[d]['port']}"
    return want


def compare(where, got, want):
    for key in sorted(set(got) | set(want)):
        if key not in want:
            err(where, f"BULWARK_{key.upper()}_ADDR={got[key]}: the table has no such address for it")
        elif key not in got:
            err(where, f"BULWARK_{key.upper()}_ADDR is missing (want {want[key]})")
        elif got[key] != want[key]:
            err(where, f"BULWARK_{key.upper()}_ADDR is {got[key]}, the table says {want[key]}")


# The C programs take their addresses from the table itself (CMake writes
# bw_services.h from it); a process folder the table does not list would
# not be built at all.
present = {d for d in os.listdir(os.path.join(ROOT, "services"))
           if os.path.isfile(os.path.join(ROOT, "services", d, "main.c"))}
for extra in sorted(present - set(BY_PROCESS)):
    err(f"services/{extra}/", "a process that services/services.tsv does not list")

# docker-compose.yml: one block per process (two-space keys under services:).
compose = read("docker-compose.yml")
blocks, current = {}, None
for line in compose.splitlines():
    m = re.match(r"^  ([a-z][a-z0-9-]*):\s*$", line)
    if m:
        current = m.group(1)
        blocks[current] = []
    elif re.match(r"^\S", line):
        current = None
    elif current:
        blocks[current].append(line)
images = {p for p, lines in blocks.items()
          for line in lines if re.match(rf"^\s+image: bulwark/{p}:", line)}
for p in sorted(images - set(BY_PROCESS) - {"migrate"}):
    err("docker-compose.yml", f"service {p} is not in services/services.tsv")
for row in TABLE:
    p = row["process"]
    if p not in images:
        err("docker-compose.yml", f"no service {p} (image bulwark/{p})")
        continue
    text = "\n".join(blocks[p])
    got = {k.lower(): v for k, v in re.findall(r"BULWARK_([A-Z]+)_ADDR: (\S+)", text)
           if k not in ("HTTP", "METRICS", "PUBLISH")}
    listen = "127.0.0.1" if p == "gateway" else "0.0.0.0"
    compare(f"docker-compose.yml ({p})", got, expected_addrs(row, listen, lambda d: d))
    if p != "gateway":
        metrics = re.findall(r"BULWARK_METRICS_ADDR: (\S+)", text)
        if metrics != [f"0.0.0.0:{row['port'] + 1000}"]:
            err(f"docker-compose.yml ({p})", f"BULWARK_METRICS_ADDR is {metrics}, the table "
                f"says 0.0.0.0:{row['port'] + 1000}")

# deploy/k8s/<process>.yaml: the environment, the container's and the
# Service's gRPC port, the scrape port.
K8S_ENV = re.compile(r'\{ name: BULWARK_([A-Z]+)_ADDR, value: "([^"]*)" \}')
k8s_dir = os.path.join(ROOT, "deploy", "k8s")
manifests = {f[:-5] for f in os.listdir(k8s_dir) if f.endswith(".yaml")}
for extra in sorted(manifests - set(BY_PROCESS) - {"migrate-job", "network", "secret.example"}):
    err(f"deploy/k8s/{extra}.yaml", "a process that services/services.tsv does not list")
for row in TABLE:
    p = row["process"]
    rel = f"deploy/k8s/{p}.yaml"
    text = read(rel)
    got = {k.lower(): v for k, v in K8S_ENV.findall(text) if k not in ("HTTP", "METRICS")}
    listen = "127.0.0.1" if p == "gateway" else "0.0.0.0"
    compare(rel, got, expected_addrs(row, listen, lambda d: d))
    if p == "gateway":
        continue
    port, metrics = row["port"], row["port"] + 1000
    for what, pattern in (
            ("containerPort", rf"\{{ name: grpc, containerPort: {port} \}}"),
            ("Service port", rf"\{{ name: grpc, port: {port}, targetPort: grpc"),
            ("BULWARK_METRICS_ADDR", rf'BULWARK_METRICS_ADDR, value: "0\.0\.0\.0:{metrics}"'),
            ("prometheus.io/port", rf'prometheus\.io/port: "{metrics}"')):
        if not re.search(pattern, text):
            err(rel, f"no {what} of {port if 'METRICS' not in what and 'prom' not in what else metrics}"
                " (the table's)")

# Dockerfile: one stage per process, named after it, that copies in its
# program; a service's stage listens on 0.0.0.0 at the table's port and
# exposes it; any address of another process it sets is the table's.
stages, current = {}, None
for line in read("Dockerfile").splitlines():
    m = re.match(r"^FROM\s+\S+\s+AS\s+([a-z0-9_.-]+)\s*$", line, re.I)
    if m:
        current = m.group(1).lower()
        stages[current] = []
    elif re.match(r"^FROM\b", line, re.I):
        current = None
    elif current:
        stages[current].append(line)
for name, lines in sorted(stages.items()):
    for prog in re.findall(r"/bulwark-([a-z0-9]+)\s", "\n".join(lines) + "\n"):
        if prog not in BY_PROCESS:
            err(f"Dockerfile ({name})", f"bulwark-{prog} is not in services/services.tsv")
for row in TABLE:
    p = row["process"]
    text = "\n".join(stages.get(p, []))
    if not re.search(rf"^COPY --from=\S+ \S*/bulwark-{p} ", text, re.M):
        err("Dockerfile", f"no stage {p} that copies in bulwark-{p} (the image bulwark/{p})")
        continue
    got = {k.lower(): v for k, v in re.findall(r"BULWARK_([A-Z]+)_ADDR=(\S+)", text)
           if k not in ("HTTP", "METRICS")}
    want = expected_addrs(row, "0.0.0.0", lambda d: d)
    if p != "gateway" and row["schema"] not in got:
        err(f"Dockerfile ({p})", f"BULWARK_{row['schema'].upper()}_ADDR is missing "
            f"(want {want[row['schema']]})")
    compare(f"Dockerfile ({p})", got, {k: v for k, v in want.items() if k in got})
    if p != "gateway" and re.findall(r"^EXPOSE (.*)$", text, re.M) != [str(row["port"])]:
        err(f"Dockerfile ({p})", f"does not EXPOSE {row['port']} alone (the table's port)")

# The login roles: one per process, in its group role (deploy/app-role.sql).
roles = read("deploy/app-role.sql")
got = set(re.findall(r"^\\getenv pw_(\w+) BULWARK_APP_PASSWORD_", roles, re.M))
for p in sorted(got ^ set(BY_PROCESS)):
    err("deploy/app-role.sql", f"login role bulwark_app_{p}: "
        + ("not in the table" if p in got else "missing"))
for row in TABLE:
    if not re.search(rf"^--\s+bulwark_app_{row['process']}\s+member of bulwark_{row['schema']}\b",
                     roles, re.M):
        err("deploy/app-role.sql", f"does not say bulwark_app_{row['process']} is a member of "
            f"bulwark_{row['schema']}")

if errors:
    print("services table drift (services/services.tsv is the source):", file=sys.stderr)
    for e in errors:
        print("  " + e, file=sys.stderr)
    sys.exit(1)
