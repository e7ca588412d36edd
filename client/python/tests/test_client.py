"""precis.Client against a real precisd: every operation, errors, numpy and
plain-list inputs, pipelined upsert."""
import json
import math
import os
import random
import re
import threading

import pytest

import precis

try:
    import numpy as np
except ImportError:  # the list paths are tested either way
    np = None

needs_numpy = pytest.mark.skipif(np is None, reason="numpy not installed")


def rand_vectors(n, dim, seed=1):
    r = random.Random(seed)
    return [[r.uniform(-1, 1) for _ in range(dim)] for _ in range(n)]


def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_health_and_stats(client):
    h = client.health()
    assert h["version"] and h["faiss"]
    st = client.stats()
    assert st["connections"] >= 1 and st["requests"] >= 1 and st["rss_bytes"] > 0


def test_collections(client, coll):
    info = client.create_collection(coll, dim=8, metric="l2", index_spec="Flat", knn_k=4)
    assert info["name"] == coll
    assert info["config"]["dim"] == 8 and info["config"]["metric"] == "l2"
    assert info["config"]["index_spec"] == "Flat" and info["config"]["knn_k"] == 4
    assert info["count"] == 0
    assert coll in [c["name"] for c in client.list_collections()]
    assert client.describe(coll)["config"] == info["config"]
    with pytest.raises(precis.AlreadyExists) as e:
        client.create_collection(coll, dim=8)
    assert coll in e.value.message and e.value.code == 3
    client.drop_collection(coll)
    with pytest.raises(precis.NotFound):
        client.describe(coll)
    assert coll not in [c["name"] for c in client.list_collections()]


def test_bad_config_is_rejected_locally(client):
    with pytest.raises(TypeError, match="no_such_option"):
        client.create_collection("x", dim=4, no_such_option=1)
    with pytest.raises(ValueError, match="cosine"):
        client.create_collection("x", dim=4, metric="manhattan")


def test_upsert_get_delete_lists(client, coll):
    client.create_collection(coll, dim=4, index_spec="Flat")
    vecs = rand_vectors(5, 4)
    texts = ["alpha", "beta", None, "delta", "é ünïcödé"]
    metas = [{"k": 1}, None, {"nested": {"a": [1, 2]}}, '{"raw": true}', {"s": "x"}]
    n = client.upsert(coll, [10, 11, 12, 13, 14], vecs, texts=texts, metadata=metas,
                      tokens=[3, None, 5, None, None])
    assert n == 5
    got = client.get(coll, [14, 99, 10, 12], with_vectors=True)
    assert [p.id for p in got] == [14, 10, 12]
    assert got.missing == [99]
    assert got[0].text == "é ünïcödé" and got[0].metadata == {"s": "x"}
    assert got[1].text == "alpha" and got[1].metadata == {"k": 1} and got[1].tokens == 3
    assert got[2].text == "" and got[2].metadata == {"nested": {"a": [1, 2]}} and got[2].tokens == 5
    # cosine collections store the normalised vector
    assert cos(got[1].vector, vecs[0]) == pytest.approx(1.0, abs=1e-5)
    assert client.get(coll, [13])[0].metadata == {"raw": True}
    assert client.get(coll, [13])[0].vector is None
    assert client.describe(coll)["count"] == 5
    assert client.delete(coll, [10, 11, 999]) == 2
    assert client.get(coll, [10, 11]).missing == [10, 11]
    assert client.describe(coll)["count"] == 3


