"""prep_handbook.py on a hand-made handbook in the HTML Publican writes for
debian-handbook: which sections become entries (every section at any depth
that lies in a chapter or appendix and has words of its own; not the
chapters' own text, nor a section whose words are all in its subsections,
nor sections of the preface or of pages whose "up" links lead nowhere, loop
or reach no chapter), the label (the chapter or appendix of the page, the
page itself or up its <link rel="up">, without its number), the text (the
title without its number, the section's own words without the banner and
navigation, its title heading, its subsections, the table of contents,
<pre> and footnotes), which links are kept (to the section holding the
anchor, the page's section without one; not to the section itself, to a
chapter, to a section that is no entry, to an anchor that is nowhere, out of
the documentation, in the table of contents, a <pre> or the footnotes; one
per pair), and the held-out queries with their links cut."""
import os

import pytest
from tinyglove import glove  # noqa: F401 (a fixture)
import prep_run

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prep_handbook.py")
WORDS = ["apt", "packages", "sources", "update", "cache", "proxy", "debian", "ubuntu", "raid", "server"]


def page(title, up, kind, body):
    """one page as Publican writes it: <title>, <link rel="up"> (none when up
    is None), the banner and navigation (its "Up" link is "#"), the main
    <div class=kind> holding body"""
    up_link = '<link rel="up" href="%s" title="Up there" />' % up if up else ""
    nav = ('<ul class="docnav%s"><li class="previous"><a accesskey="p" href="index.html"><strong>Prev</strong>'
           'Debian proxy</a></li><li class="up"><a accesskey="u" href="#"><strong>Up</strong></a></li>'
           '<li class="next"><a accesskey="n" href="sect.apt-cache.html#sidebar.cache"><strong>Next</strong>'
           '</a></li></ul>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            '<head><title xmlns:d="http://docbook.org/ns/docbook">%s</title><link rel="home" href="index.html" />'
            '%s<link rel="prev" href="index.html" title="Prev" /></head><body><div id="banner">'
            '<a href="http://debian-handbook.info/get/"><span class="text">Download the ebook</span></a></div>'
            '<p id="title"><a class="left" href="apt.html#sect.sources">Debian packages</a></p>%s'
            '<div xml:lang="en-US" class="%s" lang="en-US">%s</div>%s</body></html>\n'
            % (title, up_link, nav % " top", kind, body, nav % ""))


def heading(h, anchor, title):
    a = '<a xmlns="" id="%s"></a>' % anchor if anchor else ""
    return '<div class="titlepage"><div><div><h%d class="title">%s%s</h%d></div></div></div>' % (h, a, title, h)


def section(h, anchor, title, body):
    return '<div class="section">%s%s</div>' % (heading(h, anchor, title), body)


def para(text):
    return '<div class="para">\n\t\t\t%s\n\t\t</div>' % text


def sidebar(anchor, kind, title, body):
    return ('<div class="sidebar"><a xmlns="" id="%s"></a><div class="titlepage"><div><div><p class="title"><strong>'
            '<span class="emphasis"><em>%s</em></span> %s</strong></p></div></div></div>%s</div>'
            % (anchor, kind, title, body))


APT = page("Chapter 6. Maintenance and Updates: The APT Tools", "index.html", "chapter", (
    heading(1, "apt", "Chapter 6. Maintenance and Updates: The APT Tools") +
    '<div class="toc"><dl class="toc"><dt><span class="section"><a href="apt.html#sect.sources">6.1. Sources'
    '</a></span></dt><dt><span class="section"><a href="sect.apt-get.html">6.2. apt</a></span></dt></dl></div>' +
    '<div class="highlights"><div class="para">Debian packages raid</div></div>' + para("Chapter server words") +
    section(2, "sect.sources", '6.1. Filling in the <code class="filename">sources.list</code> File',
            para('The sources of packages, then\n<a class="xref" href="sect.apt-get.html#sect.apt-update">update'
                 '</a>.') +
            section(3, None, "6.1.1. Syntax",
                    para('Debian packages, <a href="sect.apt-cache.html#sect.apt-cache">cache</a>.')))))
CENSUS = page("Appendix A. Derivative Distributions", "index.html", "appendix", (
    heading(1, "derivative-distributions", "Appendix A. Derivative Distributions") +
    section(2, "sect.census", "A.1. Census and Cooperation",
            para('Ubuntu and Debian (the <a href="apt.html">chapter</a>, <a href="sect.apt-get.html">apt</a>)'))))
APT_CACHE = page("6.3. The apt-cache Command", "apt.html", "section", (
    heading(2, "sect.apt-cache", '6.3. The <code class="command">apt-cache</code> Command') +
    para("The cache of packages.") +
    sidebar("sidebar.cache", "VOCABULARY", "Cache",
            para('A cache is a proxy store (<a href="sect.empty.html#sect.full">full</a>).'))))
