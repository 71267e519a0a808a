#!/usr/bin/env python3
"""make faults' measurements, against a stack deploy/local/faults.sh started
(it writes restart-NAME.sh and NAME.pid for each process into the run
directory). Each part prints its figures and what failed; the exit status
is non-zero if any part failed. The parts:

1. kill -9 of each service under load on one route of every service: while
   it is down its route answers 503 with Retry-After and the others 2xx;
   restarted, its route answers 2xx again.
2. kill -9 of the gateway: restarted, it serves again.
3. SIGTERM of a service and of the gateway under writes: every request sent
   before the signal is answered 2xx (in-flight calls drain) or, if no
   worker had started it yet, 503 with Retry-After (not run: send it again),
   and every acknowledged write reads back.
4. Slow clients: connections that send a header a byte at a time do not
   slow the others, and are closed.
5. Two gateways on one database: a key revoked on one is refused on the
   other at once; their rate limits add up to the tenant's limit.
6. A soak at 70 % of the peak wrk measures: every process's RSS grows less
   than 5 % after the warm-up (a shortened soak: less than 25 %).

At the end a table of what was survived, one row per fault, in the columns
of tests/faults/README.md's table.

The soak's warm-up is its first fifth (at least 30 s), at the soak's own
rate, after 10 s at the peak: long enough for the allocator's arenas and the
gateway's pooled buffers and arenas to reach what 32 connections need. The
growth judged is from the first RSS sample after it to the last; the growth
from the soak's start and RSS over time are printed too, so that a step
inside the warm-up is seen, not hidden.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import bwload
from bwload import ok

FAILURES = []
SURVIVED = []  # (fault, under, what clients saw, recovery, failures in that part)


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr, flush=True)


def say(msg):
    print(msg, flush=True)


def survived(fault, under, saw, recovery, since):
    """A row of the final table; since: len(FAILURES) when the part began."""
    SURVIVED.append((fault, under, saw, recovery, len(FAILURES) - since))


def print_survived():
    say("== what was survived")
    say("| fault | under | what clients saw | recovery | survived |")
    say("|---|---|---|---|---|")
    for fault, under, saw, recovery, failed in SURVIVED:
        verdict = "yes" if not failed else f"NO ({failed} failures)"
        say(f"| {fault} | {under} | {saw} | {recovery} | {verdict} |")


def counts(results):
    """'455 × 503, 2 × 201': how many replies of each status (or error)."""
    return ", ".join(f"{n} × {k}" for k, n in bwload.statuses(results).items()) or "none"


def secs(x):
    return "-" if x is None else f"{x:.2f} s"


class Stack:
    def __init__(self, a):
        self.url, self.key, self.run = a.url, a.key, a.run_dir

    def pid(self, name):
        with open(os.path.join(self.run, f"{name}.pid")) as f:
            return int(f.read().strip())

    def alive(self, pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def kill(self, name, sig):
        pid = self.pid(name)
        os.kill(pid, sig)
        return pid

    def wait_gone(self, pid, limit=30.0):
        end = time.monotonic() + limit
        while self.alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        return not self.alive(pid)

    def restart(self, name):
        subprocess.run(["bash", os.path.join(self.run, f"restart-{name}.sh")], check=True)


# One route per service that touches that service alone.
ROUTES = {
    "scoping": ("GET", "/v1/entities?pageSize=1"),
    "crosswalk": ("GET", "/v1/frameworks"),
    "incidents": ("GET", "/v1/incidents?pageSize=1"),
    "attestations": ("GET", "/v1/attestation-campaigns?pageSize=1"),
    "integrations": ("GET", "/v1/webhook-endpoints?pageSize=1"),
}


def wait_for(load, route, since, limit=30.0):
    """When route first answered 2xx to a request sent after since."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        hits = [r for r in load.window(route, since) if ok(r)]
        if hits:
            return min(r.start + r.seconds for r in hits)
        time.sleep(0.05)
    return None


