#!/usr/bin/env python3
"""Prepare the FOLDOC corpus (stdlib only). See scripts/README-data.md.

  prep_foldoc.py --dict DIR --glove data/glove --out OUT [--queries 300]
                 [--seed S] [--words 120]

DIR holds foldoc.index and foldoc.dict.dz of Debian's dict-foldoc (the Free
On-line Dictionary of Computing in dictd's format). An entry of the
dictionary is one or more headword lines followed by an indented body; the
index names every headword (lower case) with the offset and length of its
entry in base 64, so one entry can have several index lines. Entries: every
dictionary entry whose body names a subject in angle brackets (e.g.
"<networking>"); id = order in the dictionary; label = the first subject, up
to its first comma ("<networking, standard>" -> networking); text = the
first headword + ": " + the body without its subject tags, braces and
closing date, first --words words; links = cross-references ({term}) that
name another entry through the index, kind "xref", one per pair (references
to URLs, to entries without a subject and to the entry itself are dropped).
"""
import argparse
import gzip
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

TAG = "prep_foldoc"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
SUBJECT = re.compile(r"<([^<>\n]{1,60})>")
XREF = re.compile(r"\{([^{}]{1,200})\}")
DATE = re.compile(r"\(\d{4}-\d{2}-\d{2}\)\s*$")


def b64(s):
    n = 0
    for ch in s:
        i = B64.find(ch)
        if i < 0:
            raise ValueError("bad base-64 digit %r" % ch)
        n = n * 64 + i
    return n


def read_index(path):
    """[(key, offset, length)] of foldoc.index."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise SystemExit("%s:%d: expected 3 tab-separated fields" % (path, n))
            try:
                out.append((parts[0], b64(parts[1]), b64(parts[2])))
            except ValueError as e:
                raise SystemExit("%s:%d: %s" % (path, n, e))
    return out


def key_of(term):
    """the index key a cross-reference names: lower case, single spaces"""
    return " ".join(term.split()).lower()


def parse_entry(raw):
    """(headwords, body) of one entry's text: the unindented lines before the
    first blank or indented line, and the rest."""
    lines = raw.split("\n")
    heads = []
    i = 0
    while i < len(lines) and lines[i].strip() and not lines[i][:1].isspace():
        heads.append(lines[i].strip())
        i += 1
    return heads, "\n".join(lines[i:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dict", required=True, help="folder with foldoc.index and foldoc.dict.dz")
    corpus.study_args(ap, "foldoc")
    a = ap.parse_args()

    index = read_index(os.path.join(a.dict, "foldoc.index"))
    with gzip.open(os.path.join(a.dict, "foldoc.dict.dz")) as f:
        data = f.read()
    # one entry per distinct offset, in dictionary order
    spans = sorted({(o, ln) for _, o, ln in index})
    eid_at = {o: i for i, (o, _) in enumerate(spans)}
    entry_of_key = {}
    for key, o, _ in index:
        entry_of_key.setdefault(key_of(key), eid_at[o])
    entries, bodies = [], {}
    for i, (o, ln) in enumerate(spans):
        if o + ln > len(data):
            raise SystemExit("foldoc: index entry at %d+%d lies past the dictionary's end" % (o, ln))
        heads, body = parse_entry(data[o:o + ln].decode("utf-8", errors="replace"))
        m = SUBJECT.search(body)
        if not heads or not m:
            continue
        label = m.group(1).split(",")[0].strip().lower()
        if not label:
            continue
        clean = SUBJECT.sub(" ", DATE.sub("", body.strip()))
        clean = XREF.sub(lambda x: x.group(1), clean)
        words = clean.split()
        entries.append({"id": i, "text": heads[0] + ": " + " ".join(words[:a.words]), "label": label,
                        "meta": {"headword": heads[0][:200]}, "links": []})
        bodies[i] = body
    nref = unresolved = 0
    for e in entries:
        seen = set()
        for m in XREF.finditer(bodies[e["id"]]):
            term = m.group(1)
            if "(" in term and ")" in term:  # {text (URL)}: a link out of the dictionary
                continue
            nref += 1
            dst = entry_of_key.get(key_of(term))
            if dst is None:
                unresolved += 1
                continue
            if dst != e["id"] and dst not in seen:
                seen.add(dst)
                e["links"].append((dst, "xref", 1.0))
    corpus.log(TAG, "%d index lines, %d entries, %d with a subject, %d cross-references (%d name no "
               "entry)" % (len(index), len(spans), len(entries), nref, unresolved))
    corpus.embed_and_write(
        a, entries, TAG, json.loads(a.source), text="first headword: body, first %d words" % a.words,
        label="first subject (<...>) up to its first comma", links_from="cross-references {term} to other entries")


if __name__ == "__main__":
    main()
