#!/usr/bin/env python3
"""Validates the Kubernetes manifests of deploy/k8s/ offline, for check.sh.

    check_k8s.py DIR              checks the manifests; exit 1 with the reasons
    check_k8s.py --self-test DIR  breaks the manifests in memory, one way at a
                                  time, and fails unless each break is caught
    check_k8s.py --commands DIR   prints IMAGE COMMAND for every command a
                                  manifest runs in an image (init containers,
                                  exec probes), for check.sh to find in it

No cluster and no schema tool: it reads every YAML document and checks what
the manifests promise each other and the binaries.
- Every Secret key a manifest reads exists in secret.example.yaml, and the
  example's values are all refused until replaced (tokens shorter than 32
  characters, empty passwords and PEM files, database hosts under .invalid).
- Every Service selects pods and targets one of their ports; every volume a
  container mounts exists; every container runs as uid 10001, read-only,
  with no capabilities.
- Each process (gateway, scoping, crosswalk, incidents, attestations,
  integrations) reads
  its own database URL and its own certificate and key (with the CA) from
  the Secrets, listens on 0.0.0.0 on its container port, and dials the
  others by Service name (the name in their certificates) and port; the
  services are probed by their binary's --probe, never by kubelet's gRPC
  probe, which has no client certificate.
- The NetworkPolicies, evaluated as Kubernetes does (a pod selected by any
  policy of a direction accepts only what one of those allows), give exactly
  this: anyone to the gateway's HTTP port; the gateway to each service's
  gRPC port; crosswalk, incidents and attestations to scoping's; every
  process and the migrate Job to PostgreSQL; integrations (webhooks) to
  addresses outside the cluster on 443, but not to private, link-local (the
  cloud metadata service) or loopback ones; nothing else. Only integrations
  reads BULWARK_SECRETS_KEY (and BULWARK_SECRETS_KEY_PREVIOUS, from an
  optional Secret key, during a rotation).
- Each process runs as at least two replicas, each container with a
  readiness and a liveness probe; one PodDisruptionBudget per process lets
  a drain take at most one pod at a time and leaves at least one; one
  HorizontalPodAutoscaler per process scales its Deployment on CPU (which
  its containers request) from the Deployment's replicas up; the gateway's
  BULWARK_GATEWAY_REPLICAS (its share of the tenant rate limit) equals its
  replicas.
"""

import copy
import glob
import ipaddress
import os
import re
import sys
from urllib.parse import urlsplit

import yaml

import checkrun
from checkrun import DIALS, PROCESSES, ROWS

UID = 10001
NAME = "app.kubernetes.io/name"
PART_OF = "app.kubernetes.io/part-of"
KINDS = {
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "Service": "v1",
    "Secret": "v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
}
# Who may reach whom, on which port: the contract of issue 10, as the
# services table says (tickets from Jira and ServiceNow become incidents,
# issue 11).
PORTS = {row["process"]: row["port"] for row in ROWS}
EXPECTED_PODS = {(f"bulwark-{src}", f"bulwark-{dst}", PORTS[dst])
                 for src, targets in DIALS.items() for dst in targets}
EXPECTED_OUTSIDE_IN = {("bulwark-gateway", 8080)}
# Out of the cluster, beyond DNS and PostgreSQL: webhooks, over https.
EXPECTED_OUTSIDE_OUT = {("bulwark-integrations", 443)}
OUTSIDE_PORTS = (443, 80, 5432, 9)
# Addresses that are not "the outside world": a pod network, the cloud
# metadata service, loopback, an IPv6 unique-local one.
INSIDE_ADDRESSES = ("10.1.2.3", "172.20.0.5", "192.168.1.1", "169.254.169.254", "127.0.0.1",
                    "100.64.0.1", "fd00::1")
EXPECTED_POSTGRES = {f"bulwark-{p}" for p in PROCESSES} | {"bulwark-migrate"}
POSTGRES_PORT = 5432
# A port nothing listens on: a rule that allows it allows too much.
STRAY_PORT = 9


def load(directory):
    docs = []
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    docs.append((os.path.basename(path), doc))
    return docs