def part_service_kills(st, services):
    say("== kill -9 of each service under load")
    routes = [bwload.Route(s, *ROUTES[s]) for s in services if s in ROUTES]
    rows = []
    for victim in [r.name for r in routes]:
        since = len(FAILURES)
        load = bwload.Load(st.url, st.key, routes, threads=2, pause=0.01).start()
        time.sleep(1.5)
        t_kill = load.now()
        pid = st.kill(victim, signal.SIGKILL)
        st.wait_gone(pid)
        time.sleep(3)
        t_restart = load.now()
        st.restart(victim)
        back = wait_for(load, victim, t_restart)
        time.sleep(1)
        load.stop()
        down = load.window(victim, t_kill + 0.3, t_restart)
        bad_down = [r for r in down if r.status != 503 or not r.retry_after]
        others = [r for r in load.window(None, t_kill, None) if r.route != victim]
        bad_others = [r for r in others if not ok(r)]
        rec = (back - t_restart) if back is not None else None
        rows.append((victim, len(down), bwload.statuses(down), len(others), bwload.statuses(bad_others),
                     rec))
        if not down:
            fail(f"{victim}: no request reached its route while it was down")
        if bad_down:
            fail(f"{victim} down: its route answered {bwload.statuses(bad_down)}, not only 503 with Retry-After")
        if bad_others:
            fail(f"{victim} down: the other routes answered {bwload.statuses(bad_others)}")
        if rec is None:
            fail(f"{victim}: its route did not answer 2xx within 30 s of its restart")
        survived(f"kill -9 of {victim}", "reads on one route of each service, 2 clients each",
                 f"its route: {counts(down)}{'' if bad_down else ', each with Retry-After'}; "
                 f"the other {len(routes) - 1} routes: {len(others)} requests, "
                 f"{len(bad_others)} not 2xx", f"2xx {secs(rec)} after its restart", since)
    say(f"  {'killed':13} {'its route while down':32} {'other routes':24} {'2xx again after restart':>10}")
    for victim, n, sts, n_o, bad_o, rec in rows:
        say(f"  {victim:13} {str(sts):32} {n_o:6} sent, {sum(bad_o.values())} not 2xx    "
            f"{'-' if rec is None else f'{rec:.2f} s':>10}")


def part_gateway_kill(st, services):
    say("== kill -9 of the gateway under load")
    since = len(FAILURES)
    route = bwload.Route("read", *ROUTES["scoping"])
    load = bwload.Load(st.url, st.key, [route], threads=4, pause=0.01).start()
    time.sleep(1)
    pid = st.kill("gateway", signal.SIGKILL)
    st.wait_gone(pid)
    t_restart = load.now()
    st.restart("gateway")
    back = wait_for(load, "read", t_restart)
    time.sleep(1)
    load.stop()
    meanwhile = load.window(None, t_restart - 0.1, back)
    refused = [r for r in load.window() if not ok(r)]  # the kill's, all of them
    if back is None:
        fail("the gateway did not serve again within 30 s of its restart")
    else:
        say(f"  restarted, it answered 2xx {back - t_restart:.2f} s later "
            f"(requests meanwhile: {bwload.statuses(meanwhile)})")
    survived("kill -9 of the gateway", "reads, 4 clients",
             f"until it served again: {counts(refused)}",
             f"2xx {secs(None if back is None else back - t_restart)} after its restart", since)


