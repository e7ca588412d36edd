"""prep_nodejs.py on a hand-made API folder in the HTML Node's doc tool
writes for nodejs-doc: which headings become entries (a <code> in the
heading and words after it; all.html and index.html are not read), the
label (the page), the text (the heading's words without its "#" mark, then
the words up to the next heading, without program listings and the
"Added in" box), which links become edges (to another entry's anchor, new
or legacy, on the page or another; not type annotations, not to the entry
itself, to a heading that is no entry, to a whole page or out of the
documentation; one per pair), and the held-out queries with their links
cut."""
import os

import pytest
from tinyglove import glove  # noqa: F401 (a fixture)
import prep_run

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prep_nodejs.py")
WORDS = ["read", "file", "write", "buffer", "stream", "data", "open", "path", "close", "error"]


def head(level, text, anchor, legacy):
    """a heading as the doc tool writes it: its "#" mark and legacy anchor"""
    return ('<h%d>%s<span><a class="mark" href="#%s" id="%s">#</a></span>'
            '<a aria-hidden="true" class="legacy" id="%s"></a></h%d>\n' % (level, text, anchor, anchor, legacy, level))


def page(module, body):
    """one page: a table of contents and navigation outside apicontent, the
    body inside it"""
    return ('<!DOCTYPE html>\n<html><body><div id="content"><div id="column1" data-id="%s">\n'
            '<details id="toc"><ul><li><a href="#nowhere">write buffer stream</a></li></ul></details>\n'
            '<div id="apicontent">\n%s</div></div>\n'
            '<div id="column2"><a href="fs.html#fsreadfilepath">read file</a></div></div></body></html>\n'
            % (module, body))


META = '<div class="api_metadata">\n<span>Added in: v0.1.29</span>\n</div>'
TYPE = '<a href="buffer.html#class-blob" class="type">&lt;Blob&gt;</a>'
FS = page("fs", head(2, "File system", "file-system", "fs_file_system") +
          "<p>read file write.</p>\n" +
          head(3, "<code>fs.readFile(path)</code>", "fsreadfilepath", "fs_fs_readfile_path") + META +
          "<ul><li><code>data</code> %s</li></ul>\n" % TYPE +
          '<p>read file data. See <a href="#fswritefilepath">write</a>, <a href="#fswritefilepath">again</a>, '
          '<a href="#fsreadfilepath">itself</a>, <a href="#file-system">the page</a>, '
          '<a href="buffer.html#buf_buf_length">length</a> (legacy), <a href="stream.html">streams</a>, '
          '<a href="https://nodejs.org/#fsreadfilepath">online</a>.</p>\n'
          '<pre><code>close error</code></pre>\n' +
          head(3, "<code>fs.writeFile(path)</code>", "fswritefilepath", "fs_fs_writefile_path") +
          "<p>write file path.</p>\n" +
          head(3, "<code>fs.empty()</code>", "fsempty", "fs_fs_empty") +
          head(3, "Path notes", "path-notes", "fs_path_notes") + "<p>path open close.</p>\n")
BUFFER = page("buffer", head(2, "Buffer", "buffer", "buffer_buffer") +
              head(3, "Class: <code>Buffer</code>", "class-buffer", "buffer_class_buffer") +
              '<p>buffer data <a href="fs.html#fs_fs_readfile_path">read</a>.</p>\n' +
              head(4, "<code>buf.length</code>", "buflength", "buf_buf_length") + "<p>buffer stream.</p>\n" +
              head(3, "Class: <code>Blob</code>", "class-blob", "buffer_class_blob") + "<p>data stream.</p>\n")
ALL = page("all", head(3, "<code>all.copy()</code>", "allcopy", "all_copy") + "<p>write stream.</p>\n")
INDEX = page("index", head(3, "<code>index.toc()</code>", "indextoc", "index_toc") + "<p>open data.</p>\n")

PREP = prep_run.Prep(SCRIPT, "--html", 8)


@pytest.fixture
def api(tmp_path):
    d = tmp_path / "api"
    d.mkdir()
    for name, text in [("fs.html", FS), ("buffer.html", BUFFER), ("all.html", ALL), ("index.html", INDEX)]:
        (d / name).write_text(text)
    return d


def test_entries_labels_text_and_links(api, glove, tmp_path):
    corpus, queries, info = PREP.build(api, glove, tmp_path / "out", 0)
    assert queries == []
    ents = {e["metadata"]["name"]: e for e in corpus}
    # headings without <code> (File system, Path notes, Buffer), without words
    # (fs.empty()) and the pages all.html and index.html give no entries
    assert sorted(ents) == ["Class: Blob", "Class: Buffer", "buf.length", "fs.readFile(path)", "fs.writeFile(path)"]
    label = {n: e["metadata"]["label"] for n, e in ents.items()}
    assert label == {"fs.readFile(path)": "fs", "fs.writeFile(path)": "fs", "Class: Buffer": "buffer",
                     "buf.length": "buffer", "Class: Blob": "buffer"}
    assert ents["fs.readFile(path)"]["metadata"]["anchor"] == "fsreadfilepath"
    # no "#" mark, no "Added in" box, no program listing; the type's words
    # stay, first --words words (the text's pieces joined by spaces)
    assert ents["fs.readFile(path)"]["text"] == "fs.readFile(path): data <Blob> read file data. See write ,"
    assert ents["fs.writeFile(path)"]["text"] == "fs.writeFile(path): write file path."
    idof, links = prep_run.link_ids(ents)
    # readFile: writeFile once, buf.length through its legacy anchor; not the
    # type annotation (Class: Blob), itself, a heading that is no entry, a
    # whole page or a URL
    assert links["fs.readFile(path)"] == sorted([idof["fs.writeFile(path)"], idof["buf.length"]])
    # Class: Buffer -> readFile through its legacy anchor on another page
    assert links["Class: Buffer"] == [idof["fs.readFile(path)"]]
    # buf.length's link from readFile repeats that pair: one per pair (corpus.py)
    assert links["buf.length"] == [] and links["fs.writeFile(path)"] == [] and links["Class: Blob"] == []
    assert all(x["kind"] == "xref" for e in corpus for x in e["links"])
    assert info["n"] == 5 and info["labels"] == 2


def test_held_out_queries_cut_their_links(api, glove, tmp_path):
    PREP.held_out(api, glove, tmp_path / "out", 1)


def test_a_folder_without_the_api_documentation_is_refused_with_a_message(tmp_path, glove):
    d = tmp_path / "noapi"
    d.mkdir()
    (d / "fs.html").write_text("<html><body><h3><code>fs.readFile()</code></h3><p>read.</p></body></html>\n")
    # no table of contents (index.html): not the documentation
    PREP.refused(d, glove, tmp_path / "bad", "not nodejs-doc's API documentation (no index.html")
    # pages, but no API item inside a <div id="apicontent">
    (d / "index.html").write_text(INDEX)
    PREP.refused(d, glove, tmp_path / "bad2", "not nodejs-doc's API documentation (no <div id=\"apicontent\">")
