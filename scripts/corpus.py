#!/usr/bin/env python3
"""The common on-disk corpus format of the retrieval-quality study (stdlib only).

Every prep_*.py that builds a study corpus hands its entries to write_corpus(),
which picks the held-out queries, cuts every link touching them, embeds and
writes the folder described in scripts/README-data.md ("Corpus format"):

  corpus.jsonl   one entry a line: {"id", "text", "metadata": {"label", ...},
                 "links": [{"dst", "kind", "weight"}]}  (no held-out entry,
                 no link touching one; a link's dst is always in the corpus)
  vectors.f32    corpus rows in corpus.jsonl order (n x dim float32, unit length)
  ids.u64        the id of each row
  labels.txt     the distinct labels, sorted (line = label index)
  queries.jsonl  held-out entries: {"id", "text", "metadata": {"label", ...},
                 "links": [{"dst", "kind", "weight", "dir"}], "linked": [ids],
                 "vector"}: links = the links that touched the entry (dst =
                 the other end, which is in the corpus; dir "out" or "in"),
                 linked = their distinct other ends, sorted
  queries.f32    query vectors in queries.jsonl order; query_ids.u64 their ids
  info.json      {"format": "precis-corpus/1", "name", "n", "dim",
                 "n_queries", "labels", "links", "link_kinds", ...}

  python3 scripts/corpus.py from-fiori DATA/fiori OUT --queries N --seed S
      converts the fiori data set (real 384-d sentence vectors, category
      labels, no links) to this format.
  python3 scripts/corpus.py from-jsonl FILE --out DIR [--label KEY]
                            [--queries N] [--seed S] [--name NAME]
      converts a `precis ingest` jsonl file (your own vectors, a metadata
      key as label, your links) to this format, to measure the defaults on
      your own data with `precis-bench quality` (README.md).
"""
import json
import math
import os
import sys
from array import array
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import embed  # noqa: E402

FORMAT = "precis-corpus/1"


def log(tag, msg):
    print("%s: %s" % (tag, msg), file=sys.stderr, flush=True)


def write_f32(path, vecs):
    a = array("f")
    for v in vecs:
        a.extend(v)
    if sys.byteorder != "little":
        a.byteswap()
    with open(path, "wb") as f:
        a.tofile(f)


def write_u64(path, ids):
    a = array("Q", ids)
    if sys.byteorder != "little":
        a.byteswap()
    with open(path, "wb") as f:
        a.tofile(f)


def study_args(ap, name, words=True, source=True):
    """Adds the arguments the study-corpus prep scripts share to the argparse
    parser ap: --glove, --out, --name (default `name`), --queries, --seed and,
    when asked, --source (JSON for info.json) and --words (how much of a text
    to keep)."""
    ap.add_argument("--glove", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default=name)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20240601)
    if source:
        ap.add_argument("--source", default="{}", help="JSON for info.json's source field")
    if words:
        ap.add_argument("--words", type=int, default=120)
    return ap


def embed_and_write(a, entries, tag, source, **how):
    """Embeds entries with the GloVe vectors of a.glove (embed_entries) and
    writes the corpus a.out (write_corpus, with a's name, queries and seed);
    info.json also gets source, the embedder and `how` (text, label,
    links_from, ...)."""
    vocab = embed.Vocab(a.glove)
    entries = embed_entries(entries, vocab, tag)
    info = {"source": source, "embedder": "scripts/embed.py (GloVe %d-d bag of words)" % vocab.dim}
    info.update(how)
    return write_corpus(a.out, a.name, entries, a.queries, a.seed, vocab.dim, info, tag)


def embed_entries(entries, vocab, tag):
    """Sets e["vector"] for every entry (embed.embed of e["text"]) and drops the
    entries with no known word. Returns the kept entries."""
    kept, dropped = [], 0
    for e in entries:
        if e.get("vector") is None:
            e["vector"] = embed.embed(e["text"], vocab)
        if e["vector"] is None:
            dropped += 1
        else:
            kept.append(e)
    if dropped:
        log(tag, "dropped %d entries with no known word" % dropped)
    return kept


def dedupe_links(entries):
    """Keeps links whose dst is an entry, not self, one per (src, dst, kind);
    for symmetric kinds one per unordered pair."""
    ids = {e["id"] for e in entries}
    seen = set()
    for e in entries:
        out = []
        for dst, kind, w in e.get("links", ()):
            if dst not in ids or dst == e["id"]:
                continue
            key = (e["id"], dst, kind)
            rkey = (dst, e["id"], kind)
            if key in seen or rkey in seen:  # the reverse pair would duplicate an undirected edge
                continue
            seen.add(key)
            out.append((dst, kind, w))
        e["links"] = out


