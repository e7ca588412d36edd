"""prep_postgres.py on a hand-made documentation in the HTML DocBook XSL
writes for postgresql-doc-15: which pages become entries (section and
reference pages below a chapter; not the book, parts, chapters, references,
appendices, nor pages whose "Up" links lead nowhere, loop or reach no
chapter), the label (the nearest chapter, appendix or reference up the "Up"
links, without its number), the text (the title without its number, the
main content without navigation, table of contents and <pre>), which links
are kept (to another entry's page; not to the page itself, to a page that is
no entry, out of the documentation, in the table of contents or a <pre>;
one per pair), and the held-out queries with their links cut."""
import os

import pytest
from tinyglove import glove  # noqa: F401 (a fixture)
import prep_run

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prep_postgres.py")
WORDS = ["installation", "select", "interface", "connect", "error", "codes", "table", "rows", "database", "server"]


def page(title, up, kind, body):
    """one page as DocBook XSL writes it: <title>, the navigation header with
    its "Up" link (none when up is None), the main <div class=kind> with its
    title heading, the navigation footer"""
    up_a = '<a accesskey="u" href="%s" title="Up there">Up</a>' % up if up else ""
    nav = ('<table summary="Navigation %%s"><tr><td><a accesskey="p" href="index.html" title="Prev">Prev</a> </td>'
           '<td>%s</td><th>Chapter 9. Elsewhere</th><td><a accesskey="h" href="index.html" title="Home">Home</a>'
           '</td></tr></table>' % up_a)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            '<head><title>%s</title><link rel="prev" href="index.html" title="Prev" /></head>'
            '<body id="docContent"><div class="navheader">%s<hr /></div>'
            '<div class="%s" id="X"><div class="titlepage"><div><div><h2 class="title">%s</h2></div></div></div>\n'
            '%s</div><div class="navfooter"><hr />%s</div></body></html>\n'
            % (title, nav % "header", kind, title, body, nav % "footer"))


def toc(*pages):
    return ('<div class="toc"><p><strong>Table of Contents</strong></p><dl class="toc">%s</dl></div>'
            % "".join('<dt><span class="sect1"><a href="%s">%s</a></span></dt>' % (p, p) for p in pages))


INSTALL = page("1.1. Installation", "start.html", "sect1", (
    toc("start-install.html#INSTALL-X", "spi-connect.html") +
    '<p>Install the <span class="productname">database</span> server, then\n'
    '<a class="xref" href="sql-select.html#SQL-SELECT-DESC" title="SELECT">select</a> rows\n'
    '(again <a class="link" href="sql-select.html">select</a>, here <a href="#INSTALL-X">here</a>,\n'
    '<a href="start-install.html#Y">installation</a>, the chapter <a href="start.html">table</a>, a loose\n'
    '<a href="loose.html">page</a>, <a href="https://www.postgresql.org/docs/sql-select.html">online</a>,\n'
    '<a href="mailto:pgsql-docs@lists.postgresql.org">mail</a>, <a href="pagelayout.svg">codes</a>).</p>\n'
    '<pre class="programlisting">SELECT error FROM codes; <a href="spi-interface.html">interface</a></pre>\n'
    '<div class="note"><h3 class="title">Note</h3><p>See the server\n'
    '<a class="xref" href="spi-interface.html#SPI-INTERFACE">interface</a></p></div>\n'
    '<pre class="screen">$ connect error</pre>'))
START = page("Chapter 1. Getting Started", "tutorial.html", "chapter", toc("start-install.html"))
TUTORIAL = page("Part I. Tutorial", "index.html", "part", toc("start.html"))
SPI = page("Chapter 45. Server Programming Interface", "server-programming.html", "chapter",
           toc("spi-interface.html", "spi-connect.html"))
SERVER_PROGRAMMING = page("Part V. Server Programming", "index.html", "part", toc("spi.html"))
SPI_INTERFACE = page("45.1. Interface Functions", "spi.html", "sect1",
                     toc("spi-connect.html") + "<p>The interface functions of the server.</p>")
SPI_CONNECT = page("SPI_connect", "spi-interface.html", "refentry",
                   '<div class="refnamediv"><h2>SPI_connect</h2><p>SPI_connect — connect a C function</p></div>'
                   '<p>Connect to the <a class="xref" href="errcodes-table.html">error codes</a> table.</p>')
REFERENCE = page("Part VI. Reference", "index.html", "part", toc("sql-commands.html"))
SQL_COMMANDS = page("SQL Commands", "reference.html", "reference", toc("sql-select.html"))
SQL_SELECT = page("SELECT", "sql-commands.html", "refentry",
                  '<div class="refnamediv"><h2>SELECT</h2><p>SELECT — retrieve rows from a table</p></div>')
APPENDIX = page("Appendix A. PostgreSQL Error Codes", "appendixes.html", "appendix",
                toc("errcodes-table.html") + "<p>Error codes of the server.</p>")
