#!/usr/bin/env python3
"""Validates docker-compose.yml, for check.sh.

    check_compose.py COMPOSE-FILE          checks it; exit 1 with the reasons
    check_compose.py --self-test FILE      breaks it one way at a time; fails unless each is caught
    check_compose.py --keys-script FILE    prints the `keys` service's script, as the container runs it

It runs `docker-compose config` (Debian's docker-compose, which needs no
engine) twice: with no variables set, where it must refuse to start, and
with a distinct made-up value for each variable, whose resolved file must
wire every value where it belongs. It checks that:
- no password, token or secret has a default: each is ${VAR:?message};
- only the gateway publishes a port, on 127.0.0.1 unless BULWARK_PUBLISH_ADDR
  says otherwise;
- each process (gateway, scoping, crosswalk, incidents, attestations,
  integrations) is a
  service of its own name (the name its certificate carries), connects to
  the database as its own role bulwark_app_<name> with its own password, and
  reads its TLS files from a read-only volume that no other process mounts;
- the gateway and the services dial each other by those names and ports;
- the services' health checks run the binary's --probe;
- only the integrations service gets BULWARK_SECRETS_KEY, the key that
  seals webhook secrets (and BULWARK_SECRETS_KEY_PREVIOUS, during its
  rotation);
- the migration gets every role's password, and everything waits for the
  keys and the migration.
"""

import os
import re
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

import yaml

import checkrun
from checkrun import DIALS, PROCESSES

SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET")
# Secrets that are set only for a while, empty by default: the key before
# BULWARK_SECRETS_KEY during its rotation.
OPTIONAL_SECRETS = {"BULWARK_SECRETS_KEY_PREVIOUS"}
PROJECT_DIR = None

# Broken variants (text replacements) and what the check must say about each.
BREAKS = [
    ("a default operator token",
     "${BULWARK_OPERATOR_TOKEN:?set BULWARK_OPERATOR_TOKEN (32 characters or more) in .env}",
     "${BULWARK_OPERATOR_TOKEN:-dev-only-operator-token-0123456789abcdef}",
     "${BULWARK_OPERATOR_TOKEN} must be ${BULWARK_OPERATOR_TOKEN:?message}"),
    ("the gateway on every interface",
     '"${BULWARK_PUBLISH_ADDR:-127.0.0.1}:${BULWARK_PUBLISH_PORT:-8080}:8080"', '"8080:8080"',
     "not on 127.0.0.1 alone"),
    ("a service with another's database role",
     "bulwark_app_incidents:", "bulwark_app_scoping:",
     "connects as bulwark_app_scoping, not bulwark_app_incidents"),
    ("a service with another's certificate",
     "tls-incidents:/run/bulwark/tls:ro", "tls-scoping:/run/bulwark/tls:ro",
     "comes from volume tls-scoping, not tls-incidents"),
    ("a service dialled by a name its certificate lacks",
     "BULWARK_CROSSWALK_ADDR: crosswalk:50052", "BULWARK_CROSSWALK_ADDR: bulwark-crosswalk:50052",
     "not crosswalk:50052"),
    ("the sealing key handed to the gateway",
     "      BULWARK_INTEGRATIONS_ADDR: integrations:50055\n",
     "      BULWARK_INTEGRATIONS_ADDR: integrations:50055\n"
     "      BULWARK_SECRETS_KEY: ${BULWARK_SECRETS_KEY:?set BULWARK_SECRETS_KEY in .env}\n",
     "gateway gets BULWARK_SECRETS_KEY"),
    ("the previous sealing key handed to the gateway",
     "      BULWARK_INTEGRATIONS_ADDR: integrations:50055\n",
     "      BULWARK_INTEGRATIONS_ADDR: integrations:50055\n"
     "      BULWARK_SECRETS_KEY_PREVIOUS: ${BULWARK_SECRETS_KEY_PREVIOUS:-}\n",
     "gateway gets BULWARK_SECRETS_KEY_PREVIOUS"),
    ("a service probed without its certificate",
     '["CMD", "/usr/local/bin/bulwark-scoping", "--probe"]', '["CMD", "true"]',
     "not the binary's --probe"),
]