def hold_out(entries, nq, seed):
    """ids of the nq held-out queries. With links: drawn at random among the
    entries with at least one link, pairwise not linked to each other, so
    every query keeps at least one linked entry in the corpus. Without links:
    nq entries drawn at random."""
    adj = defaultdict(set)
    for e in entries:
        for dst, _, _ in e["links"]:
            adj[e["id"]].add(dst)
            adj[dst].add(e["id"])
    cands = [e["id"] for e in entries if adj[e["id"]]] if adj else [e["id"] for e in entries]
    order = embed.sample(len(cands), len(cands), seed)
    q, qset = [], set()
    for i in order:
        if len(q) == nq:
            break
        c = cands[i]
        if adj and (adj[c] & qset or not adj[c] - qset):
            continue
        q.append(c)
        qset.add(c)
    if len(q) < nq:
        raise SystemExit("corpus: only %d of %d queries could be held out" % (len(q), nq))
    return q


def write_corpus(out, name, entries, nq, seed, dim, extra_info=None, tag=None):
    """Writes the corpus folder `out` (see the module doc). entries: dicts with
    id (int, unique), text, label, meta (dict, optional), links (list of
    (dst id, kind, weight)), vector (unit length, dim floats)."""
    tag = tag or name
    dedupe_links(entries)
    qids = hold_out(entries, nq, seed)
    qset = set(qids)
    by_id = {e["id"]: e for e in entries}
    corpus = [e for e in entries if e["id"] not in qset]
    qlinks = defaultdict(list)
    kinds = Counter()
    held = 0
    for e in entries:
        for dst, kind, w in e["links"]:
            if e["id"] in qset:
                qlinks[e["id"]].append({"dst": dst, "kind": kind, "weight": w, "dir": "out"})
                held += 1
            elif dst in qset:
                qlinks[dst].append({"dst": e["id"], "kind": kind, "weight": w, "dir": "in"})
                held += 1
            else:
                kinds[kind] += 1
    os.makedirs(out, exist_ok=True)
    p = lambda f: os.path.join(out, f)  # noqa: E731

    def meta_of(e):
        m = {"label": e["label"]}
        m.update(e.get("meta") or {})
        return m

    with open(p("corpus.jsonl"), "w", encoding="utf-8") as f:
        for e in corpus:
            links = [{"dst": d, "kind": k, "weight": w} for d, k, w in e["links"] if d not in qset]
            f.write(json.dumps({"id": e["id"], "text": e["text"], "metadata": meta_of(e), "links": links},
                               ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(p("queries.jsonl"), "w", encoding="utf-8") as f:
        for i in qids:
            e = by_id[i]
            ql = qlinks.get(i, [])
            f.write(json.dumps({"id": i, "text": e["text"], "metadata": meta_of(e), "links": ql,
                                "linked": sorted({x["dst"] for x in ql}), "vector": e["vector"]},
                               ensure_ascii=False, separators=(",", ":")) + "\n")
    write_f32(p("vectors.f32"), (e["vector"] for e in corpus))
    write_u64(p("ids.u64"), [e["id"] for e in corpus])
    write_f32(p("queries.f32"), (by_id[i]["vector"] for i in qids))
    write_u64(p("query_ids.u64"), qids)
    labels = Counter(e["label"] for e in corpus)
    with open(p("labels.txt"), "w", encoding="utf-8") as f:
        for lab in sorted(labels):
            f.write(lab + "\n")
    nlinked = [len({x["dst"] for x in qlinks.get(i, [])}) for i in qids]
    info = {
        "format": FORMAT, "name": name, "n": len(corpus), "dim": dim, "n_queries": len(qids),
        "labels": len(labels), "links": sum(kinds.values()), "link_kinds": dict(sorted(kinds.items())),
        "links_held_out": held, "queries_with_links": sum(1 for x in nlinked if x),
        "mean_linked_per_query": round(sum(nlinked) / max(1, len(qids)), 3), "seed": seed,
        "label_sizes": {"max": max(labels.values()), "median": sorted(labels.values())[len(labels) // 2]},
        "metric": "cosine (vectors are L2-normalised: inner product)",
    }
    info.update(extra_info or {})
    with open(p("info.json.tmp"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    os.replace(p("info.json.tmp"), p("info.json"))
    log(tag, "corpus %d entries, %d labels, %d links (%s), %d queries (%d held-out links, mean %.2f "
        "linked entries a query)" % (len(corpus), len(labels), info["links"],
                                     ", ".join("%s %d" % kv for kv in sorted(kinds.items())) or "none",
                                     len(qids), held, info["mean_linked_per_query"]))
    return info


def from_fiori(src, out, nq, seed):
    import struct
    with open(os.path.join(src, "info.json")) as f:
        fi = json.load(f)
    n, dim = fi["n"], fi["dim"]
    with open(os.path.join(src, "vectors.f32"), "rb") as f:
        raw = f.read()
    if len(raw) != n * dim * 4:
        raise SystemExit("fiori: vectors.f32 has the wrong size")
    fmt = struct.Struct("<%df" % dim)
    entries = []
    with open(os.path.join(src, "meta.jsonl"), encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            i = m["id"]
            text = (m.get("title") or "") + ": " + (m.get("text") or "")
            entries.append({"id": i, "text": text[:2000], "label": m.get("category") or "none",
                            "meta": {"title": m.get("title"), "key": m.get("key")}, "links": [],
                            "vector": list(fmt.unpack_from(raw, i * fmt.size))})
    write_corpus(out, "fiori-study", entries, nq, seed, dim,
                 {"source": fi.get("source"), "model": fi.get("model"),
                  "text": "title: content (first 2000 characters)", "label": "category"})


def _jsonl_entry(n, rec, label_key, dim):
    """One record of a `precis ingest` jsonl file as an entry of write_corpus
    (n: its record number, for the messages); raises ValueError with what is
    wrong."""
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    i = rec.get("id", n)
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < 1 << 64:
        raise ValueError("id must be a whole number in 0..2^64-1")
    v = rec.get("vector")
    if not isinstance(v, list) or not v or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in v):
        raise ValueError("vector must be a non-empty list of numbers")
    if dim is not None and len(v) != dim:
        raise ValueError("vector has %d components, the first record %d" % (len(v), dim))
    norm = math.sqrt(sum(x * x for x in v))
    if not math.isfinite(norm) or norm == 0:
        raise ValueError("vector must be finite and not zero")
    meta = rec.get("metadata") or {}
    if not isinstance(meta, dict):
        raise ValueError("metadata must be an object")
    label = meta.get(label_key)
    if label is not None and not isinstance(label, (dict, list)):  # one line, no control characters
        label = " ".join("".join(ch if ch >= " " else " " for ch in str(label)).split())
    if not label or isinstance(label, (dict, list)):
        raise ValueError("no metadata.%s (the label whose distinct values are counted; --label KEY)"
                         % label_key)
    text = rec.get("text", "")
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    links, given = [], rec.get("links") or []
    if not isinstance(given, list):
        raise ValueError("links must be a list")
    for ln in given:
        dst = ln.get("dst") if isinstance(ln, dict) else None
        w = ln.get("weight", 1.0) if isinstance(ln, dict) else None
        if isinstance(dst, bool) or not isinstance(dst, int) or isinstance(w, bool) or \
                not isinstance(w, (int, float)) or not math.isfinite(w):
            raise ValueError("a link needs a whole-number dst and a finite weight")
        links.append((dst, str(ln.get("kind") or "link"), float(w)))
    # the study reads only the label of the metadata; a NUL would end a C string
    return {"id": i, "text": text.replace("\0", " "), "label": label, "links": links,
            "vector": [x / norm for x in v]}


def from_jsonl(path, out, name, label_key, nq, seed):
    """A study corpus of a `precis ingest` jsonl file (id, vector, text,
    metadata, links): the file's own vectors (made unit length), label =
    metadata[label_key], its links; nq entries held out with their links."""
    import hashlib
    entries, ids, dim, h = [], set(), None, hashlib.sha256()
    try:
        f = open(path, "rb")
    except OSError as e:
        raise SystemExit("from-jsonl: %s: %s" % (path, e.strerror))
    with f:
        for n, raw in enumerate(f, 1):
            h.update(raw)
            if not raw.strip():
                continue
            try:
                e = _jsonl_entry(len(entries), json.loads(raw), label_key, dim)
            except (ValueError, UnicodeDecodeError) as err:
                raise SystemExit("from-jsonl: %s line %d: %s" % (path, n, err))
            if e["id"] in ids:
                raise SystemExit("from-jsonl: %s line %d: id %d repeats an earlier record" % (path, n, e["id"]))
            ids.add(e["id"])
            dim = len(e["vector"])
            entries.append(e)
    if not entries:
        raise SystemExit("from-jsonl: %s: no records" % path)
    dangling = sum(1 for e in entries for d, _, _ in e["links"] if d not in ids)
    if dangling:
        log(name, "dropped %d links to ids that are not in the file" % dangling)
    return write_corpus(out, name, entries, nq, seed, dim,
                        {"source": {"file": os.path.basename(path), "sha256": h.hexdigest()},
                         "embedder": "the file's own vectors (made unit length)",
                         "text": "the file's text", "label": "metadata.%s" % label_key,
                         "links_from": "the file's links"})


def main(argv):
    if len(argv) >= 2 and argv[0] == "from-jsonl":
        import argparse
        ap = argparse.ArgumentParser(prog="corpus.py from-jsonl")
        ap.add_argument("file", help="a `precis ingest` jsonl file")
        ap.add_argument("--out", required=True, help="the corpus folder: PRECIS_DATA_DIR/NAME")
        ap.add_argument("--name", help="default: the --out folder's name")
        ap.add_argument("--label", default="label", help="the metadata key whose values are the labels")
        ap.add_argument("--queries", type=int, default=200)
        ap.add_argument("--seed", type=int, default=20240601)
        a = ap.parse_args(argv[1:])
        if a.queries < 1:
            ap.error("--queries must be at least 1")
        from_jsonl(a.file, a.out, a.name or os.path.basename(os.path.normpath(a.out)), a.label, a.queries, a.seed)
    elif len(argv) >= 2 and argv[0] == "from-fiori":
        import argparse
        ap = argparse.ArgumentParser()
        ap.add_argument("src")
        ap.add_argument("--out", required=True)
        ap.add_argument("--queries", type=int, default=100)
        ap.add_argument("--seed", type=int, default=20240601)
        a = ap.parse_args(argv[1:])
        from_fiori(a.src, a.out, a.queries, a.seed)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
