"""corpus.py from-jsonl: a `precis ingest` jsonl file as a study corpus, so
that `precis-bench quality` measures the defaults on a user's own data
(README.md, "Measure it on your own data")."""
import csv
import json
import os
import random
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "corpus.py"
N, DIM, LABELS, NQ = 240, 8, 6, 20


def records():
    """N points in LABELS clusters of DIM-d vectors; each links to two
    others of its cluster; one link names an id that is not in the file"""
    rnd = random.Random(5)
    centres = [[rnd.gauss(0, 1) for _ in range(DIM)] for _ in range(LABELS)]
    out = []
    for i in range(N):
        c = i % LABELS
        v = [x + rnd.gauss(0, 0.8) for x in centres[c]]
        links = [{"dst": 1000 + (i + LABELS * s) % N, "kind": "see_also", "weight": 1} for s in (1, 2)]
        out.append({"id": 1000 + i, "vector": v, "text": "point %d\0" % i,
                    "metadata": {"topic": "t%d" % c, "page": i // 10}, "links": links})
    out[0]["links"].append({"dst": 99, "kind": "see_also"})
    out[1]["metadata"]["topic"] = " t%d\n\u0000 " % (1 % LABELS)  # the same label, once cleaned
    return out


def write(path, recs):
    with open(path, "w") as f:
        for r in recs:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")


def convert(src, out, *extra):
    return subprocess.run([sys.executable, str(CORPUS), "from-jsonl", str(src), "--out", str(out), "--label",
                           "topic", "--queries", str(NQ), "--seed", "3", *extra], capture_output=True, text=True)


@pytest.fixture
def corpus(tmp_path):
    write(tmp_path / "in.jsonl", records())
    p = convert(tmp_path / "in.jsonl", tmp_path / "data" / "mine")
    assert p.returncode == 0, p.stderr
    assert "dropped 1 links to ids that are not in the file" in p.stderr
    return tmp_path / "data" / "mine"


def test_builds_the_corpus_format(corpus):
    info = json.load(open(corpus / "info.json"))
    assert (info["name"], info["n"], info["n_queries"], info["dim"], info["labels"]) == ("mine", N - NQ, NQ, DIM,
                                                                                          LABELS)
    assert info["label"] == "metadata.topic"
    rows = [json.loads(ln) for ln in open(corpus / "corpus.jsonl")]
    qs = [json.loads(ln) for ln in open(corpus / "queries.jsonl")]
    qids = {q["id"] for q in qs}
    assert len(rows) == N - NQ and not qids & {r["id"] for r in rows}
    assert list(array("Q", open(corpus / "ids.u64", "rb").read())) == [r["id"] for r in rows]
    assert {r["metadata"]["label"] for r in rows} == {"t%d" % c for c in range(LABELS)}
    assert all(r["metadata"] == {"label": r["metadata"]["label"]} for r in rows)  # only the label
    ids = {r["id"] for r in rows}
    for r in rows:  # no link touches a held-out entry; every link stays in the corpus
        assert all(ln["dst"] in ids for ln in r["links"])
    for q in qs:  # each query keeps linked entries, all in the corpus
        assert q["linked"] and set(q["linked"]) <= ids
        assert abs(sum(x * x for x in q["vector"]) - 1) < 1e-5
    v = array("f", open(corpus / "vectors.f32", "rb").read())
    assert len(v) == len(rows) * DIM
    for i in range(len(rows)):
        assert abs(sum(x * x for x in v[i * DIM:(i + 1) * DIM]) - 1) < 1e-5


@pytest.mark.parametrize("bad,line,message", [
    ("{not json", 2, "line 2"),
    ({"id": 7, "text": "x", "metadata": {"topic": "a"}}, 2, "vector must be a non-empty list"),
    ({"id": 7, "vector": [1, 2], "metadata": {"topic": "a"}}, 2, "vector has 2 components, the first record 8"),
    ({"id": 7, "vector": [0] * DIM, "metadata": {"topic": "a"}}, 2, "finite and not zero"),
    ({"id": 7, "vector": [1] * DIM, "metadata": {"page": 1}}, 2, "no metadata.topic"),
    ({"id": 7, "vector": [1] * DIM, "metadata": {"topic": " \n"}}, 2, "no metadata.topic"),
    ({"id": 1000, "vector": [1] * DIM, "metadata": {"topic": "a"}}, 2, "id 1000 repeats"),
    ({"id": -1, "vector": [1] * DIM, "metadata": {"topic": "a"}}, 2, "id must be a whole number"),
    ({"id": 7, "vector": [1] * DIM, "metadata": {"topic": "a"}, "links": [{"kind": "x"}]}, 2, "a link needs"),
    ({"id": 7, "vector": [1] * DIM, "metadata": {"topic": "a"}, "text": 5}, 2, "text must be a string"),
    ({"id": 7, "vector": [1] * DIM, "metadata": {"topic": "a"}, "links": 5}, 2, "links must be a list"),
    ('{"id": 7, "vector": [NaN, 1, 1, 1, 1, 1, 1, 1], "metadata": {"topic": "a"}}', 2, "finite and not zero"),
])
def test_refuses_bad_records(tmp_path, bad, line, message):
    """a bad record is named by its line, with no traceback and no corpus"""
    write(tmp_path / "in.jsonl", [records()[0], bad])
    p = convert(tmp_path / "in.jsonl", tmp_path / "out")
    assert p.returncode != 0
    assert message in p.stderr and "line %d" % line in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "out" / "info.json").exists()


def test_refuses_a_missing_file_and_too_many_queries(tmp_path):
    p = convert(tmp_path / "none.jsonl", tmp_path / "out")
    assert p.returncode != 0 and "none.jsonl" in p.stderr and "Traceback" not in p.stderr
    write(tmp_path / "in.jsonl", records()[:30])
    p = convert(tmp_path / "in.jsonl", tmp_path / "out", "--queries", "500")
    assert p.returncode != 0 and "could be held out" in p.stderr and "Traceback" not in p.stderr


def test_precis_bench_quality_runs_on_it(corpus, tmp_path):
    """the converted file runs through `precis-bench quality`, and the
    default COMPRESS keeps the similarity floor (97.5 % of TOPK's) on it"""
    bench = Path(os.environ.get("PRECIS_BUILD_DIR", "build")) / "precis-bench"
    if not bench.exists():
        pytest.skip("precis-bench not built")
    out = tmp_path / "q"
    p = subprocess.run([str(bench), "quality", "--corpora", "mine", "--queries", str(NQ), "--boot", "50",
                        "--graphs", "h0,links-1", "--out", str(out)],
                       env=dict(os.environ, PRECIS_DATA_DIR=str(corpus.parent)), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    rows = list(csv.DictReader((ln for ln in open(out / "mine.engine.tsv") if not ln.startswith("#")),
                               delimiter="\t"))
    row = {(r["graph"], r["family"], r["value"]): r for r in rows}
    assert float(row[("h0", "TOPK", "0")]["labels_ratio"]) == 1
    assert float(row[("h0", "DEFAULT", "0")]["sim_pct"]) >= 97.5 - 1e-3
    assert float(row[("links-1", "DEFAULT", "0")]["recall"]) >= 0
    # the summary names the label oracle: here it knows six clusters that top-k mostly misses
    line = next(ln for ln in open(out / "summary.md") if ln.startswith("| mine |"))
    assert float(line.split("oracle ")[1].split("x")[0]) > float(row[("h0", "DEFAULT", "0")]["labels_ratio"])
