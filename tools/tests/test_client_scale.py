"""Clients at CI scale (DESIGN.md §13): the CLI against `docket serve` keeps only a small verified state per server
(`$DOCKET_CACHE_DIR/<url>.state.json`), asks the server questions whose answers come back signed by the log key and
bound to a checkpoint, proves every checkpoint it sees consistent with the one it holds, and resends the same
signed bytes when a write is retried. All traffic is on 127.0.0.1; the lying servers are small Python proxies in
front of honest ones.

  1  output parity      17 queries of the two-service story (test_server's) in human and --json form: via the
                        server (fresh cache) the same stdout and exit code as on the file; a misspelt --env and an
                        unknown --for are exit 2 both ways with the same message
  2  concurrency        10 waves of 64 CLI processes at once sharing one cache (fresh every other wave): record
                        built, approve, promote (eligible and not), status, gate; each exits as it would on a file,
                        no alarm, every acknowledged event in the log exactly once, nothing else appended, verify
                        clean
  3  killed and retried `record built` SIGKILLed while its POST is held by a proxy after reaching the server, then
                        run again (through the same URL, and directly against the server): "already in the
                        ledger", the event once
  4  lying servers      (a) entry 0 rewritten: "cannot be trusted", nothing kept; (b) a fork with the same log key
                        (same size, other root; a longer log that does not extend the held one): ALARM with both
                        signed notes kept as evidence; (c) a status answer rewritten and re-signed with the log
                        key: printed, saved, and `verify --answer` exits 1 "signed a false answer" (file and
                        bundle); not re-signed: "cannot be trusted"; honest saved answers verify, also after the
                        ledger grew
  5  fresh-client cost  against generated ledgers of 1,000 and 200,000 entries (docket-bench generate): status,
                        gate and record built from a fresh cache each download at most 64 KiB and leave a cache
                        under 16 KiB with no mirror                                             (200,000: slow)
  6  full replica       --mirror on a generated ledger of 20,000 entries: a first sync SIGKILLed once it has
                        committed a chunk resumes from there and answers as the file does; 8 processes syncing
                        one fresh replica at once all exit 0 with no alarm; verify through the replica is clean

No wall-clock assertions: timings only go to the notes.
"""

import base64
import collections
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socketserver
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from . import helpers
from . import server_support as ss
from .conftest import source_binary
# The two-service story told through a server, its fixtures and helpers (test_server.py), reused, not copied.
from .test_server import LINT, LINT_REPO, PAY, PAY_REPO, local_size, serve, verify_clean
from .test_server import story as two_services

slow = pytest.mark.slow

UNTRUSTED = ("ALARM", "cannot be trusted")
AS_OF = re.compile(r"as of entry (\d+)")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


# ------------------------------------------------------------------------------------------------ a proxy


class Proxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of `upstream` (a URL; may be switched at any time). Every request
    is forwarded whole; the answer goes back after `on_response(method, path, request body, Reply)` (when set)
    had its say: it may return another Reply, or sleep. Counts the bytes sent back to clients (`sent`) and keeps
    (method, path, status, bytes) of every exchange in `exchanges`."""

    HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection", "te",
           "upgrade", "trailer"}

    def __init__(self, upstream):
        self.upstream = upstream
        self.on_response = None
        self.sent = 0
        self.exchanges = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    for _ in range(100000):
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else None

            def forward(self):
                body = self.read_body()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in Proxy.HOP}
                try:
                    reply = ss.request(proxy.upstream, self.command, self.path, body=body, headers=headers,
                                       timeout=60)
                except OSError as e:
                    reply = ss.Reply(502, {"content-type": "text/plain"}, ("upstream: %s" % e).encode())
                hook = proxy.on_response
                if hook is not None:
                    reply = hook(self.command, self.path, body, reply) or reply
                head = "HTTP/1.1 %d %s\r\n" % (reply.status, http.client.responses.get(reply.status, "Status"))
                for name, value in reply.headers.items():
                    if name.lower() not in Proxy.HOP:
                        head += "%s: %s\r\n" % (name, value)
                head += "Content-Length: %d\r\n\r\n" % len(reply.body)
                data = head.encode("latin-1") + reply.body
                with proxy.lock:
                    proxy.sent += len(data)
                    proxy.exchanges.append((self.command, self.path, reply.status, len(data)))
                self.wfile.write(data)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass  # a client killed mid-answer (test 3) is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def reset(self):
        with self.lock:
            self.sent = 0
            self.exchanges = []

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def proxy():
    """proxy(upstream URL) → a running Proxy; all are stopped at the end of the test."""
    made = []

    def make(upstream):
        made.append(Proxy(upstream))
        return made[-1]

    yield make
    for p in made:
        p.close()


# ------------------------------------------------------------------------------------------------ helpers


def client_env(cache, **extra):
    return {"DOCKET_CACHE_DIR": str(cache), **{k: str(v) for k, v in extra.items()}}


def run_remote(docket, url, cache, args, timeout=60, **env):
    return docket.run([*args, "--ledger", url], env_extra=client_env(cache, **env), timeout=timeout)


def file_log(docket, path):
    res = docket.run(["log", "--json"], ledger=path, timeout=60)
    assert res.rc == 0, res.describe()
    return json.loads(res.out)


def cache_files(cache):
    return [p for p in Path(cache).rglob("*") if p.is_file()]


def sign_answer(answer, seed):
    """The signature of a docket-answer/v1 (dict of texts) by the log key's seed, as the server makes it."""
    message = b"docket-answer/v1\x00" + b"".join(
        hashlib.sha256(answer[part].encode()).digest()
        for part in ("question", "parameters", "answer", "time", "checkpoint"))
    return base64.b64encode(SigningKey(seed).sign(message).signature).decode()


