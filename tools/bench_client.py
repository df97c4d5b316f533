"""tools/bench's client figures (DESIGN §13): what a CI job's command costs against a server, as ratios in one run.

- A fresh client (empty cache, as on an ephemeral runner): `record built` and `gate` against a server of the large
  ledger (1,000,000 entries by default) vs one of 1,000: wall time and peak memory (medians of 5), each ≤ 1.5×;
  bytes downloaded per command (counted by a loopback proxy) ≤ 64 KiB.
- A warm client (state held) vs the same `gate` on the local ledger file: ≤ 3× wall time.
- A first `--mirror` sync of the large ledger (the full verified replica, streamed): peak memory ≤ 200 MiB.
"""
import base64
import hashlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading

REPEATS = 5


class CountingProxy:
    """A loopback TCP proxy that counts the bytes the upstream server sends back (what the client downloads)."""

    def __init__(self, upstream):
        host, port = upstream.split("//", 1)[1].rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.downloaded = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream, timeout=60)
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source, sink, count):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if count:
                    with self.lock:
                        self.downloaded += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def take(self):
        with self.lock:
            value, self.downloaded = self.downloaded, 0
        return value

    def close(self):
        self.listener.close()


def gnu_time(cmd, env):
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True, env=env)
    if r.returncode not in (0, 1):
        sys.exit(f"bench: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    wall, kib = r.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib)


def client_bench(row, results, docket, ledger, serve, stop, large):
    """Fresh and warm clients against servers of 1,000 and `large` entries (ledger(n) makes or extends one)."""
    ci_seed = hashlib.sha256(b"docket-bench ci").digest()  # docket-bench's ci actor
    figures = {}
    for size in (1000, large):
        path = ledger(size)
        digest = json.loads(subprocess.run([docket, "log", "--since", "10", "--limit", "1", "--json", "--ledger", path],
                                           check=True, capture_output=True, text=True).stdout)[0]["digest"]
        proc, url = serve(path)
        proxy = CountingProxy(url)
        try:
            log_key = json.loads(subprocess.run([docket, "ledger", "describe", "--json", "--ledger", path],
                                                check=True, capture_output=True, text=True).stdout)["logKey"]
            measured = {}
            for what in ("record built", "gate"):
                walls, kibs, sent = [], [], []
                for _ in range(REPEATS):
                    with tempfile.TemporaryDirectory() as cache:
                        env = dict(os.environ, DOCKET_CACHE_DIR=cache, DOCKET_LOG_KEY=log_key, NO_COLOR="1",
                                   DOCKET_KEY=base64.b64encode(ci_seed).decode())
                        args = (["record", "built", "registry.bench/app@sha256:" + secrets.token_hex(32)]
                                if what == "record built" else ["gate", digest, "--env", "production"])
                        proxy.take()
                        wall, kib = gnu_time([docket, *args, "--ledger", proxy.url], env)
                        walls.append(wall)
                        kibs.append(kib)
                        sent.append(proxy.take())
                measured[what] = (statistics.median(walls), statistics.median(kibs), max(sent))
            # Warm: the state is held; the same gate on the local file for comparison.
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, DOCKET_CACHE_DIR=cache, DOCKET_LOG_KEY=log_key, NO_COLOR="1")
                gnu_time([docket, "gate", digest, "--env", "production", "--ledger", url], env)
                warm = statistics.median(gnu_time([docket, "gate", digest, "--env", "production", "--ledger", url],
                                                  env)[0] for _ in range(REPEATS))
                local = statistics.median(gnu_time([docket, "gate", digest, "--env", "production", "--ledger", path],
                                                   env)[0] for _ in range(REPEATS))
            measured["warm"] = (warm, local)
            if size == large:
                with tempfile.TemporaryDirectory() as cache:
                    env = dict(os.environ, DOCKET_CACHE_DIR=cache, DOCKET_LOG_KEY=log_key, DOCKET_MIRROR="1")
                    measured["mirror"] = gnu_time([docket, "status", "--ledger", url], env)
            figures[size] = measured
        finally:
            proxy.close()
            stop(proc)
    small, big = figures[1000], figures[large]
    for what in ("record built", "gate"):
        (sw, sk, sb), (bw, bk, bb) = small[what], big[what]
        row(f"fresh client `{what}` wall at {large:,} entries", bw * 1000, "ms", sw * 1000, "ms at 1,000", bw / sw,
            "<= 1.5", bw / sw <= 1.5)
        row(f"fresh client `{what}` peak memory at {large:,} entries", bk / 1024, "MiB", sk / 1024, "MiB at 1,000",
            bk / sk, "<= 1.5", bk / sk <= 1.5)
        row(f"fresh client `{what}` bytes downloaded at {large:,} entries", bb / 1024, "KiB", 64, "KiB (target)",
            bb / 65536, "<= 1", bb <= 65536)
    warm, local = big["warm"]
    row(f"warm client `gate` at {large:,} entries", warm * 1000, "ms", local * 1000, "ms on the local file",
        warm / local, "<= 3", warm / local <= 3)
    wall, kib = big["mirror"]
    row(f"first --mirror sync of {large:,} entries: peak memory", kib / 1024, "MiB", 200, "MiB (target)",
        kib / 1024 / 200, "<= 1", kib / 1024 <= 200)
    results["mirror first sync seconds"] = wall
    results["client"] = {str(k): {w: list(v) for w, v in m.items()} for k, m in figures.items()}