@needs_numpy
def test_numpy_and_lists_store_the_same(client, coll):
    client.create_collection(coll, dim=16, metric="ip", index_spec="Flat")
    arr = np.random.default_rng(3).standard_normal((50, 16)).astype(np.float64)
    client.upsert(coll, np.arange(1, 51), arr)                       # 2-D array, float64
    client.upsert(coll, list(range(51, 101)), arr.tolist())          # list of lists
    client.upsert(coll, list(range(101, 151)), [row for row in arr])  # list of 1-D arrays
    a = client.get(coll, range(1, 51), with_vectors=True)
    b = client.get(coll, range(51, 101), with_vectors=True)
    c = client.get(coll, range(101, 151), with_vectors=True)
    for p, q, r, want in zip(a, b, c, arr.astype(np.float32)):
        assert p.vector == q.vector == r.vector == want.tolist()
    hits = client.search(coll, arr[7], k=3, exact=True)
    assert {hits[0].id, hits[1].id, hits[2].id} == {8, 58, 108}
    assert hits[0].score == pytest.approx(float(arr[7].astype(np.float32) @ arr[7].astype(np.float32)), rel=1e-4)


def test_pipelined_upsert_many_batches(client, coll):
    client.create_collection(coll, dim=8, index_spec="Flat")
    vecs = rand_vectors(2500, 8, seed=5)
    ids = list(range(1, 2501))
    texts = ["doc %d" % i for i in ids]
    before = client.stats()["requests"]
    assert client.upsert(coll, ids, vecs, texts=texts, batch_size=97, window=4) == 2500
    assert client.stats()["requests"] - before >= 2500 // 97 + 1  # one request per batch
    assert client.describe(coll)["count"] == 2500
    got = client.get(coll, [1, 97, 98, 1234, 2500])
    assert [p.text for p in got] == ["doc 1", "doc 97", "doc 98", "doc 1234", "doc 2500"]


def test_upsert_error_in_a_later_batch(client, coll):
    client.create_collection(coll, dim=4, index_spec="Flat")
    vecs = rand_vectors(30, 4)
    vecs[25] = [1.0, float("nan"), 0.0, 0.0]
    with pytest.raises(precis.InvalidVector):
        client.upsert(coll, list(range(30)), vecs, batch_size=10, window=1)
    # batches before the failing one were stored, the failing one was not
    assert client.describe(coll)["count"] == 20
    # the connection is still usable
    assert client.describe(coll)["name"] == coll


def test_upsert_argument_errors(client, coll):
    client.create_collection(coll, dim=4)
    with pytest.raises(ValueError, match="texts"):
        client.upsert(coll, [1, 2], rand_vectors(2, 4), texts=["a"])
    with pytest.raises(precis.DimensionMismatch):
        client.upsert(coll, [1], [[1.0, 2.0, 3.0]])
    with pytest.raises(precis.InvalidJson):
        client.upsert(coll, [1], rand_vectors(1, 4), metadata=["[1, 2]"])
    with pytest.raises(precis.NotFound):
        client.upsert("no_such_collection", [1], rand_vectors(1, 4))
    with pytest.raises(precis.InvalidArgument):
        client.create_collection("bad name!", dim=4)
    with pytest.raises(precis.OutOfRange):
        client.create_collection(coll + "x", dim=100000)


def test_links_and_edges(client, coll):
    client.create_collection(coll, dim=4, index_spec="Flat")
    client.upsert(coll, [1, 2, 3], rand_vectors(3, 4))
    assert client.add_links(coll, [(1, 2, "cites", 0.5), (2, 3, "cites"), {"src": 3, "dst": 1, "kind": "is_a"}]) == 3
    out = client.list_edges(coll, 1, links=True, outgoing=True)
    assert out == [(1, 2, "cites", 0.5)]
    assert sorted(e[0] for e in client.list_edges(coll, 1, links=True, incoming=True)) == [3]
    assert client.describe(coll)["links"] == 3
    assert client.remove_links(coll, [(1, 2, "cites"), (1, 3, "cites")]) == 1
    assert client.describe(coll)["links"] == 2
    with pytest.raises(precis.NotFound):
        client.add_links(coll, [(1, 999, "cites")])
    with pytest.raises(ValueError):
        client.add_links(coll, [(1, 2)])


