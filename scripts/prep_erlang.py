#!/usr/bin/env python3
"""Prepare the Erlang/OTP corpus (stdlib only). See scripts/README-data.md.

  prep_erlang.py --html DIR --glove data/glove --out OUT [--queries 300]
                 [--seed S] [--words 120]

DIR is the documentation folder of Debian's erlang-doc
(usr/share/doc/erlang-doc/: the Erlang/OTP HTML documentation as erl_docgen
writes it), whose reference manuals lie in erts-VSN/doc/html/ (the runtime
system) and lib/APP-VSN/doc/html/ (every other application). A module's
reference page is the one whose <div class="REFBODY module-body"> names the
module (the application's pages for commands, files, C libraries and the
application itself have none); after a navigation list of the whole
application (<aside id="leftnav">, not read: the page is read from its <div
id="content">), it documents every exported function, and on a behaviour's page every callback ("Module:init/1"), in an
<article class="func">: one or more heads (<h4 id="NAME-ARITY">, alone or
in a <div class="func-head">; <a name> aliases may come before them), the
types (a <div class="REFBODY fun-types">, or in older pages a first part
of the <div class="exports-tube"> whose heading is <h3
class="func-types-title">) and the description (the rest of the
exports-tube). Entries: every such article whose description has words;
id = order of all articles, pages by path under DIR, articles in page
order; label = the module, lower case; text = "module:name/arity" of its
heads (several arities of one name as "name/2,3", several names joined by
", ") + ": " + the description's words without its program listings
(<pre>), first --words words; links = the description's <a href> to
another entry, kind "xref", one per pair: an href ("#anchor" on the page,
"page.html#anchor" in the application, or erl_docgen's
javascript:erlhref(UPS, APP, "page.html#anchor") into another
application) names the article that holds its anchor (a head's id, an
alias, an id or <a name> in the description; the first article where an
id repeats), and links to the article itself, to an article without a
description, to types, to a whole page, to the module's description, to
the user's guides and out of the documentation are dropped. Types (<article class="data-types-body">) are no
entries.
"""
import argparse
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import prep_maxima  # noqa: E402  (make_entries and add_links)
from prep_pydoc import Node, TreeBuilder, classes  # noqa: E402  (the HTML tree)

TAG = "prep_erlang"
CONTENT = '<div id="content">'  # where a page's own content starts, after the navigation
PAGE = " page"  # the anchor a link to a page without a fragment names (no HTML id holds a space: no entry)
ERLHREF = re.compile(r"""^javascript:erlhref\(\s*'[^']*'\s*,\s*'([^']*)'\s*,\s*'([^']*)'\s*\)\s*;?\s*$""")
HEAD = re.compile(r"^(.+)-(\d+)$")


def walk(n, skip=lambda k: False):
    """the nodes below n in document order, not looking into (nor yielding)
    those for which skip holds"""
    for k in n.kids:
        if isinstance(k, Node) and not skip(k):
            yield k
            yield from walk(k, skip)


def words_of(n, skip=lambda k: False):
    """the text below n, not looking into nodes for which skip holds"""
    out = []
    for k in n.kids:
        if isinstance(k, str):
            out.append(k)
        elif not skip(k):
            out.append(words_of(k, skip))
    return "".join(out)


def is_pre(n):
    return n.tag == "pre"


def is_types(n):
    """a part of the exports-tube that holds the types: its heading <h3 class="func-types-title">"""
    return any(isinstance(k, Node) and k.tag == "h3" and "func-types-title" in classes(k) for k in n.kids)


def name_of(module, ids):
    """"module:name/arity" of the heads' ids "NAME-ARITY": the arities of one
    name as name/2,3, names in order joined by ", " (an id of another form is
    kept as it is)"""
    order, arities = [], {}
    for i in ids:
        m = HEAD.match(i)
        name, arity = (m.group(1), m.group(2)) if m else (i, None)
        if name not in arities:
            order.append(name)
            arities[name] = []
        if arity is not None and arity not in arities[name]:
            arities[name].append(arity)
    parts = [n + ("/" + ",".join(arities[n]) if arities[n] else "") for n in order]
    return "%s:%s" % (module, ", ".join(parts)) if parts else ""