def part_sigterm(st, name):
    say(f"== SIGTERM of {name} under writes")
    since = len(FAILURES)
    route = bwload.Route("write", "POST", "/v1/entities",
                         body=lambda n: {"name": f"drain {name} {n}", "timeZone": "Europe/Berlin"},
                         created_id=True)
    load = bwload.Load(st.url, st.key, [route], threads=8).start()
    time.sleep(1.5)
    t_term = load.now()
    pid = st.kill(name, signal.SIGTERM)
    gone = st.wait_gone(pid, 30)
    t_gone = load.now()
    time.sleep(0.5)
    t_restart = load.now()
    st.restart(name)
    back = wait_for(load, "write", t_restart)
    time.sleep(0.5)
    load.stop()
    before = load.window(None, 0, t_term)
    # Calls a worker had started finish; those still queued are refused, not
    # run: 503 with Retry-After, for the client to send again.
    lost = [r for r in before if not ok(r) and not (r.status == 503 and r.retry_after)]
    acked = [r for r in load.window() if ok(r)]
    between = load.window(None, t_term, t_restart)
    missing = [r.id for r in acked if bwload.get(st.url, st.key, f"/v1/entities/{r.id}")[0] != 200]
    say(f"  {len(before)} writes sent before the signal: {bwload.statuses(before)}; it exited "
        f"{t_gone - t_term:.2f} s after it; meanwhile {bwload.statuses(between)}; "
        f"{len(acked) - len(missing)} of {len(acked)} acknowledged writes read back; "
        f"2xx again {'-' if back is None else f'{back - t_restart:.2f} s'} after the restart")
    if not gone:
        fail(f"{name} did not exit within 30 s of SIGTERM")
    if lost:
        fail(f"SIGTERM of {name}: {len(lost)} requests sent before it failed: {bwload.statuses(lost)}")
    if missing:
        fail(f"SIGTERM of {name}: {len(missing)} acknowledged writes are missing")
    if back is None:
        fail(f"{name} did not serve again after its restart")
    if name != "gateway":
        bad = [r for r in between if not ok(r) and (r.status != 503 or not r.retry_after)]
        if bad:
            fail(f"SIGTERM of {name}: answered {bwload.statuses(bad)} while it stopped, not 503")
    survived(f"SIGTERM of {'the gateway' if name == 'gateway' else name}", "writes, 8 clients",
             f"of {len(before)} writes sent before the signal: "
             f"{counts(before)}; "
             f"{len(acked) - len(missing)} of {len(acked)} acknowledged writes read back",
             f"exited in {t_gone - t_term:.2f} s; 2xx "
             f"{secs(None if back is None else back - t_restart)} after its restart", since)


def part_slow_clients(st, n=200, header_timeout=10.0):
    say(f"== {n} slow clients (a header byte every 0.5 s)")
    since = len(FAILURES)
    host, port = st.url.split("//")[1].split(":")
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"GET /v1/entities HTTP/1.1\r\nHost: x\r\n")
        s.setblocking(False)
        socks.append(s)
    load = bwload.Load(st.url, st.key, [bwload.Route("read", *ROUTES["scoping"])], threads=4).start()
    t0 = time.monotonic()
    closed = {}
    while time.monotonic() - t0 < header_timeout + 3 and len(closed) < n:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                s.send(b"X")
                if s.recv(4096) == b"":
                    closed[i] = time.monotonic() - t0
            except BlockingIOError:
                pass
            except OSError:
                closed[i] = time.monotonic() - t0
        time.sleep(0.5)
    load.stop()
    for s in socks:
        s.close()
    res = load.window()
    lat = sorted(r.seconds for r in res)
    p99 = lat[int(0.99 * (len(lat) - 1))] if lat else 0
    say(f"  meanwhile {len(res)} requests: {bwload.statuses(res)}, p99 {p99 * 1000:.0f} ms; "
        f"the gateway closed {len(closed)} of {n} slow connections"
        f"{f', the last {max(closed.values()):.1f} s after they began' if closed else ''}")
    if any(not ok(r) for r in res):
        fail(f"slow clients: other requests answered {bwload.statuses(res)}")
    if p99 > 0.5:
        fail(f"slow clients: other requests' p99 was {p99 * 1000:.0f} ms")
    if len(closed) < n:
        fail(f"slow clients: {n - len(closed)} slow connections were still open after "
             f"{header_timeout + 3:.0f} s")
    survived(f"{n} slow clients (a header byte every 0.5 s)", "reads, 4 clients",
             f"{len(res)} reads: {counts(res)}, "
             f"p99 {p99 * 1000:.0f} ms",
             f"{len(closed)} of {n} closed by the header timeout "
             f"({header_timeout:.0f} s)", since)