def selects(selector, labels):
    """Whether a label selector (matchLabels and matchExpressions) selects labels."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Manifests:
    def __init__(self, docs):
        self.docs = docs
        self.secrets = {}
        self.workloads = {}  # pod name label -> (file, doc, pod spec, labels)
        self.services = {}
        self.policies = []
        self.pdbs = []
        self.hpas = []

    def index(self, err):
        for file, doc in self.docs:
            kind = doc.get("kind")
            name = (doc.get("metadata") or {}).get("name")
            where = f"{file}: {kind} {name}"
            if kind not in KINDS:
                err(f"{where}: a kind this check does not know")
                continue
            if doc.get("apiVersion") != KINDS[kind]:
                err(f"{where}: apiVersion {doc.get('apiVersion')}, not {KINDS[kind]}")
            if not name:
                err(f"{file}: a {kind} without a name")
                continue
            if ((doc.get("metadata") or {}).get("labels") or {}).get(PART_OF) != "bulwark":
                err(f"{where}: no label {PART_OF}: bulwark")
            if kind == "Secret":
                if file != "secret.example.yaml":
                    err(f"{where}: Secrets belong in secret.example.yaml, as examples")
                self.secrets[name] = doc
            elif kind in ("Deployment", "Job"):
                tmpl = doc["spec"]["template"]
                labels = (tmpl.get("metadata") or {}).get("labels") or {}
                if kind == "Deployment" and not selects(doc["spec"].get("selector"), labels):
                    err(f"{where}: its selector does not select its own pods")
                if labels.get(PART_OF) != "bulwark":
                    err(f"{where}: its pods have no label {PART_OF}: bulwark")
                pod = labels.get(NAME)
                if not pod:
                    err(f"{where}: its pods have no label {NAME}")
                    continue
                self.workloads[pod] = (file, doc, tmpl["spec"], labels)
            elif kind == "Service":
                self.services[name] = (file, doc)
            elif kind == "NetworkPolicy":
                self.policies.append((file, doc))
            elif kind == "PodDisruptionBudget":
                self.pdbs.append((file, doc))
            elif kind == "HorizontalPodAutoscaler":
                self.hpas.append((file, doc))


def secret_value(m, name, key):
    s = m.secrets.get(name)
    if s is None:
        return None
    data = s.get("stringData") or {}
    return data.get(key)


def containers(spec):
    return [(c, False) for c in spec.get("containers") or []] + \
           [(c, True) for c in spec.get("initContainers") or []]


def env_of(c):
    return {e["name"]: e for e in c.get("env") or []}


def mounted_file(spec, c, path):
    """(volume, mount) that holds path in container c, or (None, None)."""
    best = (None, None)
    for mnt in c.get("volumeMounts") or []:
        mp = mnt["mountPath"].rstrip("/") + "/"
        if path.startswith(mp) and (best[1] is None or len(mp) > len(best[1]["mountPath"])):
            vol = next((v for v in spec.get("volumes") or [] if v["name"] == mnt["name"]), None)
            best = (vol, mnt)
    return best


def secret_source(m, vol, rel):
    """The (Secret, key) behind file rel of a secret or projected volume."""
    sources = []
    if "secret" in vol:
        sources = [vol["secret"] | {"name": vol["secret"].get("secretName")}]
    elif "projected" in vol:
        sources = [s["secret"] for s in vol["projected"].get("sources") or [] if "secret" in s]
    for s in sources:
        for item in s.get("items") or []:
            if item["path"] == rel:
                return s["name"], item["key"]
        if not s.get("items") and secret_value(m, s["name"], rel) is not None:
            return s["name"], rel
    return None, None


def check_refs(m, err):
    """Secret keys, volumes, mounts, ports, security settings."""
    for pod, (file, doc, spec, labels) in m.workloads.items():
        where = f"{file}: {pod}"
        sc = spec.get("securityContext") or {}
        if sc.get("runAsNonRoot") is not True or sc.get("runAsUser") != UID:
            err(f"{where}: the pod must run as non-root uid {UID}")
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for v in volumes.values():
            refs = []
            if "secret" in v:
                refs.append((v["secret"].get("secretName"), v["secret"].get("items")))
            for s in ((v.get("projected") or {}).get("sources") or []):
                if "secret" in s:
                    refs.append((s["secret"].get("name"), s["secret"].get("items")))
            for sname, items in refs:
                if sname not in m.secrets:
                    err(f"{where}: volume {v['name']} reads Secret {sname}, which secret.example.yaml lacks")
                    continue
                for item in items or []:
                    if secret_value(m, sname, item["key"]) is None:
                        err(f"{where}: volume {v['name']} reads key {item['key']} of Secret {sname}, "
                            "which secret.example.yaml lacks")
        for c, init in containers(spec):
            cwhere = f"{where}, container {c['name']}"
            csc = c.get("securityContext") or {}
            if csc.get("readOnlyRootFilesystem") is not True or csc.get("allowPrivilegeEscalation") is not False \
                    or (csc.get("capabilities") or {}).get("drop") != ["ALL"]:
                err(f"{cwhere}: needs readOnlyRootFilesystem, no privilege escalation, capabilities drop ALL")
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                # An optional key (secrets-key-previous, during a rotation)
                # may be absent: the variable is then unset.
                if ref and not ref.get("optional") and secret_value(m, ref["name"], ref["key"]) is None:
                    err(f"{cwhere}: {e['name']} reads key {ref['key']} of Secret {ref['name']}, "
                        "which secret.example.yaml lacks")
                if (e.get("valueFrom") or {}).get("configMapKeyRef"):
                    err(f"{cwhere}: {e['name']} reads a ConfigMap, which no manifest defines")
            for mnt in c.get("volumeMounts") or []:
                if mnt["name"] not in volumes:
                    err(f"{cwhere}: mounts volume {mnt['name']}, which the pod does not have")
                elif not init and not mnt.get("readOnly") and "emptyDir" not in volumes[mnt["name"]]:
                    err(f"{cwhere}: mounts {mnt['name']} writable")

    for name, (file, doc) in m.services.items():
        sel = {"matchLabels": doc["spec"].get("selector") or {}}
        pods = [p for p, w in m.workloads.items() if selects(sel, w[3])]
        if len(pods) != 1:
            err(f"{file}: Service {name} selects {pods or 'no pods'}, not one workload")
            continue
        spec = m.workloads[pods[0]][2]
        ports = [p for c in spec["containers"] for p in c.get("ports") or []]
        for sp in doc["spec"].get("ports") or []:
            t = sp.get("targetPort", sp["port"])
            if not any(p.get("name") == t or p["containerPort"] == t for p in ports):
                err(f"{file}: Service {name} targets port {t}, which {pods[0]} does not open")


def service_port(m, host, port):
    """The container port behind Service host:port, and its pods' name label."""
    svc = m.services.get(host)
    if svc is None:
        return None, None
    sel = {"matchLabels": svc[1]["spec"].get("selector") or {}}
    pods = [p for p, w in m.workloads.items() if selects(sel, w[3])]
    if len(pods) != 1:
        return None, None
    for sp in svc[1]["spec"].get("ports") or []:
        if str(sp["port"]) == str(port):
            t = sp.get("targetPort", sp["port"])
            for c in m.workloads[pods[0]][2]["containers"]:
                for p in c.get("ports") or []:
                    if p.get("name") == t or p["containerPort"] == t:
                        return p["containerPort"], pods[0]
    return None, pods[0]