def test_search(client, coll):
    client.create_collection(coll, dim=8, index_spec="Flat")
    vecs = rand_vectors(200, 8, seed=9)
    client.upsert(coll, list(range(200)), vecs)
    q = vecs[42]
    hits = client.search(coll, q, k=5)
    brute = sorted(range(200), key=lambda i: -cos(q, vecs[i]))[:5]
    assert [h.id for h in hits] == brute
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert [h.id for h in client.search(coll, q, k=5, exact=True)] == brute
    with pytest.raises(precis.OutOfRange):
        client.search(coll, q, k=100000)
    with pytest.raises(TypeError):
        client.search(coll, q, k=5, bogus=1)


def test_retrieve(client, coll):
    client.create_collection(coll, dim=8, index_spec="Flat")
    vecs = rand_vectors(300, 8, seed=11)
    texts = ["text of %d" % i for i in range(300)]
    metas = [{"i": i, "even": i % 2 == 0} for i in range(300)]
    client.upsert(coll, list(range(300)), vecs, texts=texts, metadata=metas, tokens=[10] * 300)
    client.graph_rebuild(coll)
    r = client.retrieve(coll, vecs[3], k=6, token_budget=40)
    assert 1 <= len(r) <= 4  # 10 tokens each within 40
    assert sum(it.tokens for it in r) <= 40
    for it in r:
        assert it.text == "text of %d" % it.id
        assert it.metadata == {"i": it.id, "even": it.id % 2 == 0}
        assert -1.0001 <= it.similarity <= 1.0001
        assert it.represents >= 1 and len(it.represented_ids) <= it.represents
    assert r.pool_size >= len(r) and r.seed_count >= 1
    assert r.t_total_us >= r.t_select_us
    assert r.coverage_used in ("exact", "sparse", "sample")
    assert 0.0 <= r.coverage_ratio <= 1.0001
    # topk: the k most similar, best first
    t = client.retrieve(coll, vecs[3], k=5, mode="topk")
    brute = sorted(range(300), key=lambda i: -cos(vecs[3], vecs[i]))[:5]
    assert [it.id for it in t] == brute
    # generic parameters: any RetrieveRequest field by name, enums by name
    m = client.retrieve(coll, vecs[3], k=5, mode="mmr", lambda_=0.3, pool=50, seeds=50,
                        coverage="sample", max_represented_ids=2)
    assert len(m) == 5 and all(len(it.represented_ids) <= 2 for it in m)
    g = client.retrieve(coll, vecs[3], k=5, hops=1, graph_weight=0.2, follow_knn=True)
    assert len(g) == 5
    q = client.retrieve(coll, query_point=3, k=3, mode="topk")
    assert q[0].id == 3
    with pytest.raises(precis.NotFound):
        client.retrieve(coll, query_point=100000, k=3)
    with pytest.raises(precis.OutOfRange):
        client.retrieve(coll, vecs[3], k=5, hops=9)
    with pytest.raises(TypeError, match="unknown parameter"):
        client.retrieve(coll, vecs[3], no_such_field=1)
    with pytest.raises(precis.InvalidArgument):
        client.retrieve(coll)
    # one presence rule: a keyword given is sent, 0 included; one not given
    # takes the server's default (no `defaults` flag)
    d = client.retrieve(coll, vecs[3], k=5)
    assert any(it.represented_ids for it in d)  # default 16 per item
    z = client.retrieve(coll, vecs[3], k=5, max_represented_ids=0)
    assert len(z) == 5 and all(not it.represented_ids for it in z)
    with pytest.raises(precis.InvalidArgument, match="all 0"):
        client.retrieve(coll, vecs[3], k=5, a=0, b=0, c=0)
    # the knob added as one table row
    assert len(client.retrieve(coll, vecs[3], k=5, nprobe=4)) == 5
    # the similarity floor: MMR keeps floor x TOPK's mean similarity, given
    # or automatic (1 - 0.05 (1 - lambda) = 0.95 at lambda 0); 0 turns it off
    top = sum(it.similarity for it in client.retrieve(coll, vecs[7], k=8, mode="topk")) / 8
    for fl in (0.99, 0.95):
        got = client.retrieve(coll, vecs[7], k=8, mode="mmr", lambda_=0.0, similarity_floor=fl)
        assert len(got) == 8
        assert sum(it.similarity for it in got) / 8 >= fl * top - 1e-4
    dflt = client.retrieve(coll, vecs[7], k=8, mode="mmr", lambda_=0.0)
    assert sum(it.similarity for it in dflt) / 8 >= 0.95 * top - 1e-4
    off = client.retrieve(coll, vecs[7], k=8, mode="mmr", lambda_=0.0, similarity_floor=0)
    assert sum(it.similarity for it in off) / 8 < 0.95 * top  # random data: MMR strays
    with pytest.raises(precis.OutOfRange):
        client.retrieve(coll, vecs[7], k=8, similarity_floor=1.5)


