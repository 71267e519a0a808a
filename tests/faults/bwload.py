"""Load and bookkeeping shared by make test-ha (ha.py) and make faults
(faults.py): client threads that send one route's requests in a loop over
keep-alive connections and record, for each reply, when it was sent, how
long it took, its status, its Retry-After and the id it created. Standard
library only."""

import http.client
import json
import threading
import time
from urllib.parse import urlsplit


class Route:
    def __init__(self, name, method, path, body=None, created_id=False):
        self.name, self.method, self.path, self.body = name, method, path, body
        self.created_id = created_id


class Result:
    __slots__ = ("route", "start", "seconds", "status", "retry_after", "id", "error")

    def __init__(self, route, start, seconds, status, retry_after, id_, error):
        self.route, self.start, self.seconds, self.status = route, start, seconds, status
        self.retry_after, self.id, self.error = retry_after, id_, error


def ok(r):
    """Whether a Result is a 2xx."""
    return 200 <= r.status < 300


class Load:
    """threads per route, each sending requests back to back (or every
    `pause` seconds) until stop(). A request that gets no reply within
    `timeout` seconds is recorded with status 0 and error "timeout": a hang."""

    def __init__(self, base_url, key, routes, threads=2, timeout=15.0, pause=0.0):
        u = urlsplit(base_url)
        self.host, self.port = u.hostname, u.port or 80
        self.key, self.routes, self.threads = key, routes, threads
        self.timeout, self.pause = timeout, pause
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.t0 = time.monotonic()
        self.workers = []
        self.seq = 0

    def now(self):
        return time.monotonic() - self.t0

    def _body(self, route):
        if route.body is None:
            return None
        with self.lock:
            self.seq += 1
            n = self.seq
        return route.body(n) if callable(route.body) else route.body

    def _worker(self, route):
        conn = None
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        while not self.stopping.is_set():
            body = self._body(route)
            start = self.now()
            status, retry_after, id_, error = 0, None, None, None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                conn.request(route.method, route.path,
                             body=json.dumps(body) if body is not None else None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                retry_after = resp.getheader("Retry-After")
                if route.created_id and 200 <= status < 300:
                    id_ = json.loads(data).get("id")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except TimeoutError:
                error = "timeout"
                conn = None
            except (OSError, http.client.HTTPException) as e:
                error = type(e).__name__
                if conn is not None:
                    conn.close()
                conn = None
            r = Result(route.name, start, self.now() - start, status, retry_after, id_, error)
            with self.lock:
                self.results.append(r)
            if error is not None and error != "timeout":
                # Refused or reset: the gateway itself is away; do not spin.
                time.sleep(0.05)
            if self.pause:
                time.sleep(self.pause)
        if conn is not None:
            conn.close()

    def start(self):
        for route in self.routes:
            for _ in range(self.threads):
                t = threading.Thread(target=self._worker, args=(route,), daemon=True)
                t.start()
                self.workers.append(t)
        return self

    def stop(self):
        self.stopping.set()
        for t in self.workers:
            t.join(self.timeout + 5)

    def window(self, route=None, since=0.0, until=None):
        with self.lock:
            return [r for r in self.results
                    if (route is None or r.route == route) and r.start >= since
                    and (until is None or r.start < until)]


def request(base_url, key, method, path, body=None, timeout=10.0):
    """One request on a connection of its own: (status, body bytes)."""
    u = urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    headers = {"Authorization": f"Bearer {key}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def get(base_url, key, path, timeout=10.0):
    return request(base_url, key, "GET", path, timeout=timeout)


def statuses(results):
    out = {}
    for r in results:
        k = r.error or str(r.status)
        out[k] = out.get(k, 0) + 1
    return out