def check_processes(m, err):
    listen = {}
    for p in PROCESSES:
        pod = f"bulwark-{p}"
        if pod not in m.workloads:
            err(f"no Deployment runs {p} (pods labelled {NAME}: {pod})")
            continue
        file, doc, spec, _ = m.workloads[pod]
        main = [c for c in spec["containers"] if c.get("image", "").startswith(f"bulwark/{p}:")]
        if len(main) != 1:
            err(f"{file}: {pod} runs no container of image bulwark/{p}")
            continue
        c = main[0]
        env = env_of(c)
        where = f"{file}: {p}"
        # Its own database URL and the shared secrets.
        ref = ((env.get("BULWARK_DATABASE_URL") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
        if ref.get("key") != f"database-url-{p}":
            err(f"{where}: BULWARK_DATABASE_URL must come from key database-url-{p}")
        else:
            url = urlsplit(secret_value(m, ref["name"], ref["key"]) or "")
            if url.username != f"bulwark_app_{p}":
                err(f"{where}: the example database-url-{p} connects as {url.username}, not bulwark_app_{p}")
        needed = ["BULWARK_TOKEN_SECRET"] + (["BULWARK_OPERATOR_TOKEN"] if p == "gateway" else []) \
            + (["BULWARK_SECRETS_KEY"] if p == "integrations" else [])
        for var in ("BULWARK_SECRETS_KEY", "BULWARK_SECRETS_KEY_PREVIOUS"):
            if p != "integrations" and var in env:
                err(f"{where}: reads {var}, which only integrations may hold")
        for var in needed:
            if not (env.get(var) or {}).get("valueFrom"):
                err(f"{where}: {var} must come from a Secret")
        # Its own certificate and key, and the CA.
        want = {"BULWARK_TLS_CA_FILE": ("bulwark-tls-ca", "ca.crt"),
                "BULWARK_TLS_CERT_FILE": (f"bulwark-tls-{p}", "tls.crt"),
                "BULWARK_TLS_KEY_FILE": (f"bulwark-tls-{p}", "tls.key")}
        for var, (sname, skey) in want.items():
            path = (env.get(var) or {}).get("value", "")
            vol, mnt = mounted_file(spec, c, path)
            if vol is None:
                err(f"{where}: {var}={path!r} is on no mounted volume")
                continue
            if not mnt.get("readOnly"):
                err(f"{where}: the volume with {var} is not mounted read-only")
            rel = path[len(mnt["mountPath"].rstrip("/")) + 1:]
            got = secret_source(m, vol, rel)
            if got != (sname, skey):
                err(f"{where}: {var} is {got[0]}/{got[1]}, not {sname}/{skey}")
        # Where it listens, and its probes.
        if p != "gateway":
            host, _, port = (env.get(f"BULWARK_{p.upper()}_ADDR") or {}).get("value", "").rpartition(":")
            cports = [x["containerPort"] for x in c.get("ports") or []]
            if host != "0.0.0.0" or not port.isdigit() or int(port) not in cports:
                err(f"{where}: BULWARK_{p.upper()}_ADDR must be 0.0.0.0:PORT on its container port")
            else:
                listen[p] = int(port)
            for probe in ("readinessProbe", "livenessProbe"):
                pr = c.get(probe) or {}
                cmd = (pr.get("exec") or {}).get("command")
                if cmd != [f"/usr/local/bin/bulwark-{p}", "--probe"]:
                    err(f"{where}: its {probe} must run [/usr/local/bin/bulwark-{p}, --probe] "
                        "(a kubelet gRPC probe has no client certificate)")
        if p == "attestations":
            path = (env.get("BULWARK_SIGNING_KEY_FILE") or {}).get("value", "")
            vol, mnt = mounted_file(spec, c, path)
            if vol is None or "emptyDir" not in vol:
                err(f"{where}: BULWARK_SIGNING_KEY_FILE must be on the memory volume the init "
                    "container fills (a Secret volume is group-readable)")
            elif not any(mounted_file(spec, ic, path)[0] is vol
                         for ic in spec.get("initContainers") or []):
                err(f"{where}: no init container writes the signing key to {path}")

    # Who dials whom: by Service name (the certificate's name) and port.
    dials = {p: d for p, d in DIALS.items() if d}
    for src, targets in dials.items():
        w = m.workloads.get(f"bulwark-{src}")
        if not w:
            continue
        env = {}
        for c in w[2]["containers"]:
            env.update(env_of(c))
        for t in targets:
            host, _, port = (env.get(f"BULWARK_{t.upper()}_ADDR") or {}).get("value", "").rpartition(":")
            if host != t:
                err(f"{w[0]}: {src} dials {t} as {host!r}: it must dial the Service named {t}, "
                    "the name in the certificate")
                continue
            cport, pod = service_port(m, host, port)
            if pod != f"bulwark-{t}" or cport != listen.get(t):
                err(f"{w[0]}: {src} dials {host}:{port}, which does not reach {t}'s gRPC port")

    # The migrate Job: the owner's URL and every role's password.
    w = m.workloads.get("bulwark-migrate")
    if w is None:
        err("no Job runs the migrations (pods labelled app.kubernetes.io/name: bulwark-migrate)")
    else:
        env = env_of(w[2]["containers"][0])
        need = {"BULWARK_ADMIN_DATABASE_URL": "admin-database-url"}
        need.update({f"BULWARK_APP_PASSWORD_{p.upper()}": f"app-password-{p}" for p in PROCESSES})
        for var, key in need.items():
            ref = ((env.get(var) or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("key") != key:
                err(f"{w[0]}: the migrate Job's {var} must come from key {key}")


def check_placeholders(m, err):
    """Every example value is refused until replaced."""
    for name, doc in m.secrets.items():
        for key, value in (doc.get("stringData") or {}).items():
            where = f"secret.example.yaml: {name}/{key}"
            value = "" if value is None else str(value)
            if key in ("operator-token", "token-secret"):
                if len(value) >= 32:
                    err(f"{where}: a placeholder of 32 characters or more would be accepted")
            elif "database-url" in key:
                host = urlsplit(value).hostname or ""
                if not host.endswith(".invalid"):
                    err(f"{where}: the placeholder's host {host!r} could resolve; use one under .invalid")
            elif value != "":
                err(f"{where}: the placeholder must be empty (refused as a password or PEM file)")
        if doc.get("data"):
            err(f"secret.example.yaml: {name}: base64 data could hide a real value; use stringData")


# ---------------------------------------------------------------- NetworkPolicy

def peer_matches(peer, target):
    """Whether a NetworkPolicy peer matches target: ("pod", labels),
    ("postgres", cidr), ("outside", None) or ("address", ip)."""
    kind, what = target
    if "ipBlock" in peer:
        cidr = peer["ipBlock"]["cidr"]
        if kind == "address":
            ip = ipaddress.ip_address(what)
            net = ipaddress.ip_network(cidr, strict=False)
            return ip.version == net.version and ip in net and not any(
                ip.version == ipaddress.ip_network(x, strict=False).version
                and ip in ipaddress.ip_network(x, strict=False)
                for x in peer["ipBlock"].get("except") or [])
        return (kind == "postgres" and cidr == what) or (kind == "outside" and cidr in ("0.0.0.0/0", "::/0"))
    if kind != "pod":
        return False
    if "namespaceSelector" in peer:
        # Another namespace's pods (kube-dns, say): never Bulwark's own.
        return False
    return selects(peer.get("podSelector") or {}, what)


def port_matches(rule_ports, port, named):
    if not rule_ports:
        return True
    for rp in rule_ports:
        if rp.get("protocol", "TCP") != "TCP":
            continue
        if rp.get("port") is None or rp["port"] == port or (named and rp["port"] in named):
            return True
    return False


def allowed(m, pod_labels, direction, peer, port, named=()):
    """Whether the policies let traffic out of (Egress) or into (Ingress) a
    pod, to or from peer, on port."""
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    selecting = [d for _, d in m.policies
                 if selects(d["spec"].get("podSelector") or {}, pod_labels)
                 and direction in (d["spec"].get("policyTypes") or ["Ingress"])]
    if not selecting:
        return True
    for d in selecting:
        for rule in d["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if peers and not any(peer_matches(p, peer) for p in peers):
                continue
            if port_matches(rule.get("ports"), port, named):
                return True
    return False


def check_network(m, err):
    pods = {p: w[3] for p, w in m.workloads.items()}
    for p, labels in pods.items():
        for direction in ("Ingress", "Egress"):
            if not any(selects(d["spec"].get("podSelector") or {}, labels)
                       and direction in (d["spec"].get("policyTypes") or [])
                       for _, d in m.policies):
                err(f"network: no policy restricts {direction.lower()} of {p}: default deny is missing")

    def ports_of(p):
        spec = m.workloads[p][2]
        return {x["containerPort"]: {x.get("name")} for c in spec["containers"] for x in c.get("ports") or []}

    # Pod to pod, on each port a pod opens and on a stray one.
    got = set()
    for src, slabels in pods.items():
        for dst, dlabels in pods.items():
            for port, named in list(ports_of(dst).items()) + [(STRAY_PORT, set())]:
                if allowed(m, slabels, "Egress", ("pod", dlabels), port, named) and \
                        allowed(m, dlabels, "Ingress", ("pod", slabels), port, named):
                    got.add((src, dst, port))
    for extra in sorted(got - EXPECTED_PODS):
        err(f"network: {extra[0]} can reach {extra[1]} on port {extra[2]}, which nothing needs")
    for missing in sorted(EXPECTED_PODS - got):
        err(f"network: {missing[0]} cannot reach {missing[1]} on port {missing[2]}")

    # From outside the cluster.
    got = set()
    for dst, dlabels in pods.items():
        for port, named in list(ports_of(dst).items()) + [(STRAY_PORT, set())]:
            if allowed(m, dlabels, "Ingress", ("outside", None), port, named):
                got.add((dst, port))
    for extra in sorted(got - EXPECTED_OUTSIDE_IN):
        err(f"network: anyone can reach {extra[0]} on port {extra[1]}")
    for missing in sorted(EXPECTED_OUTSIDE_IN - got):
        err(f"network: clients cannot reach {missing[0]} on port {missing[1]}")

    # To PostgreSQL: the address the policies name for it.
    cidrs = {peer["ipBlock"]["cidr"] for _, d in m.policies for rule in d["spec"].get("egress") or []
             for peer in rule.get("to") or [] if "ipBlock" in peer
             and peer["ipBlock"]["cidr"] not in ("0.0.0.0/0", "::/0")}
    if len(cidrs) != 1:
        err(f"network: PostgreSQL should be one address in one place, found {sorted(cidrs) or 'none'}")
        return
    pg = cidrs.pop()
    got = {p for p, labels in pods.items()
           if allowed(m, labels, "Egress", ("postgres", pg), POSTGRES_PORT)}
    for extra in sorted(got - EXPECTED_POSTGRES):
        err(f"network: {extra} can reach PostgreSQL, which it does not need")
    for missing in sorted(EXPECTED_POSTGRES - got):
        err(f"network: {missing} cannot reach PostgreSQL")
    for p, labels in pods.items():
        if allowed(m, labels, "Egress", ("postgres", pg), STRAY_PORT):
            err(f"network: {p} can reach PostgreSQL's address beyond PostgreSQL's port")
        for port in OUTSIDE_PORTS:
            out = allowed(m, labels, "Egress", ("outside", None), port)
            if out and (p, port) not in EXPECTED_OUTSIDE_OUT:
                err(f"network: {p} can reach addresses outside the cluster on port {port}")
            elif not out and (p, port) in EXPECTED_OUTSIDE_OUT:
                err(f"network: {p} cannot reach addresses outside the cluster on port {port}")
        for ip in INSIDE_ADDRESSES:
            if allowed(m, labels, "Egress", ("address", ip), 443):
                err(f"network: {p} can reach {ip} on port 443 by an address rule, which is not "
                    "outside the cluster")


def check_scale(m, err):
    """Replicas, probes, disruption budgets and autoscalers."""
    for p in PROCESSES:
        pod = f"bulwark-{p}"
        w = m.workloads.get(pod)
        if w is None:
            continue
        file, doc, spec, labels = w
        replicas = doc["spec"].get("replicas", 1)
        if replicas < 2:
            err(f"{file}: {pod} runs {replicas} replica(s): at least 2, so that one can go")
        for c in spec["containers"]:
            for probe in ("readinessProbe", "livenessProbe"):
                if not c.get(probe):
                    err(f"{file}: {pod}, container {c['name']}: no {probe}")
        pdbs = [d for _, d in m.pdbs if selects(d["spec"].get("selector"), labels)]
        if len(pdbs) != 1:
            err(f"{file}: {pod} is selected by {len(pdbs)} PodDisruptionBudgets, not one")
        else:
            s = pdbs[0]["spec"]
            if "maxUnavailable" in s:
                ok = isinstance(s["maxUnavailable"], int) and 1 <= s["maxUnavailable"] < replicas
            else:
                ok = isinstance(s.get("minAvailable"), int) and 1 <= s["minAvailable"] < replicas
            if not ok:
                err(f"{file}: {pod}'s PodDisruptionBudget must let a drain take a pod and keep "
                    f"one (an integer maxUnavailable or minAvailable between 1 and {replicas - 1})")
        hpas = [d for _, d in m.hpas if (d["spec"].get("scaleTargetRef") or {}).get("kind") == "Deployment"
                and d["spec"]["scaleTargetRef"].get("name") == doc["metadata"]["name"]]
        if len(hpas) != 1:
            err(f"{file}: {pod} is scaled by {len(hpas)} HorizontalPodAutoscalers, not one")
        else:
            s = hpas[0]["spec"]
            lo, hi = s.get("minReplicas", 1), s.get("maxReplicas", 0)
            if lo != replicas or hi < lo:
                err(f"{file}: {pod}'s autoscaler scales {lo}..{hi}, not from its {replicas} replicas up")
            cpu = [x for x in s.get("metrics") or [] if x.get("type") == "Resource"
                   and (x.get("resource") or {}).get("name") == "cpu"]
            if not cpu:
                err(f"{file}: {pod}'s autoscaler has no CPU metric")
            elif any(not ((c.get("resources") or {}).get("requests") or {}).get("cpu")
                     for c in spec["containers"]):
                err(f"{file}: {pod}'s autoscaler scales on CPU, which a container does not request")
        if p == "gateway":
            env = {}
            for c in spec["containers"]:
                env.update(env_of(c))
            share = (env.get("BULWARK_GATEWAY_REPLICAS") or {}).get("value")
            if share != str(replicas):
                err(f"{file}: BULWARK_GATEWAY_REPLICAS is {share!r}, not its {replicas} replicas: "
                    "the gateways together would not enforce the tenant rate limit")


def check(docs):
    errors = []
    m = Manifests(docs)
    m.index(errors.append)
    check_refs(m, errors.append)
    check_scale(m, errors.append)
    check_processes(m, errors.append)
    check_placeholders(m, errors.append)
    check_network(m, errors.append)
    return errors


# ---------------------------------------------------------------- self-test

def find(docs, kind, name):
    for _, d in docs:
        if d.get("kind") == kind and d["metadata"]["name"] == name:
            return d
    raise KeyError(f"{kind} {name}")


def container(docs, deployment):
    return find(docs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]


def set_env(c, name, value):
    for e in c["env"]:
        if e["name"] == name:
            e.clear()
            e.update({"name": name, "value": value})


BREAKS = [
    ("a key missing from the example Secret",
     lambda d: find(d, "Secret", "bulwark")["stringData"].pop("token-secret"),
     "reads key token-secret of Secret bulwark"),
    ("an operator token placeholder long enough to be accepted",
     lambda d: find(d, "Secret", "bulwark")["stringData"].__setitem__("operator-token", "x" * 40),
     "32 characters or more would be accepted"),
    ("a database placeholder that could resolve",
     lambda d: find(d, "Secret", "bulwark")["stringData"].__setitem__(
         "database-url-scoping", "postgresql://bulwark_app_scoping:pw@db.example.com/bulwark"),
     "could resolve"),
    ("a Service targeting a port the pods do not open",
     lambda d: find(d, "Service", "scoping")["spec"]["ports"][0].__setitem__("targetPort", 50099),
     "targets port 50099"),
    ("a service dialled by a name its certificate lacks",
     lambda d: set_env(container(d, "bulwark-crosswalk"), "BULWARK_SCOPING_ADDR", "bulwark-scoping:50051"),
     "the name in the certificate"),
    ("a process reading another's certificate",
     lambda d: next(v for v in find(d, "Deployment", "bulwark-incidents")["spec"]["template"]
                    ["spec"]["volumes"] if v["name"] == "tls")
     ["projected"]["sources"][1]["secret"].__setitem__("name", "bulwark-tls-gateway"),
     "not bulwark-tls-incidents/tls.crt"),
    ("a service probed by kubelet's gRPC probe",
     lambda d: container(d, "bulwark-scoping").__setitem__("livenessProbe", {"grpc": {"port": 50051}}),
     "livenessProbe must run"),
    ("no default deny, and a pod without a policy of its own",
     lambda d: [d.remove(x) for x in [x for x in d if x[1]["metadata"]["name"]
                                      in ("bulwark-default-deny", "bulwark-migrate")
                                      and x[1]["kind"] == "NetworkPolicy"]],
     "no policy restricts ingress of bulwark-migrate"),
    ("scoping open to every source",
     lambda d: find(d, "NetworkPolicy", "bulwark-scoping")["spec"]["ingress"][0].pop("from"),
     "anyone can reach bulwark-scoping on port 50051"),
    ("PostgreSQL's address open on every port",
     lambda d: find(d, "NetworkPolicy", "bulwark-postgres")["spec"]["egress"][0].pop("ports"),
     "beyond PostgreSQL's port"),
    ("the gateway cut off from attestations",
     lambda d: find(d, "NetworkPolicy", "bulwark-gateway")["spec"]["egress"].pop(3),
     "bulwark-gateway cannot reach bulwark-attestations on port 50054"),
    ("the gateway cut off from integrations",
     lambda d: find(d, "NetworkPolicy", "bulwark-gateway")["spec"]["egress"].pop(4),
     "bulwark-gateway cannot reach bulwark-integrations on port 50055"),
    ("webhooks able to reach the cloud metadata service",
     lambda d: find(d, "NetworkPolicy", "bulwark-integrations")["spec"]["egress"][0]["to"][0]
     ["ipBlock"].pop("except"),
     "can reach 169.254.169.254 on port 443"),
    ("webhooks on every port",
     lambda d: find(d, "NetworkPolicy", "bulwark-integrations")["spec"]["egress"][0].pop("ports"),
     "bulwark-integrations can reach addresses outside the cluster on port 80"),
    ("the sealing key in the gateway",
     lambda d: container(d, "bulwark-gateway")["env"].append(
         {"name": "BULWARK_SECRETS_KEY",
          "valueFrom": {"secretKeyRef": {"name": "bulwark", "key": "secrets-key"}}}),
     "only integrations may hold"),
    ("the previous sealing key in the gateway",
     lambda d: container(d, "bulwark-gateway")["env"].append(
         {"name": "BULWARK_SECRETS_KEY_PREVIOUS",
          "valueFrom": {"secretKeyRef": {"name": "bulwark", "key": "secrets-key-previous",
                                         "optional": True}}}),
     "reads BULWARK_SECRETS_KEY_PREVIOUS, which only integrations may hold"),
    ("a required Secret key the example lacks",
     lambda d: container(d, "bulwark-integrations")["env"].append(
         {"name": "BULWARK_SECRETS_KEY_PREVIOUS",
          "valueFrom": {"secretKeyRef": {"name": "bulwark", "key": "secrets-key-older"}}}),
     "reads key secrets-key-older of Secret bulwark, which secret.example.yaml lacks"),
    ("one replica of scoping",
     lambda d: find(d, "Deployment", "bulwark-scoping")["spec"].__setitem__("replicas", 1),
     "bulwark-scoping runs 1 replica(s)"),
    ("no disruption budget for incidents",
     lambda d: d.remove(next(x for x in d if x[1]["kind"] == "PodDisruptionBudget"
                             and x[1]["metadata"]["name"] == "bulwark-incidents")),
     "bulwark-incidents is selected by 0 PodDisruptionBudgets"),
    ("a disruption budget that blocks every drain",
     lambda d: find(d, "PodDisruptionBudget", "bulwark-crosswalk")["spec"].__setitem__("maxUnavailable", 0),
     "must let a drain take a pod"),
    ("an autoscaler on CPU nothing requests",
     lambda d: container(d, "bulwark-attestations")["resources"]["requests"].pop("cpu"),
     "which a container does not request"),
    ("gateways that each allow the whole rate limit",
     lambda d: set_env(container(d, "bulwark-gateway"), "BULWARK_GATEWAY_REPLICAS", "1"),
     "BULWARK_GATEWAY_REPLICAS is '1'"),
    ("crosswalk cut off from scoping",
     lambda d: find(d, "NetworkPolicy", "bulwark-crosswalk")["spec"].pop("egress"),
     "bulwark-crosswalk cannot reach bulwark-scoping"),
]


def self_test(docs):
    failures = 0
    if check(copy.deepcopy(docs)):
        print("FAIL: check_k8s.py --self-test: the manifests themselves do not pass", file=sys.stderr)
        return 1
    for what, breaker, expect in BREAKS:
        broken = copy.deepcopy(docs)
        breaker(broken)
        if not checkrun.caught("check_k8s.py", what, expect, check(broken)):
            failures += 1
    if not failures:
        print(f"  deploy/k8s self-test: {len(BREAKS)} broken variants, each caught")
    return 1 if failures else 0


def commands(docs):
    for _, d in docs:
        if d.get("kind") not in ("Deployment", "Job"):
            continue
        spec = d["spec"]["template"]["spec"]
        for c, _ in containers(spec):
            cmds = [c.get("command")] + [((c.get(p) or {}).get("exec") or {}).get("command")
                                        for p in ("readinessProbe", "livenessProbe", "startupProbe")]
            for cmd in cmds:
                if cmd:
                    image = re.sub(r"^bulwark/([^:]+):.*$", r"\1", c["image"])
                    print(image, " ".join(cmd))


def main(argv):
    if len(argv) == 2 and argv[0] == "--self-test":
        return self_test(load(argv[1]))
    if len(argv) == 2 and argv[0] == "--commands":
        commands(load(argv[1]))
        return 0
    if len(argv) != 1:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    return checkrun.report("deploy/k8s", check(load(argv[0])),
                           "every Secret key, volume, port and label referenced exists; each "
                           "process has its own database URL and certificate; the "
                           "NetworkPolicies allow exactly the expected paths; the example "
                           "Secrets are refused until replaced")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
