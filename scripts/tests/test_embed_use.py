"""embed_use.mjs on a hand-made corpus, with a stand-in encoder (the real
one is a 28 MB download): every text gets its own vector back although
the script embeds them sorted by length, vectors are unit length and
rounded to 6 decimals, the files that do not depend on the vectors are
copied unchanged, queries keep every field but "vector", info.json says
what was done, the number of worker threads changes nothing, and bad
invocations fail with a message."""
import json
import math
import os
import shutil
import struct
import subprocess

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "embed_use.mjs")
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (scripts/deps.sh installs it)")

# The stand-in: a text's vector is (its length, the sum of its character
# codes, 3), so a row can be traced back to its text; batches are recorded.
FAKE_EMBEDDINGS = """
const fs = require("node:fs");
exports.initModel = async (source) => {
  await source();
  return {
    embed: async (texts) => {
      if (process.env.FAKE_FAIL && texts.includes(process.env.FAKE_FAIL)) throw new Error("cannot embed " + process.env.FAKE_FAIL);
      fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(texts.map((t) => t.length)) + "\\n");
      return texts.map((t) => [t.length, [...t].reduce((s, c) => s + c.codePointAt(0), 0), 3]);
    },
  };
};
"""
FAKE_MODEL = "exports.modelSource = async () => ({});\n"
CORPUS_TEXTS = ["a", "a much longer text than the others, far longer", "mid length", "zz", "é accent"] * 30
QUERY_TEXTS = ["query one", "q"]


def expected(t):
    v = [len(t), sum(ord(c) for c in t), 3]
    n = math.sqrt(sum(x * x for x in v))
    return [round(x / n, 6) for x in v]


