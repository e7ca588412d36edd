#!/usr/bin/env python3
"""Prepare the Octave corpus (stdlib only). See scripts/README-data.md.

  prep_octave.py --html DIR --glove data/glove --out OUT [--queries 200]
                 [--seed S] [--words 120]

DIR is the HTML manual of Debian's octave-doc (octave.html/, one page per
texinfo node). Every documented function, variable or operator is one
definition block, <dl class="def">, read with prep_maxima.py's parser: its
<dt> lines name it, its <dd> holds the description and a "See also:" line of
references. The manual has no category box; a page's chapter is the node
reached by following its "up" links to the one right below the Top node
(index.html). Entries: every definition block with a name on a page below
a chapter; id = order in the manual (pages by file name, blocks in page
order); label = the chapter's title, lower case; text = the name + ": " +
the description without the example blocks (<pre>), first --words words;
links = the description's <a href> that name another entry (through the
<span id="XREF..."> anchor before its block and its <dt> ids), kind "xref",
one per pair (links to the entry itself, to sections and out of the manual
are dropped).
"""
import argparse
import html
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import prep_maxima  # noqa: E402  (the texinfo definition-block parser)

TAG = "prep_octave"
TOP = "index.html"
UP = re.compile(r'<link\s+href="([^"#]*)"\s+rel="up"', re.I)
TITLE = re.compile(r"<title>(.*?)</title>", re.I | re.S)
SUFFIX = re.compile(r"\s*\(GNU Octave[^)]*\)?\)?\s*$")


def page_title(text):
    """a page's node title: <title> without the manual's " (GNU Octave ...)" """
    m = TITLE.search(text)
    if not m:
        return ""
    t = " ".join(html.unescape(m.group(1)).split())
    return SUFFIX.sub("", t)


def chapters(up, title):
    """{page: the title of its chapter} for every page whose "up" links lead to
    the Top node; a chapter is a page whose up is the Top node. Pages on a
    loop or off the tree have none."""
    out = {}
    for p in up:
        seen, cur = set(), p
        while cur in up and up[cur] != TOP and cur not in seen:
            seen.add(cur)
            cur = up[cur]
        if up.get(cur) == TOP and title.get(cur):
            out[p] = title[cur]
    return out


def read_manual(folder):
    """(every definition block of the manual's pages in order, {page: chapter})"""
    pages = sorted(f for f in os.listdir(folder) if f.endswith(".html") and f != TOP)
    if not os.path.exists(os.path.join(folder, TOP)) or not pages:
        raise SystemExit("%s: not octave-doc's HTML manual (no %s or no pages)" % (folder, TOP))
    blocks, up, title = [], {}, {}
    for f in pages:
        with open(os.path.join(folder, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        m = UP.search(text)
        if m:
            up[f] = os.path.basename(m.group(1))
        title[f] = page_title(text)
        p = prep_maxima.Manual(f)
        p.feed(text)
        p.close()
        blocks.extend(p.blocks)
    return blocks, chapters(up, title)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", required=True, help="octave-doc's octave.html folder")
    corpus.study_args(ap, "octave")
    a = ap.parse_args()

    blocks, chapter = read_manual(a.html)
    entries, nref, resolved = prep_maxima.make_entries(blocks, a.words, lambda b: chapter.get(b["page"]),
                                                       lambda b: {"page": b["page"][:200]})
    kept = "below a chapter (%d chapters)" % len({e["label"] for e, _ in entries})
    prep_maxima.write(a, TAG, blocks, entries, nref, resolved, kept,
                      text="name: description without examples, first %d words" % a.words,
                      label="title of the manual chapter the entry's page lies in")


if __name__ == "__main__":
    main()
