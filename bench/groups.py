#!/usr/bin/python3
"""bench/groups.py: what `group_by` costs and gives, on study corpora,
through precisd and the Python client.

    make && make data-quality
    PRECIS_DATA_DIR=data bench/groups.py pydoc,manpages [--k 10] [--limits 1,2]
                                         [--field label]

For each corpus a throw-away precisd gets its entries (vector, text and
the corpus's metadata, no links); each held-out query then runs hops 0 as
TOPK, COMPRESS (server defaults), and both with group_by FIELD at each
limit. Per row: distinct labels (mean, and x TOPK's), mean similarity as a
share of TOPK's (ratio of the means over all queries), items returned
(mean), and the server's time per retrieve (t_total_us, p50 and p99).

With --field label (the default) the label is the field being grouped, so
the label counts show the mechanism, not retrieval quality. With another
field that the corpus's entries carry (handbook and octave: "page", the
HTML page holding several entries; manpages: "package") the labels are
scored on a field the grouping never sees, as a RAG collection grouped by
its source documents would be. docs/RETRIEVAL.md ("Groups") says what the
figures mean.
"""
import argparse
import json
import os
import statistics

import numpy as np

import pysrv


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def run(client, d, name, k, limits, field):
    info = json.load(open(os.path.join(d, "info.json")))
    dim = info["dim"]
    X = np.fromfile(os.path.join(d, "vectors.f32"), dtype=np.float32).reshape(-1, dim)
    rows = [json.loads(ln) for ln in open(os.path.join(d, "corpus.jsonl"))]
    qs = [json.loads(ln) for ln in open(os.path.join(d, "queries.jsonl"))]
    client.create_collection(name, dim=dim)
    for s in range(0, len(rows), 1000):
        part = rows[s:s + 1000]
        client.upsert(name, [r["id"] for r in part], X[s:s + len(part)],
                      texts=[r["text"] for r in part],
                      metadata=[r["metadata"] for r in part])
    client.graph_rebuild(name)
    label = {r["id"]: r["metadata"]["label"] for r in rows}
    confs = [("topk", {"mode": "topk"}), ("compress", {})]
    for L in limits:
        confs.append(("topk, group_by %s, limit %d" % (field, L),
                      {"mode": "topk", "group_by": field, "group_limit": L}))
        confs.append(("compress, group_by %s, limit %d" % (field, L),
                      {"group_by": field, "group_limit": L}))
    stats = {c: {"labels": [], "sim": [], "n": [], "us": []} for c, _ in confs}
    for q in qs:
        for c, kw in confs:
            r = client.retrieve(name, np.asarray(q["vector"], dtype=np.float32), k=k, **kw)
            st = stats[c]
            st["labels"].append(len({label[it.id] for it in r}))
            st["sim"].append(sum(it.similarity for it in r) / max(1, len(r)))
            st["n"].append(len(r))
            st["us"].append(r.t_total_us)
    base = stats["topk"]
    groups = len({json.dumps(r["metadata"].get(field)) for r in rows})
    print("%s: %d entries, %d labels, %d values of %s, %d queries, k %d" %
          (name, len(rows), info.get("labels", 0), groups, field, len(qs), k))
    print("| selection | labels | x TOPK | similarity | items | p50 us | p99 us |")
    print("|---|---|---|---|---|---|---|")
    for c, _ in confs:
        st = stats[c]
        print("| %s | %.2f | %.2fx | %.1f %% | %.2f | %d | %d |" % (
            c, statistics.mean(st["labels"]),
            statistics.mean(st["labels"]) / statistics.mean(base["labels"]),
            100 * sum(st["sim"]) / sum(base["sim"]), statistics.mean(st["n"]),
            pct(st["us"], 0.5), pct(st["us"], 0.99)))
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--limits", default="1,2")
    ap.add_argument("--field", default="label", help="the metadata field to group by")
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    build = pysrv.use_build(a.build)
    import precis
    data = os.environ.get("PRECIS_DATA_DIR", "data")
    limits = [int(x) for x in a.limits.split(",")]
    with pysrv.precisd(build) as (port, _):
        client = precis.Client("127.0.0.1", port)
        for name in a.corpora.split(","):
            run(client, os.path.join(data, name), name.replace("-", "_"), a.k, limits, a.field)
        client.close()


if __name__ == "__main__":
    main()
