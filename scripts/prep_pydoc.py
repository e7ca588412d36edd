#!/usr/bin/env python3
"""Prepare the Python documentation corpus (stdlib only). See scripts/README-data.md.

  prep_pydoc.py --html DIR --glove data/glove --out OUT [--queries 300] [--seed S]
                [--words 120] [--max N]

DIR is the html/ folder of Debian's python3.X-doc (Sphinx output). Pages of
library/ reference/ tutorial/ howto/ c-api/ extending/ using/ faq/ install/
installing/ distributing/ distutils/ (not whatsnew/, indexes, search). Entries:
every documented object (a Sphinx <dl class="py ..."> or "c ..." whose <dt>
has an id, e.g. os.listdir; nested ones, like methods, are entries of their
own) and the prose of every <section> outside those objects and outside its
subsections (kept when it has at least 20 words). id = order of appearance
(pages sorted by path); label = the page (e.g. library/os); text = heading or
signature + ": " + the first --words words; links = internal cross-references
(<a class="reference internal" href="page.html#anchor">) to the entry that
holds the anchor, kind "xref", one per pair; links to the entry itself are
dropped.
"""
import argparse
import html.parser
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

TAG = "prep_pydoc"
DIRS = ("library", "reference", "tutorial", "howto", "c-api", "extending", "using", "faq", "install",
        "installing", "distributing", "distutils")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SKIP = {"script", "style", "head"}
MIN_PROSE_WORDS = 20


class Node:
    __slots__ = ("tag", "attrs", "kids", "parent")

    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.kids, self.parent = tag, dict(attrs), [], parent


class TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.kids.append(data)


def classes(n):
    return n.attrs.get("class", "").split()


def is_object(n):
    """A Sphinx object description: <dl class="py function"> etc."""
    if n.tag != "dl":
        return False
    c = classes(n)
    return ("py" in c or "c" in c) and len(c) >= 2 and n.kids and any(
        isinstance(k, Node) and k.tag == "dt" and k.attrs.get("id") for k in n.kids)


class Page:
    def __init__(self, label, entries, anchors):
        self.label, self.entries, self.anchors = label, entries, anchors


def walk_page(root, label):
    """entries (dicts with own text parts, refs, anchors) of one page."""
    entries = []

    def new_entry(title):
        e = {"title": title, "parts": [], "refs": [], "anchors": []}
        entries.append(e)
        return e

    def collect(n, e):
        """Adds the text under n to entry e, opening new entries at sections/objects."""
        for k in n.kids:
            if isinstance(k, str):
                e["parts"].append(k)
                continue
            if k.tag in SKIP or "headerlink" in classes(k):
                continue
            if k.attrs.get("id"):
                e["anchors"].append(k.attrs["id"])
            if k.tag == "section" or (k.tag == "div" and "section" in classes(k)):
                sub = new_entry(None)
                if k.attrs.get("id"):
                    sub["anchors"].append(k.attrs["id"])
                collect(k, sub)
                continue
            if is_object(k):
                sub = new_entry(None)
                sub["object"] = True
                collect(k, sub)
                continue
            if k.tag in ("h1", "h2", "h3", "h4", "h5", "h6") and e["title"] is None:
                t = []
                text_of(k, t)
                e["title"] = " ".join("".join(t).split())
                continue
            if k.tag == "dt" and e.get("object") and e["title"] is None:
                t = []
                text_of(k, t)
                e["title"] = " ".join("".join(t).split())
                for a in k.kids:
                    if isinstance(a, Node) and a.attrs.get("id"):
                        e["anchors"].append(a.attrs["id"])
                if k.attrs.get("id"):
                    e["anchors"].append(k.attrs["id"])
                continue
            if k.tag == "a" and "reference" in classes(k) and "internal" in classes(k) and k.attrs.get("href"):
                e["refs"].append(k.attrs["href"])
            collect(k, e)

    def text_of(n, out):
        for k in n.kids:
            if isinstance(k, str):
                out.append(k)
            elif k.tag not in SKIP and "headerlink" not in classes(k):
                text_of(k, out)

    body = find_body(root)
    if body is None:
        return []
    top = new_entry(None)
    collect(body, top)
    return entries


def find_body(n):
    if isinstance(n, Node):
        if n.attrs.get("role") == "main" or (n.tag == "div" and "body" in classes(n)):
            return n
        for k in n.kids:
            r = find_body(k)
            if r is not None:
                return r
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", required=True)
    corpus.study_args(ap, "pydoc")
    a = ap.parse_args()

    pages = []
    for d in DIRS:
        base = os.path.join(a.html, d)
        if not os.path.isdir(base):
            continue
        for dirpath, _, fns in os.walk(base):
            for fn in fns:
                if fn.endswith(".html"):
                    pages.append(os.path.relpath(os.path.join(dirpath, fn), a.html))
    pages.sort()
    entries, anchor_of = [], {}  # anchor_of: (page, anchor) -> entry id
    raw_refs = []
    for rel in pages:
        b = TreeBuilder()
        with open(os.path.join(a.html, rel), encoding="utf-8", errors="replace") as f:
            b.feed(f.read())
        label = rel[:-len(".html")]
        page_first = None
        for pe in walk_page(b.root, label):
            words = " ".join("".join(pe["parts"]).split()).split()
            if not pe.get("object") and len(words) < MIN_PROSE_WORDS:
                # too little prose: its anchors point at the enclosing page's first entry
                for an in pe["anchors"]:
                    anchor_of.setdefault((rel, an), None)
                continue
            title = pe["title"] or label
            text = title + ": " + " ".join(words[:a.words])
            eid = len(entries)
            entries.append({"id": eid, "text": text, "label": label,
                            "meta": {"page": rel, "title": title[:200],
                                     "anchor": pe["anchors"][0] if pe["anchors"] else "",
                                     "object": bool(pe.get("object"))}, "links": []})
            if page_first is None:
                page_first = eid
            for an in pe["anchors"]:
                if anchor_of.get((rel, an)) is None:
                    anchor_of[(rel, an)] = eid
            raw_refs.append((eid, rel, pe["refs"]))
        if page_first is not None:
            anchor_of[(rel, "")] = page_first
            for k in [k for k, v in anchor_of.items() if k[0] == rel and v is None]:
                anchor_of[k] = page_first
    nref = unresolved = 0
    for eid, rel, refs in raw_refs:
        seen = set()
        for h in refs:
            path, _, anchor = h.partition("#")
            page = os.path.normpath(os.path.join(os.path.dirname(rel), path)) if path else rel
            dst = anchor_of.get((page, anchor))
            if dst is None:
                dst = anchor_of.get((page, ""))
            nref += 1
            if dst is None:
                unresolved += 1
                continue
            if dst != eid and dst not in seen:
                seen.add(dst)
                entries[eid]["links"].append((dst, "xref", 1.0))
    corpus.log(TAG, "%d pages, %d entries (%d objects), %d internal references (%d to pages outside "
               "the corpus)" % (len(pages), len(entries), sum(e["meta"]["object"] for e in entries),
                               nref, unresolved))
    corpus.embed_and_write(
        a, entries, TAG, json.loads(a.source), text="heading or signature: first %d words" % a.words,
        label="page (e.g. library/os)", links_from="internal cross-references to the entry holding the anchor")


if __name__ == "__main__":
    main()
