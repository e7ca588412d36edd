"""prep_octave.py on a hand-made manual in the HTML texinfo writes for
octave-doc: the label (the chapter a page's "up" links lead to, below the Top
node), which definition blocks become entries (a name, on a page below a
chapter), the text (no examples), which "See also" references become links
(through the <span id="XREF..."> anchor before a block and its <dt> ids, on
the same page or another; not to the entry itself, to an entry off the
tree, to sections or out of the manual; one per pair), and the held-out
queries with their links cut."""
import os

import pytest
from tinyglove import glove  # noqa: F401 (a fixture)
import prep_run

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prep_octave.py")
WORDS = ["sum", "array", "elements", "plot", "line", "axes", "string", "return", "matrix", "value"]


def page(title, up, body):
    """one node's page: its <title>, its "up" link, its body"""
    link = '<link href="%s" rel="up" title="up">\n' % up if up else ""
    return ('<!DOCTYPE html>\n<html><head><title>%s (GNU Octave (version 7.3.0))</title>\n'
            '<link href="index.html" rel="start" title="Top">\n%s</head><body>\n'
            '<div class="nav-panel"><p>Up: <a href="%s" accesskey="u" rel="up">up</a></p></div>\n'
            '%s</body></html>\n' % (title, link, up or "index.html", body))


def block(name, body, see=(), dt2=None):
    """one definition block as texinfo writes it for octave-doc, with its
    "See also" line"""
    dt = ('<dt id="index-%s"><span class="category">: </span><span><em></em> <strong>%s</strong> '
          '<em>(<var>x</var>)</em><a href=\'#index-%s\' class=\'copiable-anchor\'> &para;</a></span></dt>\n'
          % (name, name, name))
    if dt2:
        dt += '<dt id="index-%s"><span class="category">: </span><span><strong>%s</strong></span></dt>\n' % (dt2, dt2)
    also = ""
    if see:
        also = "<p><strong>See also:</strong> %s.\n</p>" % ", ".join('<a href="%s">%s</a>' % (h, h) for h in see)
    return ('<span id="XREF%s"></span><dl class="def">\n%s<dd><p>%s\n</p>\n'
            '<div class="example">\n<pre class="example">plot (line, axes)\n</pre></div>\n%s</dd></dl>\n'
            % (name, dt, body, also))


SUMS = page("Sums and Products", "Arithmetic.html",
            block("sum", "sum the elements of an array.",
                  ["#XREFsum", "#XREFprod", "Two-D-Plots.html#XREFplot", "Two-D-Plots.html#XREFplot",
                   "Arithmetic.html", "https://octave.org/#XREFsum", "Loose.html#XREFloose"]) +
            block("prod", "return the product of the elements.", ["#index-sum_x"], dt2="prod_x"))
ARITH = page("Arithmetic", "index.html", "<p>Chapter text.</p>\n" + block("cumsum", "sum matrix value.",
                                                                         ["Sums-and-Products.html#XREFsum"]))
PLOTS = page("Two-Dimensional Plots", "High_002dLevel-Plotting.html",
             block("plot", "plot a line on the axes.", ["Sums-and-Products.html#index-sum"]))
HIGH = page("High-Level Plotting", "Plotting.html", "<p>Section.</p>\n")
PLOTTING = page("Plotting", "index.html", "<p>Chapter.</p>\n")
# a page whose "up" leads nowhere, and two on a loop: their blocks have no chapter
LOOSE = page("Loose", "Missing.html", block("loose", "string value.", ["Sums-and-Products.html#XREFsum"]))
LOOP_A = page("Loop A", "Loop-B.html", block("loopa", "string value."))
LOOP_B = page("Loop B", "Loop-A.html", "")
TOP = page("Top", None, '<p><a href="Arithmetic.html">Arithmetic</a></p>\n')

PREP = prep_run.Prep(SCRIPT, "--html", 8)


@pytest.fixture
def manual(tmp_path):
    d = tmp_path / "octave.html"
    d.mkdir()
    for name, text in [("index.html", TOP), ("Arithmetic.html", ARITH), ("Sums-and-Products.html", SUMS),
                       ("Plotting.html", PLOTTING), ("High_002dLevel-Plotting.html", HIGH),
                       ("Two-D-Plots.html", PLOTS), ("Loose.html", LOOSE), ("Loop-A.html", LOOP_A),
                       ("Loop-B.html", LOOP_B)]:
        (d / name).write_text(text)
    return d


def test_entries_labels_text_and_links(manual, glove, tmp_path):
    corpus, queries, info = PREP.build(manual, glove, tmp_path / "out", 0)
    assert queries == []
    ents = {e["metadata"]["name"]: e for e in corpus}
    # loose (its "up" leads nowhere) and loopa (a loop of "up" links) have no chapter: not entries
    assert sorted(ents) == ["cumsum", "plot", "prod", "sum"]
    label = {n: e["metadata"]["label"] for n, e in ents.items()}
    # a section's chapter is the node right below Top, however deep the section
    assert label == {"cumsum": "arithmetic", "sum": "arithmetic", "prod": "arithmetic", "plot": "plotting"}
    assert ents["plot"]["metadata"]["page"] == "Two-D-Plots.html"
    # the description without the example block, the "See also" line kept, first --words words
    assert ents["cumsum"]["text"] == "cumsum: sum matrix value. See also: Sums-and-Products.html#XREFsum ."
    assert ents["prod"]["text"] == "prod: return the product of the elements. See also:"
    idof, links = prep_run.link_ids(ents)
    # sum: itself, a section, a URL, an entry off the tree and a repeated reference are dropped
    assert links["sum"] == sorted([idof["prod"], idof["plot"]])
    # prod -> sum (through a <dt> id) and plot -> sum repeat sum's: one per pair (corpus.py)
    assert links["prod"] == [] and links["plot"] == []
    # cumsum -> sum, from the chapter's own page to a section's
    assert links["cumsum"] == [idof["sum"]]
    assert all(x["kind"] == "xref" for e in corpus for x in e["links"])
    assert info["n"] == 4 and info["labels"] == 2


def test_held_out_queries_cut_their_links(manual, glove, tmp_path):
    PREP.held_out(manual, glove, tmp_path / "out", 1)


def test_a_folder_without_the_manual_is_refused_with_a_message(tmp_path, glove):
    d = tmp_path / "noindex"
    d.mkdir()
    (d / "Arithmetic.html").write_text(ARITH)
    PREP.refused(d, glove, tmp_path / "bad", "not octave-doc's HTML manual")
