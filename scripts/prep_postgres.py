#!/usr/bin/env python3
"""Prepare the PostgreSQL corpus (stdlib only). See scripts/README-data.md.

  prep_postgres.py --html DIR --glove data/glove --out OUT [--queries 200]
                   [--seed S] [--words 120]

DIR is the HTML documentation of Debian's postgresql-doc-15 (DocBook XSL
output, one page per chapter, section or reference page; index.html is the
book). A page has a navigation header with an "Up" link (<a accesskey="u">),
its main content <div>, whose class says what the page is ("chapter",
"sect1", "refentry", ...), and a navigation footer. Entries: every section
("sect1") and reference ("refentry") page below a chapter; id = order of
those pages by file name; label = the title of the chapter, the nearest page
up the "Up" links that is a "chapter", "appendix" or "reference", without its
number ("Chapter 9. ") and lower case; text = the page's title without its
number + ": " + the words of its main content without the title heading,
the table of contents (<div class="toc">) and the program listings and
screens (<pre>), first --words words; links = the main content's <a href>
(the same parts) to another entry's page, kind "xref", one per pair (links
to the page itself, to pages that are no entry and out of the
documentation are dropped). Chapters, parts, the book, the index and pages
whose "Up" links lead to no chapter (a loop, a page off the documentation)
are no entries.
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

TAG = "prep_postgres"
TOP = "index.html"
CONTENT = ("sect1", "refentry")  # the kinds of page that are entries
CHAPTER = ("chapter", "appendix", "reference")  # the kinds of page that are labels
NAV = ("navheader", "navfooter")
NUMBER = re.compile(r"^(?:(?:Chapter|Appendix|Part)\s+[0-9A-Z]+|[0-9]+(?:\.[0-9]+)*|[A-Z](?:\.[0-9]+)+)\.\s+")
ANCHOR = "page"  # the one anchor of an entry: a link names a page, wherever on it


class Page(html.parser.HTMLParser):
    """Reads one page: title (<title> without its number), up (the file its
    navigation's "Up" link names), kind (the main <div>'s first class), text
    and hrefs (the main <div>'s words and <a href> outside its title
    heading, <div class="toc"> and <pre>)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.up, self.kind = [], None, None
        self.text, self.hrefs = [], []
        self.depth = 0  # open <div>s
        self.nav = self.main = self.skip = 0  # depth of the open navigation, main, left-out <div> (0: none)
        self.in_title = False
        self.pre = 0

    def body(self):
        return self.main and not self.skip and not self.pre

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        cls = (at.get("class") or "").split()
        if tag == "div":
            self.depth += 1
            if self.depth == 1 and any(c in NAV for c in cls):
                self.nav = self.depth
            elif self.depth == 1 and self.kind is None:
                self.main, self.kind = self.depth, cls[0] if cls else ""
            elif self.main and not self.skip and ("toc" in cls or (self.depth == 2 and "titlepage" in cls)):
                self.skip = self.depth
        elif tag == "a" and self.nav and at.get("accesskey") == "u" and self.up is None:
            self.up = os.path.basename((at.get("href") or "").partition("#")[0])
        elif tag == "a" and at.get("href") and self.body():
            self.hrefs.append(at["href"])
        elif tag == "pre":
            self.pre += 1
        elif tag == "title":
            self.in_title = True

    def handle_endtag(self, tag):
        if tag == "div":
            for k in ("nav", "main", "skip"):
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
        elif self.body():
            self.text.append(data)

    def name(self):
        return NUMBER.sub("", " ".join("".join(self.title).split()))


def page_href(href, page):
    """href as add_links reads it: "PAGE.html#page" for a page of the
    documentation (PAGE: the page itself for "#..."), None for anything else;
    an address outside the documentation stays as it is"""
    if "://" in href or href.startswith("mailto:"):
        return href
    path = href.partition("#")[0]
    target = os.path.basename(path) if path else page
    return "%s#%s" % (target, ANCHOR) if target.endswith(".html") else None


def chapters(up, kind, title, chapter=CHAPTER, itself=False):
    """{page: the title of its chapter} for every page whose "up" links lead
    to a page of a kind in `chapter` (with `itself`, also a page of such a
    kind: its own title): the nearest one. Pages on a loop or off the
    documentation before one have none."""
    out = {}
    for p in up:
        seen, cur = set(), p if itself else up[p]
        while cur in kind and kind[cur] not in chapter and cur not in seen:
            seen.add(cur)
            cur = up.get(cur)
        if kind.get(cur) in chapter and title.get(cur):
            out[p] = title[cur]
    return out


def parse_pages(folder, new_page, what, skip=()):
    """[(file name, parsed page)] of the folder's pages but TOP and those in
    skip, in file-name order; new_page(file name) makes a parser. Exits
    naming `what` when the folder has no TOP or no pages."""
    pages = sorted(f for f in os.listdir(folder) if f.endswith(".html") and f != TOP and f not in skip)
    if not os.path.exists(os.path.join(folder, TOP)) or not pages:
        raise SystemExit("%s: not %s (no %s or no pages)" % (folder, what, TOP))
    out = []
    for f in pages:
        p = new_page(f)
        with open(os.path.join(folder, f), encoding="utf-8", errors="replace") as fh:
            p.feed(fh.read())
        p.close()
        out.append((f, p))
    return out


def read_docs(folder):
    """(the section and reference pages in file-name order, as blocks of
    prep_maxima.make_entries, {page: chapter}, pages read)"""
    pages = parse_pages(folder, lambda f: Page(), "postgresql-doc's HTML documentation")
    blocks, up, kind, title = [], {}, {}, {}
    for f, p in pages:
        up[f], kind[f], title[f] = p.up, p.kind, p.name()
        if p.kind in CONTENT:
            hrefs = [h for h in (page_href(x, f) for x in p.hrefs) if h]
            blocks.append({"page": f, "kind": p.kind, "names": [title[f]], "anchors": [ANCHOR], "text": p.text,
                           "hrefs": hrefs})
    return blocks, chapters(up, kind, title), len(pages)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", required=True, help="postgresql-doc-15's html folder")
    corpus.study_args(ap, "postgres")
    a = ap.parse_args()

    blocks, chapter, npages = read_docs(a.html)
    entries, nref, resolved = prep_maxima.make_entries(blocks, a.words, lambda b: chapter.get(b["page"]),
                                                       lambda b: {"page": b["page"][:200], "kind": b["kind"]})
    corpus.log(TAG, "%d pages, %d section and reference pages, %d below a chapter (%d chapters), %d links to "
               "pages (%d to an entry's)" % (npages, len(blocks), len(entries),
                                             len({e["label"] for e, _ in entries}), nref, resolved))
    corpus.embed_and_write(a, [e for e, _ in entries], TAG, json.loads(a.source),
                           text="title: page without navigation, contents and program listings, first %d words"
                           % a.words,
                           label="title of the chapter, appendix or reference the page lies in (its Up links)",
                           links_from="links to other entries' pages")


if __name__ == "__main__":
    main()
