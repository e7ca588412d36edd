#!/usr/bin/env python3
"""Prepare the Node.js corpus (stdlib only). See scripts/README-data.md.

  prep_nodejs.py --html DIR --glove data/glove --out OUT [--queries 300]
                 [--seed S] [--words 120]

DIR is the API documentation of Debian's nodejs-doc (usr/share/doc/nodejs/api/:
one HTML page per module or topic, as Node's doc tool writes it). A page's
text lies in <div id="apicontent">: headings <h2>-<h6>, each with its anchors
(the <a class="mark" id> and the <a class="legacy" id> inside it), and what
follows a heading up to the next one. An API item (a function, method,
class, event, property, option or error code) is a heading with <code> in
it. Entries: every API item of every page but all.html (every page again)
and index.html (the table of contents) whose text has words; id = order of
all headings, pages by file name, headings in page order; label = the page
(its file name without .html: "fs", "http", "errors"), lower case; text = the
heading's words + ": " + the words after it up to the next heading, without
program listings (<pre>) and the "Added in" / history box (<div
class="api_metadata">), first --words words; links = those words' <a href>
that name another entry's anchor ("#anchor" on the page, "page.html#anchor"
on another), kind "xref", one per pair; links to the entry itself, to a
heading that is no entry, to a whole page, out of the documentation, and
type annotations (<a class="type">: <Buffer>, <Promise>, on nearly every
signature) are dropped.
"""
import argparse
import html.parser
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import prep_maxima  # noqa: E402  (make_entries and write)
import prep_postgres  # noqa: E402  (parse_pages)

TAG = "prep_nodejs"
HEADINGS = {"h2", "h3", "h4", "h5", "h6"}


class Page(html.parser.HTMLParser):
    """The headings of one page's <div id="apicontent">, in order, as blocks of
    prep_maxima.make_entries: page, names (the heading's text), anchors,
    text (words after it), hrefs, and code (whether the heading has <code>)."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.blocks = []
        self.div = 0  # div depth inside apicontent (0: outside)
        self.meta = 0  # div depth of an open api_metadata box (0: none)
        self.pre = 0
        self.head = None  # the open heading's block while inside <hN>
        self.mark = False  # inside the heading's "#" mark

    def cur(self):
        return self.blocks[-1] if self.blocks else None

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        cls = (at.get("class") or "").split()
        if tag == "div":
            if self.div:
                self.div += 1
                if not self.meta and "api_metadata" in cls:
                    self.meta = self.div
            elif at.get("id") == "apicontent":
                self.div = 1
            return
        if not self.div:
            return
        if tag in HEADINGS:
            self.head = {"page": self.page, "names": [""], "anchors": [], "text": [], "hrefs": [], "code": False}
            self.blocks.append(self.head)
        elif self.head is not None:
            if tag == "code":
                self.head["code"] = True
            elif tag == "a":
                if at.get("id"):
                    self.head["anchors"].append(at["id"])
                self.mark = "mark" in cls
        elif tag == "pre":
            self.pre += 1
        elif tag == "a" and at.get("href") and "type" not in cls and not self.meta:
            b = self.cur()
            if b is not None:
                b["hrefs"].append(at["href"])

    def handle_endtag(self, tag):
        if tag == "div" and self.div:
            if self.meta == self.div:
                self.meta = 0
            self.div -= 1
        elif tag in HEADINGS and self.head is not None:
            self.head["names"][0] = " ".join(self.head["names"][0].split())
            self.head = None
        elif tag == "a":
            self.mark = False
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if not self.div:
            return
        if self.head is not None:
            if not self.mark:
                self.head["names"][0] += data
        elif not self.pre and not self.meta:
            b = self.cur()
            if b is not None:
                b["text"].append(data)


def read_docs(folder):
    """(every heading of every page but index.html and all.html, pages by
    file name, as blocks; pages read)"""
    what = "nodejs-doc's API documentation"
    pages = prep_postgres.parse_pages(folder, Page, what, skip={"all.html"})
    blocks = [b for _, p in pages for b in p.blocks]
    if not any(b["code"] for b in blocks):
        raise SystemExit("%s: not %s (no <div id=\"apicontent\"> heading with <code>)" % (folder, what))
    return blocks, len(pages)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", required=True, help="nodejs-doc's usr/share/doc/nodejs/api folder")
    corpus.study_args(ap, "nodejs")
    a = ap.parse_args()

    blocks, npages = read_docs(a.html)
    is_item = lambda b: b["code"] and bool(" ".join(b["text"]).split())  # noqa: E731
    entries, nref, resolved = prep_maxima.make_entries(
        blocks, a.words, lambda b: b["page"][:-len(".html")] if is_item(b) else None,
        lambda b: {"page": b["page"][:200], "anchor": (b["anchors"][0] if b["anchors"] else "")[:200]})
    corpus.log(TAG, "%d pages, %d headings, %d API items with words in %d pages"
               % (npages, len(blocks), len(entries), len({e["label"] for e, _ in entries})))
    prep_maxima.write(a, TAG, blocks, entries, nref, resolved, "API items with words",
                      text="the heading (the item's signature) + ': ' + its description without program "
                      "listings and history, first %d words" % a.words,
                      label="the page (module) the item is documented on")


if __name__ == "__main__":
    main()
