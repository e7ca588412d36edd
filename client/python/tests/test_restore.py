"""Backup and restore: snapshot a live server, keep writing, restore the
snapshot into a new data directory with `precisd --restore-from`, and check
that every point, link, edge and index answer (exact and approximate, the
snapshot carries the FAISS indexes at their write sequences) equals the
state at the snapshot, not after it."""
import os
import random
import shutil
import tempfile

import pytest

import precis
from conftest import Server

DIM = 12


def vecs(n, seed):
    r = random.Random(seed)
    return [[r.uniform(-1, 1) for _ in range(DIM)] for _ in range(n)]


def state(c, ids, queries):
    """Everything observable about the collections, for comparison."""
    out = {}
    for coll in ("flat", "hnsw"):
        info = c.describe(coll)
        out[coll, "info"] = {k: info[k] for k in ("count", "knn_edges", "links", "seq", "config",
                                                  "ann_total", "tombstones")}
        got = c.get(coll, ids, with_vectors=True)
        out[coll, "points"] = [(p.id, p.text, p.metadata, p.tokens, p.vector) for p in got]
        out[coll, "missing"] = got.missing
        out[coll, "edges"] = [sorted(c.list_edges(coll, p.id)) for p in got]
        # exact answers, and the ANN index's own (the snapshot carries the
        # HNSW graph itself, so approximate answers match too)
        out[coll, "exact"] = [[(h.id, round(h.score, 5)) for h in c.search(coll, q, k=10, exact=True)]
                              for q in queries]
        out[coll, "ann"] = [[(h.id, round(h.score, 5)) for h in c.search(coll, q, k=10)] for q in queries]
    out["flat", "retrieve"] = [[(it.id, it.represents, tuple(it.represented_ids))
                                for it in c.retrieve("flat", q, k=5, hops=1, pool=60)] for q in queries]
    out["flat", "topk"] = [[it.id for it in c.retrieve("flat", q, k=8, mode="topk")] for q in queries]
    out["collections"] = sorted(x["name"] for x in c.list_collections())
    return out