def compose(path, env_file, extra_env=None):
    """`docker-compose config` with only the variables of env_file (and
    extra_env): never the caller's environment or a .env lying around."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    env.update(extra_env or {})
    return subprocess.run(
        ["docker-compose", "--project-directory", PROJECT_DIR or os.path.dirname(os.path.abspath(path)),
         "--env-file", env_file, "-f", path, "config"],
        env=env, capture_output=True, text=True)


def interpolations(text):
    """Every ${...} of the file, as (name, operator, rest)."""
    text = text.replace("$$", "")
    for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}", text):
        yield m.group(1), m.group(2) or "", m.group(3) or ""


def ports_of(svc):
    out = []
    for p in svc.get("ports", []) or []:
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), str(p.get("published", "")), str(p.get("target", ""))))
        else:
            parts = str(p).split("/")[0].split(":")
            if len(parts) == 3:
                out.append((parts[0], parts[1], parts[2]))
            elif len(parts) == 2:
                out.append(("", parts[0], parts[1]))
            else:
                out.append(("", "", parts[0]))
    return out


def mounts_of(svc):
    """(source, target, read_only) of each volume."""
    out = []
    for v in svc.get("volumes", []) or []:
        if isinstance(v, dict):
            out.append((v.get("source", ""), v.get("target", ""), bool(v.get("read_only"))))
        else:
            parts = str(v).split(":")
            mode = parts[2] if len(parts) > 2 else "rw"
            out.append((parts[0], parts[1] if len(parts) > 1 else parts[0], "ro" in mode.split(",")))
    return out


def addr(value):
    host, _, port = value.rpartition(":")
    return host, port


def check(path, quick=False):
    """The reasons path is wrong. quick leaves out the two runs of
    docker-compose that the self-test's variants do not need."""
    errors = []
    err = errors.append
    with open(path, encoding="utf-8") as f:
        text = f.read()

    # 1. No default for a secret.
    names = set()
    for name, op, rest in interpolations(text):
        names.add(name)
        if name in OPTIONAL_SECRETS and op == ":-" and rest == "":
            continue
        if SECRET_NAME.search(name) and op != ":?":
            err(f"${{{name}}} must be ${{{name}:?message}}: a secret has no default, and compose "
                "must refuse to start without it")
    required = sorted(n for n in names if SECRET_NAME.search(n))
    if not required:
        err("no secret variable found: the file should take its secrets from .env")

    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.env")
        open(empty, "w").close()
        # 2. Without them, compose refuses to start, naming what is missing.
        r = None if quick else compose(path, empty)
        if r is None:
            pass
        elif r.returncode == 0:
            err("docker-compose config succeeds with no variables set: some secret has a default")
        elif not any(n in r.stderr for n in required):
            err(f"docker-compose config failed without naming a missing secret: {r.stderr.strip()}")

        # 3. With made-up values, each lands where it belongs.
        values = {n: f"{n.lower().replace('_', '-')}-x{i}" for i, n in enumerate(sorted(names))}
        values.pop("BULWARK_PUBLISH_ADDR", None)
        values.pop("BULWARK_PUBLISH_PORT", None)
        values["BULWARK_LOG_LEVEL"] = "info"
        values.pop("BULWARK_TLS_ROTATE", None)
        full = os.path.join(tmp, "full.env")
        with open(full, "w") as f:
            f.writelines(f"{k}={v}\n" for k, v in values.items())
        r = compose(path, full)
        if r.returncode != 0:
            err(f"docker-compose config fails with every variable set: {r.stderr.strip()}")
            return errors
        config = yaml.safe_load(r.stdout)
        r2 = None if quick else compose(path, full, {"BULWARK_PUBLISH_ADDR": "0.0.0.0"})
        published_anywhere = yaml.safe_load(r2.stdout) if r2 and r2.returncode == 0 else None

    services = config.get("services", {})
    for p in PROCESSES:
        if p not in services:
            err(f"no service named {p}: each process runs as a service of its own name, the name "
                "its certificate carries")
    if errors:
        return errors

    # Ports: the gateway only, on 127.0.0.1 by default.
    for name, svc in services.items():
        ports = ports_of(svc)
        if name != "gateway" and ports:
            err(f"{name} publishes ports {ports}: only the gateway is reachable from outside")
    gw_ports = ports_of(services["gateway"])
    if [p[0] for p in gw_ports] != ["127.0.0.1"]:
        err(f"the gateway is published on {gw_ports}, not on 127.0.0.1 alone")
    if quick:
        pass
    elif published_anywhere is not None:
        anywhere = ports_of(published_anywhere["services"]["gateway"])
        if [p[0] for p in anywhere] != ["0.0.0.0"]:
            err(f"BULWARK_PUBLISH_ADDR=0.0.0.0 publishes the gateway on {anywhere}")
    else:
        err("docker-compose config fails with BULWARK_PUBLISH_ADDR=0.0.0.0")

    listen = {}
    tls_volume_users = {}
    for p in PROCESSES:
        svc = services[p]
        env = svc.get("environment", {}) or {}
        image = str(svc.get("image", ""))
        if not image.startswith(f"bulwark/{p}:"):
            err(f"{p}: image {image} is not bulwark/{p}")
        # Its own database role and password.
        url = urlsplit(env.get("BULWARK_DATABASE_URL", ""))
        if url.username != f"bulwark_app_{p}":
            err(f"{p}: BULWARK_DATABASE_URL connects as {url.username}, not bulwark_app_{p}")
        want = values.get(f"BULWARK_APP_PASSWORD_{p.upper()}")
        if url.password != want:
            err(f"{p}: BULWARK_DATABASE_URL does not carry BULWARK_APP_PASSWORD_{p.upper()}")
        if url.hostname != "postgres":
            err(f"{p}: BULWARK_DATABASE_URL names host {url.hostname}, not the postgres service")
        if env.get("BULWARK_TOKEN_SECRET") != values.get("BULWARK_TOKEN_SECRET"):
            err(f"{p}: BULWARK_TOKEN_SECRET is not the one from .env")
        # Its TLS files, on a read-only volume of its own.
        mounts = mounts_of(svc)
        for var in ("BULWARK_TLS_CA_FILE", "BULWARK_TLS_CERT_FILE", "BULWARK_TLS_KEY_FILE"):
            f = env.get(var, "")
            hits = [m for m in mounts if f.startswith(m[1].rstrip("/") + "/")]
            if not hits:
                err(f"{p}: {var}={f!r} is on no volume")
                continue
            src, target, ro = hits[0]
            if not ro:
                err(f"{p}: {target} (with {var}) is not mounted read-only")
            if src != f"tls-{p}":
                err(f"{p}: {var} comes from volume {src}, not tls-{p}")
        for name, other in services.items():
            for src, target, ro in mounts_of(other):
                if src.startswith("tls-"):
                    tls_volume_users.setdefault(src, set()).add(name)
        # Where it listens, inside its container.
        if p != "gateway":
            host, port = addr(env.get(f"BULWARK_{p.upper()}_ADDR", ""))
            if host != "0.0.0.0" or not port:
                err(f"{p}: BULWARK_{p.upper()}_ADDR must be 0.0.0.0:PORT inside the container")
            listen[p] = port
            hc = (svc.get("healthcheck") or {}).get("test")
            if hc != ["CMD", f"/usr/local/bin/bulwark-{p}", "--probe"]:
                err(f"{p}: the health check is {hc}, not the binary's --probe")
        deps = svc.get("depends_on") or {}
        for need in ("keys", "migrate"):
            cond = (deps.get(need) or {}).get("condition") if isinstance(deps, dict) else None
            if cond != "service_completed_successfully":
                err(f"{p}: does not wait for {need} to complete")

    for vol, users in sorted(tls_volume_users.items()):
        owner = vol[len("tls-"):]
        allowed = {"keys"} | ({owner} if owner in PROCESSES else set())
        if users - allowed:
            err(f"volume {vol} is mounted by {sorted(users - allowed)}: only {sorted(allowed)} may")

    # Who dials whom: by service name (the certificate's name) and port.
    dials = {p: d for p, d in DIALS.items() if d}
    for src, targets in dials.items():
        env = services[src].get("environment", {}) or {}
        for t in targets:
            host, port = addr(env.get(f"BULWARK_{t.upper()}_ADDR", ""))
            if host != t or port != listen.get(t):
                err(f"{src}: BULWARK_{t.upper()}_ADDR is {host}:{port}, not {t}:{listen.get(t)}")
    gw_env = services["gateway"].get("environment", {})
    if gw_env.get("BULWARK_OPERATOR_TOKEN") != values.get("BULWARK_OPERATOR_TOKEN"):
        err("gateway: BULWARK_OPERATOR_TOKEN is not the one from .env")
    if addr(gw_env.get("BULWARK_HTTP_ADDR", ""))[0] != "0.0.0.0":
        err("gateway: BULWARK_HTTP_ADDR must listen on 0.0.0.0 inside its container")

    # The key that seals webhook secrets: for integrations alone.
    for name, svc in services.items():
        if name == "integrations":
            if (svc.get("environment") or {}).get("BULWARK_SECRETS_KEY") != values.get("BULWARK_SECRETS_KEY"):
                err("integrations: BULWARK_SECRETS_KEY is not the one from .env")
            continue
        for var in ("BULWARK_SECRETS_KEY", "BULWARK_SECRETS_KEY_PREVIOUS"):
            if var in (svc.get("environment") or {}):
                err(f"{name} gets {var}, which only integrations may hold")

    # The attestations signing key: read-only, for attestations alone.
    att = services["attestations"]
    key = att.get("environment", {}).get("BULWARK_SIGNING_KEY_FILE", "")
    hits = [m for m in mounts_of(att) if key.startswith(m[1].rstrip("/") + "/")]
    if not hits or not hits[0][2]:
        err("attestations: BULWARK_SIGNING_KEY_FILE is not on a read-only volume")
    else:
        for name, other in services.items():
            if name not in ("attestations", "keys") and any(m[0] == hits[0][0] for m in mounts_of(other)):
                err(f"{name} mounts the signing key's volume {hits[0][0]}")

    # The migration: the owner's URL and every role's password.
    mig = services.get("migrate")
    if mig is None:
        err("no migrate service")
    else:
        env = mig.get("environment", {}) or {}
        for p in PROCESSES:
            var = f"BULWARK_APP_PASSWORD_{p.upper()}"
            if env.get(var) != values.get(var):
                err(f"migrate: {var} is not the one from .env")
        admin = urlsplit(env.get("BULWARK_ADMIN_DATABASE_URL", ""))
        if admin.password != values.get("BULWARK_PG_PASSWORD"):
            err("migrate: BULWARK_ADMIN_DATABASE_URL does not carry BULWARK_PG_PASSWORD")

    keys = services.get("keys")
    if keys is None:
        err("no keys service (it makes the certificates)")
    else:
        targets = {src: target for src, target, _ in mounts_of(keys)}
        for p in PROCESSES:
            if f"tls-{p}" not in targets:
                err(f"keys: does not mount tls-{p}")
    return errors


