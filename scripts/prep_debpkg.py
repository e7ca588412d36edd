#!/usr/bin/env python3
"""Prepare the Debian package corpus (stdlib only). See scripts/README-data.md.

  prep_debpkg.py --packages Packages.xz --translation Translation-en.xz
                 --glove data/glove --out OUT [--queries 300] [--seed S]
                 [--words 120] [--hub 100] [--source JSON]

The inputs are Debian 12's index files (dists/bookworm/main/
binary-amd64/Packages.xz and main/i18n/Translation-en.xz). One entry per
binary package, except transitional and dummy packages (boilerplate text)
and the debug section. id = index in the sorted list of package names;
label = the Section field (libs, python, games, ...); text = "name: " +
the short description + ". " + the first --words words of the long one
(Translation-en, matched by Description-md5); links = the first alternative
of every Depends, Pre-Depends and Recommends relation that names another
entry, kinds "depends" and "recommends", except links into a package more
than --hub others depend on (libc6 has about 22,000): such hubs say nothing
about what a package is for, the way no knowledge graph a RAG system keeps
links every entry to "computer".
"""
import argparse
import collections
import json
import lzma
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

TAG = "prep_debpkg"
SKIP = re.compile(r"\b(transitional|dummy)\b", re.I)
RELATIONS = (("Pre-Depends", "depends"), ("Depends", "depends"), ("Recommends", "recommends"))


def stanzas(path):
    """Yields the deb822 stanzas of an xz-compressed index file as dicts
    (continuation lines joined with '\\n')."""
    cur, key = {}, None
    with lzma.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    yield cur
                cur, key = {}, None
            elif line[0] in " \t":
                if key is not None:
                    cur[key] += "\n" + line
            else:
                key, _, val = line.partition(":")
                cur[key] = val.strip()
    if cur:
        yield cur


def long_text(desc):
    """A long description as plain words: ' .' lines are paragraph breaks."""
    lines = [ln.strip() for ln in desc.split("\n")[1:]]
    return " ".join(ln for ln in lines if ln != ".")


def first_words(text, n):
    return " ".join(text.split()[:n])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", required=True)
    ap.add_argument("--translation", required=True)
    ap.add_argument("--hub", type=int, default=100)
    corpus.study_args(ap, "debpkg")
    a = ap.parse_args()

    longs = {}
    for s in stanzas(a.translation):
        if "Package" in s and "Description-en" in s:
            longs[(s["Package"], s.get("Description-md5", ""))] = long_text(s["Description-en"])
    pkgs = {}
    for s in stanzas(a.packages):
        name = s.get("Package")
        if not name or name in pkgs:
            continue
        short = s.get("Description", "").split("\n")[0].strip()
        sec = s.get("Section", "").split("/")[-1]
        if not short or not sec or sec == "debug" or SKIP.search(short):
            continue
        pkgs[name] = (s, short, sec)
    names = sorted(pkgs)
    ids = {n: i for i, n in enumerate(names)}
    rel = {}
    indeg = collections.Counter()
    for n in names:
        s = pkgs[n][0]
        out = []
        for field, kind in RELATIONS:
            for alt in s.get(field, "").split(","):
                d = alt.split("|")[0].strip().split(" ")[0].split(":")[0]
                if d in ids and d != n:
                    out.append((d, kind))
        rel[n] = out
        for d in {d for d, _ in out}:
            indeg[d] += 1
    entries, dropped_hub, no_long = [], 0, 0
    for n in names:
        s, short, sec = pkgs[n]
        lt = longs.get((n, s.get("Description-md5", "")))
        if lt is None:
            no_long += 1
            lt = ""
        text = "%s: %s. %s" % (n, short, first_words(lt, a.words))
        links = []
        for d, kind in rel[n]:
            if indeg[d] > a.hub:
                dropped_hub += 1
                continue
            links.append((ids[d], kind, 1.0))
        entries.append({"id": ids[n], "text": text.strip(), "label": sec,
                        "meta": {"package": n, "section": sec}, "links": links})
    hubs = sum(1 for c in indeg.values() if c > a.hub)
    corpus.log(TAG, "%d packages (%d without a long description), %d relations kept, %d into %d hubs dropped"
               % (len(entries), no_long, sum(len(e["links"]) for e in entries), dropped_hub, hubs))
    corpus.embed_and_write(
        a, entries, TAG, json.loads(a.source),
        text="package: short description. first %d words of the long description" % a.words,
        label="the package's Section (libs, python, games, ...)",
        links_from="first alternative of Pre-Depends, Depends, Recommends; none into a package "
                   "more than %d others depend on" % a.hub)


if __name__ == "__main__":
    main()