@pytest.fixture
def dirs():
    d = tempfile.mkdtemp(prefix="precis-restore-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_snapshot_keep_writing_restore(dirs):
    snapdir = os.path.join(dirs, "other-disk")  # outside the data directory
    a = Server(args=["--snapshot-dir", snapdir])
    b = None
    try:
        v = vecs(400, 1)
        ids = list(range(1, 401))
        queries = vecs(6, 99)
        with precis.Client("127.0.0.1", a.port) as c:
            c.create_collection("flat", dim=DIM, index_spec="Flat", knn_k=8)
            c.create_collection("hnsw", dim=DIM, index_spec="HNSW16", knn_k=8)
            for coll in ("flat", "hnsw"):
                c.upsert(coll, ids[:300], v[:300], texts=["t%d" % i for i in ids[:300]],
                         metadata=[{"i": i} for i in ids[:300]], batch_size=64)
                c.add_links(coll, [(i, i + 1, "next", 0.5) for i in range(1, 50)])
                c.delete(coll, [7, 8])
                c.graph_rebuild(coll)
            before = state(c, ids, queries)
            assert c.list_snapshots() == []
            path = c.snapshot("s1")
            assert path == os.path.join(snapdir, "s1") and os.path.isdir(path)
            # keep writing: new points, replaced points, deletes, links, a new
            # collection and a dropped one
            for coll in ("flat", "hnsw"):
                c.upsert(coll, ids[300:], v[300:], texts=["new"] * 100)
                c.upsert(coll, [1, 2, 3], vecs(3, 5), texts=["changed"] * 3)
                c.delete(coll, [10, 11, 12])
                c.add_links(coll, [(100, 200, "late")])
                c.remove_links(coll, [(1, 2, "next")])
            mid = c.get("flat", ids, with_vectors=True)  # the writes changed what is compared
            assert [(p.id, p.text, p.metadata, p.tokens, p.vector) for p in mid] != before["flat", "points"]
            c.create_collection("later", dim=4)
            c.snapshot("s2")
            c.drop_collection("hnsw")
            snaps = c.list_snapshots()
            assert [s["name"] for s in snaps] == ["s1", "s2"]
            assert all(s["bytes"] > 0 and s["created_unix_s"] > 0 for s in snaps)
            with pytest.raises(precis.NotFound):
                c.describe("hnsw")

        # restore s1 into a new data directory while `a` keeps running
        newdir = os.path.join(dirs, "restored")
        b = Server(data_dir=newdir, args=["--restore-from", os.path.join(snapdir, "s1")])
        with precis.Client("127.0.0.1", b.port) as c:
            after = state(c, ids, queries)
            for key in before:
                assert after[key] == before[key], key
            assert after["flat", "missing"] == [7, 8] + list(range(301, 401))
            for coll in ("flat", "hnsw"):  # the snapshot's index files were loaded
                info = c.describe(coll)
                assert info["index_seq"] == info["seq"] == before[coll, "info"]["seq"]
            assert b.read_log().count("loaded saved index") == 2, b.read_log()
            # the restored server is a normal server: it takes writes
            c.upsert("flat", [999], vecs(1, 7))
            assert c.describe("flat")["count"] == 299
        assert b.stop() == 0, b.read_log()
        b = None
        # and reopens from its own data directory afterwards
        b = Server(data_dir=newdir)
        with precis.Client("127.0.0.1", b.port) as c:
            assert c.describe("flat")["count"] == 299
            assert c.get("hnsw", ids).missing == [7, 8] + list(range(301, 401))
        # the snapshot itself was not modified by the restored server's writes
        assert b.stop() == 0
        b = Server(data_dir=os.path.join(dirs, "again"), args=["--restore-from", os.path.join(snapdir, "s1")])
        with precis.Client("127.0.0.1", b.port) as c:
            assert state(c, ids, queries) == before

        # delete snapshots
        with precis.Client("127.0.0.1", a.port) as c:
            c.delete_snapshot("s1")
            assert [s["name"] for s in c.list_snapshots()] == ["s2"]
            assert not os.path.exists(os.path.join(snapdir, "s1"))
            with pytest.raises(precis.NotFound):
                c.delete_snapshot("s1")
            with pytest.raises(precis.InvalidArgument):
                c.delete_snapshot("..")
            with pytest.raises(precis.InvalidArgument):
                c.delete_snapshot("a/b")
    finally:
        if b is not None:
            b.stop()
        assert a.stop() == 0, a.read_log()


def test_restore_refuses_bad_targets(dirs):
    data = os.path.join(dirs, "a")
    a = Server(data_dir=data)
    try:
        with precis.Client("127.0.0.1", a.port) as c:
            c.create_collection("x", dim=4)
            snap = c.snapshot("s")
    finally:
        assert a.stop() == 0
    with pytest.raises(RuntimeError, match="already holds a database"):
        Server(data_dir=data, args=["--restore-from", snap])
    with pytest.raises(RuntimeError, match="not a snapshot"):
        Server(data_dir=os.path.join(dirs, "n1"), args=["--restore-from", dirs])
    with pytest.raises(RuntimeError, match="not a snapshot"):
        Server(data_dir=os.path.join(dirs, "n2"), args=["--restore-from", os.path.join(dirs, "absent")])
    assert not os.path.exists(os.path.join(dirs, "n1", "db"))
    # a snapshot inside the data directory restores elsewhere
    b = Server(data_dir=os.path.join(dirs, "b"), args=["--restore-from", snap])
    try:
        with precis.Client("127.0.0.1", b.port) as c:
            assert [x["name"] for x in c.list_collections()] == ["x"]
    finally:
        assert b.stop() == 0


def test_snapshots_under_concurrent_writes_are_consistent(dirs):
    """Snapshots taken while another client writes: each restores to a state
    whose index and database agree (every stored point is found by the ANN
    index under its own vector, nothing else is), whatever writes it caught."""
    import threading
    a = Server(data_dir=os.path.join(dirs, "a"))
    stop = threading.Event()
    errors = []
    try:
        with precis.Client("127.0.0.1", a.port) as c:
            c.create_collection("w", dim=DIM, index_spec="Flat", knn_k=4)
            c.upsert("w", list(range(200)), vecs(200, 3))

        def writer():
            try:
                with precis.Client("127.0.0.1", a.port) as w:
                    i = 200
                    while not stop.is_set():
                        w.upsert("w", [i, i + 1], vecs(2, i))
                        w.delete("w", [i - 150])
                        i += 2
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
        t = threading.Thread(target=writer)
        t.start()
        try:
            with precis.Client("127.0.0.1", a.port) as c:
                names = []
                for k in range(3):
                    names.append(c.snapshot("c%d" % k))
        finally:
            stop.set()
            t.join()
        assert not errors, errors
        for k, snap in enumerate(names):
            b = Server(data_dir=os.path.join(dirs, "r%d" % k), args=["--restore-from", snap])
            try:
                with precis.Client("127.0.0.1", b.port) as c:
                    info = c.describe("w")
                    assert info["ann_total"] - info["tombstones"] == info["count"]
                    got = c.get("w", range(0, 2000), with_vectors=True)
                    assert len(got) == info["count"]
                    for p in got[::7]:
                        assert c.search("w", p.vector, k=1)[0].id == p.id
                assert "loaded saved index" in b.read_log(), b.read_log()
            finally:
                assert b.stop() == 0
    finally:
        stop.set()
        assert a.stop() == 0, a.read_log()
