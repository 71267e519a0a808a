#!/usr/bin/env python3
"""make test-ha's measurement: writes (POST /v1/entities) from several
clients; KILL_AT seconds in, the kill command runs (it kills the primary);
the load goes on until writes have succeeded again for a while. Then it
checks what issue 15 asks and prints the figures:
- no acknowledged write is lost: every id a 2xx returned is read back (GET,
  200) from the new primary;
- writes resume within --resume-limit seconds of the kill;
- in between, every failure is a 503 with Retry-After, and no request waits
  longer than --hang-limit seconds (nothing hangs).

    ha.py URL KEY KILL-COMMAND [--threads N] [--kill-at S] [--after S]
"""

import argparse
import subprocess
import sys
import time

import bwload


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("key")
    ap.add_argument("kill")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--kill-at", type=float, default=5.0)
    ap.add_argument("--after", type=float, default=5.0, help="seconds of load after writes resume")
    ap.add_argument("--resume-limit", type=float, default=10.0)
    ap.add_argument("--hang-limit", type=float, default=5.0)
    ap.add_argument("--give-up", type=float, default=60.0)
    a = ap.parse_args()

    route = bwload.Route("POST /v1/entities", "POST", "/v1/entities",
                         body=lambda n: {"name": f"HA write {n}", "timeZone": "Europe/Berlin"},
                         created_id=True)
    load = bwload.Load(a.url, a.key, [route], threads=a.threads, timeout=a.hang_limit * 3).start()
    time.sleep(a.kill_at)
    t_kill = load.now()
    print(f"  {t_kill:6.2f} s: {a.kill}", flush=True)
    subprocess.run(a.kill, shell=True, check=True)

    resumed = None
    deadline = t_kill + a.give_up
    while load.now() < deadline:
        time.sleep(0.1)
        after = load.window(since=t_kill)
        fails = [r for r in after if not bwload.ok(r)]
        if not fails:
            continue
        first_fail = min(r.start for r in fails)
        ok = [r for r in after if bwload.ok(r) and r.start > first_fail]
        if ok:
            resumed = min(r.start + r.seconds for r in ok)
            break
    if resumed is not None:
        time.sleep(a.after)
    load.stop()

    results = load.window()
    before = load.window(until=t_kill)
    after = load.window(since=t_kill)
    acked = [r for r in results if bwload.ok(r)]
    failed = [r for r in after if not bwload.ok(r)]
    slow = [r for r in results if r.seconds > a.hang_limit or r.error == "timeout"]
    bad = [r for r in failed if r.status != 503 or not r.retry_after]
    lat = [r.seconds for r in results]

    # A read that answers 503 (a service still reconnecting after the
    # failover) says nothing of the write: it is asked again, for a while.
    missing = []
    for r in acked:
        deadline = time.monotonic() + 15
        while True:
            status, _ = bwload.get(a.url, a.key, f"/v1/entities/{r.id}")
            if status == 200 or status not in (503, 0) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if status != 200:
            missing.append((r.id, status))

    print(f"  writes: {len(results)} sent, {len(acked)} acknowledged "
          f"({len([r for r in before if bwload.ok(r)])} before the kill), "
          f"{len(failed)} refused after it: {bwload.statuses(failed)}")
    print(f"  latency: p50 {pct(lat, 50) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms, "
          f"max {max(lat) * 1000:.0f} ms")
    if resumed is not None and failed:
        print(f"  writes failed from {min(r.start for r in failed) - t_kill:.2f} s to "
              f"{max(r.start for r in failed) - t_kill:.2f} s after the kill; the first write "
              f"after it was acknowledged {resumed - t_kill:.2f} s after the kill")
    print(f"  acknowledged writes read back after the failover: {len(acked) - len(missing)} of "
          f"{len(acked)}")

    errors = []
    if not [r for r in before if bwload.ok(r)]:
        errors.append("no write succeeded before the kill")
    if not failed:
        errors.append("no write failed after the kill: was the primary killed?")
    if resumed is None:
        errors.append(f"writes did not resume within {a.give_up:.0f} s")
    elif resumed - t_kill > a.resume_limit:
        errors.append(f"writes resumed {resumed - t_kill:.1f} s after the kill, over "
                      f"{a.resume_limit:.0f} s")
    if bad:
        errors.append(f"{len(bad)} failures were not 503 with Retry-After: "
                      f"{bwload.statuses(bad)} (first: status {bad[0].status}, "
                      f"Retry-After {bad[0].retry_after!r})")
    if slow:
        errors.append(f"{len(slow)} requests took over {a.hang_limit:.0f} s (the longest "
                      f"{max(r.seconds for r in slow):.1f} s)")
    if missing:
        errors.append(f"{len(missing)} acknowledged writes are lost, e.g. {missing[:3]}")
    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
