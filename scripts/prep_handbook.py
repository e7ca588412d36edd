#!/usr/bin/env python3
"""Prepare the Debian Administrator's Handbook corpus (stdlib only). See
scripts/README-data.md.

  prep_handbook.py --html DIR --glove data/glove --out OUT [--queries 96]
                   [--seed S] [--words 120]

DIR is the English HTML of Debian's debian-handbook (Publican's DocBook
output, usr/share/doc/debian-handbook/html/en-US/: index.html is the book,
one page per chapter or appendix, which holds the chapter's table of
contents and its first section, and one page per further section). A page
has a banner and navigation lists (<ul class="docnav">, whose "Up" link is
only "#"), its <link rel="up"> in the head (the chapter of a section's
page, the book of a chapter's), and its main content <div>, whose class
says what the page is ("chapter", "appendix", "section", "preface", ...).
Sections nest as <div class="section">, each with its title heading in its
own <div class="titlepage">. Entries: every section, at any depth
(sect1 ... sect4), that lies in a chapter or appendix and has words of its
own (outside its subsections, which are entries of their own); id = order
of all sections, pages by file name, sections in page order; label = the
title of the chapter or appendix (the page itself or the nearest page up
the <link rel="up"> links), without its number ("Chapter 6. ") and lower
case; text = the section's title without its number + ": " + the words of
its own content without the title heading, its subsections, the table of
contents, the program listings and screens (<pre>) and footnotes, first
--words words; links = that content's <a href> to another entry, kind
"xref", one per pair: an href names the section that holds its anchor (the
id of any element in it and outside its subsections; a page without an
anchor names the section that is the page), and links to the section
itself, to sections that are no entry, to chapters and out of the
documentation are dropped. The chapters' own text (their contents and
highlights), the preface, the foreword and the book are no entries.
"""
import argparse
import html.parser
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import prep_maxima  # noqa: E402  (make_entries and add_links)
import prep_postgres  # noqa: E402  (chapters and parse_pages)

TAG = "prep_handbook"
CHAPTER = ("chapter", "appendix")  # the kinds of page that are labels
SKIP = ("toc", "footnotes")  # <div> classes whose words and links are left out
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
NUMBER = re.compile(r"^(?:(?:Chapter|Appendix|Part)\s+[0-9A-Z]+|[0-9]+(?:\.[0-9]+)*|[A-Z](?:\.[0-9]+)+)\.\s+")
ANCHOR = " page"  # the anchor a link to a page without a fragment names (no HTML id holds a space)


def clean(s):
    return NUMBER.sub("", " ".join(s.split()))


