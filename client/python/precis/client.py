"""precis.Client: one TCP connection to precisd (docs/PROTOCOL.md).

Thread safety: a Client may be shared by threads; its calls are serialised
by a lock (one request, or one pipelined upsert, at a time on the
connection). For requests in parallel, give each thread its own Client.
After a transport error (ConnectionFailed, Timeout) the connection is closed
and every later call raises ConnectionFailed; create a new Client.
"""
import socket
import threading
from dataclasses import dataclass, field
from typing import List, Optional

from google.protobuf.message import DecodeError

from . import _wire as w
from . import precis_pb2 as pb
from ._status import ConnectionFailed, InvalidArgument, Protocol, Timeout
from .errors import error_for

DEFAULT_PORT = 7878


@dataclass
class Hit:
    """One search result: point id and score (higher is better)."""
    id: int
    score: float


@dataclass
class Point:
    """A stored point as returned by Client.get()."""
    id: int
    text: str
    metadata: dict
    tokens: int
    vector: Optional[List[float]] = None


@dataclass
class Item:
    """One retrieved item. `represented_ids` are the pool points the item
    stands for (capped by max_represented_ids; `represents` is the full
    count); `via` is the point it was reached from (== id for seeds);
    `link_end` the end of the link on its strongest path (== id, or the
    linked point it is the analogue of: docs/RETRIEVAL.md, "Analogy")."""
    id: int
    text: str
    metadata: dict
    tokens: int
    relevance: float
    similarity: float
    gain: float
    hops: int
    via: int
    represents: int
    link_end: int = 0
    represented_ids: List[int] = field(default_factory=list)


class RetrieveResult(list):
    """The selected items, in selection order (a list of Item), with the set
    metrics as attributes: objective, coverage_ratio, redundancy,
    mean_relevance, pool_size, seed_count, coverage_used, t_seed_us,
    t_expand_us, t_select_us, t_total_us (and any field a newer server adds
    to RetrieveResult)."""


class GetResult(list):
    """The points found (a list of Point, in request order); `missing` lists
    the ids that were not found."""
    missing: List[int]


_MODE_ENUM = pb.RetrieveRequest.DESCRIPTOR.fields_by_name["mode"].enum_type
_MODES = {w.enum_name(_MODE_ENUM, v.number): v.number for v in _MODE_ENUM.values}
_RESULT_FIELDS = [f for f in pb.RetrieveResult.DESCRIPTOR.fields if f.name != "items"]


def _item(it):
    return Item(id=it.id, text=w.as_text(it.text), metadata=w.meta_dict(it.metadata),
                tokens=it.tokens, relevance=it.relevance, similarity=it.similarity,
                gain=it.gain, hops=it.hops, via=it.via, represents=it.represents,
                represented_ids=list(it.represented_ids), link_end=it.link_end)


def _edges(links, with_weight):
    out = []
    for ln in links:
        if isinstance(ln, dict):
            out.append(w.build(pb.Edge, src=ln["src"], dst=ln["dst"], kind=ln["kind"],
                               weight=ln.get("weight", 1.0) if with_weight else 0.0))
            continue
        if len(ln) not in (3, 4):
            raise ValueError("a link is (src, dst, kind) or (src, dst, kind, weight), got %r" % (ln,))
        src, dst, kind = ln[0], ln[1], ln[2]
        weight = ln[3] if len(ln) == 4 and with_weight else (1.0 if with_weight else 0.0)
        out.append(w.build(pb.Edge, src=src, dst=dst, kind=kind, weight=weight))
    return out