def log_key_seed(ledger_path):
    return base64.b64decode(json.loads(Path(str(ledger_path) + ".logkey").read_text())["seed"])


def make_key(docket, folder, name, domain="example.com"):
    path = Path(folder) / (name + ".key")
    res = docket.run(["key", "generate", "--identity", "%s@%s" % (name, domain), "--out", path])
    assert res.rc == 0, res.describe()
    return path


# ------------------------------------------------------------------------------------------------ 1 output parity

STORY_SIZE = 16  # entries the story fixture writes (test_server asserts it)
PARITY = [
    ["status"], ["status", "--repo", PAY_REPO], ["status", "--incidents"],
    ["gate", PAY, "--env", "production"], ["gate", PAY], ["gate", PAY, "--env", "production", "--at", "12"],
    ["gate", LINT, "--env", "production"],
    ["pending"], ["pending", "--for", "bob@example.com"],
    ["history", PAY], ["history", LINT_REPO + ":v2.0.0"],
    ["log"], ["log", "--since", "3", "--limit", "4"],
    ["policy", "show"], ["key", "list"],
    ["rollback", "--env", "production", "--repo", LINT_REPO, "--list"],
    ["ledger", "describe"],
]


def evaluated_now(text, known):
    """text with every RFC 3339 time that is not a time of the ledger (an entry's, a predicate's) replaced by
    <now>: a gate is evaluated at the moment it is asked for, so that time differs between two runs."""
    return RFC3339.sub(lambda m: m.group(0) if m.group(0) in known else "<now>", text)


@pytest.fixture(scope="module")
def ledger_times(two_services, docket):
    return set(RFC3339.findall(json.dumps(file_log(docket, two_services.ledger.path))))


@pytest.mark.parametrize("form", ["human", "json"])
@pytest.mark.parametrize("args", PARITY, ids=lambda a: " ".join(a).replace("/", "_"))
def test_parity_query_via_the_server_prints_what_the_file_prints(two_services, docket, ledger_times, tmp_path,
                                                                  args, form):
    """`docket ARGS --ledger URL` (fresh cache, log key pinned) prints on stdout exactly what `docket ARGS --ledger
    FILE` prints, with the same exit code; the only time allowed to differ is the moment of evaluation. In human
    form, stderr says which entry the signed answer was computed at (the last one); no mirror is kept."""
    ledger = two_services.ledger
    extra = ["--json"] if form == "json" else []
    local = docket.run([*args, *extra], ledger=ledger.path)
    remote = run_remote(docket, two_services.srv.url, tmp_path / "cache", [*args, *extra],
                        DOCKET_LOG_KEY=str(ledger.path) + ".logkey.pub")
    assert local.rc in (0, 1), local.describe()
    assert remote.rc == local.rc, "exit %s via the server, %s on the file\n%s" % (remote.rc, local.rc, remote.text())
    assert local.out.strip(), local.describe()
    assert evaluated_now(remote.out, ledger_times) == evaluated_now(local.out, ledger_times), (
        "stdout differs:\n--- via the server\n%s\n--- on the file\n%s" % (remote.out[:3000], local.out[:3000]))
    assert not any(word in remote.err for word in UNTRUSTED), remote.describe()
    if form == "human":
        sizes = [int(n) for n in AS_OF.findall(remote.err)]
        assert sizes and sizes[-1] == STORY_SIZE - 1 and two_services.srv.url in remote.err, (
            "no `as of entry %d` line naming %s on stderr: %r" % (STORY_SIZE - 1, two_services.srv.url, remote.err))
    assert not list((tmp_path / "cache").rglob("*.mirror.db")), "a mirror was kept without --mirror"


ERRORS = [["gate", PAY, "--env", "prodution"], ["pending", "--for", "nobody@x"]]


@pytest.mark.parametrize("args", ERRORS, ids=["misspelt-env", "unknown-identity"])
def test_parity_bad_input_is_exit_2_with_the_same_message(two_services, docket, tmp_path, args):
    """A name the ledger does not know is bad input both ways: exit 2 and the same first line on stderr; with
    --json the same error object on stdout."""
    ledger = two_services.ledger
    pin = {"DOCKET_LOG_KEY": str(ledger.path) + ".logkey.pub"}
    local = docket.run(args, ledger=ledger.path)
    remote = run_remote(docket, two_services.srv.url, tmp_path / "cache", args, **pin)
    assert local.rc == 2 and remote.rc == 2, (local.describe(), remote.describe())
    assert remote.err.splitlines()[:1] == local.err.splitlines()[:1], (remote.err, local.err)
    local_json = docket.run([*args, "--json"], ledger=ledger.path)
    remote_json = run_remote(docket, two_services.srv.url, tmp_path / "cache", [*args, "--json"], **pin)
    assert local_json.rc == remote_json.rc == 2, (local_json.describe(), remote_json.describe())
    assert json.loads(remote_json.out) == json.loads(local_json.out), (remote_json.out, local_json.out)