APT_GET = page("6.2. aptitude, apt-get, and apt Commands", "apt.html", "section", (
    heading(2, "sect.apt-get", '6.2. <code class="command">aptitude</code>, <code class="command">apt-get</code>, '
            'and <code class="command">apt</code> Commands') +
    '<a id="id-1.9.17.2" class="indexterm"></a>' +
    '<div class="toc"><dl class="toc"><dt><a href="derivative-distributions.html#sect.census">ubuntu</a></dt>'
    '</dl></div>' +
    para('APT is a vast project: the <a class="xref" href="sect.apt-cache.html#sidebar.cache"><span class="emphasis">'
         '<em>VOCABULARY</em></span> Cache</a> (again <a href="sect.apt-cache.html">cache</a>), the\n'
         '<a href="apt.html#sect.sources">sources</a>, the chapter <a href="apt.html">chapter</a>, itself\n'
         '<a href="#sect.apt-get">here</a> and <a href="sect.apt-get.html">here</a>, its subsection\n'
         '<a href="#sect.apt-update">update</a>, a section without words <a href="sect.empty.html">empty</a>, the\n'
         'preface <a href="sect.who.html">who</a>, <a href="https://www.debian.org/">online</a>,\n'
         '<a href="mailto:debian-doc@lists.debian.org">mail</a>, <a href="images/apt.png">picture</a>, an anchor\n'
         'that is nowhere <a href="apt.html#nowhere">raid</a>.') +
    '<div class="informalexample"><pre class="screen"><code class="computeroutput"># </code>'
    '<strong class="userinput"><code>apt update</code></strong> '
    '<a href="derivative-distributions.html#sect.census">ubuntu</a></pre></div>' +
    '<div class="footnotes"><div class="footnote"><div class="para"><a href="#id-f">[1]</a> ubuntu footnote '
    '<a href="derivative-distributions.html#sect.census">census</a></div></div></div>' +
    section(3, "sect.apt-update", "6.2.1. Initialization",
            para('To update the packages (see <a href="derivative-distributions.html#sect.census">ubuntu</a> and\n'
                 '<a href="#sect.apt-get">apt</a>):') +
            sidebar("sidebar.apt-pdiff", "TIP", "Incremental updates", para("The update of sources.")) +
            section(4, "sect.deep", "6.2.1.1. Deep", para('A proxy server (<a href="#sidebar.apt-pdiff">tip</a>).'))) +
    '<a id="id-1.9.17.20" class="indexterm"></a>'))
EMPTY = page("6.4. Empty", "apt.html", "section", (
    heading(2, "sect.empty", "6.4. Empty") + '<a id="id-1.9.18.2" class="indexterm"></a>\n\t' +
    section(3, "sect.full", "6.4.1. Full", para("An ubuntu server."))))
PREFACE = page("Preface", "index.html", "preface", heading(1, "preface", "Preface") + para("Debian packages."))
# below the preface, up to the book: no chapter on the way
WHO = page("1. Who Is This Book For?", "preface.html", "section",
           heading(2, "sect.who", "1. Who Is This Book For?") + para("Debian server."))
# an "up" that leads to no page, none at all, and two pages on a loop
LOOSE = page("9.9. Loose", "missing.html", "section",
             heading(2, "sect.loose", "9.9. Loose") + para('Loose <a href="sect.apt-get.html">apt</a>'))
ORPHAN = page("9.8. Orphan", None, "section",
              heading(2, "sect.orphan", "9.8. Orphan") + para('Orphan <a href="sect.apt-get.html">apt</a>'))
LOOP_A = page("9.1. Loop A", "loop-b.html", "section",
              heading(2, "sect.loop-a", "9.1. Loop A") + para('Loop <a href="sect.apt-get.html">apt</a>'))
LOOP_B = page("9.2. Loop B", "loop-a.html", "section", heading(2, "sect.loop-b", "9.2. Loop B") + para("Loop raid"))
TOP = ('<html><head><title>The Debian Administrator\'s Handbook</title></head><body><div xml:lang="en-US" '
       'class="book"><div class="toc"><a href="apt.html">apt</a></div></div></body></html>\n')

PAGES = [("index.html", TOP), ("apt.html", APT), ("derivative-distributions.html", CENSUS),
         ("sect.apt-cache.html", APT_CACHE), ("sect.apt-get.html", APT_GET), ("sect.empty.html", EMPTY),
         ("preface.html", PREFACE), ("sect.who.html", WHO), ("loose.html", LOOSE), ("orphan.html", ORPHAN),
         ("loop-a.html", LOOP_A), ("loop-b.html", LOOP_B)]

PREP = prep_run.Prep(SCRIPT, "--html", 60)


@pytest.fixture
def docs(tmp_path):
    d = tmp_path / "html"
    d.mkdir()
    for name, text in PAGES:
        (d / name).write_text(text)
    (d / "Common_Content").mkdir()
    (d / "Common_Content" / "default.css").write_text("body {}\n")
    return d


