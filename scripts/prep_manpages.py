#!/usr/bin/env python3
"""Prepare the Debian manual-page corpus (stdlib only). See scripts/README-data.md.

  prep_manpages.py --root DIR [--root DIR ...] --glove data/glove --out OUT
                   [--queries 300] [--seed S] [--words 120] [--source JSON]

Each --root is a package unpacked with `dpkg-deb -x` (the pages are read from
ROOT/usr/share/man/man*/). One entry per manual page (a real file: symbolic
links and `.so` redirects become aliases of their target). id = index in the
sorted list of (package, file); label = the section as the file name gives it
(1, 3, 3ssl, 3perl, 7, n, ...); text = "name(section): " + the NAME line's
description + the first --words words of DESCRIPTION; links = the pages named
in SEE ALSO ("name(section)", resolved through aliases), kind "see_also".
"""
import argparse
import gzip
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

TAG = "prep_manpages"
PAGE = re.compile(r"^(.+)\.([0-9n][A-Za-z0-9]*)(\.gz)?$")
# roff escapes: fonts, sizes, named characters, strings, misc
ESC = [
    (re.compile(r'\\".*$'), ""),
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\s[+-]?(\d+|\[[^\]]*\]|\(..)"), ""),
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\\((em|en|hy)"), "-"),
    (re.compile(r"\\\((lq|rq|oq|cq|dq)"), '"'),
    (re.compile(r"\\\(.."), " "),
    (re.compile(r"\\\[[^\]]*\]"), " "),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\[&|^%c:!)]"), ""),
    (re.compile(r"\\[ 0~]"), " "),
    (re.compile(r"\\[nkz](\(..|\[[^\]]*\]|.)"), ""),
    (re.compile(r"\\[hvwlLoDbxHSRNXZY]'[^']*'"), ""),
    (re.compile(r"\\(.)"), r"\1"),
]
TEXT_MACROS = {"B", "I", "BR", "RB", "IR", "RI", "BI", "IB", "SM", "SB", "IP", "TP", "HP", "PP", "P",
               "LP", "Nm", "Nd", "Xr", "Fn", "Fa", "Ar", "Fl", "Cm", "Va", "Dv", "Em", "Sy", "Ql",
               "Pa", "Ev", "Er", "UR", "MT", "OP", "Op", "Dq", "Sq", "Pq", "Li", "Ic"}
XREF = re.compile(r"([A-Za-z_][\w.:+\-]*)\s*\(([0-9n][A-Za-z0-9]*)\)")


def unescape(s):
    for rx, rep in ESC:
        s = rx.sub(rep, s)
    return s


def macro_args(rest):
    out, cur, q = [], "", False
    for ch in rest:
        if ch == '"':
            q = not q
        elif ch in " \t" and not q:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def read_page(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def parse_page(src):
    """{section title: text} of a roff page (man or mdoc macros)."""
    secs, cur, buf = {}, None, []
    skip = 0
    for line in src.splitlines():
        if skip:
            if line.startswith(".."):
                skip = 0
            continue
        if line.startswith((".", "'")):
            m = line[1:].strip()
            name, _, rest = m.partition(" ")
            if name in ("de", "de1", "am", "ig"):
                skip = 1
                continue
            if name in ("SH", "Sh"):
                if cur is not None:
                    secs.setdefault(cur, " ".join(buf))
                cur, buf = unescape(" ".join(macro_args(rest))).strip().upper(), []
                continue
            if name in ("SS", "Ss"):
                buf.append(unescape(" ".join(macro_args(rest))) + ".")
                continue
            if name in TEXT_MACROS and rest:
                args = macro_args(rest)
                if name in ("Xr",) and len(args) >= 2:
                    buf.append("%s(%s)" % (args[0], args[1]))
                elif name in ("BR", "RB", "IR", "RI", "BI", "IB"):
                    buf.append(unescape("".join(args)))
                else:
                    buf.append(unescape(" ".join(args)))
            continue
        buf.append(unescape(line))
    if cur is not None:
        secs.setdefault(cur, " ".join(buf))
    return {k: re.sub(r"\s+", " ", v).strip() for k, v in secs.items()}


def first_words(s, n):
    w = s.split()
    return " ".join(w[:n])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", action="append", required=True, help="PACKAGE=DIR, unpacked .deb")
    corpus.study_args(ap, "manpages")
    a = ap.parse_args()

    files, alias = [], {}  # files: (pkg, path, name, sec); alias: (name, sec) -> (name, sec)
    for spec in a.root:
        pkg, _, root = spec.partition("=")
        mandir = os.path.join(root, "usr/share/man")
        if not os.path.isdir(mandir):
            corpus.log(TAG, "warning: %s has no usr/share/man" % pkg)
            continue
        for sub in sorted(os.listdir(mandir)):
            if not sub.startswith("man"):
                continue  # localised pages (de/, fr/, ...) are left out
            d = os.path.join(mandir, sub)
            for fn in sorted(os.listdir(d)):
                m = PAGE.match(fn)
                if not m:
                    continue
                key = (m.group(1), m.group(2))
                path = os.path.join(d, fn)
                if os.path.islink(path):
                    t = PAGE.match(os.path.basename(os.readlink(path)))
                    if t:
                        alias[key] = (t.group(1), t.group(2))
                    continue
                files.append((pkg, path, key))
    entries, by_key, see = [], {}, []
    for pkg, path, key in files:
        src = read_page(path)
        so = re.match(r"\.so\s+(\S+)", src.lstrip())
        if so:
            t = PAGE.match(os.path.basename(so.group(1)))
            if t:
                alias[key] = (t.group(1), t.group(2))
            continue
        if key in by_key:
            continue  # the same page in two packages: the first wins
        secs = parse_page(src)
        name_line = secs.get("NAME", "")
        name_line = re.sub(r"^.*?\s-+\s", "", name_line, count=1) if " - " in name_line or "\\-" in name_line \
            else name_line
        desc = secs.get("DESCRIPTION") or secs.get("SYNOPSIS") or ""
        text = "%s(%s): %s. %s" % (key[0], key[1], name_line, first_words(desc, a.words))
        e = {"id": len(entries), "text": text.strip(), "label": key[1],
             "meta": {"name": key[0], "section": key[1], "package": pkg}, "links": []}
        by_key[key] = e["id"]
        entries.append(e)
        see.append(secs.get("SEE ALSO", ""))

    def resolve(name, sec):
        k = (name, sec)
        for _ in range(4):
            if k in by_key:
                return by_key[k]
            if k not in alias:
                break
            k = alias[k]
        return None

    unresolved = 0
    for e, s in zip(entries, see):
        for name, sec in XREF.findall(s):
            dst = resolve(name, sec)
            if dst is None:
                unresolved += 1
                continue
            e["links"].append((dst, "see_also", 1.0))
    corpus.log(TAG, "%d pages (%d aliases), %d SEE ALSO references resolved, %d not in the corpus"
               % (len(entries), len(alias), sum(len(e["links"]) for e in entries), unresolved))
    corpus.embed_and_write(
        a, entries, TAG, json.loads(a.source),
        text="name(section): NAME description. first %d words of DESCRIPTION" % a.words,
        label="manual section from the file name (1, 3, 3ssl, ...)",
        links_from="SEE ALSO name(section) references, through aliases")


if __name__ == "__main__":
    main()
