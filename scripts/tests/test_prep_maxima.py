"""prep_maxima.py on a hand-made manual in the HTML texinfo writes for
maxima-doc: which definition blocks become entries (a category box), the
label (first category), the text (no examples, no category box), which
references become links (through <dt> ids and the <span id> anchors before a
block, on the same page or another; not to the entry itself, to entries
without a category, to sections or out of the manual; one per pair), nested
blocks, the pages read, and the held-out queries with their links cut."""
import os

import pytest
from tinyglove import glove  # noqa: F401 (a fixture)
import prep_run

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prep_maxima.py")
WORDS = ["solve", "equation", "root", "matrix", "plot", "integral", "list", "variable", "default", "value"]


def block(anchor, name, kind, body, cats=(), hrefs=(), extra_dt=None):
    """one definition block as texinfo writes it"""
    links = " ".join('<code><a href="%s">%s</a></code>' % (h, h.split("#")[-1]) for h in hrefs)
    box = ""
    if cats:
        box = ('<div class=categorybox>\nCategories:\n' +
               "\n&middot;\n".join('<a href="maxima_9.html#Category_003a-%s">%s</a>' % (c.replace(" ", "-"), c)
                                   for c in cats) + "\n&middot;\n</div>\n")
    dt2 = ""
    if extra_dt:
        dt2 = ('<dt id="index-%s"><span class="category">%s: </span><span><strong>%s</strong></span></dt>\n'
               % (extra_dt, kind, extra_dt))
    return ('<span id="%s"></span><span id="Item_003a-%s"></span><dl class="def">\n'
            '<dt id="index-%s"><span class="category">%s: </span><span><strong>%s</strong>'
            '<a href="#index-%s" class="copiable-anchor"> &para;</a></span></dt>\n%s'
            '<dd><p>%s %s</p>\n<pre class="example">(%%i1) plot matrix integral</pre>\n%s</dd></dl>\n'
            % (anchor, anchor, anchor, kind, name, anchor, dt2, body, links, box))


PAGE1 = ('<html><body><div class="section"><h3 class="section">1.1 Equations</h3>\n'
         '<p>See <a href="#solve">solve</a> for <a href="maxima_2.html#Plotting">a section</a>.</p>\n' +
         block("solve", "solve", "Function", "solve an equation for a root.", ["Algebraic equations", "Numerical"],
               ["#solve", "#algsys", "maxima_2.html#plot2d", "#nocat", "http://x.org/#solve", "maxima_2.html#plot2d"],
               extra_dt="solve_x") +
         block("algsys", "algsys", "Function", "solve a list of equation values.", ["Algebraic equations"],
               ["#index-solve_x"]) +
         block("nocat", "nocat", "Option variable", "default value of a variable.", [], ["#solve"]) +
         '</div></body></html>\n')
# a block nested in another's description is an entry of its own
PAGE2 = ('<html><body><div class="section"><span id="Plotting"></span><h3>2 Plotting</h3>\n' +
         block("plot2d", "plot2d", "Function",
               "plot a list." + block("plot_opt", "plot_opt", "Plot option", "default plot value.", ["Plot options"],
                                      ["maxima_1.html#algsys"]),
               ["Plotting"], ["maxima_1.html#solve"]) +
         '</div></body></html>\n')

PREP = prep_run.Prep(SCRIPT, "--html", 8)


@pytest.fixture
def manual(tmp_path):
    d = tmp_path / "html"
    d.mkdir()
    (d / "maxima_1.html").write_text(PAGE1)
    (d / "maxima_2.html").write_text(PAGE2)
    # the whole manual again on one page, and the contents: not read
    (d / "maxima_singlepage.html").write_text(PAGE1 + PAGE2)
    (d / "maxima_toc.html").write_text(PAGE1)
    return d


def test_entries_labels_text_and_links(manual, glove, tmp_path):
    corpus, queries, info = PREP.build(manual, glove, tmp_path / "out", 0)
    assert queries == []
    ents = {e["metadata"]["name"]: e for e in corpus}
    # "nocat" has no category box: not an entry; singlepage and toc are not read (no duplicates)
    assert sorted(ents) == ["algsys", "plot2d", "plot_opt", "solve"]
    assert len(corpus) == 4
    label = {n: e["metadata"]["label"] for n, e in ents.items()}
    assert label == {"solve": "algebraic equations", "algsys": "algebraic equations", "plot2d": "plotting",
                     "plot_opt": "plot options"}
    assert ents["solve"]["metadata"]["kind"] == "Function"
    assert ents["plot_opt"]["metadata"]["kind"] == "Plot option"
    # the description without the example block and the category box, first --words words
    assert ents["solve"]["text"] == "solve: solve an equation for a root. solve algsys"
    assert ents["algsys"]["text"] == "algsys: solve a list of equation values. index-solve_x"
    # the nested block's words are its own, not the outer block's
    assert ents["plot2d"]["text"] == "plot2d: plot a list. solve"
    assert ents["plot_opt"]["text"] == "plot_opt: default plot value. algsys"
    idof, links = prep_run.link_ids(ents)
    # solve: itself, a block without a category, a URL and a repeated reference are dropped
    assert links["solve"] == sorted([idof["algsys"], idof["plot2d"]])
    # algsys -> solve (through the second <dt>'s id) repeats solve -> algsys: one per pair (corpus.py)
    assert links["algsys"] == []
    # plot2d -> solve repeats solve -> plot2d; the nested block's reference is its own
    assert links["plot2d"] == []
    assert links["plot_opt"] == [idof["algsys"]]
    assert all(x["kind"] == "xref" for e in corpus for x in e["links"])
    assert info["n"] == 4 and info["labels"] == 3


def test_held_out_queries_cut_their_links(manual, glove, tmp_path):
    PREP.held_out(manual, glove, tmp_path / "out", 1)


def test_a_folder_without_the_manual_is_refused_with_a_message(tmp_path, glove):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "maxima_toc.html").write_text(PAGE1)
    PREP.refused(empty, glove, tmp_path / "bad", "no maxima_N.html pages")
