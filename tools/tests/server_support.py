"""Test-side support for the `docket serve` tests (test_server.py): starting and stopping a server, raw HTTP,
receipts and their proofs checked from the specifications (RFC 9162 inclusion and consistency proofs, C2SP
tlog-proof@v1 and tlog-tiles), and envelopes signed in Python.

Nothing here imports Docket's code or tools/verify-bundle; the Merkle and note primitives are helpers.py's.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from . import helpers

START_TIMEOUT = 15.0  # seconds from exec to the listening line and a 200 from /readyz
STOP_TIMEOUT = 15.0  # seconds from SIGTERM to exit
LISTENING = re.compile(r"^docket serve: listening on (https?)://([0-9.]+):([0-9]+) \(ledger (.*)\)$")


# ------------------------------------------------------------------------------------------------ HTTP


class Reply:
    """One HTTP answer: status, headers (lower-case names), body bytes."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<HTTP %d %s>" % (self.status, self.text[:300].replace("\n", "\\n"))


def connection(url, timeout=10.0, context=None):
    """An http.client connection to the server at url (http:// or https://)."""
    scheme, rest = url.split("://", 1)
    host, port = rest.rsplit(":", 1)
    if scheme == "https":
        return http.client.HTTPSConnection(host, int(port), timeout=timeout, context=context)
    return http.client.HTTPConnection(host, int(port), timeout=timeout)


def exchange(conn, method, path, body=None, headers=None):
    """One request on an open connection (kept alive by the caller)."""
    headers = dict(headers or {})
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


def request(url, method, path, body=None, headers=None, timeout=10.0, context=None):
    """One request on a connection of its own."""
    conn = connection(url, timeout=timeout, context=context)
    try:
        return exchange(conn, method, path, body, headers)
    finally:
        conn.close()


def get(url, path, **kw):
    return request(url, "GET", path, **kw)


def post(url, body, **kw):
    return request(url, "POST", "/api/v1/entries", body=body, **kw)


def free_port():
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------ the server


class Served:
    """A running `docket serve`: url, port, path (the ledger file), proc, and its stdout/stderr files."""

    def __init__(self, proc, url, path, out, err, context=None):
        self.proc, self.url, self.path, self.out, self.err = proc, url, Path(path), out, err
        self.port = int(url.rsplit(":", 1)[1])
        self.context = context
        self.ledger = None  # the conftest Ledger, when the server was made from one

    def __iter__(self):  # url, ledger path, process
        return iter((self.url, self.path, self.proc))

    def get(self, path, **kw):
        kw.setdefault("context", self.context)
        return get(self.url, path, **kw)

    def post(self, body, **kw):
        kw.setdefault("context", self.context)
        return post(self.url, body, **kw)

    def logs(self, limit=3000):
        text = Path(self.err).read_text(errors="replace") if Path(self.err).exists() else ""
        return text[-limit:]

    @property
    def running(self):
        return self.proc.poll() is None

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then the exit code (None if it had to be killed after timeout seconds)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        """SIGKILL, and reap."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        return self.proc.returncode


class StartError(Exception):
    pass


def start(docket, ledger_path, folder, args=(), port=0, env=None, context=None, timeout=START_TIMEOUT, name="serve"):
    """`docket serve --ledger PATH --listen 127.0.0.1:PORT ARGS…`; returns a Served once the listening line is on
    stdout and /readyz answers 200, within timeout seconds. Raises StartError (with the logs) otherwise."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        out, err = folder / f"{name}-{n}.out", folder / f"{name}-{n}.err"
        if not out.exists():
            break
    argv = [docket.binary, "serve", "--ledger", str(ledger_path), "--listen", f"127.0.0.1:{port}", *map(str, args)]
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, env=docket.env(None, env),
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if url is None:
            for line in out.read_text(errors="replace").splitlines():
                m = LISTENING.match(line)
                if m:
                    url = "%s://%s:%s" % (m.group(1), m.group(2), m.group(3))
        if url is not None:
            try:
                if get(url, "/readyz", timeout=2, context=context).status == 200:
                    return Served(proc, url, ledger_path, out, err, context)
            except OSError:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    rc = proc.poll()
    if rc is None:
        proc.kill()
        proc.wait(timeout=10)
    raise StartError("docket serve did not become ready within %.0fs (exit %s); stdout: %r; stderr: %r" % (
        timeout, rc, out.read_text(errors="replace")[-500:], err.read_text(errors="replace")[-1500:]))


# ------------------------------------------------------------------------------------------------ RFC 9162 proofs