def test_entries_labels_text_and_links(docs, glove, tmp_path):
    corpus, queries, info = PREP.build(docs, glove, tmp_path / "out", 0)
    assert queries == []
    ents = {e["metadata"]["name"]: e for e in corpus}
    # every section with words of its own below a chapter or appendix, at any depth; not the chapters'
    # own words, "Empty" (its words are all in "Full"), the preface's, nor those whose "up" leads nowhere
    assert sorted(ents) == ["Census and Cooperation", "Deep", "Filling in the sources.list File", "Full",
                            "Initialization", "Syntax", "The apt-cache Command",
                            "aptitude, apt-get, and apt Commands"]
    # id = order of all sections: pages by file name, sections in page order (those that are no entry count)
    assert {n: e["id"] for n, e in ents.items()} == {
        "Filling in the sources.list File": 0, "Syntax": 1, "Census and Cooperation": 2,
        "The apt-cache Command": 7, "aptitude, apt-get, and apt Commands": 8, "Initialization": 9, "Deep": 10,
        "Full": 12}
    # the chapter or appendix: the page itself or its "up"; its title without its number
    apt = "maintenance and updates: the apt tools"
    assert {n: e["metadata"]["label"] for n, e in ents.items()} == {
        "Filling in the sources.list File": apt, "Syntax": apt, "Census and Cooperation": "derivative distributions",
        "The apt-cache Command": apt, "aptitude, apt-get, and apt Commands": apt, "Initialization": apt,
        "Deep": apt, "Full": apt}
    assert {n: (e["metadata"]["page"], e["metadata"]["kind"], e["metadata"]["anchor"]) for n, e in ents.items()} == {
        "Filling in the sources.list File": ("apt.html", "sect1", "sect.sources"), "Syntax": ("apt.html", "sect2", ""),
        "Census and Cooperation": ("derivative-distributions.html", "sect1", "sect.census"),
        "The apt-cache Command": ("sect.apt-cache.html", "sect1", "sect.apt-cache"),
        "aptitude, apt-get, and apt Commands": ("sect.apt-get.html", "sect1", "sect.apt-get"),
        "Initialization": ("sect.apt-get.html", "sect2", "sect.apt-update"),
        "Deep": ("sect.apt-get.html", "sect3", "sect.deep"), "Full": ("sect.empty.html", "sect2", "sect.full")}
    # the title without its number first; no banner, navigation, title heading, subsections, table of contents,
    # <pre> or footnotes; a sidebar's title and words are kept
    assert ents["aptitude, apt-get, and apt Commands"]["text"] == (
        "aptitude, apt-get, and apt Commands: APT is a vast project: the VOCABULARY Cache (again cache ), the "
        "sources , the chapter chapter , itself here and here , its subsection update , a section without words "
        "empty , the preface who , online , mail , picture , an anchor that is nowhere raid .")
    assert ents["Initialization"]["text"] == (
        "Initialization: To update the packages (see ubuntu and apt ): TIP Incremental updates The update of sources.")
    assert ents["Filling in the sources.list File"]["text"] == (
        "Filling in the sources.list File: The sources of packages, then update .")
    assert ents["The apt-cache Command"]["text"] == (
        "The apt-cache Command: The cache of packages. VOCABULARY Cache A cache is a proxy store ( full ).")
    assert PREP.build(docs, glove, tmp_path / "short", 0, words=3)[0][0]["text"] == (
        "Filling in the sources.list File: The sources of")
    idof, links = prep_run.link_ids(ents)
    # apt-get: the sidebar's anchor names its section; a second link to it, itself (#... and its own file),
    # the chapter, a section without words, the preface's, an anchor that is nowhere, a URL, mail, a picture,
    # the table of contents, the <pre> and the footnotes are dropped; its own subsection is another entry
    assert links["aptitude, apt-get, and apt Commands"] == sorted(
        [idof["The apt-cache Command"], idof["Filling in the sources.list File"], idof["Initialization"]])
    # a page without an anchor names its section (the chapter's page names no entry)
    assert links["Census and Cooperation"] == [idof["aptitude, apt-get, and apt Commands"]]
    # to the parent section: one link per pair, and apt-get already links here
    assert links["Initialization"] == [idof["Census and Cooperation"]]
    # an anchor in the parent section (outside this subsection) names the parent
    assert links["Deep"] == [idof["Initialization"]]
    assert links["Filling in the sources.list File"] == [idof["Initialization"]]
    assert links["Syntax"] == [idof["The apt-cache Command"]]
    assert links["The apt-cache Command"] == [idof["Full"]]
    assert links["Full"] == []
    assert all(x["kind"] == "xref" for e in corpus for x in e["links"])
    assert info["n"] == 8 and info["labels"] == 2 and info["links"] == 9


def test_held_out_queries_cut_their_links(docs, glove, tmp_path):
    PREP.held_out(docs, glove, tmp_path / "out", 2)


def test_a_folder_without_the_handbook_is_refused_with_a_message(docs, glove, tmp_path):
    # every page but the book's index.html
    (docs / "index.html").unlink()
    PREP.refused(docs, glove, tmp_path / "bad", "not debian-handbook's HTML")
