#!/usr/bin/env python3
"""Tiny bag-of-words embedder over the prepared GloVe vectors (stdlib only).

embed(text, vocab) -> list of `dim` floats (L2-normalised mean of the GloVe
vectors of the text's words, rounded to 6 decimals) or None when no word of
the text is known. Tokenisation: lower-case, split on anything that is not a
letter, drop STOP_WORDS, skip words missing from the vocabulary (a text made
only of stop words keeps them).

The vectors come from data/glove/{vocab.txt,vectors.f32} (written by
`scripts/fetch-data.sh glove-vectors`); vectors.f32 is memory-mapped and only
the rows that are needed are read, so one call from the command line takes a
fraction of a second:

    python3 scripts/embed.py "some text" [--glove data/glove] [--json]

prints the vector as comma-separated floats (or a JSON list with --json).
Also holds the small deterministic sampler shared by the prep scripts.
"""
import json
import math
import mmap
import os
import re
import struct
import sys

# ~100 most frequent English function words (plus the 's'/'t' left behind by
# splitting "it's", "don't" on the apostrophe).
STOP_WORDS = frozenset("""
a about above after again against all also am an and any are as at be
because been before being below between both but by can could did do does
doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just me more most my no nor
not now of off on once only or other our ours out over own same she should
so some such than that the their theirs them then there these they this
those through to too under until up very was we were what when where which
while who whom why will with would you your s t
""".split())

_TOKEN = re.compile(r"[^\W\d_]+")  # runs of letters (unicode-aware)


def tokenize(text):
    """Lower-cased runs of letters."""
    return _TOKEN.findall(text.lower())


class Vocab:
    """word -> float32 row of a (vocab.txt, vectors.f32) pair, read lazily."""

    def __init__(self, glove_dir):
        vpath = os.path.join(glove_dir, "vocab.txt")
        fpath = os.path.join(glove_dir, "vectors.f32")
        self.rows = {}
        with open(vpath, encoding="utf-8") as f:
            for i, line in enumerate(f):
                self.rows.setdefault(line.rstrip("\n"), i)
        n = i + 1 if self.rows else 0
        self.n = n
        self._f = open(fpath, "rb")
        size = os.fstat(self._f.fileno()).st_size
        if n == 0 or size % (4 * n):
            raise ValueError("%s: size %d is not a multiple of 4*%d" % (fpath, size, n))
        self.dim = size // (4 * n)
        self._mm = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ)
        self._fmt = struct.Struct("<%df" % self.dim)

    def __contains__(self, word):
        return word in self.rows

    def row(self, word):
        return self.rows.get(word)

    def vector_at(self, row):
        return self._fmt.unpack_from(self._mm, row * self._fmt.size)

    def get(self, word):
        r = self.rows.get(word)
        return None if r is None else self.vector_at(r)


def embed_tokens(words, vocab, ndigits=6):
    """(vector or None, number of words used) for an already tokenised text."""
    counts = {}
    for w in words:
        r = vocab.rows.get(w)
        if r is not None:
            counts[r] = counts.get(r, 0) + 1
    if not counts:
        return None, 0
    acc = [0.0] * vocab.dim
    for r, c in counts.items():
        v = vocab.vector_at(r)
        if c == 1:
            acc = [a + b for a, b in zip(acc, v)]
        else:
            acc = [a + c * b for a, b in zip(acc, v)]
    norm = math.sqrt(sum(a * a for a in acc))
    if norm == 0.0:
        return None, 0
    return [round(a / norm, ndigits) for a in acc], sum(counts.values())


def embed(text, vocab, stop_words=STOP_WORDS, ndigits=6):
    """Vector of `text`; if it has no known non-stop word, the stop words are
    used too (as prep_wordnet.py does); None if still nothing is known."""
    toks = tokenize(text)
    vec = embed_tokens([w for w in toks if w not in stop_words], vocab, ndigits)[0]
    if vec is None:
        vec = embed_tokens(toks, vocab, ndigits)[0]
    return vec


# ---- deterministic sampling (independent of Python's `random` internals) ----
_M64 = (1 << 64) - 1


def splitmix64(seed):
    s = seed & _M64
    while True:
        s = (s + 0x9E3779B97F4A7C15) & _M64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        yield z ^ (z >> 31)


def sample(n, k, seed):
    """k distinct ints from range(n), in draw order (partial Fisher-Yates)."""
    if k > n:
        raise ValueError("sample larger than population")
    rng = splitmix64(seed)
    swapped = {}
    out = []
    for i in range(k):
        j = i + next(rng) % (n - i)
        out.append(swapped.get(j, j))
        swapped[j] = swapped.get(i, i)
    return out


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="embed a text with the GloVe bag-of-words embedder")
    ap.add_argument("text")
    default = os.path.join(os.environ.get("PRECIS_DATA_DIR", "data"), "glove")
    ap.add_argument("--glove", default=default, help="folder with vocab.txt + vectors.f32 (default %(default)s)")
    ap.add_argument("--json", action="store_true", help="print a JSON list")
    a = ap.parse_args(argv)
    try:
        vocab = Vocab(a.glove)
    except OSError as e:
        sys.exit("embed.py: %s (run scripts/fetch-data.sh glove-vectors first)" % e)
    v = embed(a.text, vocab)
    if v is None:
        sys.exit("embed.py: no known word in %r" % a.text)
    print(json.dumps(v) if a.json else ",".join(repr(x) for x in v))


if __name__ == "__main__":
    main(sys.argv[1:])