def part_two_gateways(st, g2, g3, rate=40, burst=40, seconds=4.0):
    say("== two gateways on one database")
    since = len(FAILURES)
    status, body = bwload.request(st.url, st.key, "POST", "/v1/api-keys", {"name": "faults", "role": "auditor"})
    if status != 201:
        fail(f"could not create a key: {status} {body[:200]}")
        return
    created = json.loads(body)
    key = created["secret"]
    s2 = bwload.request(g2, key, "GET", ROUTES["scoping"][1])[0]
    s3 = bwload.request(g3, key, "GET", ROUTES["scoping"][1])[0]
    t0 = time.monotonic()
    sd = bwload.request(g3, st.key, "DELETE", f"/v1/api-keys/{created['id']}")[0]
    after, took = None, None
    while time.monotonic() - t0 < 5:
        after = bwload.request(g2, key, "GET", ROUTES["scoping"][1])[0]
        if after == 401:
            took = time.monotonic() - t0
            break
        time.sleep(0.01)
    say(f"  a new key: {s2} on gateway 2, {s3} on gateway 3; revoked on gateway 3 ({sd}); "
        f"gateway 2 answered {after} {'-' if took is None else f'{took * 1000:.0f} ms'} later")
    if (s2, s3, sd) != (200, 200, 204) or took is None:
        fail("revocation on one gateway did not reach the other within 5 s")
    survived("key revoked on gateway 3", "two more gateways on the same database",
             f"refused ({after}) by gateway 2 "
             f"{'-' if took is None else f'{took * 1000:.0f} ms'} later", "-", since)
    since = len(FAILURES)

    # The same tenant through both at once, each enforcing half the limit.
    route = bwload.Route("read", *ROUTES["scoping"])
    time.sleep(burst / rate + 0.5)  # both buckets full again
    loads = [bwload.Load(g, st.key, [route], threads=3).start() for g in (g2, g3)]
    time.sleep(seconds)
    for ld in loads:
        ld.stop()
    per = [len([r for r in ld.window(None, 0, seconds) if ok(r)]) for ld in loads]
    refused = sum(len([r for r in ld.window(None, 0, seconds) if r.status == 429]) for ld in loads)
    allowed = burst + rate * seconds
    say(f"  {seconds:.0f} s of one tenant's reads through both (limit {rate}/s, burst {burst}: "
        f"at most {allowed:.0f}): {per[0]} + {per[1]} = {sum(per)} answered 2xx, {refused} 429")
    if sum(per) > allowed * 1.1 or sum(per) < allowed * 0.7:
        fail(f"the two gateways together allowed {sum(per)} requests, not about {allowed:.0f}")
    survived(f"one tenant through two gateways, limit {rate}/s, burst {burst}",
             f"{seconds:.0f} s, 3 clients per gateway",
             f"{per[0]} + {per[1]} = {sum(per)} answered 2xx (budget {allowed:.0f}), "
             f"{refused} × 429", "-", since)


def wrk(url, key, path, seconds, conns, delay_ms=None):
    lua = (f'wrk.headers["Authorization"] = "Bearer {key}"\nwrk.path = "{path}"\n'
           + (f"function delay() return {delay_ms} end\n" if delay_ms else "")
           + 'function done(summary, latency, requests)\n'
           + '  io.write(string.format("RESULT %d %d %d %d\\n", summary.requests, summary.duration,'
           + ' summary.errors.status + summary.errors.connect + summary.errors.read +'
           + ' summary.errors.write + summary.errors.timeout, latency:percentile(99)))\nend\n')
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-s", f.name, url],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    m = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+)", out)
    n, us, errors, p99 = map(int, m.groups())
    return n / (us / 1e6), errors, p99 / 1000.0


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def soak_warmup(seconds):
    """The warm-up: the soak's first fifth, at least 30 s (module docstring)."""
    return max(30.0, seconds * 0.2)


