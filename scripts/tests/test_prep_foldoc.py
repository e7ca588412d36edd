"""prep_foldoc.py on a hand-made dictionary in dictd's format: which entries
are kept (a subject in angle brackets), the label (first subject up to its
comma), the text (no tags, braces or date), which cross-references become
links (through any headword of the index, not to URLs, not to entries
without a subject, not to the entry itself, one per pair), and the held-out
queries with every link touching them cut from the corpus."""
import gzip
import json
import os
import subprocess
import sys

import pytest
import heldout
from tinyglove import glove  # noqa: F401 (a fixture)

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prep_foldoc.py")
sys.path.insert(0, os.path.dirname(SCRIPT))
import prep_foldoc  # noqa: E402

WORDS = ["language", "network", "protocol", "compiler", "data", "packet", "code", "machine", "text", "file"]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64(n):
    s = ""
    while True:
        s = B64[n % 64] + s
        n //= 64
        if not n:
            return s


# (headwords, body); the index names every headword in lower case
ENTRIES = [
    (["Pascal"], "   <language> A {compiler} language for {Code} and {code} (1995-03-06)"),
    (["compiler", "compilers"], "   <programming, tool> Turns language text into machine code.\n\n   (2001-01-01)"),
    (["code"], "   <programming> Machine code, see {compilers} and {Pascal}."),
    (["TCP"], "   <networking, protocol> A {protocol} for {packet}\n   data on a network, see {IP (http://x.org/)}."),
    (["protocol"], "   <networking> Network rules for {packet data} and {nowhere}."),
    (["packet data", "packet"], "   <networking> A packet of data on a {network}."),
    (["network"], "   A network without a subject, see {TCP}."),
    (["UDP"], "   <networking> A protocol like {TCP} and {packet}."),
    (["ML"], "   1. <language> A language with a {compiler}.\n\n   2. <networking> {network}"),
    (["IP"], "   <networking> Packet protocol, see {TCP} and {protocol}."),
]


@pytest.fixture
def dictdir(tmp_path):
    raw, idx = b"", []
    for heads, body in ENTRIES:
        text = ("\n".join(heads) + "\n\n" + body + "\n\n").encode()
        for h in heads:
            idx.append((h.lower(), len(raw), len(text)))
        raw += text
    idx.sort()
    with open(tmp_path / "foldoc.index", "w") as f:
        for h, o, ln in idx:
            f.write("%s\t%s\t%s\n" % (h, b64(o), b64(ln)))
    with gzip.open(tmp_path / "foldoc.dict.dz", "wb") as f:
        f.write(raw)
    return tmp_path


def build(dictdir, glove, out, queries):
    subprocess.run([sys.executable, SCRIPT, "--dict", str(dictdir), "--glove", str(glove), "--out", str(out),
                    "--queries", str(queries), "--seed", "7", "--words", "6"], check=True, capture_output=True)
    rows = lambda f: [json.loads(ln) for ln in open(out / f)]  # noqa: E731
    return rows("corpus.jsonl"), rows("queries.jsonl"), json.load(open(out / "info.json"))


def test_base64_offsets():
    assert [prep_foldoc.b64(b64(n)) for n in (0, 1, 63, 64, 4095, 123456789)] == [0, 1, 63, 64, 4095, 123456789]
    with pytest.raises(ValueError):
        prep_foldoc.b64("a-b")


def test_entries_labels_text_and_links(dictdir, glove, tmp_path):
    corpus, queries, info = build(dictdir, glove, tmp_path / "out", 0)
    assert queries == []
    ents = {e["metadata"]["headword"]: e for e in corpus}
    # "network" has no subject: not an entry
    assert set(ents) == {"Pascal", "compiler", "code", "TCP", "protocol", "packet data", "UDP", "ML", "IP"}
    label = {h: e["metadata"]["label"] for h, e in ents.items()}
    assert label == {"Pascal": "language", "compiler": "programming", "code": "programming",
                     "TCP": "networking", "protocol": "networking", "packet data": "networking",
                     "UDP": "networking", "ML": "language", "IP": "networking"}
    # the first headword, the body without tags, braces and date, first --words words
    assert ents["Pascal"]["text"] == "Pascal: A compiler language for Code and"
    assert ents["compiler"]["text"] == "compiler: Turns language text into machine code."
    idof = {h: e["id"] for h, e in ents.items()}
    links = {h: sorted(x["dst"] for x in e["links"]) for h, e in ents.items()}
    # {Code} and {code} name one entry: one link; {compilers} resolves through the second headword
    assert links["Pascal"] == sorted([idof["compiler"], idof["code"]])
    # code -> Pascal repeats Pascal -> code: links are walked both ways, one per pair (corpus.py)
    assert links["code"] == [idof["compiler"]]
    # {IP (http://...)} is a URL; {packet} resolves through "packet data"'s second headword
    assert links["TCP"] == sorted([idof["protocol"], idof["packet data"]])
    # {nowhere} names no entry; {network} names an entry without a subject
    assert links["protocol"] == [idof["packet data"]]
    assert links["packet data"] == []
    assert links["ML"] == [idof["compiler"]]
    assert all(x["kind"] == "xref" for e in corpus for x in e["links"])
    assert info["n"] == 9 and info["labels"] == 3


def test_held_out_queries_cut_their_links(dictdir, glove, tmp_path):
    heldout.check(*build(dictdir, glove, tmp_path / "out", 2), 2)


@pytest.mark.parametrize("line, says", [
    ("pascal\tA\n", "expected 3 tab-separated fields"),
    ("pascal\tA-\tB\n", "bad base-64 digit"),
    ("pascal\tA\t////\n", "lies past the dictionary's end"),
])
def test_a_damaged_dictionary_is_refused_with_a_message(dictdir, glove, tmp_path, line, says):
    with open(dictdir / "foldoc.index", "a") as f:
        f.write(line)
    out = tmp_path / "bad"
    p = subprocess.run([sys.executable, SCRIPT, "--dict", str(dictdir), "--glove", str(glove), "--out", str(out),
                        "--queries", "0"], capture_output=True, text=True)
    assert p.returncode != 0
    assert says in p.stderr and "Traceback" not in p.stderr
    assert not (out / "info.json").exists()
