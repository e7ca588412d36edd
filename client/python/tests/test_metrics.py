"""precisd --metrics-listen: the Prometheus endpoint, scraped while clients
load the server, each scrape checked with `promtool check metrics`."""
import os
import random
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

import precis
from conftest import Server

PROMTOOL = shutil.which("promtool")


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=30) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def parse(text):
    """{(name, frozenset(labels)): value} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, "bad sample line %r" % line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture(scope="module")
def msrv():
    s = Server(args=["--metrics-listen", "127.0.0.1:0", "--metrics-port-file", "METRICS"])
    yield s
    assert s.stop() == 0, s.read_log()


def metrics_port(s):
    # --metrics-port-file METRICS is relative to the server's cwd (ours)
    with open("METRICS") as f:
        return int(f.read())


@pytest.fixture(scope="module", autouse=True)
def chdir_tmp(tmp_path_factory):
    old = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("metrics"))
    yield
    os.chdir(old)


def promtool_check(text):
    if PROMTOOL is None:
        return
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0, r.stdout.decode()


def test_scrape_during_load(msrv):
    port = metrics_port(msrv)
    dim, n = 16, 3000
    rnd = random.Random(7)
    vecs = [[rnd.uniform(-1, 1) for _ in range(dim)] for _ in range(n)]
    with precis.Client("127.0.0.1", msrv.port) as c:
        c.create_collection("m", dim=dim, index_spec="Flat")
        c.upsert("m", list(range(1000)), vecs[:1000], texts=["a b c"] * 1000)
        c.add_links("m", [(1, 2, "cites"), (2, 3, "cites")])
    done = {"retrieve": 0, "upsert": 0, "notfound": 0}
    stop = threading.Event()
    errors = []

    def load(kind):
        try:
            with precis.Client("127.0.0.1", msrv.port) as c:
                i = 0
                while (i < 40) if kind == "upsert" else (not stop.is_set() or i < 5):
                    if kind == "upsert":
                        lo = 1000 + (i * 50) % 2000
                        c.upsert("m", list(range(lo, lo + 50)), vecs[lo:lo + 50], batch_size=25)
                        done["upsert"] += 2
                    else:
                        c.retrieve("m", vecs[i % n], k=5, hops=1)
                        done["retrieve"] += 1
                        try:
                            c.describe("absent")
                        except precis.NotFound:
                            done["notfound"] += 1
                    i += 1
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=load, args=(k,)) for k in ("upsert", "retrieve", "retrieve")]
    for t in threads:
        t.start()
    try:
        texts = []
        for i in range(12):
            ctype, text = scrape(port)
            assert ctype.startswith("text/plain; version=0.0.4")
            texts.append(text)
            if i % 4 == 0:
                promtool_check(text)  # during the load
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    # counters never go backwards between scrapes
    a, b = parse(texts[0]), parse(texts[-1])
    for key, v in a.items():
        if key[0].endswith(("_total", "_count", "_bucket", "_sum")):
            assert b.get(key, 0) >= v, key
    _, text = scrape(port)
    promtool_check(text)
    s = parse(text)
    assert value(s, "precis_requests_total", op="retrieve", status="OK") == done["retrieve"]
    assert value(s, "precis_requests_total", op="describe_collection", status="NOT_FOUND") == done["notfound"]
    assert value(s, "precis_requests_total", op="upsert", status="OK") == done["upsert"] + 1
    assert value(s, "precis_request_duration_seconds_count", op="retrieve") == done["retrieve"]
    assert value(s, "precis_request_duration_seconds_bucket", op="retrieve", le="+Inf") == done["retrieve"]
    for stage in ("seed", "expand", "select", "total"):
        assert value(s, "precis_retrieve_stage_seconds_count", stage=stage) == done["retrieve"]
    assert value(s, "precis_retrieve_selected_items_sum") == 5 * done["retrieve"]
    assert value(s, "precis_retrieve_pool_size_count") == done["retrieve"]
    assert value(s, "precis_collection_points", collection="m") == 3000
    assert value(s, "precis_collection_links", collection="m") == 2
    assert value(s, "precis_collection_index_vectors", collection="m") >= 3000
    # Flat over 3000 x 16 floats: at least the vectors themselves
    assert value(s, "precis_collection_index_memory_bytes", collection="m") >= 3000 * 16 * 4
    # 3000 points with kNN lists and two links
    assert value(s, "precis_collection_graph_memory_bytes", collection="m") > 3000 * 8
    assert value(s, "precis_collection_maps_memory_bytes", collection="m") >= 3000 * 8
    assert value(s, "precis_collections") == 1
    assert value(s, "precis_errors_total") >= done["notfound"]
    assert value(s, "precis_resident_memory_bytes") > 1e6
    assert value(s, "precis_rocksdb_memtable_bytes") > 0
    assert value(s, "precis_received_bytes_total") > 3000 * dim * 4
    assert value(s, "precis_connections") is not None  # closes are processed asynchronously
    assert value(s, "precis_connections_total") >= 4
    # a worker sends its answer itself (--worker-send) and the loop takes
    # the job back just after, so the gauge reaches 0 shortly after the
    # last reply, not necessarily before it
    inflight, tries = value(s, "precis_inflight_requests"), 0
    while inflight != 0 and tries < 100:
        time.sleep(0.02)
        tries += 1
        inflight = value(parse(scrape(port)[1]), "precis_inflight_requests")
    assert inflight == 0
    assert value(s, "precis_scrapes_total") == 12  # the 12 before this one
    if PROMTOOL is None:
        pytest.skip("promtool (Debian prometheus) not installed: format not checked")


def test_other_paths(msrv):
    port = metrics_port(msrv)
    with pytest.raises(urllib.error.HTTPError) as e:
        scrape(port, "/")
    assert e.value.code == 404


def test_bad_metrics_address_fails_startup():
    with pytest.raises(RuntimeError, match="metrics-listen"):
        Server(args=["--metrics-listen", "no-port-here"])


def poll_counters(args):
    """(sleeps, poll hits, poll misses) after 200 health checks."""
    s = Server(args=["--metrics-listen", "127.0.0.1:0", "--metrics-port-file", "METRICS"] + args)
    try:
        with precis.Client("127.0.0.1", s.port) as c:
            for _ in range(200):
                c.health()
        _, text = scrape(metrics_port(s))
        m = parse(text)
        return tuple(value(m, n) for n in ("precis_loop_sleeps_total",
                                           "precis_loop_poll_hits_total",
                                           "precis_loop_poll_misses_total"))
    finally:
        assert s.stop() == 0, s.read_log()


def test_poll_us_counts_every_poll():
    # every iteration that handled I/O polls once: it finds a completion
    # (hit) or gives up and sleeps (miss); 200 requests are at least 200
    # receives, so at least 200 polls, whatever the timing
    sleeps, hits, misses = poll_counters(["--poll-us", "50"])
    assert hits + misses >= 200
    assert sleeps >= 1
    # --poll-us 0 (the default): the loop never polls
    sleeps, hits, misses = poll_counters([])
    assert hits == 0 and misses == 0
    assert sleeps >= 1


def test_poll_us_out_of_range_fails_startup():
    with pytest.raises(RuntimeError, match="poll-us"):
        Server(args=["--poll-us", "10001"])
