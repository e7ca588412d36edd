"""precisd --group-commit: upserts queued for one collection are written by
one engine call (one RocksDB write, one WAL sync). Every acknowledged point
must be stored, a bad request in a group must fail alone with its own error,
and grouping must happen only when it is on."""
import os
import random
import re
import threading
import urllib.request

import pytest

import precis
from conftest import Server

DIM = 8


def counters(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        text = r.read().decode()
    out = {}
    for name in ("precis_group_commits_total", "precis_group_commit_requests_total",
                 "precis_requests_total"):
        vals = re.findall(r"^%s(?:\{[^}]*op=\"upsert\"[^}]*\})? (\S+)$" % name, text, re.M)
        out[name] = sum(float(v) for v in vals)
    return out


@pytest.mark.parametrize("group", [1, 0])
def test_group_commit(tmp_path, group):
    mfile = os.path.join(str(tmp_path), "METRICS")
    data = os.path.join(str(tmp_path), "data")
    s = Server(data_dir=data, args=["--sync-writes", "1", "--group-commit", str(group),
                     "--metrics-listen", "127.0.0.1:0", "--metrics-port-file", mfile])
    try:
        with precis.Client("127.0.0.1", s.port) as c:
            c.create_collection("g", dim=DIM, index_spec="HNSW16")
        nthreads, per = 4, 150
        errors, bad_seen = [], []

        def writer(t):
            rnd = random.Random(t)
            ids = [t * 10000 + i for i in range(per)]
            vecs = [[rnd.uniform(-1, 1) for _ in range(DIM)] for _ in ids]
            try:
                with precis.Client("127.0.0.1", s.port) as c:
                    # one point per request, 8 requests in flight: the
                    # queue holds upserts of several connections at once
                    n = c.upsert("g", ids, vecs, texts=["p%d" % i for i in ids],
                                 batch_size=1, window=8)
                    assert n == per
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        def bad_writer():
            try:
                with precis.Client("127.0.0.1", s.port) as c:
                    for i in range(40):
                        try:
                            c.upsert("g", [900000 + i], [[0.5] * (DIM - 1)])
                        except precis.DimensionMismatch:
                            bad_seen.append(i)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(nthreads)]
        threads.append(threading.Thread(target=bad_writer))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(bad_seen) == 40  # each bad request failed alone, with its own error
        with precis.Client("127.0.0.1", s.port) as c:
            assert c.describe("g")["count"] == nthreads * per
            want = [t * 10000 + i for t in range(nthreads) for i in range(per)]
            got = c.get("g", want)
            assert not got.missing
            assert [p.text for p in got] == ["p%d" % i for i in want]
            assert len(c.get("g", [900000 + i for i in range(40)])) == 0
        with open(mfile) as f:
            m = counters(int(f.read()))
        if group:
            # 4 connections with 8 single-point upserts in flight each, every
            # write synced: upserts wait in the queue together
            assert m["precis_group_commits_total"] > 0
            assert m["precis_group_commit_requests_total"] >= 2 * m["precis_group_commits_total"]
        else:
            assert m["precis_group_commits_total"] == 0
            assert m["precis_group_commit_requests_total"] == 0
    finally:
        assert s.stop() == 0, s.read_log()

    # what was acknowledged is durable: reopen and read it back
    s2 = Server(data_dir=data)
    try:
        with precis.Client("127.0.0.1", s2.port) as c:
            assert c.describe("g")["count"] == nthreads * per
    finally:
        assert s2.stop() == 0, s2.read_log()
