"""prep_erlang.py on a hand-made erlang-doc folder in the HTML erl_docgen
writes: which pages are read (the modules' reference pages of erts-*/ and
lib/*/; not an application's other pages, a C library's, nor the
navigation), which functions become entries (every function or callback
article, in either layout of its heads and types, with words in its
description; not the types), the name (module:name/arity, several arities
and names of one article together), the label (the module), the text (the
description without the types and <pre>, first --words words), which links
are kept (to the article that holds the anchor: a head's id, an alias before
it, an anchor in its description; on the page, in the application or
through erlhref in another; not to the article itself, to an article without
a description, to a type, to a whole page, to the module's own description,
to a user's guide, out of the documentation, in the types or in a <pre>;
one per pair), and the held-out queries with their links cut."""
import os

import pytest
from tinyglove import glove  # noqa: F401 (a fixture)
import prep_run

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prep_erlang.py")
WORDS = ["list", "element", "process", "message", "send", "term", "server", "call", "sequence", "options"]


def erlhref(app, rest, ups="../../../../doc/../"):
    return "javascript:erlhref('%s','%s','%s');" % (ups, app, rest)


def link(href, text):
    return '<span class="bold_code bc-17"><a href="%s"><span class="code">%s</span></a></span>' % (href, text)


def title_anchors(anchor):
    return ('<div class="title-anchors"><span id="ghlink-%s-id1" class="ghlink-before"><a href="#%s" title="Link to '
            'this place!"><span class="paperclip-before"></span></a><a href="https://github.com/erlang/otp/edit/maint/'
            'lib/stdlib/doc/src/x.xml#L65" title="Found an issue"><span class="pencil-before"></span></a></span></div>'
            % (anchor, anchor))


def head(anchor, sig):
    """a head as pages with -spec write it"""
    return ('<h4 id="%s" class="bold_code title-link func-head" onMouseOver="x">\n%s\n<span class="title-name">%s'
            '</span>\n</h4>\n' % (anchor, title_anchors(anchor), sig))


def old_head(anchor, sig):
    """a head as pages without -spec write it"""
    return ('<div class="bold_code func-head"><h4 id="%s" class="title-link" onMouseOver="x">\n%s\n'
            '<div class="title-name">%s</div>\n</h4></div>\n' % (anchor, title_anchors(anchor), sig))


def types(*lines):
    """the types of a head with -spec (a link there is no reference)"""
    return ('<div class="REFBODY fun-types">\n<h3 id="types" class="func-types-title">Types</h3>\n' +
            "".join('<div class="REFTYPES rt-1"><span class="bold_code bc-2">%s</span></div>\n' % t for t in lines) +
            '</div>\n')


def func(heads, desc, spec_types="", old_types=""):
    """an <article class="func">: heads, the types (of a -spec or, older, in the
    exports-tube) and the description (None: an empty exports-tube)"""
    tube = ""
    if old_types:
        tube += ('<div class="REFBODY rb-5">\n<h3 id="types" class="func-types-title">Types</h3>\n%s</div>\n'
                 % old_types)
    if desc is not None:
        tube += '<div class="REFBODY rb-7">\n%s\n      </div>' % desc
    return '<article class="func">%s%s<div class="exports-tube">%s</div></article>' % (heads, spec_types, tube)


def page(title, kind, name, body, nav=""):
    """a reference page: the application's navigation, the kind (module,
    application, c-library) and name, a description and body"""
    return ('<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html><head><meta charset="utf-8">'
            '<title>Erlang -- %s</title></head>\n<body><div id="container"><script type="text/javascript">\n'
            '<!--\n function f() { return 1 < 2; }\n// --></script><aside id="leftnav"><nav class="top-nav">'
            '<ul class="flipMenu"><li title="%s"><a href="%s.html">%s</a><ul>%s</ul></li></ul></nav></aside>'
            '<div id="content">\n<div class="innertube"></div>\n<!-- refpage --><div class="innertube"><center><h1>'
            '%s</h1></center></div>\n<div class="innertube">\n<h3 id="%s" class="title-link">\n<div class="title-name">'
            'Module</div>\n</h3>\n<div class="REFBODY %s-body">%s</div>\n</div>\n%s\n<div class="footer">\n<hr>\n<p>'
            'Copyright</p>\n</div>\n</div>\n</div>\n</body>\n</html>\n'
            % (title, name, name, name, nav, name, kind, kind, name, body))