def test_parity_first_contact_without_a_pin_trusts_and_keeps_only_the_state(two_services, docket, tmp_path):
    """Without DOCKET_LOG_KEY the first contact says which log key it now trusts; the cache then holds the state
    file (format, url, origin, ledger ID, log key, a checkpoint signed by that key) and its lock, nothing more."""
    ledger = two_services.ledger
    cache = tmp_path / "cache"
    res = run_remote(docket, two_services.srv.url, cache, ["status"])
    assert res.rc == 0, res.describe()
    assert ledger.verifier_key in res.err, res.err
    states = list(cache.glob("*.state.json"))
    assert len(states) == 1, cache_files(cache)
    state_path = states[0]
    name = state_path.name[:-len(".state.json")]
    state = json.loads(state_path.read_text())
    assert (state["format"], state["url"], state["origin"], state["ledgerID"], state["logKey"]) == (
        "docket-client-state/v1", two_services.srv.url, ledger.origin, ledger.ledger_id, ledger.verifier_key), state
    c = helpers.parse_checkpoint(state["checkpoint"])
    assert c.size == STORY_SIZE and helpers.note_signed_by(c.body, c.signatures, ledger.verifier_key), state
    assert sorted(p.name for p in cache_files(cache)) == sorted([name + ".lock", name + ".state.json"])


# ------------------------------------------------------------------------------------------------ 2 concurrency

SVC = "registry.example/svc"
CONCURRENCY_POLICY = """\
environments:
  - name: staging
  - name: production
    from: staging
    approvals: {min: 1, roles: [approver]}
"""


def sign_statement(ledger, signer, kind, repo, hex_digest, **predicate):
    return ss.envelope(signer, ss.statement(kind, repo, hex_digest, ledger.origin, ledger.ledger_id, **predicate))


ROUNDS = 10  # waves of 64 processes; even rounds start from a fresh cache, odd ones reuse the previous round's


def concurrency_jobs(r, digests, keys, ci_key):
    """The 64 commands of round r: (label, args, exit on a file)."""
    def image(group, i):
        return "%s/r%d-%s-%d@sha256:%s" % (SVC, r, group, i, digests[group][i])

    jobs = []
    for i in range(24):
        jobs.append(("built", ["record", "built", "%s/r%d-new-%d@sha256:%s" % (SVC, r, i, ss.hex_digest(
            "round %d new %d" % (r, i))), "--tag", "v%d" % i, "--key", ci_key], 0))
    for i in range(10):
        jobs.append(("approve", ["approve", "sha256:" + digests["to-approve"][i], "--env", "production",
                                 "--key", keys["bob"], "--json"], 0))
    for i in range(8):
        jobs.append(("promote", ["promote", image("eligible", i), "--to", "production", "--key", keys["rita"],
                                 "--json"], 0))
    for i in range(6):
        jobs.append(("refused", ["promote", "sha256:" + digests["refused"][i], "--to", "production",
                                 "--key", keys["rita"]], 1))
    for i in range(8):
        jobs.append(("status", ["status"] if i % 2 else ["status", "--repo", "%s/r%d-eligible-%d" % (SVC, r, i)], 0))
    for i in range(4):
        jobs.append(("gate-yes", ["gate", image("gate-yes", i), "--env", "production"], 0))
        jobs.append(("gate-no", ["gate", "sha256:" + digests["gate-no"][i], "--env", "production"], 1))
    assert len(jobs) == 64
    return [jobs[i] for i in sorted(range(64), key=lambda i: (i * 37) % 64)]  # reads and writes side by side