class Page(html.parser.HTMLParser):
    """Reads one page: title (<title> without its number), up (the file its
    <link rel="up"> names), kind (the main <div>'s first class: the first
    top-level <div> with a class) and sections, in page order: blocks of
    prep_maxima.make_entries with names (the title heading), kind ("sectN",
    N its depth on the page), anchors (the ids of its elements outside its
    subsections; ANCHOR too for the section that is the main <div>), text
    and hrefs (its words and <a href> outside its title heading, its
    subsections, <div class="toc">, <div class="footnotes"> and <pre>)."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.title, self.up, self.kind = [], None, None
        self.sections = []
        self.open = []  # [block, depth of its <div>] of the open sections, innermost last
        self.depth = 0  # open <div>s
        self.main = self.skip = self.head = 0  # depth of the main, left-out, title-heading <div> (0: none)
        self.in_title = False
        self.pre = 0

    def cur(self):
        return self.open[-1][0] if self.open and not self.skip else None

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        cls = (at.get("class") or "").split()
        if tag == "div":
            self.depth += 1
            if self.depth == 1 and self.kind is None and cls:
                self.main, self.kind = self.depth, cls[0]
            if not self.main or self.skip:
                return
            if any(c in SKIP for c in cls):
                self.skip = self.depth
            elif "section" in cls:
                b = {"page": self.page, "kind": "sect%d" % (len(self.open) + 1), "names": [""], "anchors": [],
                     "text": [], "hrefs": []}
                if self.depth == self.main:
                    b["anchors"].append(ANCHOR)
                self.sections.append(b)
                self.open.append([b, self.depth])
            elif "titlepage" in cls and self.open and self.open[-1][1] == self.depth - 1 and not self.head:
                self.head = self.depth
        elif tag == "link" and (at.get("rel") or "").lower() == "up" and self.up is None:
            self.up = os.path.basename((at.get("href") or "").partition("#")[0])
        elif tag == "title":
            self.in_title = True
        elif tag == "pre":
            self.pre += 1
        b = self.cur()
        if b is None:
            return
        if at.get("id"):
            b["anchors"].append(at["id"])
        if tag == "a" and at.get("href") and not self.head and not self.pre:
            b["hrefs"].append(at["href"])

    def handle_endtag(self, tag):
        if tag == "div":
            if self.open and self.open[-1][1] == self.depth:
                self.open.pop()
            for k in ("main", "skip", "head"):
                if getattr(self, k) == self.depth:
                    setattr(self, k, 0)
            self.depth -= 1
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        elif tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
            return
        b = self.cur()
        if b is None:
            return
        if self.head:
            b["names"][0] += data
        elif not self.pre:
            b["text"].append(data)

    def name(self):
        return clean("".join(self.title))


def page_href(href, page):
    """href as add_links reads it: "PAGE.html#FRAGMENT" for a page of the
    documentation (PAGE: the page itself for "#..."; FRAGMENT: ANCHOR when
    there is none), None for anything else; an address outside the
    documentation stays as it is"""
    if "://" in href or href.startswith("mailto:"):
        return href
    path, _, frag = href.partition("#")
    target = os.path.basename(path) if path else page
    return "%s#%s" % (target, frag or ANCHOR) if target.endswith(".html") else None


def read_docs(folder):
    """(the sections of the pages in file-name order, as blocks of
    prep_maxima.make_entries, {page: chapter}, pages read)"""
    pages = prep_postgres.parse_pages(folder, Page, "debian-handbook's HTML")
    blocks, up, kind, title = [], {}, {}, {}
    for f, p in pages:
        up[f], kind[f], title[f] = p.up, p.kind, p.name()
        for b in p.sections:
            b["names"] = [clean(b["names"][0])]
            b["hrefs"] = [h for h in (page_href(x, f) for x in b["hrefs"]) if h]
            blocks.append(b)
    return blocks, prep_postgres.chapters(up, kind, title, CHAPTER, itself=True), len(pages)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", required=True, help="debian-handbook's html/en-US folder")
    corpus.study_args(ap, "handbook")
    a = ap.parse_args()

    blocks, chapter, npages = read_docs(a.html)
    own = [b for b in blocks if " ".join(b["text"]).split()]
    entries, nref, resolved = prep_maxima.make_entries(
        blocks, a.words, lambda b: chapter.get(b["page"]) if " ".join(b["text"]).split() else None,
        lambda b: {"page": b["page"][:200], "kind": b["kind"],
                   "anchor": next((x for x in b["anchors"] if x != ANCHOR), "")[:200]})
    corpus.log(TAG, "%d pages, %d sections (%d with words of their own), %d in a chapter (%d chapters), "
               "%d links in the documentation (%d to an entry)"
               % (npages, len(blocks), len(own), len(entries), len({e["label"] for e, _ in entries}), nref,
                  resolved))
    corpus.embed_and_write(a, [e for e, _ in entries], TAG, json.loads(a.source),
                           text="title: the section's own words without its subsections, contents and program "
                           "listings, first %d words" % a.words,
                           label="title of the chapter or appendix the section lies in",
                           links_from="links to other entries' sections")


if __name__ == "__main__":
    main()