def description(text):
    return ('<section class="description"><div class="innertube">\n<h3 id="description" class="title-link">\n'
            '<div class="title-name">Description</div>\n</h3>\n<div class="REFBODY description-body"><p>\n%s\n</p>'
            '</div>\n</div></section>\n' % text)


def exports(*articles):
    return ('<div class="innertube"><h3 id="export" class="title-link">\n<div class="title-name">Exports</div>\n'
            '</h3></div>\n<div class="exports-body">\n%s</div>\n' % "".join(articles))


DATA_TYPE = ('<section class="data-types"><div class="innertube"><h3 id="data-types">Data Types</h3></div>'
             '<div class="data-types-body"><article class="data-types-body"><div class="data-type-name"><h4 '
             'id="type-dst" class="title-link"><div class="title-name">dst()</div></h4></div>\n'
             '<div class="data-type-desc">'
             '<div class="REFBODY rb-7"><p>A process message term, as <a href="#send-2">send/2</a> takes.</p>\n'
             '<a name="send_anchor"></a></div></div></article></div></section>\n')
ERLANG = page("erlang", "module", "erlang", description(
    '<p>The <a name="flags"></a>process message flags.</p>') + DATA_TYPE + exports(
    func(head("send-2", 'send(Dest, Msg) -&gt; Msg'), (
        '<p>Sends a message to a process (see ' + link("#send-3", "send/3") + ', itself ' +
        link("#send-2", "send/2") + ', ' + link(erlhref("stdlib", "lists.html#member-2"), "lists:member/2") +
        ', its own page ' + link("erlang.html#send-2", "send/2") + ', the guide ' +
        link(erlhref("doc/reference_manual", "processes.html#send", "../../../doc/../"), "send") +
        ', the type ' + link("#type-dst", "dst()") + ', <a href="https://www.erlang.org/doc/">online</a>, '
        'the whole page ' + link(erlhref("stdlib", "lists.html"), "lists") + ', the description ' +
        link("#flags", "flags") + ' and an empty function ' + link("#term_to_binary-1", "term_to_binary/1") +
        ').</p>\n<div class="example example-erl"><pre>\n1&gt; erlang:send(' +
        link(erlhref("stdlib", "lists.html#seq-2"), "x") +
        ', element).\n</pre></div>'),
        types('Dest = <span class="bold_code bc-14"><a href="#type-dst">dst()</a></span> | '
              '<a href="javascript:erlhref(\'../../../doc/../\',\'stdlib\',\'lists.html#seq-2\');">sequence</a>',
              "Msg = term()")),
    func(head("send-3", "send(Dest, Msg, Options) -&gt; Res"),
         '<p>Sends a message with <a name="send_opts"></a>options, as ' + link("#send-2", "send/2") +
         ' (an anchor in a type ' + link("#send_anchor", "dst()") + ').</p>',
         types("Options = [term()]")),
    func(head("term_to_binary-1", "term_to_binary(Term) -&gt; binary()"),
         '\n  <a name="ttb"></a>\n', types("Term = term()")),
    func(head("halt-0", "halt() -&gt; no_return()"), None)),
    nav='<li title="send-2"><a href="erlang.html#send-2">send/2</a></li>')
# a module page without -spec: heads in <div class="func-head">, the types in the exports-tube, callbacks
GEN_SERVER = page("gen_server", "module", "gen_server", description("<p>Generic server behaviour.</p>") + exports(
    func(old_head("call-2", "call(ServerRef, Request) -&gt; Reply") +
         old_head("call-3", "call(ServerRef, Request, Timeout) -&gt; Reply"),
         '<p>Makes a synchronous call to the server process by sending a ' +
         link(erlhref("erts", "erlang.html#send-2"), "message") + ' (a ' + link("lists.html#seq_incr", "sequence") +
         ', and ' + link("#Module:init-1", "init/1") + ').</p>',
         old_types='<div class="REFTYPES rt-4">\n<span class="bold_code fun-param-type">ServerRef = term()</span><br>\n'
         '</div>\n<div class="REFBODY rb-6">The server process element, as returned by ' +
         link("lists.html#member-2", "member/2") + '.</div>\n'),
    func(old_head("Module:init-1", "Module:init(Args) -&gt; Result"),
         '<p>Whenever a server process is started, using <a href="#call-2">call/2</a>, this function is called '
         'by the new process. See <a href="http://erlang.org/">online</a>.</p>',
         old_types='<div class="REFTYPES rt-4">\n<span class="bold_code fun-param-type">Args = term()</span><br>\n'
         '</div>\n')))
