#!/usr/bin/python3
"""bench/rpc_split.py: where a search's round trip goes over RPC, one
request in flight: the time the client sees beside the time precisd spends
from dispatch to encoded response (its own histogram,
precis_request_duration_seconds{op="search"}), on a GloVe set.

    make && bench/rpc_split.py [--set glove-small] [--ef 16,64,128]
                               [--queries 1000] [--rounds 3] [--build build]

A throw-away precisd (--sync-writes 0) on a temporary directory; one
collection (HNSW32, cosine) with the set's base vectors; then per efSearch
and round, `--queries` searches (k 10) back to back on one connection.
Compare the server's time with `precis-bench ann`'s in-process rows (and
with `--pause-us`, the same searches after an idle gap). Needs
python3-numpy and `scripts/fetch-data.sh glove`.
"""
import argparse
import os
import re
import time
import urllib.request

import pysrv



def server_search_seconds(mport):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport).read().decode()
    total = re.search(r'precis_request_duration_seconds_sum\{op="search"\} (\S+)', body)
    count = re.search(r'precis_request_duration_seconds_count\{op="search"\} (\S+)', body)
    if not total or not count:
        return 0.0, 0.0
    return float(total.group(1)), float(count.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="glove-small")
    ap.add_argument("--ef", default="16,64,128")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    build = pysrv.use_build(a.build)
    import numpy as np
    import precis

    data = os.path.join(os.environ.get("PRECIS_DATA_DIR", os.path.join(pysrv.ROOT, "data")), a.set)
    base = np.fromfile(os.path.join(data, "base.f32"), dtype=np.float32).reshape(-1, 100)
    queries = np.fromfile(os.path.join(data, "queries.f32"), dtype=np.float32).reshape(-1, 100)
    with pysrv.precisd(build, "precis-rpcsplit-") as (port, mport):
        with precis.Client("127.0.0.1", port) as c:
            c.create_collection("g", 100, index_spec="HNSW32")
            for i in range(0, len(base), 1000):
                c.upsert("g", list(range(i, min(i + 1000, len(base)))), base[i:i + 1000])
            print("| efSearch | round | client mean µs | client p50 µs | server mean µs | other µs |")
            print("|---:|---:|---:|---:|---:|---:|")
            for ef in (int(x) for x in a.ef.split(",")):
                for r in range(a.rounds):
                    s0, n0 = server_search_seconds(mport)
                    lat = []
                    for i in range(a.queries):
                        v = queries[i % len(queries)]
                        t = time.perf_counter()
                        c.search("g", v, k=10, ef_search=ef)
                        lat.append(time.perf_counter() - t)
                    s1, n1 = server_search_seconds(mport)
                    srv_us = (s1 - s0) / (n1 - n0) * 1e6 if n1 > n0 else float("nan")
                    cl = float(np.mean(lat)) * 1e6
                    print("| %d | %d | %.0f | %.0f | %.0f | %.0f |" %
                          (ef, r + 1, cl, float(np.median(lat)) * 1e6, srv_us, cl - srv_us),
                          flush=True)


if __name__ == "__main__":
    main()
