#!/usr/bin/env python3
"""Prepare the WordNet 3.0 corpus (stdlib only). See scripts/README-data.md.

  prep_wordnet.py --glove data/glove --out data/wordnet [--wordnet /usr/share/wordnet]
                  [--queries 300] [--sample N] [--seed S] [--gt-bin data/_build/gt]

Every synset of data.{noun,verb,adj,adv} gets a stable dense id in file order
(0 .. 117658). text = lemmas (underscores -> spaces) joined by ", ", ": ",
gloss. vector = embed.embed_tokens of the text (L2-normalised mean GloVe
vector, 6 decimals). --sample N: an N-synset corpus + the queries, sampled so that every
drawn synset's hypernym ancestors are included (see below).
The held-out queries are left out of corpus.jsonl / vectors.f32; links are
kept only when both ends are in the corpus.
"""
import argparse
import json
import os
import subprocess
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import FORMAT as CORPUS_FORMAT, write_f32, write_u64  # noqa: E402
import embed  # noqa: E402

# lexnames(5): lex_filenum -> lexicographer file name
LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact
noun.attribute noun.body noun.cognition noun.communication noun.event noun.feeling
noun.food noun.group noun.location noun.motive noun.object noun.person
noun.phenomenon noun.plant noun.possession noun.process noun.quantity
noun.relation noun.shape noun.state noun.substance noun.time verb.body
verb.change verb.cognition verb.communication verb.competition verb.consumption
verb.contact verb.creation verb.emotion verb.motion verb.perception
verb.possession verb.social verb.stative verb.weather adj.ppl""".split()
assert len(LEXNAMES) == 45

FILES = (("noun", "n"), ("verb", "v"), ("adj", "a"), ("adv", "r"))
FILE_POS = {"n": "n", "v": "v", "a": "a", "s": "a", "r": "r"}  # ss_type -> data file
HYPERNYM = ("@", "@i")
EXPECTED_SYNSETS = 117659


def log(msg):
    print("prep_wordnet: " + msg, file=sys.stderr, flush=True)


def fail(msg):
    sys.exit("prep_wordnet: error: " + msg)


def strip_marker(word):
    # adjectives may carry a syntactic marker: galore(ip), ready_to_hand(p), outback(a)
    for m in ("(a)", "(p)", "(ip)"):
        if word.endswith(m):
            return word[:-len(m)]
    return word


def parse(wndir):
    """list of synset dicts in file order (noun, verb, adj, adv)."""
    syn = []
    for fname, fpos in FILES:
        path = os.path.join(wndir, "data." + fname)
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.startswith("  "):
                    continue  # license header
                head, sep, gloss = line.partition(" | ")
                if not sep:
                    fail("%s:%d: no gloss separator" % (path, lineno))
                t = head.split()
                try:
                    off, lexfn, sstype, wcnt = int(t[0]), int(t[1]), t[2], int(t[3], 16)
                    words = [strip_marker(t[4 + 2 * k]) for k in range(wcnt)]
                    p = 4 + 2 * wcnt
                    pcnt = int(t[p])
                    ptrs = [(t[p + 1 + 4 * k], int(t[p + 2 + 4 * k]), t[p + 3 + 4 * k]) for k in range(pcnt)]
                except (IndexError, ValueError) as e:
                    fail("%s:%d: cannot parse (%s)" % (path, lineno, e))
                if FILE_POS.get(sstype) != fpos or not 0 <= lexfn < 45 or not words:
                    fail("%s:%d: bad ss_type/lex_filenum" % (path, lineno))
                syn.append({
                    "id": len(syn), "pos": sstype, "fpos": fpos, "offset": off, "lexfn": lexfn,
                    "words": words, "gloss": gloss.strip(),
                    "hyper": [(FILE_POS[ps], o) for sym, o, ps in ptrs if sym in HYPERNYM],
                    "ptrs": [(sym, (FILE_POS[ps], o)) for sym, o, ps in ptrs],
                })
    return syn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--glove", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--sample", type=int, default=0, help="corpus size of a sampled variant (0: all)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--gt-bin", help="scripts/gt.c binary: also write gt100.{i32,f32} for the queries")
    a = ap.parse_args()

    syn = parse(a.wordnet)
    per_pos = Counter(s["fpos"] for s in syn)
    log("parsed %d synsets (%s)" % (len(syn), ", ".join("%s=%d" % kv for kv in sorted(per_pos.items()))))
    if len(syn) != EXPECTED_SYNSETS:
        fail("expected %d synsets, got %d" % (EXPECTED_SYNSETS, len(syn)))
    key2id = {(s["fpos"], s["offset"]): s["id"] for s in syn}
    dangling = 0
    for s in syn:
        hs = []
        for k in s["hyper"]:
            if k in key2id:
                hs.append(key2id[k])
            else:
                dangling += 1
        s["hyper"] = hs
    if dangling:
        fail("%d hypernym pointers do not resolve" % dangling)

    n_total = len(syn)
    vocab = embed.Vocab(a.glove)
    missing = Counter()
    stats = Counter()

    def embed_syn(s):
        s["text"] = ", ".join(w.replace("_", " ") for w in s["words"]) + ": " + s["gloss"]
        toks = embed.tokenize(s["text"])
        content = [w for w in toks if w not in embed.STOP_WORDS]
        for w in content:
            if w not in vocab.rows:
                missing[w] += 1
        stats["embedded"] += 1
        stats["tokens"] += len(content)
        vec, used = embed.embed_tokens(content, vocab)
        if vec is None:  # only stop words / unknown words: try with the stop words
            vec, used = embed.embed_tokens(toks, vocab)
            stats["fallback_stopwords" if vec is not None else "no_known_word"] += 1
        stats["tokens_used"] += used
        s["vector"] = vec
        return vec is not None

    if not a.sample:
        chosen = [s["id"] for s in syn if embed_syn(s)]
        qids = [chosen[i] for i in embed.sample(len(chosen), a.queries, a.seed)]
    else:
        # Ancestor-closed sample: draw synsets at random (fixed seed); the first
        # `queries` drawn become the held-out queries, the next ones corpus
        # members; every drawn synset brings its hypernym ancestors (nearest
        # first) into the corpus, so is_a links and query parents survive.
        order = embed.sample(n_total, n_total, a.seed)
        has_vec = lambda i: syn[i]["vector"] is not None if "vector" in syn[i] else embed_syn(syn[i])  # noqa: E731
        qids, corpus_set, chosen = [], set(), []

        def add_ancestors(i):
            todo = list(syn[i]["hyper"])
            while todo and len(chosen) < a.sample:
                h = todo.pop(0)
                if h in corpus_set or h in qset_draw or not has_vec(h):
                    continue
                corpus_set.add(h)
                chosen.append(h)
                todo.extend(syn[h]["hyper"])

        qset_draw = set()
        for i in order:
            if len(chosen) >= a.sample:
                break
            if i in corpus_set or i in qset_draw or not has_vec(i):
                continue
            if len(qids) < a.queries:
                qids.append(i)
                qset_draw.add(i)
            else:
                corpus_set.add(i)
                chosen.append(i)
            add_ancestors(i)
        if len(chosen) < a.sample:
            fail("not enough synsets with a vector")
        chosen += qids
    qset = set(qids)
    corpus = sorted(i for i in chosen if i not in qset)
    cset = set(corpus)
    dropped = [s for s in syn if "vector" in s and s["vector"] is None]
    log("embedded %d synsets: %d fell back to stop words, %d with no known word (dropped: %s)"
        % (stats["embedded"], stats["fallback_stopwords"], len(dropped),
           "; ".join("%d %s" % (s["id"], s["text"][:60]) for s in dropped[:5])))

    os.makedirs(a.out, exist_ok=True)
    out = lambda name: os.path.join(a.out, name)  # noqa: E731
    links_kept = links_cut = 0
    with open(out("corpus.jsonl"), "w", encoding="utf-8") as f:
        for i in corpus:
            s = syn[i]
            links = []
            for d in s["hyper"]:
                if d in cset:
                    links.append({"dst": d, "kind": "is_a", "weight": 1.0})
                else:
                    links_cut += 1
            links_kept += len(links)
            f.write(json.dumps({
                "id": i, "text": s["text"],
                "metadata": {"label": LEXNAMES[s["lexfn"]], "category": LEXNAMES[s["lexfn"]], "pos": s["pos"],
                             "offset": s["offset"], "lemma": s["words"][0].replace("_", " ")},
                "links": links, "vector": s["vector"]}, ensure_ascii=False, separators=(",", ":")) + "\n")
    hypo = {}  # hypernym id -> hyponym ids in the corpus
    for i in corpus:
        for d in syn[i]["hyper"]:
            hypo.setdefault(d, []).append(i)
    q_linked = []
    with open(out("queries.jsonl"), "w", encoding="utf-8") as f:
        for i in qids:
            s = syn[i]
            qlinks = [{"dst": d, "kind": "is_a", "weight": 1.0, "dir": "out"} for d in s["hyper"] if d in cset]
            qlinks += [{"dst": c, "kind": "is_a", "weight": 1.0, "dir": "in"} for c in hypo.get(i, ())]
            q_linked.append(len({x["dst"] for x in qlinks}))
            f.write(json.dumps({
                "id": i, "text": s["text"],
                "metadata": {"label": LEXNAMES[s["lexfn"]], "category": LEXNAMES[s["lexfn"]], "pos": s["pos"],
                             "offset": s["offset"], "lemma": s["words"][0].replace("_", " ")},
                "hypernyms": s["hyper"], "hypernyms_in_corpus": [d for d in s["hyper"] if d in cset],
                "links": qlinks, "linked": sorted({x["dst"] for x in qlinks}),
                "vector": s["vector"]}, ensure_ascii=False, separators=(",", ":")) + "\n")
    write_f32(out("vectors.f32"), (syn[i]["vector"] for i in corpus))
    write_u64(out("ids.u64"), corpus)
    write_f32(out("queries.f32"), (syn[i]["vector"] for i in qids))
    write_u64(out("query_ids.u64"), qids)
    for name, rows in (("meta.tsv", corpus), ("query_meta.tsv", qids)):
        with open(out(name), "w") as f:
            f.write("# id\tcategory\tpos\n")
            for i in rows:
                f.write("%d\t%d\t%s\n" % (i, syn[i]["lexfn"], syn[i]["pos"]))
    with open(out("categories.txt"), "w") as f:
        f.write("\n".join(LEXNAMES) + "\n")
    labels = sorted({LEXNAMES[syn[i]["lexfn"]] for i in corpus})
    with open(out("labels.txt"), "w") as f:
        f.write("\n".join(labels) + "\n")
    if a.gt_bin:
        subprocess.run([a.gt_bin, "knn", out("vectors.f32"), out("queries.f32"), str(vocab.dim),
                        str(min(100, len(corpus))), out("gt100.i32"), out("gt100.f32")], check=True)

    q_with_parent = sum(1 for i in qids if any(d in cset for d in syn[i]["hyper"]))
    info = {
        "format": CORPUS_FORMAT, "name": os.path.basename(os.path.normpath(a.out)).replace(".tmp-", ""),
        "labels": len(labels), "link_kinds": {"is_a": links_kept},
        "queries_with_links": sum(1 for x in q_linked if x),
        "mean_linked_per_query": round(sum(q_linked) / max(1, len(q_linked)), 3),
        "n": len(corpus), "dim": vocab.dim, "n_queries": len(qids), "synsets_total": n_total,
        "seed": a.seed, "sample": a.sample or None,
        "dropped_no_known_word": len(dropped) if not a.sample else None,
        "fallback_stopwords": stats["fallback_stopwords"],
        "links": links_kept, "links_cut": links_cut, "queries_with_parent_in_corpus": q_with_parent,
        "tokens": stats["tokens"], "tokens_unknown": sum(missing.values()),
        "distinct_unknown": len(missing),
        "top_unknown": [w for w, _ in missing.most_common(20)],
        "categories": Counter(LEXNAMES[syn[i]["lexfn"]] for i in corpus).most_common(),
        "pos": dict(Counter(syn[i]["pos"] for i in corpus)),
        "metric": "cosine (vectors are L2-normalised: inner product)",
    }
    with open(out("stats.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    log("corpus %d, queries %d, links kept %d (cut %d: other end held out/not sampled), "
        "queries with a parent in corpus %d; unknown tokens %d of %d (%d distinct; top %s)"
        % (len(corpus), len(qids), links_kept, links_cut, q_with_parent, info["tokens_unknown"],
           info["tokens"], len(missing), ", ".join(info["top_unknown"][:8])))


if __name__ == "__main__":
    main()