def test_unknown_fields_pass_through_generically(client):
    """Every RetrieveRequest field is accepted by name: the client has no
    list of its own, so fields added to the schema later work unchanged."""
    from precis import precis_pb2 as pb
    from precis import _wire
    for f in pb.RetrieveRequest.DESCRIPTOR.fields:
        req = pb.RetrieveRequest()
        if f.label == f.LABEL_REPEATED:
            val = ["x"] if f.type in (f.TYPE_STRING, f.TYPE_BYTES) else [1]
        elif f.type == f.TYPE_MESSAGE:
            val = {}
        elif f.type == f.TYPE_ENUM:
            val = f.enum_type.values[-1].name
        elif f.type == f.TYPE_BOOL:
            val = True
        elif f.type in (f.TYPE_STRING, f.TYPE_BYTES):
            val = "x"
        else:
            val = 1
        _wire.set_fields(req, {f.name: val})
        assert req.ListFields(), f.name


def test_snapshot(client, coll, server):
    client.create_collection(coll, dim=4)
    path = client.snapshot("py-" + coll)
    assert os.path.isdir(path) and path.startswith(server.data_dir)
    with pytest.raises(precis.AlreadyExists):
        client.snapshot("py-" + coll)
    with pytest.raises(precis.InvalidArgument):
        client.snapshot("../evil")


def test_thread_safety_shared_client(client, coll):
    client.create_collection(coll, dim=4, index_spec="Flat")
    errors = []

    def work(t):
        try:
            for j in range(20):
                pid = t * 1000 + j
                client.upsert(coll, [pid], [[1.0, t, j, 1.0]])
                assert client.get(coll, [pid])[0].id == pid
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert client.describe(coll)["count"] == 80


def test_exception_table_is_generated_from_status_h():
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..")
    text = open(os.path.join(root, "include", "precis", "status.h")).read()
    rows = re.findall(r'X\((\w+),\s*(\d+),\s*"', text)
    assert len(rows) >= 20
    for name, code in rows:
        if code == "0":
            continue
        cls = precis.STATUS_CLASSES[int(code)]
        assert issubclass(cls, precis.PrecisError) and cls.status == name
        assert getattr(precis, cls.__name__) is cls
    assert issubclass(precis.ConnectionFailed, ConnectionError)
    assert issubclass(precis.Timeout, TimeoutError)
    e = precis.errors.error_for(999, "future")
    assert type(e) is precis.PrecisError and e.code == 999


def test_auth_and_connection_errors():
    from conftest import Server
    import tempfile
    d = tempfile.mkdtemp()
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write("s3cret\n")
    os.chmod(tok, 0o600)
    s = Server(args=["--auth-token-file", tok])
    try:
        with precis.Client("127.0.0.1", s.port) as c:
            with pytest.raises(precis.Unauthenticated):
                c.list_collections()
        with pytest.raises(precis.Unauthenticated):
            precis.Client("127.0.0.1", s.port, token="wrong")
        with precis.Client("127.0.0.1", s.port, token="s3cret") as c:
            assert c.list_collections() == []
            c.close()
            with pytest.raises(precis.ConnectionFailed):
                c.health()
        port = s.port
    finally:
        assert s.stop() == 0
        os.unlink(tok)
        os.rmdir(d)
    with pytest.raises(precis.ConnectionFailed):
        precis.Client("127.0.0.1", port, timeout=5)