LISTS = page("lists", "module", "lists", description("<p>List processing functions.</p>") + exports(
    func('<a name="seq"></a>' + head("seq-2", "seq(From, To) -&gt; Seq") +
         head("seq-3", "seq(From, To, Incr) -&gt; Seq"),
         '<p>Returns a sequence of integers that starts with From and contains the successive results of adding '
         '<a name="seq_incr"></a>Incr to the previous element, until To is reached or passed (see ' +
         link("#member-2", "member/2") + ', ' + link("gen_server.html#Module:init-1", "init/1") + ').</p>',
         types("From = To = Incr = integer()")),
    func(head("member-2", "member(Elem, List) -&gt; boolean()"),
         '<p>Returns true if Elem matches some element of List, otherwise false (not ' + link("#seq", "seq") +
         ' again).</p>\n<div class="example"><pre>\n' + link("gen_server.html#call-2", "call") +
         ' server call process\n</pre></div>'),
    func(head("gl-1", "gl(Term) -&gt; ok"), '<p>Another term.</p>')),
    nav='<li><a href="gen_server.html#call-2">call/2</a></li>')
# no module pages: an application's page, a C library's functions, the index, a module moved to erts
APP = page("STDLIB", "application", "STDLIB", description("<p>The STDLIB application.</p>") + exports(
    func(head("start-0", "start() -&gt; ok"), "<p>Starts the server process.</p>")))
NIF = page("erl_nif", "c-library", "erl_nif", description("<p>NIFs.</p>") + exports(
    func('<div class="cref-head bold_code bc-7"><h4 id="enif_send" class="title-link"><div class="title-name">'
         'int enif_send(ErlNifEnv* env)</div></h4></div>\n', '<p>Sends a message to a process (' +
         link(erlhref("erts", "erlang.html#send-2", "../../../doc/../"), "send/2") + ').</p>')))
STUB = page("zlib", "module", "zlib", description(
    '<p>This module is moved to the ' + link(erlhref("erts", "zlib.html"), "ERTS") + ' application.</p>'))
INDEX = '<html><body><h1>STDLIB</h1><a href="lists.html">lists</a></body></html>\n'

PAGES = {"erts-13.1.5/doc/html/erlang.html": ERLANG, "erts-13.1.5/doc/html/erl_nif.html": NIF,
         "erts-13.1.5/doc/html/index.html": INDEX, "lib/stdlib-4.2/doc/html/gen_server.html": GEN_SERVER,
         "lib/stdlib-4.2/doc/html/lists.html": LISTS, "lib/stdlib-4.2/doc/html/STDLIB_app.html": APP,
         "lib/stdlib-4.2/doc/html/index.html": INDEX, "lib/kernel-8.5.3/doc/html/zlib.html": STUB,
         # a module page outside the reference manuals' folders: not read
         "doc/reference_manual/lists.html": LISTS.replace("lists", "listz")}

PREP = prep_run.Prep(SCRIPT, "--html", 60)


@pytest.fixture
def docs(tmp_path):
    d = tmp_path / "erlang-doc"
    for name, text in PAGES.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)
    (d / "lib/erts-13.1.5/doc/chunks").mkdir(parents=True)
    (d / "lib/erts-13.1.5/doc/chunks/erlang.chunk").write_text("chunk\n")
    (d / "lib/stdlib-4.2/doc/html/lists.html.txt").write_text(LISTS)
    return d