def test_concurrency_64_processes_one_cache_one_server(serve, ledger_factory, docket, tmp_path, note):
    """Waves of 64 CLI processes at once sharing one DOCKET_CACHE_DIR (fresh, or left by the previous wave)
    against one server: 24 `record built` of new digests, 10 `approve`, 8 promotions the gate allows and 6 it
    refuses, 8 `status`, 4 eligible and 4 ineligible `gate`s. Each exits as it would against the file (0, or 1
    for the refusals and the ineligible gates), none raises an alarm or distrusts the server; every acknowledged
    event is in the log once, at the index its receipt gave, nothing else was appended, no mirror is kept, the
    outbox is empty, and the file verifies clean."""
    ledger = ledger_factory("scale-concurrency")
    keys = {name: make_key(docket, ledger.dir, name) for name in ("alice", "bob", "rita")}
    for name, role in (("alice", "approver"), ("bob", "approver"), ("rita", "releaser")):
        ledger.must(["key", "enroll", str(keys[name]) + ".pub", "--role", role, "--key", ledger.admin_key])
    (ledger.dir / "policy.yaml").write_text(CONCURRENCY_POLICY)
    ledger.must(["policy", "set", ledger.dir / "policy.yaml", "--key", ledger.admin_key])
    alice = helpers.as_signing_key(ss.key_seed(keys["alice"]))

    # Every digest a process acts on lives in a service of its own, in staging; some approved beforehand.
    groups = {"eligible": 8, "refused": 6, "gate-yes": 4, "gate-no": 4, "to-approve": 10}
    rounds = []
    files = []
    for r in range(ROUNDS):
        digests = {g: [ss.hex_digest("round %d %s %d" % (r, g, i)) for i in range(n)] for g, n in groups.items()}
        for group, hexes in digests.items():
            for i, hx in enumerate(hexes):
                repo = "%s/r%d-%s-%d" % (SVC, r, group, i)
                bodies = [sign_statement(ledger, ledger.ci_signer, "built", repo, hx),
                          sign_statement(ledger, ledger.ci_signer, "deployed", repo, hx, environment="staging")]
                if group in ("eligible", "gate-yes"):
                    bodies.append(sign_statement(ledger, alice, "approved", repo, hx, environment="production"))
                for body in bodies:
                    files.append(ledger.dir / ("setup-%04d.json" % len(files)))
                    files[-1].write_bytes(body)
        rounds.append(concurrency_jobs(r, digests, keys, ledger.ci_key))
    ledger.must(["submit", *files], timeout=120)
    before = local_size(docket, ledger.path)

    srv = serve(ledger)
    results = []
    started = time.monotonic()
    for r, jobs in enumerate(rounds):
        cache = tmp_path / ("cache-%d" % (r - r % 2))
        client = ss.Client(docket, srv.url, cache)
        with ThreadPoolExecutor(max_workers=64) as pool:
            results += list(pool.map(lambda job: (job, client(*job[1], timeout=120)), jobs))
    elapsed = time.monotonic() - started

    wrong = ["%s: expected exit %d: %s\n%s" % (label, expected, res.describe(), res.text(800))
             for (label, _, expected), res in results if res.rc != expected]
    assert not wrong, "%d of %d exited otherwise than on a file:\n%s" % (len(wrong), len(results),
                                                                      "\n".join(wrong[:8]))
    alarmed = [res.describe() for _, res in results if any(w in res.err for w in UNTRUSTED)]
    assert not alarmed, "false alarms under concurrency:\n" + "\n".join(alarmed[:8])

    acknowledged = []  # (index, kind, digest) of each append the CLI reported
    for (label, args, _), res in results:
        if label == "built":
            m = re.search(r"^appended entry (\d+): built (\S+)@(sha256:[0-9a-f]{64}) at ", res.out, re.M)
            assert m and m.group(2) + "@" + m.group(3) == args[2], res.describe() + "\n" + res.out
            acknowledged.append((int(m.group(1)), "built", m.group(3)))
        elif label in ("approve", "promote"):
            receipt = json.loads(res.out)
            assert receipt["duplicate"] is False, receipt
            acknowledged.append((receipt["index"], receipt["kind"], receipt["digest"]))
        elif label == "refused":
            assert "not promoted" in res.err, res.describe()

    log = file_log(docket, ledger.path)
    by_index = {e["index"]: e for e in log}
    misplaced = [(i, k, d) for i, k, d in acknowledged
                 if (by_index.get(i, {}).get("kind"), by_index.get(i, {}).get("digest")) != (k, d)]
    assert not misplaced, "acknowledged entries not in the log where their receipts said: %s" % misplaced[:5]
    counts = collections.Counter((e["kind"], e.get("digest")) for e in log)
    twice = [(k, d, counts[(k, d)]) for _, k, d in acknowledged if counts[(k, d)] != 1]
    assert not twice, "acknowledged events not in the log exactly once: %s" % twice[:5]
    assert len(log) - before == len(acknowledged) == 42 * ROUNDS, (
        "%d entries appended by the waves, %d acknowledged (%d expected: 24 built, 10 approvals, 8 promotions a "
        "wave)" % (len(log) - before, len(acknowledged), 42 * ROUNDS))
    for cache in tmp_path.glob("cache-*"):
        assert not list(cache.rglob("*.mirror.db")), "a mirror was kept without --mirror"
        left = list((cache / "outbox").glob("*.json")) if (cache / "outbox").exists() else []
        assert not left, "envelopes left in the outbox after their receipts were proved: %s" % left
        states = list(cache.glob("*.state.json"))
        assert len(states) == 1, states
        held = helpers.parse_checkpoint(json.loads(states[0].read_text())["checkpoint"])
        assert held.size <= len(log) and helpers.note_signed_by(held.body, held.signatures, ledger.verifier_key)
    assert srv.terminate() == 0
    verify_clean(docket, ledger.path)
    note("client scale: %d waves of 64 concurrent CLI processes against one server took %.1f s" % (ROUNDS, elapsed))


# ------------------------------------------------------------------------------------------------ 3 killed, retried


@pytest.fixture
def retried(serve, ledger_factory, docket, proxy, tmp_path):
    """A `record built` SIGKILLed ~0.7 s after its POST reached the server, its answer held 2 s by a proxy.
    Returns (server, ledger, proxy, argv without --ledger, cache, digest, entries of that digest)."""
    ledger = ledger_factory("scale-killed")
    srv = serve(ledger)
    front = proxy(srv.url)
    cache = tmp_path / "cache"
    hx = ss.hex_digest("killed and retried")
    args = ["record", "built", "registry.example/retry@sha256:" + hx, "--tag", "v1", "--tag", "latest",
            "--key", ledger.ci_key]
    # First contact (no POST yet) before the delay is armed, so the kill hits the write itself.
    reached = threading.Event()

    def hold(method, path, body, reply):
        if method == "POST" and path.startswith("/api/v1/entries"):
            reached.set()
            time.sleep(2.0)
        return reply

    front.on_response = hold
    proc = subprocess.Popen([docket.binary, *map(str, args), "--ledger", front.url], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=docket.env(None, client_env(cache)), start_new_session=True)
    try:
        assert reached.wait(timeout=30), "the client never posted its envelope"
        time.sleep(0.7)
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "the client finished before it was killed (exit %s): %r %r" % (
        proc.returncode, out, err)
    front.on_response = None
    entries = [e for e in file_log(docket, ledger.path) if e.get("digest") == "sha256:" + hx]
    assert [e["kind"] for e in entries] == ["built"], "the killed client's POST did not reach the server: %s" % entries
    return type("Retried", (), dict(srv=srv, ledger=ledger, proxy=front, args=args, cache=cache, hex=hx,
                                    index=entries[0]["index"]))