def test_server_side_close_is_a_connection_error(server):
    """A frame over the server's limit is answered with id 0 and the
    connection closes; the client reports it and refuses further calls."""
    c = precis.Client("127.0.0.1", server.port)
    c._sock.sendall(b"\x7f\xff\xff\xff")
    resp = c._read_response()
    assert resp.id == 0
    with pytest.raises(precis.FrameTooLarge):
        c._check(resp)
    with pytest.raises(precis.ConnectionFailed):
        c.health()


def test_garbage_from_the_server_is_a_protocol_error():
    """A peer that answers with bytes that are no Response: Protocol, and the
    connection is closed."""
    import socket
    import threading
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)

    def serve():
        s, _ = ls.accept()
        s.recv(1024)
        s.sendall(b"\x00\x00\x00\x03\xff\xff\xff")
        s.recv(1024)
        s.close()
    t = threading.Thread(target=serve)
    t.start()
    try:
        c = precis.Client("127.0.0.1", ls.getsockname()[1], timeout=10)
        with pytest.raises(precis.Protocol):
            c.health()
        with pytest.raises(precis.ConnectionFailed):
            c.health()
    finally:
        c.close()
        t.join()
        ls.close()


def test_retrieve_mmr_shared_neighbours(client, coll):
    """MMR with shared_neighbours=0 and similarity_floor=0 is LangChain's
    MMR exactly: lambda cos(q, d) - (1 - lambda) max cos(d, s) over the exact
    top-`pool` (docs/RETRIEVAL.md, "MMR"), checked against a direct greedy
    for several lambdas and queries. Left automatic, the redundancy mixes in
    the shared kNN-graph neighbours and changes some sets."""
    client.create_collection(coll, dim=8, index_spec="Flat", knn_k=8)
    vecs = rand_vectors(300, 8, seed=23)
    client.upsert(coll, list(range(300)), vecs)
    client.graph_rebuild(coll)
    differ = 0
    for qi, q in enumerate(rand_vectors(5, 8, seed=29)):  # not points: no ties
        pool = sorted(range(300), key=lambda i: -cos(q, vecs[i]))[:40]
        for lam in (0.2, 0.5, 0.8):
            args = dict(k=6, mode="mmr", lambda_=lam, seeds=40, pool=40, exact_seeds=True)
            r = client.retrieve(coll, q, shared_neighbours=0, similarity_floor=0, **args)
            chosen = [pool[0]]
            while len(chosen) < 6:
                rest = [d for d in pool if d not in chosen]
                chosen.append(max(rest, key=lambda d: lam * cos(q, vecs[d]) - (1 - lam) *
                                  max(cos(vecs[d], vecs[s]) for s in chosen)))
            assert [it.id for it in r] == chosen, (qi, lam)
            mixed = client.retrieve(coll, q, similarity_floor=0, **args)
            differ += [it.id for it in mixed] != chosen
    assert differ > 0


