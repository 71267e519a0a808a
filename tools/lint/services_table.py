"""The services table, services/services.tsv: one reader for every Python
check that needs it (tools/lint/services.py, deploy/images/check_compose.py,
deploy/images/check_k8s.py). Standard library only."""
import os

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def load(root=REPO, err=None):
    """The table's rows, in its order (the gateway first): dicts of process,
    schema, port (an int) and dials (a list). A malformed row, or a dial of
    a process the table does not list, is passed to err(where, message)
    (None: raises ValueError); a malformed row is left out."""
    def fail(where, msg):
        if err is None:
            raise ValueError(f"{where}: {msg}")
        err(where, msg)

    rel = "services/services.tsv"
    try:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        fail(rel, "missing")
        return []
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 4 or not cols[2].isdigit():
            fail(f"{rel}:{n}", "want process, schema, port, dials (tab-separated)")
            continue
        dials = [] if cols[3] == "-" else cols[3].split(",")
        rows.append({"process": cols[0], "schema": cols[1], "port": int(cols[2]), "dials": dials})
    known = {r["process"] for r in rows}
    for r in rows:
        for d in r["dials"]:
            if d not in known:
                fail(rel, f"{r['process']} dials {d}, which is not in the table")
    return rows