def check_retry(docket, retried, url):
    res = run_remote(docket, url, retried.cache, retried.args)
    assert res.rc == 0, res.describe()
    assert re.search(r"^already in the ledger as entry %d \(built " % retried.index, res.out, re.M), (
        "the retry did not say `already in the ledger as entry %d`:\n%s" % (retried.index, res.text()))
    built = [e["index"] for e in file_log(docket, retried.ledger.path)
             if e.get("digest") == "sha256:" + retried.hex and e["kind"] == "built"]
    assert built == [retried.index], "the built event is in the log %d times: entries %s" % (len(built), built)
    left = list((retried.cache / "outbox").glob("*.json")) if (retried.cache / "outbox").exists() else []
    assert not left, "the outbox still holds %s after the receipt was proved" % left


def test_killed_record_retried_through_the_same_url_is_not_appended_twice(retried, docket):
    """The same command again, same key, tags and cache, through the same URL (the proxy now answering at
    once): exit 0, "already in the ledger as entry N", the built event in the log once."""
    check_retry(docket, retried, retried.proxy.url)


def test_killed_record_retried_directly_against_the_server_is_not_appended_twice(retried, docket):
    """The same command again, same key, tags and cache, directly against the server the proxy stood in front
    of: exit 0, "already in the ledger as entry N", the built event in the log once."""
    check_retry(docket, retried, retried.srv.url)


# ------------------------------------------------------------------------------------------------ 4 lying servers


def rewrite_entry_0(method, path, body, reply):
    """Entry 0's bytes changed (its integrated time one millisecond later), the rest of the receipt kept."""
    if method != "GET" or path != "/api/v1/entries/0" or reply.status != 200:
        return None
    receipt = reply.json()
    entry = receipt["entry"]
    t = json.loads(entry)["integratedTime"]
    later = t[:-2] + str((int(t[-2]) + 1) % 10) + "Z"
    assert later != t and t in entry
    receipt["entry"] = entry.replace(t, later, 1)
    return ss.Reply(200, reply.headers, json.dumps(receipt).encode())


def test_lying_entry_0_rewritten_is_not_trusted(serve, ledger_factory, docket, proxy, tmp_path):
    """A proxy rewrites entry 0 in `/api/v1/entries/0`: a fresh client's status and record built exit 3 "cannot be
    trusted" (also with the log key pinned), nothing is appended and no state is kept; once the proxy passes
    the true entry 0 through, the same cache works."""
    ledger = ledger_factory("scale-entry0")
    srv = serve(ledger)
    liar = proxy(srv.url)
    liar.on_response = rewrite_entry_0
    cache = tmp_path / "cache"
    size = local_size(docket, ledger.path)
    for env in ({}, {"DOCKET_LOG_KEY": str(ledger.path) + ".logkey.pub"}):
        status = run_remote(docket, liar.url, cache, ["status"], **env)
        record = run_remote(docket, liar.url, cache, ["record", "built", "registry.example/e0@sha256:" +
                                                      ss.hex_digest("entry 0 liar"), "--key", ledger.ci_key], **env)
        for res in (status, record):
            assert res.rc == 3 and "cannot be trusted" in res.err, res.describe()
    assert local_size(docket, ledger.path) == size, "a write was appended through a server not trusted"
    assert not list(cache.glob("*.state.json")), "a state was kept for a server whose entry 0 does not verify"
    liar.on_response = None
    res = run_remote(docket, liar.url, cache, ["status"])
    assert res.rc == 0, res.describe()


@pytest.fixture
def fork(ledger_factory, docket, tmp_path):
    """Ledger A and its copy B (same origin, ledger ID and log key), then 2 different events appended to each
    (same size, different roots). Returns (A, B path, size)."""
    a = ledger_factory("scale-fork-a")
    (tmp_path / "b").mkdir()
    for suffix in ("", "-wal", "-shm", ".logkey", ".logkey.pub"):
        f = Path(str(a.path) + suffix)
        if f.exists():
            shutil.copy2(f, tmp_path / "b" / f.name)
    b = tmp_path / "b" / a.path.name
    for side, path in (("a", a.path), ("b", b)):
        for i in range(2):
            res = docket.run(["record", "built", "registry.example/fork@sha256:" + ss.hex_digest("%s %d" % (side, i)),
                              "--key", a.ci_key], ledger=path)
            assert res.rc == 0, res.describe()
    size = local_size(docket, a.path)
    assert local_size(docket, b) == size
    return a, b, size