def _b64(text):
    return base64.b64decode(text, validate=True)


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2: does the audit path `proof` lead from leaf hash `leaf` at `index` to `root` of a tree
    of `size` leaves?"""
    if index >= size or index < 0:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = helpers.node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = helpers.node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, root1, root2, proof):
    """RFC 9162 §2.1.4.2: does `proof` show the tree of size2 (root2) extends the one of size1 (root1)?"""
    if size1 < 1 or size1 > size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node of the path
        proof = [root1] + list(proof)
    if not proof:
        return False
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = helpers.node_hash(c, fr)
            sr = helpers.node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = helpers.node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


def parse_tlog_proof(text):
    """(index, [hash bytes], checkpoint note text) of a C2SP tlog-proof@v1 text (no extra data line)."""
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise ValueError("no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1" or not lines[1].startswith("index "):
        raise ValueError("not a tlog-proof@v1: %r" % lines[:2])
    index = int(lines[1][len("index "):])
    return index, [_b64(h) for h in lines[2:]], note


class ReceiptChecker:
    """Checks receipts against the log's verifier key, caching checkpoint signatures (a load test sees one
    checkpoint per batch, thousands of receipts)."""

    def __init__(self, verifier_key):
        self.key = verifier_key
        self._checked = {}

    def checkpoint(self, note):
        """The parsed checkpoint if the note is signed by the log key, else None."""
        if note not in self._checked:
            try:
                c = helpers.parse_checkpoint(note)
                self._checked[note] = c if helpers.note_signed_by(c.body, c.signatures, self.key) else None
            except Exception:
                self._checked[note] = None
        return self._checked[note]

    def problems(self, receipt, payload=None):
        """What does not hold in a receipt (empty when it proves its entry is in the signed log): the leaf hash is
        the entry's, the entry's index is the receipt's, the proof is for that index and leads to the
        checkpoint's root, the checkpoint is signed by the log key and is the receipt's tree size, and (payload
        given) the entry carries that payload."""
        found = []
        try:
            entry_bytes = receipt["entry"].encode()
            entry = json.loads(entry_bytes)
            index = receipt["index"]
            leaf = helpers.leaf_hash(entry_bytes)
            if receipt["leafHash"] != leaf.hex():
                found.append("leafHash is not sha256(0x00 || entry)")
            if entry.get("index") != index:
                found.append("the entry's index %r is not the receipt's %r" % (entry.get("index"), index))
            if payload is not None and helpers.any_b64(entry["envelope"]["payload"]) != payload:
                found.append("the entry does not carry the payload sent")
            proof_index, hashes, note = parse_tlog_proof(receipt["inclusionProof"])
            if proof_index != index:
                found.append("the proof is for index %d" % proof_index)
            if note != receipt["checkpoint"]:
                found.append("the proof's checkpoint is not the receipt's checkpoint")
            c = self.checkpoint(note)
            if c is None:
                found.append("the checkpoint is not signed by the log key")
            else:
                if c.size != receipt["treeSize"]:
                    found.append("treeSize %r is not the checkpoint's size %d" % (receipt["treeSize"], c.size))
                if not verify_inclusion(index, c.size, leaf, hashes, c.root):
                    found.append("the inclusion proof does not lead to the checkpoint's root")
        except Exception as e:  # a receipt missing fields, or one that does not parse
            found.append("unreadable receipt: %r" % e)
        return found


# ------------------------------------------------------------------------------------------------ tiles


def tile_index_path(n):
    """C2SP tlog-tiles index: groups of three digits, all but the last prefixed with x (1234067 → x001/x234/067)."""
    text = "%d" % n
    text = "0" * (-len(text) % 3) + text
    groups = [text[i:i + 3] for i in range(0, len(text), 3)]
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def split_entry_bundle(data):
    """The entries of a tlog-tiles entry bundle (big-endian uint16 length, then the bytes); raises on damage."""
    entries, i = [], 0
    while i < len(data):
        if i + 2 > len(data):
            raise ValueError("truncated length at byte %d" % i)
        n = int.from_bytes(data[i:i + 2], "big")
        if i + 2 + n > len(data):
            raise ValueError("truncated entry at byte %d" % i)
        entries.append(data[i + 2:i + 2 + n])
        i += 2 + n
    return entries


# ------------------------------------------------------------------------------------------------ envelopes


def now_text():
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def statement(kind, repo, hex_digest, origin, ledger_id, **predicate):
    """An in-toto statement of a Docket image event (compact JSON bytes, sorted keys), signed time now."""
    body = {"_type": helpers.STATEMENT_TYPE,
            "predicate": {"ledger": origin, "ledgerID": ledger_id, "nonce": os.urandom(16).hex(),
                          "time": now_text(), **predicate},
            "predicateType": "https://docket.dev/%s/v1" % kind,
            "subject": [{"digest": {"sha256": hex_digest}, "name": repo}]}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def envelope(signer, payload):
    """A DSSE envelope (compact JSON bytes) over payload, signed by signer (SigningKey or seed)."""
    return json.dumps(helpers.sign_envelope(signer, payload), separators=(",", ":")).encode()


def key_seed(key_file):
    """The Ed25519 seed of a `docket key generate` file (unencrypted)."""
    return base64.b64decode(json.loads(Path(key_file).read_text())["seed"])


def write_public_key(path, signer, identity):
    """FILE.pub as `docket key generate` writes it, for a key made in Python."""
    Path(path).write_text("docket-ed25519 %s %s\n" % (helpers.b64(helpers.raw_public_key(signer)), identity))
    return path


def hex_digest(label):
    return hashlib.sha256(label.encode()).hexdigest()


# ------------------------------------------------------------------------------------------------ the CLI as a client


class Client:
    """`docket ARGS --ledger URL` with its own mirror folder (DOCKET_CACHE_DIR) and extra environment."""

    def __init__(self, docket, url, cache, env=None):
        self.docket, self.url, self.cache, self.env = docket, url, Path(cache), dict(env or {})

    def __call__(self, *args, ok=None, timeout=60, env=None):
        """The Result; ok=N requires exit N (raises AssertionError with the output otherwise)."""
        extra = {"DOCKET_CACHE_DIR": str(self.cache), **self.env, **(env or {})}
        result = self.docket.run([*args, "--ledger", self.url], env_extra=extra, timeout=timeout)
        if ok is not None and result.rc != ok:
            raise AssertionError("expected exit %d from `docket %s --ledger %s`:\n%s" % (
                ok, " ".join(map(str, args)), self.url, result.text()))
        return result


# ------------------------------------------------------------------------------------------------ bundles


def read_bundle(data):
    """(header dict, [entry bytes]) of a docket-bundle/v1 (JSONL: header line, then one entry per line)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return json.loads(lines[0]), lines[1:]


def entry_payload(entry_bytes):
    """The envelope payload bytes an entry carries."""
    return helpers.any_b64(json.loads(entry_bytes)["envelope"]["payload"])
