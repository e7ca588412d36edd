#!/usr/bin/env python3
"""Prepare the WordNet relations corpus (stdlib only). See scripts/README-data.md.

  prep_wnrel.py --glove data/glove --out OUT --size N [--wordnet /usr/share/wordnet]
                [--queries 300] [--seed S] [--name wordnet-rel]

WordNet 3.0 synsets (ids, text and label as in prep_wordnet.py: label = the
lexicographer file, e.g. noun.animal) linked by WordNet's relations other
than is_a: part_of / member_of / substance_of (holonym pointers #p #m #s,
meronym pointers %p %m %s read the other way round), similar_to (&),
also_see (^) and derivation (+, derivationally related form). Symmetric
kinds are stored once per pair. The N-synset corpus is sampled link-closed:
synsets with at least one such relation are drawn at random (fixed seed) and
each brings its related synsets along, so most relations survive the sample.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import embed  # noqa: E402
import prep_wordnet  # noqa: E402

TAG = "prep_wnrel"
# pointer symbol -> (kind, reversed?)  (reversed: the link goes target -> source)
RELS = {"#p": ("part_of", False), "%p": ("part_of", True), "#m": ("member_of", False),
        "%m": ("member_of", True), "#s": ("substance_of", False), "%s": ("substance_of", True),
        "&": ("similar_to", False), "^": ("also_see", False), "+": ("derivation", False)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--size", type=int, default=20000)
    corpus.study_args(ap, "wordnet-rel", words=False, source=False)
    a = ap.parse_args()

    syn = prep_wordnet.parse(a.wordnet)
    key2id = {(s["fpos"], s["offset"]): s["id"] for s in syn}
    rel = [[] for _ in syn]  # id -> [(other id, kind, reversed)]
    for s in syn:
        for sym, k in s["ptrs"]:
            if sym in RELS and k in key2id and key2id[k] != s["id"]:
                kind, rev = RELS[sym]
                rel[s["id"]].append((key2id[k], kind, rev))
    linked = [i for i in range(len(syn)) if rel[i]]
    corpus.log(TAG, "%d synsets, %d with a relation" % (len(syn), len(linked)))
    order = embed.sample(len(linked), len(linked), a.seed)
    chosen, cset = [], set()
    for j in order:
        if len(chosen) >= a.size:
            break
        i = linked[j]
        for x in [i] + [o for o, _, _ in rel[i]]:
            if x not in cset and len(chosen) < a.size:
                cset.add(x)
                chosen.append(x)
    entries = []
    for i in sorted(chosen):
        s = syn[i]
        text = ", ".join(w.replace("_", " ") for w in s["words"]) + ": " + s["gloss"]
        links = []
        for o, kind, rev in rel[i]:
            if not rev and o in cset:
                links.append((o, kind, 1.0))
        entries.append({"id": i, "text": text, "label": prep_wordnet.LEXNAMES[s["lexfn"]],
                        "meta": {"pos": s["pos"], "offset": s["offset"],
                                 "lemma": s["words"][0].replace("_", " ")}, "links": links})
    # a reversed pointer (meronym) whose holonym counterpart is missing still counts
    have = {(e["id"], d, k) for e in entries for d, k, _ in e["links"]}
    byid = {e["id"]: e for e in entries}
    for i in chosen:
        for o, kind, rev in rel[i]:
            if rev and o in cset and (o, i, kind) not in have:
                byid[o]["links"].append((i, kind, 1.0))
                have.add((o, i, kind))
    corpus.embed_and_write(
        a, entries, TAG, "wordnet-base (Debian), WordNet 3.0 data.{noun,verb,adj,adv}",
        text="lemmas joined by ', ', ': ', gloss", label="lexicographer file (lexname)",
        links_from="holonym/meronym, similar-to, also-see, derivation pointers", size=a.size)


if __name__ == "__main__":
    main()