def test_retrieve_group_by(client, coll):
    client.create_collection(coll, dim=8, index_spec="Flat")
    vecs = rand_vectors(120, 8, seed=21)
    metas = [{"doc": {"id": "d%d" % (i % 5)}} if i % 7 else {} for i in range(120)]
    client.upsert(coll, list(range(120)), vecs, metadata=metas)
    q = vecs[10]
    order = sorted(range(120), key=lambda i: -cos(q, vecs[i]))[:40]

    def grp(i):
        return metas[i]["doc"]["id"] if metas[i] else None

    for limit in (1, 2):
        # topk over the 40 exact seeds = the top 40 with at most `limit` per doc
        want, per = [], {}
        for i in order:
            g = grp(i)
            if g is None or per.get(g, 0) < limit:
                per[g] = per.get(g, 0) + 1
                want.append(i)
        r = client.retrieve(coll, q, k=8, mode="topk", seeds=40, exact_seeds=True,
                            group_by="doc.id", group_limit=limit)
        assert [it.id for it in r] == want[:8]
        c = client.retrieve(coll, q, k=8, group_by="doc.id", group_limit=limit)
        counts = {}
        for it in c:
            g = grp(it.id)
            if g is not None:
                counts[g] = counts.get(g, 0) + 1
        assert max(counts.values()) <= limit
    with pytest.raises(precis.InvalidArgument, match="group_by"):
        client.retrieve(coll, q, k=3, group_by="doc..id")
    with pytest.raises(precis.OutOfRange):
        client.retrieve(coll, q, k=3, group_by="doc.id", group_limit=0)


def test_retrieve_analogy(client, coll):
    """Hop 1 credits the link 1 -> 2 to 3, the kNN neighbour of 2 displaced
    from it the way the query is from 1 (docs/RETRIEVAL.md, "Analogy");
    analogy=False credits 2 itself."""
    client.create_collection(coll, dim=4, index_spec="Flat", knn_k=2)
    raw = [[1, 0.3, 0, 0], [0.2, 0.3, 1, 0], [0.24, 0, 1, 0], [0.2, 0.6, 1, 0.1]]
    vecs = [[x / math.sqrt(sum(y * y for y in r)) for x in r] for r in raw]
    client.upsert(coll, [1, 2, 3, 4], vecs)
    client.graph_rebuild(coll)
    client.add_links(coll, [(1, 2, "rel", 1.0)])
    args = dict(k=4, hops=1, seeds=1, mode="topk", follow_knn=False, exact_seeds=True)
    on = {it.id: it for it in client.retrieve(coll, [1, 0, 0, 0], **args)}
    assert set(on) == {1, 3} and on[3].hops == 1 and on[3].via == 1
    assert on[3].link_end == 2 and on[1].link_end == 1  # the analogue of 2; a seed
    off = {it.id: it for it in client.retrieve(coll, [1, 0, 0, 0], analogy=False, **args)}
    assert set(off) == {1, 2} and off[2].hops == 1 and off[2].via == 1 and off[2].link_end == 2


def test_retrieve_specificity(client, coll):
    """Hop 1 weighs a link u -> x by exp(s (1 - d)), d = (cos(u, x) - cos(q, x))
    / the seeds' span (docs/RETRIEVAL.md, "Specificity"): the order the server
    returns is the one the rule gives, computed here from the vectors, for
    specificity 0 (each link at its weight), 1 (the default, not sent) and 2;
    5 is OUT_OF_RANGE."""
    client.create_collection(coll, dim=3, index_spec="Flat", knn_k=2)
    cos = [1.0, 0.9, 0.8, 0.5, 0.6]
    vecs = [[c, math.sqrt(1 - c * c), 0] for c in cos]
    client.upsert(coll, [1, 2, 3, 4, 5], vecs)
    links = [(1, 3, 0.5), (1, 4, 1.0), (2, 4, 1.0), (2, 5, 0.5)]
    client.add_links(coll, [(u, x, "rel", w) for u, x, w in links])
    gw, span = 1.2, 1.0 - 0.8  # the 3 seeds set the scale
    r = [(c - 0.8) / span for c in cos]
    args = dict(k=5, hops=1, seeds=3, expand_from=3, pool=10, mode="topk", follow_knn=False,
                exact_seeds=True, analogy=False, anchors=0, graph_weight=gw)
    orders = []
    for s in (0.0, None, 2.0):
        beta = 1.0 if s is None else s
        ev = [0.0] * 5
        for u, x, w in links:
            d = (sum(a * b for a, b in zip(vecs[u - 1], vecs[x - 1])) - cos[x - 1]) / span
            ev[x - 1] += max(0.0, r[u - 1]) * w * math.exp(beta * (1 - max(-3.0, min(3.0, d))))
        want = sorted(range(1, 6), key=lambda i: -(r[i - 1] + gw * ev[i - 1]))
        kw = dict(args) if s is None else dict(args, specificity=s)
        got = [it.id for it in client.retrieve(coll, [1, 0, 0], **kw)]
        assert got == want, (s, got, want)
        orders.append(got)
    assert orders[0] != orders[1]  # the factor changes what the walk ranks first
    with pytest.raises(precis.OutOfRange):
        client.retrieve(coll, [1, 0, 0], specificity=5, **args)


