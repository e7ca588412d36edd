"""Private: frames, protobuf field helpers and the fast point encoder.

A frame is a 4-byte big-endian length, then that many bytes of an encoded
precis.v1.Request or Response (docs/PROTOCOL.md section 2). Field numbers
are read from the generated descriptors, never written down here.
"""
import functools
import json
import struct
import sys
from array import array

from google.protobuf.descriptor import FieldDescriptor as _FD

from . import precis_pb2 as pb

try:  # optional fast path
    import numpy as _np
except ImportError:  # pragma: no cover - exercised where numpy is absent
    _np = None

FRAME_HEADER = struct.Struct(">I")
# The server's hard frame limit (PRECIS_HARD_MAX_FRAME, include/precis/limits.h):
# a header announcing more is a broken stream.
HARD_MAX_FRAME = 256 << 20



def varint(n):
    """Protobuf base-128 varint of a non-negative int."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _tag(field, wire_type):
    return varint((field.number << 3) | wire_type)


_VARINT, _LEN = 0, 2
_P = pb.Point.DESCRIPTOR.fields_by_name
_T_ID = _tag(_P["id"], _VARINT)
_T_VEC = _tag(_P["vector"], _LEN)
_T_TEXT = _tag(_P["text"], _LEN)
_T_META = _tag(_P["metadata"], _LEN)
_T_TOKENS = _tag(_P["tokens"], _VARINT)
_T_HAS_TOKENS = _tag(_P["has_tokens"], _VARINT)
_U = pb.UpsertRequest.DESCRIPTOR.fields_by_name
_T_COLL = _tag(_U["collection"], _LEN)
_T_POINTS = _tag(_U["points"], _LEN)
_R = pb.Request.DESCRIPTOR.fields_by_name
_T_REQ_ID = _tag(_R["id"], _VARINT)
_T_REQ_UPSERT = _tag(_R["upsert"], _LEN)
_LITTLE = sys.byteorder == "little"


def as_bytes(s):
    """UTF-8 bytes of a str (bytes pass through)."""
    return s if isinstance(s, (bytes, bytearray)) else s.encode("utf-8")


def as_text(v):
    """str of a string or bytes field (bytes fields decode as UTF-8)."""
    return v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else v


def meta_text(m):
    """Metadata as JSON object text: dict -> compact JSON, str as given."""
    if m is None:
        return b""
    if isinstance(m, (str, bytes, bytearray)):
        return as_bytes(m)
    return json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def meta_dict(s):
    """Metadata text from the server as a dict ({} when empty)."""
    if not s or s == "{}":
        return {}
    return json.loads(as_text(s))


def float_rows(vectors):
    """A function row(i) returning row i as little-endian float32 bytes, and
    the number of rows. A 2-D numpy array takes the fast path (one
    conversion, then slices of its buffer); a list of lists or of 1-D arrays
    is converted row by row."""
    if _np is not None and isinstance(vectors, _np.ndarray):
        arr = _np.ascontiguousarray(vectors, dtype="<f4")
        if arr.ndim != 2:
            raise ValueError("vectors must be a 2-D array (n, dim), got shape %s" % (arr.shape,))
        mv = memoryview(arr).cast("B")
        rb = arr.shape[1] * 4
        return (lambda i: mv[i * rb:(i + 1) * rb]), arr.shape[0]

    def row(i):
        v = vectors[i]
        if _np is not None and isinstance(v, _np.ndarray):
            return _np.ascontiguousarray(v, dtype="<f4").tobytes()
        a = array("f", v)
        if not _LITTLE:
            a.byteswap()
        return a.tobytes()
    return row, len(vectors)


def encode_upsert(req_id, collection, ids, row, lo, hi, texts, metas, tokens):
    """The frame of Request{id, upsert{collection, points[lo:hi]}}, encoded
    by hand: this is the hot loop of bulk loading, and building one protobuf
    message per point costs several times more."""
    parts = []
    for i in range(lo, hi):
        vec = row(i)
        body = [_T_ID, varint(int(ids[i])), _T_VEC, varint(len(vec)), vec]
        if texts is not None and texts[i]:
            t = as_bytes(texts[i])
            body += [_T_TEXT, varint(len(t)), t]
        if metas is not None and metas[i] is not None:
            m = meta_text(metas[i])
            if m:
                body += [_T_META, varint(len(m)), m]
        if tokens is not None and tokens[i] is not None and tokens[i] >= 0:
            body += [_T_TOKENS, varint(int(tokens[i])), _T_HAS_TOKENS, b"\x01"]
        b = b"".join(body)
        parts += [_T_POINTS, varint(len(b)), b]
    c = as_bytes(collection)
    up = b"".join([_T_COLL, varint(len(c)), c] + parts)
    msg = b"".join([_T_REQ_ID, varint(req_id), _T_REQ_UPSERT, varint(len(up)), up])
    return FRAME_HEADER.pack(len(msg)) + msg


def enum_value(enum_desc, value):
    """An enum value from an int or a case-insensitive name, with or without
    the enum's prefix ("cosine", "METRIC_COSINE")."""
    if isinstance(value, int):
        return value
    key = str(value).upper()
    names = [v.name for v in enum_desc.values]
    prefix = _enum_prefix(enum_desc)
    for v in enum_desc.values:
        if v.name == key or v.name == prefix + key:
            return v.number
    raise ValueError("%r is not one of %s" % (value, ", ".join(
        n[len(prefix):].lower() for n in names)))