def part_soak(st, names, seconds):
    say(f"== soak at 70 % of the peak, {seconds} s")
    since = len(FAILURES)
    status, body = bwload.request(st.url, st.key, "POST", "/v1/entities",
                           {"name": "Soak SE", "timeZone": "Europe/Berlin"})
    path = f"/v1/entities/{json.loads(body)['id']}"
    peak, errors, p99 = wrk(st.url, st.key, path, 10, 32)
    target = 0.7 * peak
    conns = 32
    delay = max(1, int(conns * 1000 / target))
    say(f"  peak {peak:.0f} requests/s (p99 {p99:.1f} ms, {errors} errors); soak at {target:.0f}/s: "
        f"{conns} connections, {delay} ms apart")
    pids = {n: st.pid(n) for n in names}
    samples = {n: [] for n in names}
    # wrk in the background, sampling RSS meanwhile.
    import threading
    result = {}

    def run():
        result["r"] = wrk(st.url, st.key, path, seconds, conns, delay)
    t = threading.Thread(target=run)
    t.start()
    t0 = time.monotonic()
    while t.is_alive():
        el = time.monotonic() - t0
        for n, pid in pids.items():
            kb = rss_kb(pid)
            if kb is not None:
                samples[n].append((el, kb))
        time.sleep(min(5.0, max(1.0, seconds / 60)))
    t.join()
    rate, errors, p99 = result["r"]
    warm = soak_warmup(seconds)
    # The 5 % rule is the 10-minute soak's; a shortened soak (CI) fails
    # only on growth far beyond it.
    limit = 5 if seconds >= 600 else 25
    say(f"  served {rate:.0f} requests/s, p99 {p99:.1f} ms, {errors} errors; RSS in MiB at the "
        f"start, after the {warm:.0f} s warm-up, at the end (growth after the warm-up, limit "
        f"{limit} %; from the start), and every {seconds / 10:.0f} s:")
    growths = {}
    for n in names:
        s = samples[n]
        base = [kb for el, kb in s if el >= warm]
        if len(base) < 2:
            fail(f"soak: too few RSS samples of {n}")
            continue
        start, first, last, top = s[0][1], base[0], base[-1], max(kb for _, kb in s)
        growth = (last - first) / first * 100
        growths[n] = growth
        curve = [next(kb for el, kb in s if el >= i * seconds / 10 or (el, kb) == s[-1])
                 for i in range(10)] + [last]
        say(f"    {n:13} {start / 1024:5.1f} {first / 1024:5.1f} {last / 1024:5.1f} (max "
            f"{top / 1024:.1f}): {growth:+.1f} % ({(last - start) / start * 100:+.1f} %)   "
            + " ".join(f"{kb / 1024:.1f}" for kb in curve))
        if growth >= limit:
            fail(f"soak: {n}'s RSS grew {growth:.1f} % after the warm-up (limit {limit} % "
                 f"for a {seconds} s soak)")
    if errors:
        fail(f"soak: wrk counted {errors} errors")
    svc = [g for n, g in growths.items() if n != "gateway"]
    survived(f"soak at 70 % of the peak (peak {peak:.0f}/s; {rate:.0f}/s served)",
             f"{conns} connections on `GET /v1/entities/{{id}}`, {seconds} s",
             f"{errors} errors, p99 {p99:.0f} ms",
             f"RSS after the {warm:.0f} s warm-up: services "
             + (f"{min(svc):+.1f} to {max(svc):+.1f} %" if svc else "-")
             + f", gateway {growths.get('gateway', float('nan')):+.1f} % (limit {limit} %)", since)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--gateway2", required=True)
    ap.add_argument("--gateway3", required=True)
    ap.add_argument("--services", required=True)
    ap.add_argument("--soak-seconds", type=int, default=600)
    a = ap.parse_args()
    st = Stack(a)
    services = a.services.split()
    part_service_kills(st, services)
    part_gateway_kill(st, services)
    part_sigterm(st, "scoping")
    part_sigterm(st, "gateway")
    part_slow_clients(st)
    part_two_gateways(st, a.gateway2, a.gateway3)
    if a.soak_seconds > 0:
        part_soak(st, services + ["gateway"], a.soak_seconds)
    print_survived()
    say(f"make faults: {'passed' if not FAILURES else f'{len(FAILURES)} failures'}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
