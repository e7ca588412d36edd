"""What every study corpus's held-out queries must satisfy (corpus.py's
hold_out), checked by the prep_*.py tests on their own output."""


def check(corpus, queries, info, n):
    """n held-out queries; none is in the corpus; no corpus link touches one;
    each keeps its links (other end in the corpus, a direction) and their
    distinct other ends as `linked`, sorted."""
    assert len(queries) == n and info["n_queries"] == n
    qids = {q["id"] for q in queries}
    cids = {e["id"] for e in corpus}
    assert not qids & cids
    assert all(x["dst"] not in qids for e in corpus for x in e["links"])
    for q in queries:
        assert q["linked"] and set(q["linked"]) <= cids
        assert q["linked"] == sorted({x["dst"] for x in q["links"]})
        assert all(x["dir"] in ("in", "out") for x in q["links"])
