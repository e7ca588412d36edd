#!/usr/bin/env python3
"""gen_status.py STATUS_H OUT_PY: write precis/_status.py, the exception
classes of the Python client, from PRECIS_STATUS_MAP in
include/precis/status.h (the one list of status codes; nothing is copied by
hand). Run by the Makefile at build time."""
import re
import sys

# Class names are the CamelCase of the status name, except where that would
# read badly or clash; the classes for transport failures also derive from
# the matching builtin so that `except ConnectionError` / `except
# TimeoutError` catch them.
OVERRIDES = {
    "IO": ("StorageError", None),
    "CONNECTION": ("ConnectionFailed", "ConnectionError"),
    "TIMEOUT": ("Timeout", "TimeoutError"),
}


def main(src, dst):
    text = open(src, encoding="utf-8").read()
    rows = re.findall(r'X\((\w+),\s*(\d+),\s*"((?:[^"\\]|\\.)*)"\)', text)
    if not rows:
        sys.exit("gen_status: no PRECIS_STATUS_MAP entries in " + src)
    out = [
        '"""Generated from include/precis/status.h by gen_status.py: do not edit."""',
        "from .errors import PrecisError",
        "",
    ]
    names = []
    for name, code, desc in rows:
        if int(code) == 0:
            continue
        cls, base = OVERRIDES.get(name, ("".join(w.capitalize() for w in name.split("_")), None))
        bases = "PrecisError" + (", " + base if base else "")
        out += [
            "",
            "class %s(%s):" % (cls, bases),
            '    """%s (status %s, %s)."""' % (desc, code, name),
            "    code = %s" % code,
            "    status = %r" % name,
            "",
        ]
        names.append((int(code), cls))
    out += ["", "BY_CODE = {"] + ["    %d: %s," % (c, n) for c, n in names] + ["}", ""]
    out += ["__all__ = ["] + ["    %r," % n for _, n in names] + ["]", ""]
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gen_status.py STATUS_H OUT_PY")
    main(sys.argv[1], sys.argv[2])