def enum_name(enum_desc, number):
    """Lower-case enum name without its prefix ("cosine"); the number when unknown."""
    v = enum_desc.values_by_number.get(number)
    if v is None:
        return number
    return v.name[len(_enum_prefix(enum_desc)):].lower()


@functools.lru_cache(maxsize=None)
def _enum_prefix(enum_desc):
    return _common_prefix([v.name for v in enum_desc.values])


def _common_prefix(names):
    if len(names) < 2:
        return ""
    p = names[0]
    for n in names[1:]:
        while not n.startswith(p):
            p = p[:-1]
    return p[:p.rfind("_") + 1] if "_" in p else ""


def _convert(field, value):
    if field.type == _FD.TYPE_ENUM:
        return enum_value(field.enum_type, value)
    if field.type == _FD.TYPE_BYTES and isinstance(value, str):
        return value.encode("utf-8")
    if field.type == _FD.TYPE_STRING and isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8")
    return value


def set_fields(msg, params, skip=()):
    """Set fields of `msg` by name from the dict `params`: this is how keyword
    arguments reach request fields, including fields added to the schema
    after this client was written. Enums take names or numbers, repeated
    fields iterables, message fields dicts (recursively) or messages; a
    member of a oneof is set (so present) even when it is 0. An unknown name
    raises TypeError listing the valid ones."""
    fields = msg.DESCRIPTOR.fields_by_name
    for name, value in params.items():
        if name in skip or value is None:
            continue
        f = fields.get(name)
        if f is None:
            raise TypeError("unknown parameter %r for %s (known: %s)" % (
                name, msg.DESCRIPTOR.name, ", ".join(sorted(set(fields) - set(skip)))))
        if f.label == _FD.LABEL_REPEATED:
            target = getattr(msg, name)
            if f.type == _FD.TYPE_MESSAGE:
                for v in value:
                    if isinstance(v, dict):
                        set_fields(target.add(), v)
                    else:
                        target.add().CopyFrom(v)
            else:
                if _np is not None and isinstance(value, _np.ndarray):
                    value = value.tolist()
                if f.type in (_FD.TYPE_ENUM, _FD.TYPE_BYTES, _FD.TYPE_STRING):
                    value = [_convert(f, v) for v in value]
                target.extend(value)
        elif f.type == _FD.TYPE_MESSAGE:
            sub = getattr(msg, name)
            if isinstance(value, dict):
                sub.SetInParent()
                set_fields(sub, value)
            else:
                sub.CopyFrom(value)
        else:
            setattr(msg, name, _convert(f, value))


def build(cls, **fields):
    """A new message of type `cls` with `fields` set by set_fields (so a str
    given for a bytes field, or bytes for a string field, is converted)."""
    msg = cls()
    set_fields(msg, fields)
    return msg


def to_python(msg):
    """A message as a dict of plain Python values (enums as lower-case names
    without prefix, bytes fields decoded, nested messages as dicts)."""
    return {f.name: field_value(f, getattr(msg, f.name)) for f in msg.DESCRIPTOR.fields}


def field_value(f, v):
    """The plain Python value of field `f` holding `v` (see to_python)."""
    if f.label == _FD.LABEL_REPEATED:
        return [_scalar(f, x) for x in v]
    return _scalar(f, v)


def _scalar(f, v):
    if f.type == _FD.TYPE_MESSAGE:
        return to_python(v)
    if f.type == _FD.TYPE_ENUM:
        return enum_name(f.enum_type, v)
    if f.type == _FD.TYPE_BYTES:
        return as_text(v)
    return v
