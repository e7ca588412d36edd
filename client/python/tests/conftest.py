"""Fixtures: a real precisd started for the tests (port 0, port file, a
temporary data directory), stopped with SIGTERM at the end.

The binary is $PRECISD, else $PRECIS_BUILD_DIR/precisd (default build/);
the package is imported from $PRECIS_BUILD_DIR/python (built by `make`)."""
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("PRECIS_BUILD_DIR", "build"))
sys.path.insert(0, os.path.join(BUILD, "python"))


class Server:
    """A precisd child process on 127.0.0.1, ephemeral port."""

    def __init__(self, data_dir=None, args=()):
        self.tmp = tempfile.mkdtemp(prefix="precis-py-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.port_file = os.path.join(self.tmp, "port")
        self.log = os.path.join(self.tmp, "precisd.log")
        binary = os.environ.get("PRECISD", os.path.join(BUILD, "precisd"))
        cmd = [binary, "--data-dir", self.data_dir, "--port", "0", "--port-file",
               self.port_file, "--sync-writes", "0"] + list(args)
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("precisd did not start:\n" + self.read_log())
            time.sleep(0.02)
        self.port = int(open(self.port_file).read())

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["rm", "-rf", self.tmp], check=False)
        return self.proc.returncode


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    assert s.stop() == 0, s.read_log()


@pytest.fixture
def client(server):
    import precis
    with precis.Client("127.0.0.1", server.port, timeout=60) as c:
        yield c


_n = [0]


@pytest.fixture
def coll(client):
    """A fresh collection name, dropped afterwards."""
    _n[0] += 1
    name = "t%d" % _n[0]
    yield name
    try:
        client.drop_collection(name)
    except Exception:
        pass