def evidence_of(cache):
    folder = Path(cache) / "evidence"
    held = sorted(folder.glob("*-held.note")) if folder.exists() else []
    served = sorted(folder.glob("*-served.note")) if folder.exists() else []
    return held, served


def check_alarm(res, cache, url, held_note, served_note, verifier_key):
    assert res.rc == 3, res.describe()
    first = res.err.strip().splitlines()[-1] if res.err.strip() else ""
    assert first.startswith("docket: ALARM: %s " % url), "no `docket: ALARM: %s …` line: %r" % (url, res.err)
    held, served = evidence_of(cache)
    assert len(held) == 1 and len(served) == 1, "evidence kept: %s %s" % (held, served)
    assert str(held[0]) in res.err and str(served[0]) in res.err, "the alarm does not name both files: %r" % res.err
    assert held[0].read_text() == held_note, "the held evidence is not the checkpoint the client accepted"
    assert served[0].read_text() == served_note, "the served evidence is not the fork's checkpoint"
    for p in (held[0], served[0]):
        c = helpers.parse_checkpoint(p.read_text())
        assert helpers.note_signed_by(c.body, c.signatures, verifier_key), "%s is not signed by the log key" % p


def test_lying_fork_same_size_other_root_is_an_alarm_with_both_notes(fork, serve, docket, proxy, tmp_path):
    """A client talks to A through a proxy, which is then switched to B (the fork, same size): two roots for one
    size signed by one log key: exit 3 `docket: ALARM: URL …`, naming the two evidence files, which are A's and
    B's signed checkpoints."""
    a, b, size = fork
    srv_a, srv_b = serve(a), serve(b)
    front = proxy(srv_a.url)
    cache = tmp_path / "cache"
    assert run_remote(docket, front.url, cache, ["status"]).rc == 0
    front.upstream = srv_b.url
    res = run_remote(docket, front.url, cache, ["status"])
    check_alarm(res, cache, front.url, srv_a.get("/checkpoint").text, srv_b.get("/checkpoint").text,
                a.verifier_key)
    assert "two different logs of %d entries" % size in res.err, res.err


def test_lying_fork_longer_but_not_an_extension_is_an_alarm_with_both_notes(fork, serve, docket, proxy, tmp_path):
    """The same, with B 2 entries longer: its checkpoint is larger and no consistency proof from A's can hold:
    exit 3 ALARM ("not an extension"), both signed checkpoints kept as evidence."""
    a, b, size = fork
    for i in range(2):
        res = docket.run(["record", "built", "registry.example/fork@sha256:" + ss.hex_digest("b more %d" % i),
                          "--key", a.ci_key], ledger=b)
        assert res.rc == 0, res.describe()
    srv_a, srv_b = serve(a), serve(b)
    front = proxy(srv_a.url)
    cache = tmp_path / "cache"
    assert run_remote(docket, front.url, cache, ["status"]).rc == 0
    front.upstream = srv_b.url
    res = run_remote(docket, front.url, cache, ["status"])
    check_alarm(res, cache, front.url, srv_a.get("/checkpoint").text, srv_b.get("/checkpoint").text,
                a.verifier_key)
    assert "not an extension" in res.err, res.err


@pytest.fixture
def liar(serve, ledger_factory, docket, proxy):
    """A ledger with two digests of one service, X deployed to staging; served, with a proxy in front."""
    ledger = ledger_factory("scale-liar")
    x, y = ss.hex_digest("liar x"), ss.hex_digest("liar y")
    for hx in (x, y):
        ledger.must(["record", "built", "registry.example/liar@sha256:" + hx, "--key", ledger.ci_key])
    ledger.must(["record", "deployed", "registry.example/liar@sha256:" + x, "--env", "staging",
                 "--key", ledger.ci_key])
    srv = serve(ledger)
    return type("Liar", (), dict(ledger=ledger, srv=srv, proxy=proxy(srv.url), x=x, y=y))


def lie_about_status(x, y, seed):
    """A hook that puts digest y where the status answer says x, re-signed with the log key's seed (None: not)."""
    def hook(method, path, body, reply):
        if method != "POST" or path != "/api/v1/ask/status" or reply.status != 200:
            return None
        answer = reply.json()
        assert x in answer["answer"], answer["answer"]
        answer["answer"] = answer["answer"].replace(x, y)
        if seed is not None:
            answer["signature"] = sign_answer(answer, seed)
        return ss.Reply(200, reply.headers, json.dumps(answer).encode())
    return hook


def test_lying_answer_re_signed_is_printed_and_verify_answer_proves_it_false(liar, docket, tmp_path):
    """A status answer that says Y runs in staging where the log says X, re-signed with the log key: the client
    cannot tell, prints it (exit 0) and keeps it with --save-answer; `docket verify --answer F` against the ledger
    file, and against an exported bundle, exits 1 "signed a false answer"."""
    liar.proxy.on_response = lie_about_status(liar.x, liar.y, log_key_seed(liar.ledger.path))
    saved = tmp_path / "false-answer.json"
    res = run_remote(docket, liar.proxy.url, tmp_path / "cache", ["status", "--save-answer", saved])
    assert res.rc == 0, res.describe()
    assert ("sha256:" + liar.y[:12]) in res.out and ("sha256:" + liar.x[:12]) not in res.out, res.out
    kept = json.loads(saved.read_text())
    assert kept["format"] == "docket-answer/v1" and kept["question"] == "status" and liar.y in kept["answer"], kept
    check = docket.run(["verify", "--answer", saved], ledger=liar.ledger.path, timeout=60)
    assert check.rc == 1 and "signed a false answer" in check.out + check.err, check.describe()
    bundle = tmp_path / "liar.jsonl"
    liar.ledger.export(bundle)
    check = docket.run(["verify", "--answer", saved, "--bundle", bundle], timeout=60)
    assert check.rc == 1 and "signed a false answer" in check.out + check.err, check.describe()