def test_entries_labels_text_and_links(docs, glove, tmp_path):
    corpus, queries, info = PREP.build(docs, glove, tmp_path / "out", 0)
    assert queries == []
    ents = {e["metadata"]["name"]: e for e in corpus}
    # every function and callback of a module page with a description: not erlang:term_to_binary/1 (only an
    # anchor), erlang:halt/0 (no description), the type, the application's page, the C library, the stub
    assert sorted(ents) == ["erlang:send/2", "erlang:send/3", "gen_server:Module:init/1", "gen_server:call/2,3",
                            "lists:gl/1", "lists:member/2", "lists:seq/2,3"]
    # id = order of all function articles: pages by path (erts first), articles in page order
    assert {n: e["id"] for n, e in ents.items()} == {
        "erlang:send/2": 0, "erlang:send/3": 1, "gen_server:call/2,3": 4, "gen_server:Module:init/1": 5,
        "lists:seq/2,3": 6, "lists:member/2": 7, "lists:gl/1": 8}
    assert {n: e["metadata"]["label"] for n, e in ents.items()} == {
        "erlang:send/2": "erlang", "erlang:send/3": "erlang", "gen_server:call/2,3": "gen_server",
        "gen_server:Module:init/1": "gen_server", "lists:seq/2,3": "lists", "lists:member/2": "lists",
        "lists:gl/1": "lists"}
    assert {n: (e["metadata"]["app"], e["metadata"]["page"], e["metadata"]["anchor"]) for n, e in ents.items()} == {
        "erlang:send/2": ("erts", "erts-13.1.5/doc/html/erlang.html", "send-2"),
        "erlang:send/3": ("erts", "erts-13.1.5/doc/html/erlang.html", "send-3"),
        "gen_server:call/2,3": ("stdlib", "lib/stdlib-4.2/doc/html/gen_server.html", "call-2"),
        "gen_server:Module:init/1": ("stdlib", "lib/stdlib-4.2/doc/html/gen_server.html", "Module:init-1"),
        "lists:seq/2,3": ("stdlib", "lib/stdlib-4.2/doc/html/lists.html", "seq-2"),
        "lists:member/2": ("stdlib", "lib/stdlib-4.2/doc/html/lists.html", "member-2"),
        "lists:gl/1": ("stdlib", "lib/stdlib-4.2/doc/html/lists.html", "gl-1")}
    # the name, then the description: no heads, types (in either layout) or <pre>
    assert ents["erlang:send/2"]["text"] == (
        "erlang:send/2: Sends a message to a process (see send/3, itself send/2, lists:member/2, its own page "
        "send/2, the guide send, the type dst(), online, the whole page lists, the description flags and an "
        "empty function term_to_binary/1).")
    assert ents["gen_server:call/2,3"]["text"] == (
        "gen_server:call/2,3: Makes a synchronous call to the server process by sending a message (a sequence, "
        "and init/1).")
    assert ents["lists:member/2"]["text"] == (
        "lists:member/2: Returns true if Elem matches some element of List, otherwise false (not seq again).")
    assert PREP.build(docs, glove, tmp_path / "short", 0, words=4)[0][0]["text"] == (
        "erlang:send/2: Sends a message to")
    idof, links = prep_run.link_ids(ents)
    # send/2: send/3 on the page, lists:member/2 through erlhref; not itself (#send-2 or its page), the guide,
    # the type, the URL, the whole page, the module's description, a function without a description, the
    # types' links and the <pre>'s
    assert links["erlang:send/2"] == sorted([idof["erlang:send/3"], idof["lists:member/2"]])
    # send/3 -> send/2 repeats send/2 -> send/3: one per pair (corpus.py)
    assert links["erlang:send/3"] == []
    # call: erlang:send/2 through erlhref, lists:seq through an anchor in its description, a callback on the
    # page; not lists:member/2 in the types' description
    assert links["gen_server:call/2,3"] == sorted(
        [idof["erlang:send/2"], idof["lists:seq/2,3"], idof["gen_server:Module:init/1"]])
    # init -> call repeats call -> init
    assert links["gen_server:Module:init/1"] == []
    # seq: member on the page, a callback on another page of the application (one per pair: call -> init is
    # another pair)
    assert links["lists:seq/2,3"] == sorted([idof["lists:member/2"], idof["gen_server:Module:init/1"]])
    # member -> seq (through the alias before its heads) repeats seq -> member; the <pre>'s link is dropped
    assert links["lists:member/2"] == []
    assert links["lists:gl/1"] == []
    assert all(x["kind"] == "xref" for e in corpus for x in e["links"])
    assert info["n"] == 7 and info["labels"] == 3 and info["links"] == 7


def test_held_out_queries_cut_their_links(docs, glove, tmp_path):
    PREP.held_out(docs, glove, tmp_path / "out", 2)


def test_a_folder_without_module_pages_is_refused_with_a_message(docs, glove, tmp_path):
    # the application's page, the C library, the indexes and a module page outside the reference manuals
    for name in ("erts-13.1.5/doc/html/erlang.html", "lib/stdlib-4.2/doc/html/gen_server.html",
                 "lib/stdlib-4.2/doc/html/lists.html", "lib/kernel-8.5.3/doc/html/zlib.html"):
        (docs / name).unlink()
    PREP.refused(docs, glove, tmp_path / "bad", "not erlang-doc's documentation")
