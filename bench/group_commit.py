#!/usr/bin/python3
"""bench/group_commit.py: many clients writing one point per request, every
write synced, with precisd's --group-commit off and on, alternating.

    make && bench/group_commit.py [--conns 8] [--n 400] [--dim 100]
                                  [--window 8] [--rounds 2] [--build build]

Each of --conns connections upserts --n points of --dim floats, one point per
request, --window requests in flight (the Python client's pipelining), into
one collection of a fresh precisd with --sync-writes 1. Reported: upserts per
second over all connections, and from /metrics the groups written together
and the requests in them.
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pysrv



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    build = pysrv.use_build(a.build)
    import precis  # noqa: E402 - generated at build time

    print("| --group-commit | upserts/s | groups | requests in groups |")
    print("|---|---:|---:|---:|")
    for _ in range(a.rounds):
        for group in (0, 1):
            tmp = tempfile.mkdtemp(prefix="precis-gc-")
            pf, mf = os.path.join(tmp, "port"), os.path.join(tmp, "mport")
            proc = subprocess.Popen(
                [os.path.join(build, "precisd"), "--data-dir", os.path.join(tmp, "data"),
                 "--port", "0", "--port-file", pf, "--sync-writes", "1",
                 "--group-commit", str(group), "--metrics-listen", "127.0.0.1:0",
                 "--metrics-port-file", mf, "--log-level", "warn"])
            try:
                while not (os.path.exists(pf) and os.path.exists(mf)):
                    if proc.poll() is not None:
                        sys.exit("precisd did not start")
                    time.sleep(0.02)
                port, mport = int(open(pf).read()), int(open(mf).read())
                with precis.Client("127.0.0.1", port) as c:
                    c.create_collection("g", dim=a.dim)

                def writer(t):
                    rnd = random.Random(t)
                    ids = [t * 10_000_000 + i for i in range(a.n)]
                    vecs = [[rnd.uniform(-1, 1) for _ in range(a.dim)] for _ in ids]
                    with precis.Client("127.0.0.1", port) as c:
                        c.upsert("g", ids, vecs, batch_size=1, window=a.window)

                th = [threading.Thread(target=writer, args=(t,)) for t in range(a.conns)]
                t0 = time.time()
                for t in th:
                    t.start()
                for t in th:
                    t.join()
                dt = time.time() - t0
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport) as r:
                    text = r.read().decode()

                def metric(name):
                    m = re.search(r"^%s (\S+)$" % name, text, re.M)
                    return float(m.group(1)) if m else 0.0

                print("| %d | %.0f | %.0f | %.0f |" % (
                    group, a.conns * a.n / dt, metric("precis_group_commits_total"),
                    metric("precis_group_commit_requests_total")), flush=True)
            finally:
                proc.terminate()
                proc.wait(60)
                subprocess.run(["rm", "-rf", tmp], check=False)


if __name__ == "__main__":
    main()