def test_lying_answer_not_re_signed_is_not_trusted(liar, docket, tmp_path):
    """The same rewrite without a new signature: the client exits 3 "cannot be trusted" and prints no status."""
    liar.proxy.on_response = lie_about_status(liar.x, liar.y, None)
    res = run_remote(docket, liar.proxy.url, tmp_path / "cache", ["status"])
    assert res.rc == 3 and "cannot be trusted" in res.err, res.describe()
    assert liar.y[:12] not in res.out, res.out


def test_honest_saved_answer_verifies_also_after_the_ledger_grew(liar, docket, tmp_path):
    """An honest signed answer (--save-answer, straight from the server) verifies: exit 0 against the file and a
    bundle; after two more entries are appended it still verifies (the log is replayed to the answer's
    checkpoint); a file that is not an answer is exit 2."""
    saved = tmp_path / "answer.json"
    cache = tmp_path / "cache"
    res = run_remote(docket, liar.srv.url, cache, ["status", "--save-answer", saved])
    assert res.rc == 0 and ("sha256:" + liar.x[:12]) in res.out, res.describe()
    check = docket.run(["verify", "--answer", saved], ledger=liar.ledger.path, timeout=60)
    assert check.rc == 0, check.describe()
    size = local_size(docket, liar.ledger.path)
    for i in range(2):
        res = run_remote(docket, liar.srv.url, cache, ["record", "built", "registry.example/liar@sha256:" +
                                                       ss.hex_digest("later %d" % i), "--key", liar.ledger.ci_key])
        assert res.rc == 0, res.describe()
    assert local_size(docket, liar.ledger.path) == size + 2
    check = docket.run(["verify", "--answer", saved], ledger=liar.ledger.path, timeout=60)
    assert check.rc == 0, check.describe()
    bundle = tmp_path / "grown.jsonl"
    liar.ledger.export(bundle)
    check = docket.run(["verify", "--answer", saved, "--bundle", bundle], timeout=60)
    assert check.rc == 0, check.describe()
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "docket-answer/v1"')
    check = docket.run(["verify", "--answer", junk], ledger=liar.ledger.path, timeout=60)
    assert check.rc == 2, check.describe()


# ------------------------------------------------------------------------------------------------ 5 fresh-client cost

DOWNLOAD_LIMIT = 64 * 1024
CACHE_LIMIT = 16 * 1024


@pytest.fixture(scope="module")
def bench_bin(workspace):
    """A private copy of docket-bench (built beside $DOCKET_BIN)."""
    source = source_binary().parent / "docket-bench"
    if not source.is_file():
        pytest.fail("no docket-bench beside %s: build it (swift build -c release)" % source_binary(), pytrace=False)
    private = workspace / "bin" / "docket-bench"
    if not private.exists():
        shutil.copy2(source, private)
        os.chmod(private, 0o755)
    return private


