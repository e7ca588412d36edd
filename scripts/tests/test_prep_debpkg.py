"""prep_debpkg.py on hand-made index files: which packages become entries,
which relations become links (first alternative, no self, no hubs, no
link to a dropped package), the text, the label, and the held-out queries
with every link touching them cut from the corpus."""
import json
import lzma
import os
import subprocess
import sys

import pytest
import tinyglove

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prep_debpkg.py")
WORDS = ["editor", "text", "library", "shared", "game", "music", "player", "data", "files", "tool"]


def xz(path, text):
    with lzma.open(path, "wt", encoding="utf-8") as f:
        f.write(text)


def stanza(name, section, short, depends="", recommends="", md5=None):
    s = "Package: %s\nVersion: 1.0\nSection: %s\n" % (name, section)
    if depends:
        s += "Depends: %s\n" % depends
    if recommends:
        s += "Recommends: %s\n" % recommends
    s += "Description: %s\nDescription-md5: %s\n\n" % (short, md5 or name + "-md5")
    return s


def translation(name, short, long_lines, md5=None):
    body = "".join(" %s\n" % ln for ln in long_lines)
    return "Package: %s\nDescription-md5: %s\nDescription-en: %s\n%s\n" % (name, md5 or name + "-md5", short, body)


@pytest.fixture
def built(tmp_path):
    glove = tinyglove.write(tmp_path / "glove", WORDS)
    pk, tr = [], []
    # hub: depended on by more than --hub 3 packages
    pk.append(stanza("libhub", "libs", "shared library"))
    tr.append(translation("libhub", "shared library", ["shared library files"]))
    for i in range(6):
        n = "app%d" % i
        dep = "libhub, libx%d (>= 1) | libalt, app%d:any" % (i, i) + (", app%d" % (i - 1) if i else "")
        pk.append(stanza(n, "editors" if i % 2 else "games", "text editor" if i % 2 else "music game",
                         depends=dep, recommends="data%d" % i))
        tr.append(translation(n, "x", ["an %s tool" % ("editor" if i % 2 else "game"), ".", "with music files"]))
        pk.append(stanza("libx%d" % i, "libs", "shared library"))
        tr.append(translation("libx%d" % i, "x", ["library data"]))
        pk.append(stanza("data%d" % i, "misc", "data files"))
        tr.append(translation("data%d" % i, "x", ["game data files"]))
    pk.append(stanza("libalt", "libs", "shared library"))
    tr.append(translation("libalt", "x", ["library"]))
    pk.append(stanza("oldtool", "utils", "transitional package for tool", depends="app0"))
    pk.append(stanza("tool-dbg", "debug", "debug symbols for tool", depends="app1"))
    pk.append(stanza("nolong", "utils", "text tool", md5="other"))
    xz(tmp_path / "Packages.xz", "".join(pk))
    xz(tmp_path / "Translation-en.xz", "".join(tr))
    out = tmp_path / "out"
    subprocess.run([sys.executable, SCRIPT, "--packages", str(tmp_path / "Packages.xz"),
                    "--translation", str(tmp_path / "Translation-en.xz"), "--glove", str(glove),
                    "--out", str(out), "--queries", "2", "--hub", "3", "--seed", "7", "--words", "3"],
                   check=True, capture_output=True)
    rows = lambda f: [json.loads(ln) for ln in open(out / f)]  # noqa: E731
    return rows("corpus.jsonl"), rows("queries.jsonl"), json.load(open(out / "info.json"))


def test_entries_text_and_labels(built):
    corpus, queries, info = built
    ents = {e["metadata"]["package"]: e for e in corpus + queries}
    # transitional and debug-section packages are dropped; everything else is an entry
    assert set(ents) == {"libhub", "libalt", "nolong"} | {"%s%d" % (p, i) for p in ("app", "libx", "data")
                                                          for i in range(6)}
    assert ents["app1"]["metadata"]["label"] == "editors" and ents["app0"]["metadata"]["label"] == "games"
    # name, short description, then the first --words words of the long one (" ." lines are breaks)
    assert ents["app1"]["text"] == "app1: text editor. an editor tool"
    assert ents["app2"]["text"] == "app2: music game. an game tool"
    # a long description is matched by its md5: none for "nolong"
    assert ents["nolong"]["text"] == "nolong: text tool."
    assert info["n"] + info["n_queries"] == len(ents) and info["n_queries"] == 2


def test_links(built):
    corpus, queries, info = built
    ids = {e["metadata"]["package"]: e["id"] for e in corpus + queries}
    name = {v: k for k, v in ids.items()}
    links = {}
    for e in corpus:
        for ln in e["links"]:
            links.setdefault(name[e["id"]], set()).add((name[ln["dst"]], ln["kind"]))
    for q in queries:  # a held-out entry's links, as they were before it was cut
        for ln in q["links"]:
            a, b = (name[q["id"]], name[ln["dst"]]) if ln["dir"] == "out" else (name[ln["dst"]], name[q["id"]])
            links.setdefault(a, set()).add((b, ln["kind"]))
    for i in range(6):
        want = {("libx%d" % i, "depends"), ("data%d" % i, "recommends")}
        if i:
            want.add(("app%d" % (i - 1), "depends"))
        # no link into the hub (6 dependants > --hub 3), none to the second
        # alternative, none to itself (the ":any" qualifier is stripped)
        assert links.get("app%d" % i) == want
    assert not any(d == "libhub" or d == "libalt" for s in links.values() for d, _ in s)
    assert set(info["link_kinds"]) == {"depends", "recommends"}


def test_held_out_queries_are_cut(built):
    corpus, queries, _ = built
    qids = {q["id"] for q in queries}
    assert len(qids) == 2
    assert not qids & {e["id"] for e in corpus}
    assert all(ln["dst"] not in qids for e in corpus for ln in e["links"])
    for q in queries:
        assert q["linked"] and sorted({ln["dst"] for ln in q["links"]}) == q["linked"]
        assert len(q["vector"]) == 4