APPENDIXES = page("Part VIII. Appendixes", "index.html", "part", toc("errcodes-appendix.html"))
ERRCODES = page("A.1. Error Code Table", "errcodes-appendix.html", "sect1", "<p>The error codes table.</p>")
PREFACE = page("Preface", "index.html", "preface", toc("intro-whatis.html"))
# below the preface, up to the book: no chapter on the way
WHATIS = page("1. What Is PostgreSQL?", "preface.html", "sect1", "<p>The database server.</p>")
# an "Up" that leads to no page, one that is missing, and two pages on a loop
LOOSE = page("9.9. Loose", "missing.html", "sect1", '<p>Loose <a href="sql-select.html">select</a></p>')
ORPHAN = page("9.8. Orphan", None, "sect1", '<p>Orphan <a href="sql-select.html">select</a></p>')
LOOP_A = page("9.1. Loop A", "loop-b.html", "sect1", '<p>Loop <a href="sql-select.html">select</a></p>')
LOOP_B = page("9.2. Loop B", "loop-a.html", "sect1", "<p>Loop table</p>")
BOOKINDEX = page("Index", "index.html", "index", '<p><a href="sql-select.html">select</a></p>')
TOP = ('<html><head><title>PostgreSQL 15.18 Documentation</title></head><body><div class="book" id="POSTGRES">'
       + toc("tutorial.html", "reference.html") + "</div></body></html>\n")

PAGES = [("index.html", TOP), ("start-install.html", INSTALL), ("start.html", START), ("tutorial.html", TUTORIAL),
         ("spi.html", SPI), ("server-programming.html", SERVER_PROGRAMMING), ("spi-interface.html", SPI_INTERFACE),
         ("spi-connect.html", SPI_CONNECT), ("reference.html", REFERENCE), ("sql-commands.html", SQL_COMMANDS),
         ("sql-select.html", SQL_SELECT), ("errcodes-appendix.html", APPENDIX), ("appendixes.html", APPENDIXES),
         ("errcodes-table.html", ERRCODES), ("preface.html", PREFACE), ("intro-whatis.html", WHATIS),
         ("loose.html", LOOSE), ("orphan.html", ORPHAN), ("loop-a.html", LOOP_A), ("loop-b.html", LOOP_B),
         ("bookindex.html", BOOKINDEX)]

PREP = prep_run.Prep(SCRIPT, "--html", 40)


@pytest.fixture
def docs(tmp_path):
    d = tmp_path / "html"
    d.mkdir()
    for name, text in PAGES:
        (d / name).write_text(text)
    (d / "stylesheet.css").write_text("body {}\n")
    return d


def test_entries_labels_text_and_links(docs, glove, tmp_path):
    corpus, queries, info = PREP.build(docs, glove, tmp_path / "out", 0)
    assert queries == []
    ents = {e["metadata"]["page"]: e for e in corpus}
    # only section and reference pages whose "Up" links reach a chapter, appendix or reference
    assert sorted(ents) == ["errcodes-table.html", "spi-connect.html", "spi-interface.html", "sql-select.html",
                            "start-install.html"]
    # id = order of the section and reference pages by file name (those without a chapter count too)
    assert {p: e["id"] for p, e in ents.items()} == {
        "errcodes-table.html": 0, "spi-connect.html": 6, "spi-interface.html": 7, "sql-select.html": 8,
        "start-install.html": 9}
    label = {p: e["metadata"]["label"] for p, e in ents.items()}
    # the nearest chapter, appendix or reference, however far up; its title without its number
    assert label == {"start-install.html": "getting started", "spi-interface.html": "server programming interface",
                     "spi-connect.html": "server programming interface", "sql-select.html": "sql commands",
                     "errcodes-table.html": "postgresql error codes"}
    assert {p: (e["metadata"]["name"], e["metadata"]["kind"]) for p, e in ents.items()} == {
        "start-install.html": ("Installation", "sect1"), "spi-interface.html": ("Interface Functions", "sect1"),
        "spi-connect.html": ("SPI_connect", "refentry"), "sql-select.html": ("SELECT", "refentry"),
        "errcodes-table.html": ("Error Code Table", "sect1")}
    # no navigation, title heading, table of contents or <pre>: the title without its number first
    assert ents["start-install.html"]["text"] == (
        "Installation: Install the database server, then select rows (again select , here here , installation , "
        "the chapter table , a loose page , online , mail , codes ). Note See the server interface")
    assert ents["sql-select.html"]["text"] == "SELECT: SELECT SELECT — retrieve rows from a table"
    assert ents["errcodes-table.html"]["text"] == "Error Code Table: The error codes table."
    assert PREP.build(docs, glove, tmp_path / "short", 0, words=3)[0][0]["text"] == "Error Code Table: The error codes"
    idof, links = prep_run.link_ids(ents)
    # start-install: itself (#... and its own file), the chapter, a page off the tree, a URL, mail, a picture,
    # a second link to sql-select, the table of contents and the <pre> are dropped; a link in a note is kept
    assert links["start-install.html"] == sorted([idof["sql-select.html"], idof["spi-interface.html"]])
    # across chapters, to a page without a fragment
    assert links["spi-connect.html"] == [idof["errcodes-table.html"]]
    # spi-interface's table of contents names spi-connect: no link
    assert links["spi-interface.html"] == [] and links["sql-select.html"] == [] and links["errcodes-table.html"] == []
    assert all(x["kind"] == "xref" for e in corpus for x in e["links"])
    assert info["n"] == 5 and info["labels"] == 4 and info["links"] == 3


def test_held_out_queries_cut_their_links(docs, glove, tmp_path):
    PREP.held_out(docs, glove, tmp_path / "out", 2)


def test_a_folder_without_the_documentation_is_refused_with_a_message(docs, glove, tmp_path):
    # every page but the book's index.html
    (docs / "index.html").unlink()
    PREP.refused(docs, glove, tmp_path / "bad", "not postgresql-doc's HTML documentation")