def bench_ci_key(folder):
    """docket-bench's ci actor (roles ci, checker) as a key file: its seed is SHA-256("docket-bench ci")."""
    seed = hashlib.sha256(b"docket-bench ci").digest()
    public = bytes(SigningKey(seed).verify_key)
    path = Path(folder) / "bench-ci.key"
    path.write_text(json.dumps({"format": "docket-key/v1", "identity": "ci@bench.example",
                                "publicKey": helpers.b64(public), "seed": helpers.b64(seed)}))
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("entries", [1000, pytest.param(200_000, marks=slow)])
def test_fresh_client_cost_does_not_grow_with_the_ledger(bench_bin, docket, workspace, serve, proxy, note,
                                                         entries):
    """A generated ledger (docket-bench generate) served behind a counting proxy; from a fresh cache each time,
    `status`, `gate DIGEST`, `gate DIGEST --env production` (log key pinned) and `record built` with the
    generator's ci key: each exits as on the file (status: the same stdout), downloads at most 64 KiB, and
    leaves a cache under 16 KiB holding no mirror."""
    folder = workspace / ("scale-gen-%d" % entries)
    folder.mkdir(exist_ok=True)
    path = folder / "ledger.db"
    started = time.monotonic()
    gen = docket.execute([bench_bin, "generate", "--ledger", path, "--entries", entries], "docket-bench",
                         ["generate", entries], timeout=300)
    generated = time.monotonic() - started
    assert gen.rc == 0, gen.describe()
    assert local_size(docket, path) == entries
    first = json.loads(docket.run(["log", "--json", "--since", "5", "--limit", "1"], ledger=path).out)[0]
    status_json = json.loads(docket.run(["status", "--json"], ledger=path).out)
    staging = [s["current"]["digest"] for s in status_json["services"]
               if s["environment"] == "staging" and s.get("current")]
    assert first["kind"] == "built" and staging, (first, status_json)
    srv = serve(path)
    counter = proxy(srv.url)
    pin = str(path) + ".logkey.pub"
    ci_key = bench_ci_key(folder)
    commands = [
        ("status", ["status"], {}),
        ("gate (all environments)", ["gate", first["digest"]], {"DOCKET_LOG_KEY": pin}),
        ("gate --env production", ["gate", staging[0], "--env", "production"], {"DOCKET_LOG_KEY": pin}),
        ("record built", ["record", "built", "registry.bench/app@sha256:" + ss.hex_digest("cost %d" % entries),
                          "--key", ci_key], {"DOCKET_LOG_KEY": pin}),
    ]
    costs = []
    for n, (label, args, env) in enumerate(commands):
        local = docket.run(args, ledger=path) if label != "record built" else None
        cache = folder / ("cache-%d" % n)
        counter.reset()
        t = time.monotonic()
        res = run_remote(docket, counter.url, cache, args, timeout=120, **env)
        took = time.monotonic() - t
        expected = 0 if local is None else local.rc
        assert res.rc == expected and expected in (0, 1), "%s: exit %s (on the file: %s)\n%s" % (
            label, res.rc, expected, res.text())
        if label == "status":
            assert res.out == local.out, (res.out, local.out)
        if label == "record built":
            assert re.search(r"^appended entry %d: built " % entries, res.out, re.M), res.text()
        assert counter.sent <= DOWNLOAD_LIMIT, "%s downloaded %d bytes from a ledger of %d entries: %s" % (
            label, counter.sent, entries, counter.exchanges)
        files = cache_files(cache)
        assert not [p for p in files if p.name.endswith(".mirror.db")], files
        held = sum(p.stat().st_size for p in files)
        assert held < CACHE_LIMIT, "%s left %d bytes in the cache: %s" % (
            label, held, [(p.name, p.stat().st_size) for p in files])
        costs.append("%s %d B down, %d B cached, %d requests, %.2f s" % (
            label, counter.sent, held, len(counter.exchanges), took))
    note("client scale, fresh client on %d entries (generated in %.0f s): %s" % (entries, generated,
                                                                                 "; ".join(costs)))


# ------------------------------------------------------------------------------------------------ 6 full replica


def replica_entries(cache):
    """Entries in the replica of the cache (0 while there is none or it is locked)."""
    import sqlite3
    files = [p for p in cache_files(cache) if p.name.endswith(".mirror.db")]
    if not files:
        return 0
    try:
        with sqlite3.connect("file:%s?mode=ro" % files[0], uri=True, timeout=0.2) as db:
            return db.execute("SELECT count(*) FROM entries").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def generated_20000(bench_bin, docket, workspace):
    folder = workspace / "replica-gen"
    folder.mkdir(exist_ok=True)
    path = folder / "ledger.db"
    gen = docket.execute([bench_bin, "generate", "--ledger", path, "--entries", 20_000], "docket-bench",
                         ["generate", 20_000], timeout=300)
    assert gen.rc == 0, gen.describe()
    return path


def test_replica_interrupted_first_sync_resumes_where_it_stopped(generated_20000, docket, serve, workspace):
    """`status --mirror` SIGKILLed once its replica holds a committed chunk (4,096 entries, each chunk proved a
    prefix of the served log before it is committed); run again, it keeps those entries, fetches the rest,
    prints what the file prints, and `verify` through the replica is clean."""
    srv = serve(generated_20000)
    cache = workspace / "replica-resume"
    env = dict(client_env(cache), DOCKET_MIRROR="1")
    proc = subprocess.Popen([str(source_binary()), "status", "--ledger", srv.url], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    kept = 0
    while time.monotonic() < deadline and proc.poll() is None:
        kept = replica_entries(cache)
        if kept >= 4096:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    kept = replica_entries(cache)
    assert 4096 <= kept < 20_000, "the kill should land between two chunks (replica held %d entries)" % kept
    assert kept % 4096 == 0, "only whole chunks are committed: %d" % kept
    res = docket.run(["status", "--ledger", srv.url], env_extra=env, timeout=300)
    local = docket.run(["status"], ledger=generated_20000)
    assert res.rc == 0 and res.out == local.out, (res.describe(), local.out)
    assert replica_entries(cache) == 20_000
    verified = docket.run(["verify", "--ledger", srv.url], env_extra=env, timeout=300)
    assert verified.rc == 0 and "no problems found" in verified.out, verified.describe()


def test_replica_eight_processes_sync_one_fresh_replica_at_once(generated_20000, docket, serve, workspace):
    """Eight `gate --mirror` processes start together on a fresh cache: SQLite's write lock serialises their
    chunks; each one finding the replica further along than it expected looks again instead of raising an
    alarm. All exit as on the file, with no alarm, and the replica holds each entry once."""
    srv = serve(generated_20000)
    cache = workspace / "replica-eight"
    env = {**os.environ, **client_env(cache), "DOCKET_MIRROR": "1"}
    digest = file_log(docket, generated_20000)[5]["digest"]
    local = docket.run(["gate", digest, "--env", "production"], ledger=generated_20000)
    procs = [subprocess.Popen([str(source_binary()), "gate", digest, "--env", "production", "--ledger", srv.url],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    for rc, out, err in results:
        assert rc == local.rc and not any(word in err for word in UNTRUSTED), (rc, err[-1500:])
    assert replica_entries(cache) == 20_000