def read_page(text, key, path):
    """(the module a reference page documents, None for another page; its
    articles, as blocks of prep_maxima.make_entries: page (key), path,
    module, names, head (the first head's id), anchors, text and hrefs (as
    written))"""
    i = text.find(CONTENT)
    b = TreeBuilder()
    b.feed(text[i:] if i >= 0 else text)
    b.close()
    mod = next((k for k in walk(b.root) if k.tag == "div" and "module-body" in classes(k)), None)
    module = " ".join(words_of(mod).split()) if mod is not None else ""
    if not module:
        return None, []
    blocks = []
    for art in walk(b.root):
        if art.tag != "article" or "func" not in classes(art):
            continue
        ids = [k.attrs["id"] for k in walk(art, lambda k: "exports-tube" in classes(k) or "fun-types" in classes(k))
               if k.tag == "h4" and k.attrs.get("id")]
        anchors = ids + [k.attrs["name"] for k in art.kids if isinstance(k, Node) and k.tag == "a"
                         and k.attrs.get("name")]
        text_parts, hrefs = [], []
        for tube in (k for k in art.kids if isinstance(k, Node) and "exports-tube" in classes(k)):
            for part in tube.kids:
                if isinstance(part, str):
                    text_parts.append(part)
                    continue
                if is_types(part):
                    continue
                text_parts.append(words_of(part, is_pre))
                for k in [part] + list(walk(part, is_pre)):
                    anchors += [x for x in (k.attrs.get("id"), k.attrs.get("name") if k.tag == "a" else None) if x]
                    if k.tag == "a" and k.attrs.get("href"):
                        hrefs.append(k.attrs["href"])
        blocks.append({"page": key, "path": path, "module": module, "names": [name_of(module, ids)],
                       "head": ids[0] if ids else "", "anchors": anchors, "text": text_parts, "hrefs": hrefs})
    return module, blocks


def app_of(folder):
    """the application of a folder erts-VSN or lib/APP-VSN: its name without the version"""
    return re.sub(r"-[0-9][^-/]*$", "", os.path.basename(folder))


def page_href(href, key, folder, apps):
    """href as add_links reads it: "APP:PAGE#ANCHOR" for a page of the
    documentation (PAGE the page itself for "#..."; ANCHOR PAGE when there is
    none; APP of the page's folder, or erlhref's application; folders that
    are no application's reference manual keep a name that names no page),
    None for an address outside the documentation. key: the page's own
    "APP:PAGE"; folder: its folder; apps: {folder: application}"""
    m = ERLHREF.match(href)
    if m:
        path, _, frag = m.group(2).partition("#")
        return "%s:%s#%s" % (m.group(1).replace("/", "|"), path, frag or PAGE)
    if ":" in href.partition("#")[0]:  # a URL, mailto:, another javascript:
        return None
    path, _, frag = href.partition("#")
    if not path:
        return "%s#%s" % (key, frag or PAGE)
    d, f = os.path.split(os.path.normpath(os.path.join(folder, path)))
    return "%s:%s#%s" % (apps.get(d, d.replace("/", "|")), f, frag or PAGE)


def read_docs(top):
    """(the articles of every module's reference page, pages by path under
    top, as blocks of prep_maxima.make_entries, pages read, module pages)"""
    folders = sorted(glob.glob(os.path.join(top, "erts-*", "doc", "html"))) + \
        sorted(glob.glob(os.path.join(top, "lib", "*", "doc", "html")))
    apps = {}  # {folder: application}, normalised as page_href's folders are
    for d in map(os.path.normpath, folders):
        app = app_of(os.path.dirname(os.path.dirname(d)))
        if app not in apps.values():
            apps[d] = app
    blocks, npages, modules = [], 0, []
    for d, app in apps.items():
        for f in sorted(os.listdir(d)):
            if not f.endswith(".html"):
                continue
            npages += 1
            key = "%s:%s" % (app, f)
            with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
                module, bs = read_page(fh.read(), key, os.path.relpath(os.path.join(d, f), top))
            if module is None:
                continue
            modules.append(module)
            for b in bs:
                b["app"] = app
                b["hrefs"] = [h for h in (page_href(x, key, d, apps) for x in b["hrefs"]) if h]
            blocks.extend(bs)
    if not modules:
        raise SystemExit("%s: not erlang-doc's documentation (no reference page of a module in erts-*/doc/html "
                         "or lib/*/doc/html)" % top)
    return blocks, npages, modules


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", required=True, help="erlang-doc's usr/share/doc/erlang-doc folder")
    corpus.study_args(ap, "erlang")
    a = ap.parse_args()

    blocks, npages, modules = read_docs(a.html)
    has_words = lambda b: bool(" ".join(b["text"]).split())  # noqa: E731
    entries, nref, resolved = prep_maxima.make_entries(
        blocks, a.words, lambda b: b["module"] if has_words(b) else None,
        lambda b: {"app": b["app"], "page": b["path"][:200], "anchor": b["head"][:200]})
    corpus.log(TAG, "%d pages, %d module pages, %d functions and callbacks (%d with a description) in %d modules, "
               "%d links in the documentation (%d to an entry)"
               % (npages, len(modules), len(blocks), len(entries), len({e["label"] for e, _ in entries}), nref,
                  resolved))
    corpus.embed_and_write(a, [e for e, _ in entries], TAG, json.loads(a.source),
                           text="module:name/arity: the function's description without its types and program "
                           "listings, first %d words" % a.words,
                           label="the module (its reference page)",
                           links_from="the description's links to other entries' functions")


if __name__ == "__main__":
    main()
