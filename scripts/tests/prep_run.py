"""Runs a prep_*.py script of scripts/ on a hand-made source, as the
fetch-data.sh recipes do, for the prep tests."""
import json
import subprocess
import sys

import heldout


def run(script, flag, src, glove, out, queries, words):
    """script FLAG src --glove --out --queries --seed 7 --words: the
    CompletedProcess, with its output captured as text"""
    return subprocess.run([sys.executable, script, flag, str(src), "--glove", str(glove), "--out", str(out),
                           "--queries", str(queries), "--seed", "7", "--words", str(words)],
                          capture_output=True, text=True)


def link_ids(ents):
    """ents: {name: corpus row}. (the id of each name, the sorted ids each
    name's links lead to)"""
    return ({n: e["id"] for n, e in ents.items()},
            {n: sorted(x["dst"] for x in e["links"]) for n, e in ents.items()})


def build(script, flag, src, glove, out, queries, words):
    """run, which must succeed: (corpus rows, query rows, info.json)"""
    p = run(script, flag, src, glove, out, queries, words)
    assert p.returncode == 0, p.stderr
    rows = lambda f: [json.loads(ln) for ln in open(out / f)]  # noqa: E731
    return rows("corpus.jsonl"), rows("queries.jsonl"), json.load(open(out / "info.json"))


class Prep:
    """run and build for one script and its source flag, with a default
    --words"""

    def __init__(self, script, flag, words):
        self.script, self.flag, self.words = script, flag, words

    def run(self, src, glove, out, queries, words=None):
        return run(self.script, self.flag, src, glove, out, queries, words or self.words)

    def build(self, src, glove, out, queries, words=None):
        return build(self.script, self.flag, src, glove, out, queries, words or self.words)

    def held_out(self, src, glove, out, queries):
        """built with `queries` held out, the queries and their links are cut
        from the corpus (heldout.check)"""
        heldout.check(*self.build(src, glove, out, queries), queries)

    def refused(self, src, glove, out, message):
        """the script refuses src: a non-zero exit, message on stderr, no
        traceback, no corpus written"""
        p = self.run(src, glove, out, 0)
        assert p.returncode != 0
        assert message in p.stderr and "Traceback" not in p.stderr
        assert not (out / "info.json").exists()