def keys_script(path):
    """The keys service's script as the container runs it ($$ is $), and its
    volumes and capabilities, as shell assignments for check.sh."""
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    keys = raw["services"]["keys"]
    script = keys["command"][0] if isinstance(keys["command"], list) else keys["command"]
    if re.search(r"(?<!\$)\$\{?[A-Za-z_]", script.replace("$$", "")):
        raise SystemExit("check_compose.py: the keys script uses a compose variable; "
                         "this check cannot run it")
    return script.replace("$$", "$")


def self_test(path):
    global PROJECT_DIR
    PROJECT_DIR = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        broken_path = os.path.join(tmp, "docker-compose.yml")
        for what, old, new, expect in BREAKS:
            if old not in text:
                print(f"FAIL: check_compose.py --self-test: cannot make {what}: {old!r} is not in "
                      "the file", file=sys.stderr)
                failures += 1
                continue
            with open(broken_path, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new, 1))
            if not checkrun.caught("check_compose.py", what, expect,
                                   check(broken_path, quick=True)):
                failures += 1
    if not failures:
        print(f"  docker-compose.yml self-test: {len(BREAKS)} broken variants, each caught")
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[0] == "--self-test":
        return self_test(argv[1])
    if len(argv) == 2 and argv[0] == "--keys-script":
        sys.stdout.write(keys_script(argv[1]))
        return 0
    if len(argv) != 1:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    return checkrun.report("docker-compose.yml", check(argv[0]),
                           "refuses to start without its secrets; each process has its own "
                           "role, password, certificate volume and name; only the gateway is "
                           "published, on 127.0.0.1")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