def f32(path, dim):
    raw = open(path, "rb").read()
    return [list(struct.unpack_from("<%df" % dim, raw, i * 4 * dim)) for i in range(len(raw) // (4 * dim))]


@pytest.fixture
def setup(tmp_path):
    mods = tmp_path / "mods" / "node_modules" / "@energetic-ai"
    (mods / "embeddings").mkdir(parents=True)
    (mods / "embeddings" / "index.js").write_text(FAKE_EMBEDDINGS)
    (mods / "model-embeddings-en").mkdir()
    (mods / "model-embeddings-en" / "index.js").write_text(FAKE_MODEL)
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i, t in enumerate(CORPUS_TEXTS):
            f.write(json.dumps({"id": 100 + i, "text": t, "metadata": {"label": "L%d" % (i % 3)},
                                "links": [{"dst": 100, "kind": "k", "weight": 1.0}] if i else []},
                               ensure_ascii=False) + "\n")
    with open(src / "queries.jsonl", "w", encoding="utf-8") as f:
        for i, t in enumerate(QUERY_TEXTS):
            f.write(json.dumps({"id": 900 + i, "text": t, "metadata": {"label": "L0"}, "links": [],
                                "linked": [100 + i], "vector": [0.5, 0.5]}) + "\n")
    (src / "ids.u64").write_bytes(struct.pack("<%dQ" % len(CORPUS_TEXTS), *range(100, 100 + len(CORPUS_TEXTS))))
    (src / "query_ids.u64").write_bytes(struct.pack("<2Q", 900, 901))
    (src / "labels.txt").write_text("L0\nL1\nL2\n")
    (src / "vectors.f32").write_bytes(b"\0" * 8 * len(CORPUS_TEXTS))
    (src / "queries.f32").write_bytes(b"\0" * 16)
    (src / "info.json").write_text(json.dumps({"format": "precis-corpus/1", "name": "tiny", "n": len(CORPUS_TEXTS),
                                               "dim": 2, "n_queries": 2, "labels": 3}))
    return tmp_path, src


def run(tmp_path, *args, fail=None):
    env = dict(os.environ, FAKE_LOG=str(tmp_path / "batches.log"))
    if fail:
        env["FAKE_FAIL"] = fail
    return subprocess.run([NODE, SCRIPT, *args], capture_output=True, text=True, env=env)


def test_every_text_gets_its_own_vector(setup):
    tmp_path, src = setup
    out = tmp_path / "out"
    r = run(tmp_path, "--modules", str(tmp_path / "mods"), "--name", "tiny-use", "--workers", "1", str(src),
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = f32(out / "vectors.f32", 3)
    assert len(rows) == len(CORPUS_TEXTS)
    for t, row in zip(CORPUS_TEXTS, rows):
        assert row == pytest.approx(expected(t), abs=1e-7)
        assert math.sqrt(sum(x * x for x in row)) == pytest.approx(1.0, abs=1e-5)
    assert f32(out / "queries.f32", 3) == [pytest.approx(expected(t), abs=1e-7) for t in QUERY_TEXTS]
    # embedded in batches of at most 64, each of similar lengths (sorted)
    batches = [json.loads(ln) for ln in open(tmp_path / "batches.log")]
    corpus_batches = batches[:-1]
    assert max(len(b) for b in batches) <= 64
    flat = [n for b in corpus_batches for n in b]
    assert flat == sorted(len(t) for t in CORPUS_TEXTS)


def test_the_workers_do_not_change_the_output(setup):
    tmp_path, src = setup
    outs = []
    for n in ("1", "3"):
        out = tmp_path / ("out" + n)
        r = run(tmp_path, "--modules", str(tmp_path / "mods"), "--name", "tiny-use", "--workers", n, str(src),
                "--out", str(out))
        assert r.returncode == 0, r.stderr
        assert "%s workers" % n in r.stderr
        outs.append(out)
    for f in ("vectors.f32", "queries.f32", "queries.jsonl", "info.json"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    # the same batches, whoever embedded them
    batches = sorted(ln for ln in open(tmp_path / "batches.log"))
    assert batches[0::2] == batches[1::2]


def test_the_rest_is_kept(setup):
    tmp_path, src = setup
    out = tmp_path / "out"
    r = run(tmp_path, "--modules", str(tmp_path / "mods"), "--name", "tiny-use", str(src), "--out", str(out))
    assert r.returncode == 0, r.stderr
    for f in ("corpus.jsonl", "ids.u64", "labels.txt", "query_ids.u64"):
        assert (out / f).read_bytes() == (src / f).read_bytes(), f
    q_in = [json.loads(ln) for ln in open(src / "queries.jsonl")]
    q_out = [json.loads(ln) for ln in open(out / "queries.jsonl")]
    for a, b in zip(q_in, q_out):
        assert b["vector"] == expected(a["text"])
        del a["vector"], b["vector"]
        assert a == b
    info = json.loads((out / "info.json").read_text())
    assert info["name"] == "tiny-use" and info["dim"] == 3 and info["embedded_from"] == "tiny"
    assert "Universal Sentence Encoder" in info["model"] and info["n"] == len(CORPUS_TEXTS)
    assert not (out / "info.json.tmp").exists()


def test_bad_invocations_fail(setup):
    tmp_path, src = setup
    mods = str(tmp_path / "mods")
    r = run(tmp_path, "--modules", mods, str(src), "--out", str(tmp_path / "o1"))
    assert r.returncode == 2 and "usage" in r.stderr
    r = run(tmp_path, "--modules", mods, "--name", "x", str(src), str(src), "--out", str(tmp_path / "o2"))
    assert r.returncode == 2 and "usage" in r.stderr
    for bad in ("0", "-1", "two", "1.5"):
        r = run(tmp_path, "--modules", mods, "--name", "x", "--workers", bad, str(src), "--out", str(tmp_path / "o4"))
        assert r.returncode == 2 and "usage" in r.stderr, bad
    info = json.loads((src / "info.json").read_text())
    info["n"] += 1
    (src / "info.json").write_text(json.dumps(info))
    r = run(tmp_path, "--modules", mods, "--name", "x", str(src), "--out", str(tmp_path / "o3"))
    assert r.returncode != 0 and "disagrees" in r.stderr
    assert not (tmp_path / "o3" / "info.json").exists()


def test_an_encoder_error_fails_the_run(setup):
    tmp_path, src = setup
    out = tmp_path / "out"
    r = run(tmp_path, "--modules", str(tmp_path / "mods"), "--name", "x", "--workers", "2", str(src), "--out", str(out),
            fail="mid length")
    assert r.returncode != 0 and "cannot embed mid length" in r.stderr
    assert not (out / "info.json").exists()