def test_retrieve_anchors(client, coll):
    """With hops the `anchors` most similar seeds rank above what the walk
    reached (docs/RETRIEVAL.md, "Relevance"): 4 is far from the query but
    linked from both seeds 1 and 2, so with anchors=0 it leads; by default
    (ceil(5/4) = 2 anchors at k 5) 1 and 2 lead; a fractional count is
    OUT_OF_RANGE."""
    client.create_collection(coll, dim=3, index_spec="Flat", knn_k=2)
    cos = [1.0, 0.9, 0.8, 0.5, 0.6]
    client.upsert(coll, [1, 2, 3, 4, 5], [[c, math.sqrt(1 - c * c), 0] for c in cos])
    client.add_links(coll, [(1, 3, "rel", 0.5), (1, 4, "rel", 1.0), (2, 4, "rel", 1.0), (2, 5, "rel", 0.5)])
    args = dict(k=5, hops=1, seeds=3, expand_from=3, pool=10, mode="topk", follow_knn=False,
                exact_seeds=True, analogy=False, graph_weight=2.0)
    assert [it.id for it in client.retrieve(coll, [1, 0, 0], anchors=0, **args)][0] == 4
    assert [it.id for it in client.retrieve(coll, [1, 0, 0], **args)] == [1, 2, 4, 3, 5]
    assert [it.id for it in client.retrieve(coll, [1, 0, 0], anchors=1, **args)] == [1, 4, 3, 2, 5]
    with pytest.raises(precis.OutOfRange):
        client.retrieve(coll, [1, 0, 0], anchors=2.5, **args)


def test_retrieve_walks_links_not_knn_edges_by_default(client, coll):
    """A request that sends `hops` and no `follow_knn` walks the knowledge
    links only (the server's default since the thirteenth pass on issue 10,
    docs/RETRIEVAL.md): the pool is the 2 seeds and the point 1 links to;
    with follow_knn=True the seeds' kNN neighbours join it. Without links,
    hops 1 returns what hops 0 returns."""
    client.create_collection(coll, dim=3, index_spec="Flat", knn_k=4)
    n = 60
    cos = [0.999 - 0.03 * i for i in range(n)]
    client.upsert(coll, list(range(1, n + 1)), [[c, math.sqrt(1 - c * c), 0] for c in cos])
    args = dict(k=10, seeds=2, expand_from=2, mode="topk", exact_seeds=True)
    plain = client.retrieve(coll, [1, 0, 0], **args)
    walked = client.retrieve(coll, [1, 0, 0], hops=1, **args)
    assert [it.id for it in walked] == [it.id for it in plain]
    assert walked.pool_size == plain.pool_size == 2
    client.add_links(coll, [(1, n, "see", 1.0)])
    r = client.retrieve(coll, [1, 0, 0], hops=1, **args)
    assert r.pool_size == 3 and {it.id for it in r} == {1, 2, n}
    far = [it for it in r if it.id == n][0]
    assert far.hops == 1 and far.via == 1
    both = client.retrieve(coll, [1, 0, 0], hops=1, follow_knn=True, **args)
    assert both.pool_size > 3 and any(it.hops == 1 and it.id != n for it in both)
