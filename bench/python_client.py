#!/usr/bin/python3
"""bench/python_client.py: the Python client against the C client, in one
run against one precisd, and the cost of a metrics scrape.

    make && bench/python_client.py [--n 20000] [--dim 128] [--batch 1000]
                                   [--queries 300] [--index Flat] [--build build]

Upsert: the same number of points of the same size with a short text each,
one collection per client (C: synchronous precis_upsert per batch; Python:
numpy array and list of lists, pipelined window 8, and numpy with window 1).
Retrieve: round trips of k=10 COMPRESS retrieves on the same collection.
Scrape: GET /metrics round trips, and retrieve latency with a second
process scraping continuously against none. The server runs with
--sync-writes 0 so that the figures show the clients, not fsync.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request

import pysrv



def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p * len(xs) + 0.5)) - 1))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--index", default="Flat")
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    build = pysrv.use_build(a.build)
    import numpy as np
    import precis

    with pysrv.precisd(build) as (port, mport):
        res = {}
        rng = np.random.default_rng(1)
        arr = (rng.random((a.n, a.dim), dtype=np.float32) * 2 - 1)
        texts = ["doc %d" % i for i in range(a.n)]
        ids = list(range(1, a.n + 1))
        with precis.Client("127.0.0.1", port) as c:
            def up(name, vectors, window):
                try:
                    c.drop_collection(name)
                except precis.NotFound:
                    pass
                c.create_collection(name, dim=a.dim, index_spec=a.index)
                t0, c0 = time.perf_counter(), time.process_time()
                c.upsert(name, ids, vectors, texts=texts, batch_size=a.batch, window=window)
                t1, c1 = time.perf_counter(), time.process_time()
                return a.n / (t1 - t0), (c1 - c0) * 1e6 / a.n
            lists = arr.tolist()
            # two rounds, clients alternating; the better round of each is kept
            # (the machine is shared: the slower one measures the neighbours)
            for _ in range(2):
                out = subprocess.run([os.path.join(build, "precis-bench"), "client", "--port", str(port),
                                      "--n", str(a.n), "--dim", str(a.dim), "--batch", str(a.batch),
                                      "--queries", str(a.queries), "--index", a.index,
                                      "--collection", "bench_c"],
                                     check=True, stdout=subprocess.PIPE).stdout
                cr = json.loads(out)
                if "c" not in res or cr["upsert_points_per_s"] > res["c"]["upsert_points_per_s"]:
                    res["c"] = cr
                for key, name, vectors, window in (("py_numpy", "bench_py_np", arr, 8),
                                                   ("py_lists", "bench_py_list", lists, 8),
                                                   ("py_numpy_w1", "bench_py_w1", arr, 1)):
                    r = up(name, vectors, window)
                    if key not in res or r[0] > res[key][0]:
                        res[key] = r

            def rtts(vecs):
                out = []
                for i in range(a.queries):
                    t0 = time.perf_counter()
                    c.retrieve("bench_c", vecs[i * 7 % a.n], k=10)
                    out.append((time.perf_counter() - t0) * 1e6)
                return out
            # the C study's vectors are its own; the Python queries are rows of
            # `arr`: retrieve cost does not depend on which rows are asked
            res["py_rtt"] = rtts(arr)
            res["py_rtt_list"] = rtts(arr.tolist())

            scr = []
            for _ in range(100):
                t0 = time.perf_counter()
                urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport).read()
                scr.append((time.perf_counter() - t0) * 1e3)
            res["scrape_ms"] = scr
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport).read().decode()
            res["scrape_bytes"] = len(body)
            # retrieve latency with a scraper process hammering /metrics
            quiet = rtts(arr)
            scraper = subprocess.Popen([sys.executable, "-c",
                                        "import urllib.request,time\n"
                                        "while True:\n"
                                        " urllib.request.urlopen('http://127.0.0.1:%d/metrics').read()\n"
                                        " time.sleep(0.01)\n" % mport])
            time.sleep(0.3)
            busy = rtts(arr)
            scraper.kill()
            scraper.wait()
            res["rtt_quiet"], res["rtt_scraped"] = quiet, busy
            m = {}
            for line in urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport).read().decode().splitlines():
                if line.startswith(("precis_scrapes_total", "precis_scrape_seconds_total")):
                    k, v = line.split()
                    m[k] = float(v)
            res["render_ms"] = 1e3 * m["precis_scrape_seconds_total"] / max(1, m["precis_scrapes_total"])

    C = res["c"]
    print("n=%d dim=%d batch=%d index=%s queries=%d (server --sync-writes 0)\n"
          % (a.n, a.dim, a.batch, a.index, a.queries))
    print("| upsert | points/s | vs C | client CPU µs/point |\n|---|---:|---:|---:|")
    print("| C client (precis_upsert per batch) | %.0f | 100 %% | %.2f |"
          % (C["upsert_points_per_s"], C["upsert_cpu_us_per_point"]))
    for k, label in (("py_numpy", "Python, numpy array, window 8"),
                     ("py_lists", "Python, list of lists, window 8"),
                     ("py_numpy_w1", "Python, numpy array, window 1 (no pipelining)")):
        print("| %s | %.0f | %.0f %% | %.2f |" % (label, res[k][0], 100 * res[k][0] / C["upsert_points_per_s"],
                                                res[k][1]))
    pr, prl = res["py_rtt"], res["py_rtt_list"]
    print("\n| retrieve round trip (k 10, COMPRESS) | p50 µs | mean µs | p99 µs |\n|---|---:|---:|---:|")
    print("| C client | %.0f | %.0f | %.0f |" % (C["retrieve_us_p50"], C["retrieve_us_mean"], C["retrieve_us_p99"]))
    print("| Python, numpy query | %.0f | %.0f | %.0f |" % (q(pr, .5), statistics.mean(pr), q(pr, .99)))
    print("| Python, list query | %.0f | %.0f | %.0f |" % (q(prl, .5), statistics.mean(prl), q(prl, .99)))
    print("\nPython - C, p50: %+.0f µs (numpy), %+.0f µs (list)"
          % (q(pr, .5) - C["retrieve_us_p50"], q(prl, .5) - C["retrieve_us_p50"]))
    s = res["scrape_ms"]
    print("\nscrape (%d bytes): HTTP round trip p50 %.2f ms, p99 %.2f ms, max %.2f ms; server render mean %.3f ms"
          % (res["scrape_bytes"], q(s, .5), q(s, .99), max(s), res["render_ms"]))
    qq, bb = res["rtt_quiet"], res["rtt_scraped"]
    print("retrieve p50/p99 without scraping %.0f/%.0f µs, with a scraper every 10 ms %.0f/%.0f µs"
          % (q(qq, .5), q(qq, .99), q(bb, .5), q(bb, .99)))


if __name__ == "__main__":
    main()