class Client:
    """A connection to precisd.

    >>> with precis.Client("127.0.0.1", 7878) as c:
    ...     c.create_collection("docs", dim=384)

    `token` authenticates the connection (servers run with
    --auth-token-file); `timeout` (seconds, None = wait forever) bounds
    connecting and each wait for the server.
    """

    def __init__(self, host="127.0.0.1", port=DEFAULT_PORT, token=None, timeout=30):
        self._lock = threading.Lock()
        self._next_id = 1
        self._sock = None
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except socket.timeout as e:
            raise Timeout("connecting to %s:%s: %s" % (host, port, e)) from None
        except OSError as e:
            raise ConnectionFailed("connecting to %s:%s: %s" % (host, port, e)) from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.settimeout(timeout)
        self._hdr = bytearray(4)
        if token is not None:
            self._call("auth", w.build(pb.AuthRequest, token=token))

    # ---- connection ----
    def close(self):
        """Close the connection (idempotent)."""
        s, self._sock = self._sock, None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _fail(self, e):
        self.close()
        if isinstance(e, socket.timeout):
            return Timeout("no answer from the server: %s" % e)
        return ConnectionFailed(str(e) or "connection closed by the server")

    def _recv_exact(self, n):
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            r = self._sock.recv_into(view[got:], n - got)
            if r == 0:
                raise ConnectionResetError("connection closed by the server")
            got += r
        return buf

    def _read_response(self):
        try:
            n = w.FRAME_HEADER.unpack(self._recv_exact(4))[0]
            if n > w.HARD_MAX_FRAME:
                raise Protocol("response frame of %d bytes exceeds %d" % (n, w.HARD_MAX_FRAME))
            payload = self._recv_exact(n)
        except (OSError, socket.timeout) as e:
            raise self._fail(e) from None
        try:
            resp = pb.Response.FromString(bytes(payload))
        except DecodeError as e:  # the stream cannot be trusted any more
            self.close()
            raise Protocol("undecodable response: %s" % e) from None
        if resp.id == 0 and resp.status.code:  # connection-level error: the server closes
            self.close()
        return resp

    def _send(self, data):
        try:
            self._sock.sendall(data)
        except (OSError, socket.timeout) as e:
            raise self._fail(e) from None

    def _take_id(self):
        rid = self._next_id
        self._next_id += 1
        return rid

    def _check(self, resp):
        if resp.status.code:
            raise error_for(resp.status.code, w.as_text(resp.status.message))
        return resp

    def _call(self, op, msg):
        """Send one request with `op` set to `msg`, wait for its response,
        raise on a non-OK status. Returns the Response."""
        req = pb.Request()
        getattr(req, op).CopyFrom(msg)
        return self._call_request(req)

    def _call_request(self, req):
        """Send the Request `req` (its id is set here) and wait for its
        response, raising on a non-OK status. Returns the Response."""
        with self._lock:
            if self._sock is None:
                raise ConnectionFailed("the connection is closed")
            req.id = self._take_id()
            data = req.SerializeToString()
            self._send(w.FRAME_HEADER.pack(len(data)) + data)
            while True:
                resp = self._read_response()
                if resp.id == req.id or resp.id == 0:
                    return self._check(resp)

    # ---- server ----
    def health(self):
        """dict: version, uptime_s, faiss."""
        return w.to_python(self._call("health", pb.HealthRequest()).health)

    def stats(self):
        """dict of the server's counters (StatsResult)."""
        return w.to_python(self._call("stats", pb.StatsRequest()).stats)

    def snapshot(self, name):
        """Write a consistent snapshot named `name` on the server; returns its
        path there."""
        return w.as_text(self._call("snapshot", w.build(pb.SnapshotRequest, name=name)).status.message)

    def list_snapshots(self):
        """The server's snapshots, ordered by name: dicts with name, path (on
        the server), bytes and created_unix_s."""
        r = self._call("list_snapshots", pb.ListSnapshotsRequest())
        return [w.to_python(x) for x in r.snapshots.snapshots]

    def delete_snapshot(self, name):
        """Delete the snapshot `name` on the server (NotFound if none)."""
        self._call("delete_snapshot", w.build(pb.DeleteSnapshotRequest, name=name))

    # ---- collections ----
    def create_collection(self, name, dim, metric="cosine", **config):
        """Create a collection. `metric`: "cosine", "ip" or "l2"; `config`:
        any CollectionConfig field (index_spec="HNSW32", knn_k=16,
        hnsw_ef_construction, hnsw_ef_search, ivf_nprobe, ...). Returns the
        collection's description (as describe())."""
        cfg = pb.CollectionConfig()
        w.set_fields(cfg, dict(config, dim=dim, metric=metric))
        r = self._call("create_collection", w.build(pb.CreateCollectionRequest, name=name, config=cfg))
        return w.to_python(r.collection.info)

    def drop_collection(self, name):
        self._call("drop_collection", w.build(pb.DropCollectionRequest, name=name))

    def describe(self, name):
        """dict: name, config, count, ann_total, tombstones, knn_edges, links,
        disk_bytes, seq, index_seq."""
        r = self._call("describe_collection", w.build(pb.DescribeCollectionRequest, name=name))
        return w.to_python(r.collection.info)

    def list_collections(self):
        """A list of describe() dicts, ordered by name."""
        r = self._call("list_collections", pb.ListCollectionsRequest())
        return [w.to_python(c) for c in r.collections.collections]

    # ---- points ----
    def upsert(self, name, ids, vectors, texts=None, metadata=None, tokens=None,
               batch_size=1000, window=8):
        """Insert or replace points. `vectors`: a numpy array (n, dim) or a
        list of lists; `texts`: strings or None; `metadata`: dicts (or JSON
        object text) or None; `tokens`: token counts (None = the server
        counts). The points go in batches of `batch_size`, up to `window`
        batches in flight on the connection at once. Each batch is atomic;
        the upsert as a whole is not: on an error, the batches before it may
        be stored. Returns the number of points upserted."""
        row, n = w.float_rows(vectors)
        for what, seq in (("ids", ids), ("texts", texts), ("metadata", metadata), ("tokens", tokens)):
            if seq is not None and len(seq) != n:
                raise ValueError("%s has %d entries for %d vectors" % (what, len(seq), n))
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        window = max(1, window)
        total = 0
        first_err = None
        with self._lock:
            if self._sock is None:
                raise ConnectionFailed("the connection is closed")
            pending = set()

            def collect():
                nonlocal total, first_err
                resp = self._read_response()
                if resp.id == 0:
                    pending.clear()
                else:
                    pending.discard(resp.id)
                if resp.status.code:
                    if first_err is None:
                        first_err = error_for(resp.status.code, w.as_text(resp.status.message))
                else:
                    total += resp.upsert.upserted

            for lo in range(0, n, batch_size):
                while len(pending) >= window:
                    collect()
                if first_err is not None:
                    break
                rid = self._take_id()
                self._send(w.encode_upsert(rid, name, ids, row, lo, min(n, lo + batch_size),
                                           texts, metadata, tokens))
                pending.add(rid)
            while pending:
                collect()
        if first_err is not None:
            raise first_err
        return total

    def get(self, name, ids, with_vectors=False):
        """The points with these ids, in request order, as a GetResult (a
        list of Point; `.missing` lists the ids not found)."""
        req = w.build(pb.GetRequest, collection=name, with_vectors=with_vectors)
        req.ids.extend(int(i) for i in ids)
        r = self._call("get", req).get
        out = GetResult(Point(id=p.id, text=w.as_text(p.text), metadata=w.meta_dict(p.metadata),
                              tokens=p.tokens, vector=list(p.vector) if with_vectors else None)
                        for p in r.points)
        out.missing = list(r.missing)
        return out

    def delete(self, name, ids):
        """Delete these ids (absent ones are ignored); returns how many existed."""
        req = w.build(pb.DeleteRequest, collection=name)
        req.ids.extend(int(i) for i in ids)
        return self._call("delete", req).delete.deleted

    # ---- graph ----
    def add_links(self, name, links):
        """Add knowledge links: (src, dst, kind) or (src, dst, kind, weight)
        tuples (weight in (0, 1], default 1). Returns links added."""
        req = w.build(pb.AddLinksRequest, collection=name)
        req.links.extend(_edges(links, True))
        return self._call("add_links", req).links.changed

    def remove_links(self, name, links):
        """Remove (src, dst, kind[, weight]) links; returns links removed."""
        req = w.build(pb.RemoveLinksRequest, collection=name)
        req.links.extend(_edges(links, False))
        return self._call("remove_links", req).links.changed

    def list_edges(self, name, id, **params):
        """Edges of point `id` as (src, dst, kind, weight) tuples. `params`:
        knn, links, kind, outgoing, incoming (ListEdgesRequest)."""
        req = w.build(pb.ListEdgesRequest, collection=name, id=id)
        w.set_fields(req, params)
        return [(e.src, e.dst, w.as_text(e.kind), e.weight)
                for e in self._call("list_edges", req).edges.edges]

    def graph_rebuild(self, name):
        """Recompute every kNN edge of the collection."""
        self._call("graph_rebuild", w.build(pb.GraphRebuildRequest, collection=name))

    # ---- queries ----
    def search(self, name, vector, k=10, **params):
        """The k nearest points as a list of Hit(id, score), best first.
        `params`: any SearchRequest field (exact=True, ef_search, nprobe, ...)."""
        req = w.build(pb.SearchRequest, collection=name, k=k)
        w.set_fields(req, dict(params, vector=vector))
        return [Hit(h.id, h.score) for h in self._call("search", req).search.hits]

    def retrieve(self, name, vector=None, k=10, mode="compress", hops=0, token_budget=None,
                 query_point=None, **params):
        """Seeds, graph expansion, set selection (docs/RETRIEVAL.md).

        `vector`: the query (or `query_point`: the id of a stored point whose
        vector is the query); `mode`: "compress", "topk" or "mmr"; `hops`:
        graph hops 0..3; `token_budget`: max total tokens of the items.
        `params`: any RetrieveRequest field by name (pool, seeds, fanout,
        graph_weight, decay, lambda_=..., a, b, c, theta, coverage="sample",
        link_kinds=[...], max_represented_ids, nprobe, ...), including fields
        a newer server adds. A field given is sent with presence, so 0 means
        0; a field not given is not sent and takes the server's default
        (docs/PROTOCOL.md, "Parameters").
        Returns a RetrieveResult: the items, with the set metrics as
        attributes."""
        envelope = pb.Request()
        req = envelope.retrieve  # built in place: no copy on the hot path
        w.set_fields(req, {"collection": name})
        req.k = k
        req.hops = hops
        req.mode = _MODES[mode] if mode in _MODES else w.enum_value(_MODE_ENUM, mode)
        if token_budget:
            req.token_budget = token_budget
        if query_point is not None:
            if vector is not None:
                raise InvalidArgument("give either vector or query_point, not both")
            req.use_query_point = True
            req.query_point = query_point
        elif vector is None:
            raise InvalidArgument("retrieve needs a vector or a query_point")
        else:
            params = dict(params, vector=vector)
        if "lambda_" in params:  # `lambda` is a Python keyword
            params["lambda"] = params.pop("lambda_")
        w.set_fields(req, params)
        r = self._call_request(envelope).retrieve
        out = RetrieveResult(_item(it) for it in r.items)
        for f in _RESULT_FIELDS:
            setattr(out, f.name, w.field_value(f, getattr(r, f.name)))
        return out
