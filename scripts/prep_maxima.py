#!/usr/bin/env python3
"""Prepare the Maxima corpus (stdlib only). See scripts/README-data.md.

  prep_maxima.py --html DIR --glove data/glove --out OUT [--queries 300]
                 [--seed S] [--words 120]

DIR is the HTML manual of Debian's maxima-doc (maxima_*.html, as texinfo
writes it). Every documented function, variable or option is one
definition block, <dl class="def">: its <dt> lines name it, its <dd> holds
the description, the cross-references and a box of categories. Entries:
every definition block whose box names a category; id = order in the
manual (files by number, blocks in file order); label = the first category,
lower case; text = the name + ": " + the description without the example
blocks (<pre>) and the category box, first --words words; links = the
description's <a href> that name another entry (through the anchors of its
<dt> lines and the <span id> anchors right before its block), kind "xref",
one per pair (links to the entry itself, to sections and to category pages
are dropped).
"""
import argparse
import html.parser
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

TAG = "prep_maxima"
PAGE = re.compile(r"^maxima_(\d+)\.html$")


class Manual(html.parser.HTMLParser):
    """Collects the definition blocks of one page. A block is a dict: names
    (the <strong> of each <dt>), kind (the first <dt>'s category span), anchors
    (ids), text (words of the <dd> outside <pre> and the category box), hrefs,
    categories. Blocks nested in a <dd> are blocks of their own; their words
    and references are not the outer block's."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.blocks = []
        self.stack = []  # open definition blocks: [block, dl depth at open]
        self.dl_depth = 0
        self.pending = []  # <span id> anchors since the last text
        self.in_dt = self.in_strong = self.in_kind = False
        self.pre = 0
        self.cat_div = 0  # div depth inside a category box (0: outside)
        self.div_depth = 0
        self.in_cat_a = False
        self.cat_text = []

    def cur(self):
        return self.stack[-1][0] if self.stack else None

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        cls = (at.get("class") or "").split()
        b = self.cur()
        if tag == "dl":
            self.dl_depth += 1
            if "def" in cls:
                nb = {"page": self.page, "names": [], "kind": "", "anchors": list(self.pending), "text": [],
                      "hrefs": [], "categories": []}
                self.pending = []
                self.blocks.append(nb)
                self.stack.append([nb, self.dl_depth])
        elif tag == "span" and at.get("id"):
            self.pending.append(at["id"])
        elif tag == "span" and "category" in cls and self.in_dt:
            self.in_kind = True
        elif tag == "dt" and b is not None:
            self.in_dt = True
            if at.get("id"):
                b["anchors"].append(at["id"])
            b["names"].append("")
        elif tag == "strong" and self.in_dt:
            self.in_strong = True
        elif tag == "pre":
            self.pre += 1
        elif tag == "div":
            self.div_depth += 1
            if self.cat_div == 0 and "categorybox" in cls:
                self.cat_div = self.div_depth
        elif tag == "a" and b is not None and not self.in_dt:
            if self.cat_div:
                self.in_cat_a = True
                self.cat_text = []
            elif at.get("href"):
                b["hrefs"].append(at["href"])
        elif tag in ("p", "dd", "h1", "h2", "h3", "h4", "table"):
            self.pending = []

    def handle_endtag(self, tag):
        if tag == "dl":
            if self.stack and self.stack[-1][1] == self.dl_depth:
                self.stack.pop()
            self.dl_depth -= 1
        elif tag == "dt":
            self.in_dt = self.in_strong = self.in_kind = False
        elif tag == "strong":
            self.in_strong = False
        elif tag == "span":
            self.in_kind = False
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        elif tag == "div":
            if self.cat_div == self.div_depth:
                self.cat_div = 0
            self.div_depth -= 1
        elif tag == "a" and self.in_cat_a:
            self.in_cat_a = False
            b = self.cur()
            name = " ".join("".join(self.cat_text).split())
            if b is not None and name:
                b["categories"].append(name)

    def handle_data(self, data):
        b = self.cur()
        if data.strip():
            self.pending = []
        if b is None:
            return
        if self.in_dt:
            if self.in_strong and b["names"]:
                b["names"][-1] += data
            elif self.in_kind and not b["kind"]:
                b["kind"] = data.strip().rstrip(":")
        elif self.in_cat_a:
            self.cat_text.append(data)
        elif not self.pre and not self.cat_div:
            b["text"].append(data)


def target(href, page):
    """(page, fragment) an href names, or None for one outside the manual"""
    if "://" in href or href.startswith("mailto:"):
        return None
    path, _, frag = href.partition("#")
    if not frag:
        return None
    return (os.path.basename(path) if path else page, frag)


def add_links(entries, at):
    """Gives every entry e of entries, a list of (e, its block), a link "xref"
    to each entry its block's hrefs name (at: {(page, anchor): entry id}),
    one per target, none to e itself. Returns (references inside the manual,
    those that name an entry)."""
    nref = resolved = 0
    for e, b in entries:
        seen = set()
        for h in b["hrefs"]:
            t = target(h, b["page"])
            if t is None:
                continue
            nref += 1
            dst = at.get(t)
            if dst is None:
                continue
            resolved += 1
            if dst != e["id"] and dst not in seen:
                seen.add(dst)
                e["links"].append((dst, "xref", 1.0))
    return nref, resolved


def make_entries(blocks, nwords, label_of, meta_of):
    """The entries of the definition blocks: one per block with a name and a
    label (label_of(block), None for none), id = the block's index, text =
    name + ": " + the first nwords words, metadata name + meta_of(block),
    links through add_links. Returns ([(entry, block)], references inside
    the manual, those that name an entry)."""
    entries, at = [], {}
    for i, b in enumerate(blocks):
        name = " ".join(b["names"][0].split()) if b["names"] else ""
        label = label_of(b)
        if not name or not label:
            continue
        words = " ".join(b["text"]).split()
        e = {"id": i, "text": name + ": " + " ".join(words[:nwords]), "label": label.lower(),
             "meta": dict({"name": name[:200]}, **meta_of(b)), "links": []}
        entries.append((e, b))
        for anchor in b["anchors"]:
            at.setdefault((b["page"], anchor), i)
    nref, resolved = add_links(entries, at)
    return entries, nref, resolved


def write(a, tag, blocks, entries, nref, resolved, kept, **how):
    """Logs what make_entries found (kept: which blocks became entries) and
    writes the corpus a.out of entries, a list of (entry, block), with
    corpus.embed_and_write; `how` (text, label) goes to info.json beside
    the links' origin."""
    corpus.log(tag, "%d definition blocks, %d %s, %d references in the manual (%d name an entry)"
               % (len(blocks), len(entries), kept, nref, resolved))
    corpus.embed_and_write(a, [e for e, _ in entries], tag, json.loads(a.source),
                           **dict(how, links_from="cross-references to other entries"))


def read_manual(folder):
    """every definition block of the manual's maxima_N.html pages, in order"""
    pages = []
    for f in os.listdir(folder):
        m = PAGE.match(f)
        if m:
            pages.append((int(m.group(1)), f))
    if not pages:
        raise SystemExit("%s: no maxima_N.html pages" % folder)
    blocks = []
    for _, f in sorted(pages):
        p = Manual(f)
        with open(os.path.join(folder, f), encoding="utf-8", errors="replace") as fh:
            p.feed(fh.read())
        p.close()
        blocks.extend(p.blocks)
    return blocks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", required=True, help="maxima-doc's html folder")
    corpus.study_args(ap, "maxima")
    a = ap.parse_args()

    blocks = read_manual(a.html)
    entries, nref, resolved = make_entries(
        blocks, a.words, lambda b: b["categories"][0] if b["categories"] else None,
        lambda b: {"kind": b["kind"][:40]})
    write(a, TAG, blocks, entries, nref, resolved, "with a category",
          text="name: description without examples and categories, first %d words" % a.words,
          label="first category of the entry's category box")


if __name__ == "__main__":
    main()
