"""bench/pysrv.py: what the Python benches (python_client.py, rpc_split.py,
group_commit.py) share: the build directory with its Python client on the
import path, and a throw-away precisd (a temporary data directory, an
ephemeral port and metrics port, writes not synced; everything removed on
exit)."""
import contextlib
import os
import shutil
import subprocess
import tempfile
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def use_build(build):
    """The absolute path of build directory `build` (relative to the
    repository), with its Python client put first on the import path."""
    path = os.path.join(ROOT, build)
    sys.path.insert(0, os.path.join(path, "python"))
    return path


@contextlib.contextmanager
def precisd(build, prefix="precis-pybench-"):
    """Yields (port, metrics port) of a running precisd from `build`."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    pf, mpf = os.path.join(tmp, "port"), os.path.join(tmp, "mport")
    log = open(os.path.join(tmp, "log"), "wb")
    srv = subprocess.Popen([os.path.join(build, "precisd"), "--data-dir", os.path.join(tmp, "d"),
                            "--port", "0", "--port-file", pf, "--sync-writes", "0",
                            "--metrics-listen", "127.0.0.1:0", "--metrics-port-file", mpf],
                           stdout=log, stderr=log)
    try:
        while not (os.path.exists(pf) and os.path.exists(mpf)):
            if srv.poll() is not None:
                raise RuntimeError("precisd exited: %s" % open(os.path.join(tmp, "log")).read())
            time.sleep(0.05)
        time.sleep(0.05)  # the files are written once each port listens
        yield int(open(pf).read()), int(open(mpf).read())
    finally:
        srv.terminate()
        srv.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
