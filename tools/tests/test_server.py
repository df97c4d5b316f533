"""`docket serve` end to end: the binary from $DOCKET_BIN serving a ledger on 127.0.0.1, driven by raw HTTP
(http.client, sockets) and by the CLI as its client (`--ledger http://…`), every answer checked from the
specifications: receipts' RFC 9162 inclusion proofs against checkpoints signed by the log key, tlog-tiles,
consistency proofs, and the bundle with both verifiers.

  1  fixtures           `serve` / `served`: start, wait for the listening line and /readyz, SIGTERM, exit 0
  2  the story          two services under two pipelines, every write through the server; CLI reads via the
                        server equal the same reads of the served file; verify, export, tools/verify-bundle
  3  the write API      201 / 200 duplicate / 400 / 403 / 409 / 413 / 408 / 429 / 503 / 401, and the hostile
                        requests change nothing
  4  the read API       checkpoint, tiles (level 0 and 1, entry bundles, partial widths, bad paths), entry
                        receipts, consistency proofs, the bundle
  5  load (slow)        64 keep-alive clients × 200 envelopes, every receipt proved
  6  SIGKILL (slow)     20 kills under load, restarts, retries: every acknowledged envelope exactly once
  7  SIGTERM            under load: acknowledged envelopes kept, exit 0, nothing accepted once shutdown began
  8  a lying server     rewritten history, a shrunk tree, a log key other than the pinned one: exit 3
  9  spool              submit --spool while nothing listens, then spool flush
 10  TLS                https with DOCKET_CA_FILE; without it, exit 3

A server bug found by these tests is fixed, not marked: none is expected to fail.
"""

import base64
import collections
import contextlib
import http.client
import json
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from . import helpers
from . import server_support as ss
from .conftest import Ledger

slow = pytest.mark.slow

# The client retries a connection it cannot make before it gives up (8 tries; about 50 s in builds where each
# try waited out a 5 s connect timeout): calls that must give up get this long.
GIVE_UP_TIMEOUT = 120


# ------------------------------------------------------------------------------------------------ 1 fixtures


@contextlib.contextmanager
def running(docket, workspace, ledger, args=(), **kw):
    """A server on ledger (a Ledger or a path) for the with-block; on leaving it, SIGTERM and exit 0 within 15 s."""
    path = ledger.path if isinstance(ledger, Ledger) else Path(ledger)
    srv = ss.start(docket, path, workspace / "servers", args, **kw)
    if isinstance(ledger, Ledger):
        srv.ledger = ledger
    try:
        yield srv
    finally:
        rc = srv.terminate()
    assert rc == 0, "docket serve exited %s on SIGTERM (None: still running after 15 s, killed); log:\n%s" % (
        rc, srv.logs())


@pytest.fixture
def serve(docket, workspace):
    """serve(ledger, path or URL, *args, port=0, env=None, context=None) → Served (ready). At the end of the test every
    server still running gets SIGTERM and must exit 0 within 15 s."""
    started = []

    def start(ledger, *args, **kw):
        path = ledger.path if isinstance(ledger, Ledger) else ledger  # a file, or a postgres:// address
        srv = ss.start(docket, path, workspace / "servers", args, **kw)
        if isinstance(ledger, Ledger):
            srv.ledger = ledger
        started.append(srv)
        return srv

    yield start
    bad = []
    for srv in started:
        if srv.running:
            rc = srv.terminate()
            if rc != 0:
                bad.append("%s exited %s on SIGTERM; log:\n%s" % (srv.url, rc, srv.logs()))
    assert not bad, "\n".join(bad)


@pytest.fixture
def served(serve, ledger_factory):
    """A fresh ledger (admin; ci enrolled as ci checker monitor) served on a free port: a Served, which also
    unpacks as (url, ledger path, process)."""
    return serve(ledger_factory("served"))


def tree_size(srv):
    return helpers.parse_checkpoint(srv.get("/checkpoint").text).size


def local_size(docket, path):
    res = docket.run(["ledger", "describe", "--json"], ledger=path)
    assert res.rc == 0, res.describe()
    return json.loads(res.out)["size"]


def verify_clean(docket, path, timeout=120):
    ok, detail = docket.run(["verify", "--json"], ledger=path, timeout=timeout).verified_clean()
    assert ok, detail


def built_envelope(ledger, label, signer=None, repo="registry.example/app", origin=None, ledger_id=None):
    """(payload, envelope bytes): a `built` event of a fresh digest, signed by signer (default the ci key)."""
    payload = ss.statement("built", repo, ss.hex_digest(label), origin or ledger.origin,
                           ledger_id or ledger.ledger_id)
    return payload, ss.envelope(signer or ledger.ci_signer, payload)


def bundle_payloads(ledger, out):
    """Every entry of the ledger file (exported), and a Counter of their payloads."""
    _, entries = ss.read_bundle(ledger.export(out))
    return entries, collections.Counter(ss.entry_payload(e) for e in entries)


# ------------------------------------------------------------------------------------------------ 2 the story

PAY_REPO = "registry.example/payments"
LINT_REPO = "registry.example/tools/lint"
PAY = "%s@sha256:%s" % (PAY_REPO, ss.hex_digest("payments v1.4.0"))
LINT = "%s@sha256:%s" % (LINT_REPO, ss.hex_digest("lint v2.0.0"))
STORY_POLICY = """\
pipelines:
  - name: internal-tools
    repositories: ['registry.example/tools/*']
    environments:
      - name: staging
      - name: production
        from: staging
        approvals: {min: 1, roles: [approver]}
  - name: payments
    repositories: ['registry.example/payments']
    environments:
      - name: staging
      - name: production
        from: staging
        approvals: {min: 2, roles: [approver]}
        checks: [security-scan]
"""


@pytest.fixture(scope="module")
def story(docket, ledger_factory, workspace):
    """The promotion story with every write through the server: keys enrolled, the policy set, two services
    built, deployed to staging and checked, the tool approved and promoted, payments approved once and its
    promotion refused by the gate (two approvals needed), an incident opened and resolved. Yields the server,
    the ledger, the client and each step's Result."""
    ledger = ledger_factory("server-story")
    people = {}
    for name in ("alice", "bob", "rita"):
        people[name] = ledger.dir / (name + ".key")
        ledger.must(["key", "generate", "--identity", name + "@example.com", "--out", people[name]])
    policy = ledger.dir / "policy.yaml"
    policy.write_text(STORY_POLICY)
    with running(docket, workspace, ledger) as srv:
        client = ss.Client(docket, srv.url, ledger.dir / "mirror")
        steps = []  # (name, expected exit, Result)

        def step(name, expected, *args):
            steps.append((name, expected, client(*args)))
            return steps[-1][2]

        admin, ci = ["--key", ledger.admin_key], ["--key", ledger.ci_key]
        step("enrol alice", 0, "key", "enroll", str(people["alice"]) + ".pub", "--role", "approver", *admin)
        step("enrol bob", 0, "key", "enroll", str(people["bob"]) + ".pub", "--role", "approver", *admin)
        step("enrol rita", 0, "key", "enroll", str(people["rita"]) + ".pub", "--role", "releaser", *admin)
        step("policy", 0, "policy", "set", policy, *admin)
        step("built lint", 0, "record", "built", LINT, "--tag", "v2.0.0", *ci)
        step("built payments", 0, "record", "built", PAY, "--tag", "v1.4.0", "--source-repo",
             "https://git.example/payments", "--source-revision", "3f2a9c1", *ci)
        step("deployed lint", 0, "record", "deployed", LINT, "--env", "staging", *ci)
        step("deployed payments", 0, "record", "deployed", PAY, "--env", "staging", "--deployment", "d-1", *ci)
        step("check payments", 0, "record", "check", PAY, "--check", "security-scan", "--result", "pass", *ci)
        step("approve lint", 0, "approve", LINT, "--env", "production", "--key", people["alice"])
        step("promote lint", 0, "promote", LINT, "--to", "production", "--key", people["rita"])
        step("approve payments", 0, "approve", PAY, "--env", "production", "--comment", "looks fine",
             "--key", people["alice"])
        size_before_refusal = local_size(docket, ledger.path)
        step("promote payments (refused)", 1, "promote", PAY, "--to", "production", "--key", people["rita"])
        step("promote payments --json (refused)", 1, "promote", PAY, "--to", "production", "--json",
             "--key", people["rita"])
        size_after_refusal = local_size(docket, ledger.path)
        step("gate payments", 1, "gate", PAY, "--env", "production")
        step("incident opened", 0, "record", "incident", LINT, "--env", "production", "--id", "INC-1",
             "--state", "open", "--summary", "slow lint", *ci)
        step("incident resolved", 0, "record", "incident", LINT, "--env", "production", "--id", "INC-1",
             "--state", "resolved", *ci)
        step("status", 0, "status")
        yield type("Story", (), dict(srv=srv, ledger=ledger, client=client, steps=steps, people=people,
                                     refusal_sizes=(size_before_refusal, size_after_refusal)))


def test_story_every_step_through_the_server_exits_as_it_should(story):
    """Enrolments, policy, records, approvals and the passing promotion exit 0 via the server; the promotion
    the gate refuses and that gate exit 1."""
    wrong = ["%s: expected exit %d, got %s\n%s" % (name, expected, res.rc, res.text(600))
             for name, expected, res in story.steps if res.rc != expected]
    assert not wrong, "\n".join(wrong)


def step_result(story, name):
    return dict((n, r) for n, _, r in story.steps)[name]


def test_story_refused_promotion_appended_nothing_and_names_the_rule(story):
    """The refused promotion names the failing rule and leaves the served ledger as it was; the story made
    exactly the 16 entries it wrote."""
    res = step_result(story, "promote payments (refused)")
    assert "approvals" in res.out + res.err, res.text()
    before, after = story.refusal_sizes
    assert before == after, "the refused promotion changed the ledger's size from %d to %d" % (before, after)
    assert tree_size(story.srv) == 16


def test_story_refused_promotion_via_the_server_prints_the_verdict(story, docket):
    """`promote --json` refused via the server prints the gate's verdict (gate.schema.json), as it does on a
    local ledger: the same rules as `gate --env production --json`."""
    res = step_result(story, "promote payments --json (refused)")
    verdict = json.loads(res.out)
    gate = json.loads(docket.run(["gate", PAY, "--env", "production", "--json", "--ledger", story.ledger.path]).out)
    assert timeless(verdict) == timeless(gate), res.out[:1500]


def test_story_status_shows_both_services_where_they_run(story):
    """Status via the server: the tool current in production, payments only in staging."""
    status = json.loads(story.client("status", "--json", ok=0).out)
    current = {(s["environment"], s["repository"]): s["current"]["digest"]
               for s in status["services"] if s.get("current")}
    assert current == {("staging", LINT_REPO): LINT.split("@")[1], ("production", LINT_REPO): LINT.split("@")[1],
                       ("staging", PAY_REPO): PAY.split("@")[1]}, current
    pending = json.loads(story.client("pending", "--json", ok=0).out)
    assert [(p["repository"], p["digest"], p["environment"]) for p in pending] == [
        (PAY_REPO, PAY.split("@")[1], "production")], pending


def timeless(value):
    """value without its `evaluatedAt` fields: a verdict is evaluated at the moment it is asked for."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k != "evaluatedAt"}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


READS = [
    ["status"], ["status", "--repo", PAY_REPO], ["status", "--incidents"], ["gate", PAY],
    ["gate", PAY, "--env", "production"], ["gate", LINT, "--env", "production"], ["pending"],
    ["pending", "--for", "bob@example.com"], ["pending", "--env", "production"], ["history", PAY],
    ["history", LINT_REPO + ":v2.0.0"], ["log"], ["log", "--since", "3", "--limit", "4"], ["ledger", "describe"],
    ["key", "list"], ["policy", "show"],
]


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a).replace("/", "_"))
def test_story_cli_read_via_the_server_equals_the_local_read(story, docket, args):
    """`docket ARGS --json --ledger URL` (on the client's verified mirror) prints the same JSON, with the same
    exit code, as the same read of the served file."""
    remote = story.client(*args, "--json")
    local = docket.run([*args, "--json", "--ledger", story.ledger.path])
    assert remote.rc == local.rc and remote.rc in (0, 1), (remote.describe(), local.describe())
    assert timeless(json.loads(remote.out)) == timeless(json.loads(local.out)), (remote.out[:1500], local.out[:1500])


QUERIES = [
    ("/api/v1/status", ["status"]),
    ("/api/v1/status?" + urllib.parse.urlencode({"repo": PAY_REPO}), ["status", "--repo", PAY_REPO]),
    ("/api/v1/gate?" + urllib.parse.urlencode({"digest": PAY, "env": "production"}),
     ["gate", PAY, "--env", "production"]),
    ("/api/v1/gate?" + urllib.parse.urlencode({"digest": PAY}), ["gate", PAY]),
    ("/api/v1/gate?" + urllib.parse.urlencode({"digest": LINT, "env": "production"}),
     ["gate", LINT, "--env", "production"]),
    ("/api/v1/pending", ["pending"]),
    ("/api/v1/pending?for=bob@example.com", ["pending", "--for", "bob@example.com"]),
    ("/api/v1/pending?env=production", ["pending", "--env", "production"]),
    ("/api/v1/ledger", ["ledger", "describe"]),
    ("/api/v1/log?since=0&limit=1000", ["log"]),
    ("/api/v1/log?since=3&limit=4", ["log", "--since", "3", "--limit", "4"]),
    ("/api/v1/history?" + urllib.parse.urlencode({"digest": PAY}), ["history", PAY]),
]


@pytest.mark.parametrize("path,args", QUERIES, ids=[q[0].split("?")[0].rsplit("/", 1)[1] + "-%d" % i
                                                    for i, q in enumerate(QUERIES)])
def test_story_query_api_answers_the_cli_json(story, docket, path, args):
    """GET /api/v1/<query> answers 200 with the JSON `docket ARGS --json` prints for the served file."""
    reply = story.srv.get(path)
    local = docket.run([*args, "--json", "--ledger", story.ledger.path])
    assert reply.status == 200, reply
    assert local.rc in (0, 1), local.describe()
    assert timeless(reply.json()) == timeless(json.loads(local.out)), (reply.text[:1500], local.out[:1500])


def test_story_verify_via_the_server_is_clean(story):
    """`docket verify --ledger URL` re-checks the mirrored history: exit 0, no problems."""
    ok, detail = story.client("verify", "--json").verified_clean()
    assert ok, detail


def test_story_export_via_the_server_is_the_bundle_and_verifies(story, docket, workspace):
    """`docket export` via the server writes the bytes a local export of the served file writes, and the
    independent verifier passes it with the log key pinned."""
    remote, local = workspace / "story-remote.jsonl", workspace / "story-local.jsonl"
    story.client("export", "--out", remote, ok=0)
    story.ledger.export(local)
    assert remote.read_bytes() == local.read_bytes()
    res = docket.verify_bundle([remote, "--log-key", story.ledger.verifier_key])
    assert res.rc == 0, res.describe()


# ------------------------------------------------------------------------------------------------ 3 the write API

APP = "registry.example/app"


@pytest.fixture(scope="module")
def api(docket, ledger_factory, workspace):
    """A ledger with a policy (staging → production, one approval), rita (releaser), mallory (ci, revoked) and
    an image deployed to staging, served with --request-timeout 2."""
    ledger = ledger_factory("server-api")
    keys = {}
    for name, roles in (("rita", ["releaser"]), ("mallory", ["ci"])):
        keys[name] = ledger.dir / (name + ".key")
        ledger.must(["key", "generate", "--identity", name + "@example.com", "--out", keys[name]])
        ledger.must(["key", "enroll", str(keys[name]) + ".pub", "--role", *roles, "--key", ledger.admin_key])
    ledger.must(["key", "revoke", str(keys["mallory"]) + ".pub", "--reason", "laptop stolen",
                 "--key", ledger.admin_key])
    policy = ledger.dir / "policy.yaml"
    policy.write_text("environments:\n  - name: staging\n  - name: production\n    from: staging\n"
                      "    approvals: {min: 1, roles: [approver]}\n")
    ledger.must(["policy", "set", policy, "--key", ledger.admin_key])
    image = "%s@sha256:%s" % (APP, ss.hex_digest("app v1"))
    ledger.must(["record", "built", image, "--key", ledger.ci_key])
    ledger.must(["record", "deployed", image, "--env", "staging", "--key", ledger.ci_key])
    with running(docket, workspace, ledger, ["--request-timeout", "2"]) as srv:
        yield type("API", (), dict(srv=srv, ledger=ledger, image_hex=ss.hex_digest("app v1"),
                                   rita=helpers.as_signing_key(ss.key_seed(keys["rita"])),
                                   mallory=helpers.as_signing_key(ss.key_seed(keys["mallory"]))))


def _statement(api, kind, signer, hex_digest=None, origin=None, ledger_id=None, **predicate):
    payload = ss.statement(kind, APP, hex_digest or api.image_hex, origin or api.ledger.origin,
                           ledger_id or api.ledger.ledger_id, **predicate)
    return ss.envelope(signer, payload)


def _flipped_signature(api):
    envelope = json.loads(built_envelope(api.ledger, "flipped")[1])
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[7] ^= 0x01
    envelope["signatures"][0]["sig"] = helpers.b64(bytes(sig))
    return json.dumps(envelope).encode()


# name → (body maker, HTTP status, error code): requests the server must refuse without appending
REFUSALS = {
    "malformed-json": (lambda api: b'{"payloadType": "application/vnd.in-toto+json", "payload": ', 400,
                       "malformed"),
    "not-an-envelope": (lambda api: b'{"hello": "world"}', 400, "malformed"),
    "bad-signature": (_flipped_signature, 400, "bad-signature"),
    "wrong-origin": (lambda api: built_envelope(api.ledger, "wo", origin="other.example/ledger")[1], 400, None),
    "wrong-ledger-id": (lambda api: built_envelope(api.ledger, "wid", ledger_id="ab" * 32)[1], 400, None),
    "unknown-key": (lambda api: built_envelope(api.ledger, "uk", signer=helpers.signing_key("stranger"))[1], 403,
                    "unknown-key"),
    "revoked-key": (lambda api: built_envelope(api.ledger, "rk", signer=api.mallory)[1], 403, "not-authorised"),
    "missing-role": (lambda api: _statement(api, "approved", api.ledger.ci_signer, environment="production"), 403,
                     "not-authorised"),
    "gate-refused": (lambda api: _statement(api, "promoted", api.rita, **{"from": "staging", "to": "production"}),
                     409, "gate-refused"),
    "refused": (lambda api: _statement(api, "incident", api.ledger.ci_signer, environment="staging",
                                       incident="INC-404", state="resolved"), 409, "refused"),
    "too-large": (lambda api: b'{"payload":"' + b"A" * 70000 + b'"}', 413, "too-large"),
}


def check_error(reply, status, code=None):
    """A JSON error answer: the status, {error: {code, message, status}}, code as given."""
    assert reply.status == status, reply
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    error = reply.json()["error"]
    assert error["status"] == status and isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def test_api_new_envelope_is_201_with_location_and_a_receipt_that_proves_it(api):
    """A fresh envelope: 201, Location /api/v1/entries/N, and a receipt whose entry carries the payload, whose
    leaf hash is the entry's, and whose inclusion proof leads to a checkpoint signed by the log key."""
    size = tree_size(api.srv)
    payload, body = built_envelope(api.ledger, "api-fresh")
    reply = api.srv.post(body)
    assert reply.status == 201, reply
    receipt = reply.json()
    assert reply.headers.get("location") == "/api/v1/entries/%d" % receipt["index"]
    assert receipt["index"] == size and receipt["treeSize"] == size + 1
    assert (receipt["kind"], receipt["subject"], receipt["digest"], receipt["duplicate"]) == (
        "built", APP, "sha256:" + ss.hex_digest("api-fresh"), False)
    assert ss.ReceiptChecker(api.ledger.verifier_key).problems(receipt, payload) == []
    again = api.srv.get(reply.headers["location"])
    assert again.status == 200 and again.json()["entry"] == receipt["entry"], again


def test_api_exact_duplicate_is_200_with_docket_duplicate_and_the_same_entry(api):
    """The same envelope again: 200, `Docket-Duplicate: true`, the first entry's receipt (duplicate true), and
    nothing appended."""
    payload, body = built_envelope(api.ledger, "api-dup")
    first = api.srv.post(body)
    assert first.status == 201, first
    size = tree_size(api.srv)
    second = api.srv.post(body)
    assert second.status == 200, second
    assert second.headers.get("docket-duplicate") == "true", second.headers
    receipt = second.json()
    assert receipt["index"] == first.json()["index"] and receipt["entry"] == first.json()["entry"]
    assert receipt["duplicate"] is True, receipt
    assert ss.ReceiptChecker(api.ledger.verifier_key).problems(receipt, payload) == []
    assert tree_size(api.srv) == size


@pytest.mark.parametrize("name", list(REFUSALS))
def test_api_refusal_status_and_error_object(api, name):
    """Each bad request gets its status and a JSON error {code, message, status}, and appends nothing."""
    make, status, code = REFUSALS[name]
    size = tree_size(api.srv)
    check_error(api.srv.post(make(api)), status, code)
    assert tree_size(api.srv) == size


@pytest.mark.parametrize("name", ["wrong-origin", "wrong-ledger-id"])
def test_api_wrong_ledger_has_code_wrong_ledger(api, name):
    """An envelope signed for another ledger (origin or ledger ID) is `wrong-ledger`, not merely malformed."""
    make, status, _ = REFUSALS[name]
    check_error(api.srv.post(make(api)), status, "wrong-ledger")


def test_api_gate_refusal_carries_the_verdict(api):
    """A promotion the gate refuses: 409 gate-refused with the verdict (not eligible, approvals failing)."""
    error = check_error(api.srv.post(REFUSALS["gate-refused"][0](api)), 409, "gate-refused")
    verdict = error["verdict"]
    assert verdict["eligible"] is False, verdict
    assert "approvals" in json.dumps(verdict), verdict


def test_api_too_large_with_content_length_names_the_limit(api):
    """An honest Content-Length over 64 KiB: 413 too-large, the message names the limit, 65536 bytes."""
    error = check_error(api.srv.post(b"{" + b" " * 65536 + b"}"), 413, "too-large")
    assert "65536" in error["message"], error


def test_api_too_large_when_it_arrives_chunked(api):
    """A body without Content-Length (chunked) that grows past 64 KiB: 413 too-large, naming the limit."""
    size = tree_size(api.srv)
    conn = ss.connection(api.srv.url)
    try:
        conn.putrequest("POST", "/api/v1/entries")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        with contextlib.suppress(OSError):
            for _ in range(10):
                conn.send(b"2000\r\n" + b" " * 0x2000 + b"\r\n")
            conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        reply = ss.Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()
    assert tree_size(api.srv) == size
    error = check_error(reply, 413, "too-large")
    assert "65536" in error["message"], error


def slow_body(srv, body, interval=1.0, limit=8.0):
    """Headers, then the body one byte per interval on a raw socket: (seconds until the answer, answer bytes)."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        sock.sendall(b"POST /api/v1/entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        started, answer = time.monotonic(), b""
        sock.settimeout(0.1)
        for i in range(len(body)):
            if time.monotonic() - started > limit:
                break
            with contextlib.suppress(OSError):
                sock.sendall(body[i:i + 1])
            next_byte = time.monotonic() + interval
            while time.monotonic() < next_byte and b"\r\n\r\n" not in answer:
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                answer += chunk
            if answer:
                break
        return time.monotonic() - started, answer
    finally:
        sock.close()


def test_api_slow_body_is_cut_off_with_408(api):
    """A client sending its body one byte a second is answered 408 (code timeout) after --request-timeout 2 s,
    within 4 s."""
    elapsed, answer = slow_body(api.srv, built_envelope(api.ledger, "api-slow")[1])
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert 1.5 <= elapsed <= 4.0, "answered after %.1fs" % elapsed
    assert json.loads(body)["error"]["code"] == "timeout", body


def slow_headers(srv, interval=0.5, limit=12.0):
    """A request line, then one header line per interval on a raw socket, never ending the head: seconds until
    the server closed the connection (or `limit`, if it never did)."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    started = time.monotonic()
    try:
        sock.sendall(b"GET /checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(interval)
        line = 0
        while time.monotonic() - started < limit:
            try:
                if not sock.recv(65536):
                    return time.monotonic() - started
            except socket.timeout:
                pass
            except OSError:
                return time.monotonic() - started
            line += 1
            try:
                sock.sendall(b"X-Trickle-%d: %d\r\n" % (line, line))
            except OSError:
                return time.monotonic() - started
        return limit
    finally:
        sock.close()


def test_api_slow_headers_are_cut_off_at_the_request_timeout(api):
    """A client sending one header line every half second, never finishing its head, is disconnected about
    --request-timeout (2 s) after its first byte, not held open for the 60 s idle timeout; a request that sends its
    head in time and then waits longer than that between keep-alive requests is still served; /metrics counts the
    cut under reason header-timeout."""
    elapsed = slow_headers(api.srv)
    assert 1.5 <= elapsed <= 5.0, "closed after %.1fs" % elapsed
    conn = http.client.HTTPConnection("127.0.0.1", api.srv.port, timeout=10)
    try:
        for _ in range(2):
            conn.request("GET", "/checkpoint")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
            time.sleep(2.5)
    finally:
        conn.close()
    assert metric_values(api.srv).get('docket_refusals_total{reason="header-timeout"}', 0) >= 1


def test_api_early_answer_does_not_start_the_header_clock(api):
    """A body refused before it arrives (413 on its Content-Length) is still read to its end at the client's pace:
    its bytes, sent over 3 s against --request-timeout 2, are not taken for a late head, and the same keep-alive
    connection then serves the next request (the clock starts after a request's end, not a response's)."""
    sock = socket.create_connection(("127.0.0.1", api.srv.port), timeout=10)
    try:
        size = 70000
        sock.sendall(b"POST /api/v1/entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % size)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        head, _, rest = answer.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(rest) < length:
            rest += sock.recv(65536)
        assert b"connection: close" not in head.lower(), head
        for i in range(6):
            sock.sendall(b" " * (size // 6 if i < 5 else size - 5 * (size // 6)))
            time.sleep(0.5)
        sock.sendall(b"GET /checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        sock.settimeout(5)
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    finally:
        sock.close()


def test_api_hostile_requests_change_nothing(api, docket):
    """After every refused request again (and a slow body, a non-JSON body, an empty one), the served ledger has
    the size it had and `docket verify` of the file is clean."""
    size = tree_size(api.srv)
    for name, (make, status, _) in REFUSALS.items():
        assert api.srv.post(make(api)).status == status, name
    assert api.srv.post(b"").status == 400
    assert api.srv.post(b"\xff\xfe garbage").status == 400
    slow_body(api.srv, built_envelope(api.ledger, "api-slow-2")[1])
    assert tree_size(api.srv) == size == local_size(docket, api.ledger.path)
    verify_clean(docket, api.ledger.path)


def metric_values(srv):
    """{series: value} of the server's /metrics (Prometheus text format)."""
    reply = srv.get("/metrics")
    assert reply.status == 200 and reply.headers.get("content-type", "").startswith("text/plain"), reply
    values = {}
    for line in reply.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_api_metrics_count_appends_and_refusals(api):
    """/metrics (Prometheus text) has the append counter, the batch-size histogram, the queue-depth gauge and
    refusals by reason, and the counters move with what the server did."""
    before = metric_values(api.srv)
    assert api.srv.post(built_envelope(api.ledger, "api-metrics")[1]).status == 201
    assert api.srv.post(REFUSALS["bad-signature"][0](api)).status == 400
    values = metric_values(api.srv)
    assert values["docket_appends_total"] == before.get("docket_appends_total", 0) + 1, values
    assert values.get("docket_batch_size_count", 0) >= 1, values
    assert "docket_write_queue_depth" in values, values
    key = 'docket_refusals_total{reason="bad-signature"}'
    assert values.get(key, 0) == before.get(key, 0) + 1, values


def test_rate_limit_per_key_429_with_retry_after(serve, ledger_factory):
    """--key-rate 2 (burst 4): 20 distinct valid envelopes from one key posted at once get some 429s
    (rate-limited, Retry-After ≥ 1); only the 201s were appended."""
    ledger = ledger_factory("server-key-rate")
    srv = serve(ledger, "--key-rate", "2")
    size = tree_size(srv)
    conn = ss.connection(srv.url)
    replies = [ss.exchange(conn, "POST", "/api/v1/entries", built_envelope(ledger, "kr-%d" % i)[1])
               for i in range(20)]
    conn.close()
    statuses = collections.Counter(r.status for r in replies)
    assert set(statuses) <= {201, 429} and statuses[429] >= 10 and statuses[201] >= 1, statuses
    for reply in replies:
        if reply.status == 429:
            check_error(reply, 429, "rate-limited")
            assert int(reply.headers["retry-after"]) >= 1, reply.headers
    assert tree_size(srv) == size + statuses[201]


def test_rate_limit_per_address_429(serve, ledger_factory):
    """--address-rate 1 (burst 2): a flood of writes from 127.0.0.1 gets 429 with Retry-After."""
    ledger = ledger_factory("server-address-rate")
    srv = serve(ledger, "--address-rate", "1")
    replies = [srv.post(built_envelope(ledger, "ar-%d" % i)[1]) for i in range(10)]
    limited = [r for r in replies if r.status == 429]
    assert len(limited) >= 5 and all(r.status in (201, 429) for r in replies), replies
    assert all(int(r.headers["retry-after"]) >= 1 for r in limited)


def test_queue_full_503_with_retry_after(serve, ledger_factory):
    """--queue 1 with a writer lingering 1 s per batch: envelopes posted together find the queue full and get
    503 queue-full with Retry-After; those are not appended, the accepted one is."""
    ledger = ledger_factory("server-queue")
    srv = serve(ledger, "--queue", "1", "--batch-wait-ms", "1000", "--key-rate", "0")
    bodies = [built_envelope(ledger, "q-%d" % i) for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda pb: srv.post(pb[1], timeout=20), bodies))
    statuses = collections.Counter(r.status for r in replies)
    assert statuses[201] >= 1 and statuses[503] >= 1 and set(statuses) <= {201, 503}, statuses
    for reply in replies:
        if reply.status == 503:
            check_error(reply, 503, "queue-full")
            assert int(reply.headers["retry-after"]) >= 1
    _, payloads = bundle_payloads(ledger, ledger.dir / "queue.jsonl")
    for (payload, _), reply in zip(bodies, replies):
        assert payloads[payload] == (1 if reply.status == 201 else 0), reply


TOKEN_R, TOKEN_W = "read-token-0123456789abcdef", "write-token-0123456789abcdef"


@pytest.fixture
def tokens(tmp_path):
    (tmp_path / "read.token").write_text(TOKEN_R + "\n")
    (tmp_path / "write.token").write_text(TOKEN_W + "\n")
    return tmp_path / "read.token", tmp_path / "write.token"


def bearer(token):
    return {"Authorization": "Bearer " + token}


def test_tokens_guard_writes_and_reads(serve, ledger_factory, docket, tokens):
    """With --read-token-file and --write-token-file: a write without its token, with a wrong one or with the
    read token is 401 (unauthorized); with the write token 201. Reads (the metrics and the dashboard too) without
    the read token are 401, with it 200, whatever the case of `Bearer`; error answers say `nosniff`."""
    ledger = ledger_factory("server-tokens")
    srv = serve(ledger, "--read-token-file", tokens[0], "--write-token-file", tokens[1])
    size = local_size(docket, ledger.path)
    body = built_envelope(ledger, "tok")[1]
    for headers in ({}, bearer("wrong-token-0123456789abcdef"), bearer(TOKEN_R), {"Authorization": TOKEN_W}):
        check_error(srv.post(body, headers=headers), 401, "unauthorized")
    assert local_size(docket, ledger.path) == size
    assert srv.post(body, headers=bearer(TOKEN_W)).status == 201
    for path in ("/checkpoint", "/tile/entries/000.p/1", "/api/v1/entries/0", "/api/v1/status", "/api/v1/bundle",
                 "/metrics", "/"):
        check_error(srv.get(path), 401, "unauthorized")
        check_error(srv.get(path, headers=bearer("wrong-token-0123456789abcdef")), 401, "unauthorized")
        assert srv.get(path, headers=bearer(TOKEN_R)).status == 200, path
    # The scheme is case-insensitive (RFC 9110 §11.1); the metrics name webhooks, so they are a guarded read.
    assert srv.get("/metrics", headers={"Authorization": "bearer " + TOKEN_R}).status == 200
    assert srv.get("/api/v1/status", headers={"Authorization": "BEARER " + TOKEN_R}).status == 200
    refused = srv.get("/api/v1/status")
    assert refused.headers.get("x-content-type-options") == "nosniff", refused.headers


def test_tokens_the_cli_sends_docket_token(serve, ledger_factory, docket, tokens, tmp_path):
    """A server with a write token only: the CLI records with DOCKET_TOKEN set to it (exit 0) and fails without
    it (exit 3, the message says a bearer token is needed)."""
    ledger = ledger_factory("server-token-cli")
    srv = serve(ledger, "--write-token-file", tokens[1])
    client = ss.Client(docket, srv.url, tmp_path / "mirror")
    image = "%s@sha256:%s" % (APP, ss.hex_digest("token cli"))
    refused = client("record", "built", image, "--key", ledger.ci_key)
    assert refused.rc == 3 and "Bearer" in refused.err, refused.describe()
    client("record", "built", image, "--key", ledger.ci_key, ok=0, env={"DOCKET_TOKEN": TOKEN_W})


def test_tokens_a_cli_holding_the_write_token_can_record_when_reads_are_guarded(serve, ledger_factory, docket,
                                                                                 tokens, tmp_path):
    """With both token files, a CI runner given the write token can record (it must read to prove its receipt)."""
    ledger = ledger_factory("server-token-both")
    srv = serve(ledger, "--read-token-file", tokens[0], "--write-token-file", tokens[1])
    client = ss.Client(docket, srv.url, tmp_path / "mirror", env={"DOCKET_TOKEN": TOKEN_W})
    client("record", "built", "%s@sha256:%s" % (APP, ss.hex_digest("both")), "--key", ledger.ci_key, ok=0)


# ------------------------------------------------------------------------------------------------ 4 the read API

READ_ENTRIES = 300  # a full level-0 tile and a partial one


@pytest.fixture(scope="module")
def reads(docket, ledger_factory, workspace):
    """A served ledger of 302 entries (genesis, enrolment, 300 built), and its entries from a local export."""
    ledger = ledger_factory("server-reads")
    with running(docket, workspace, ledger) as srv:
        conn = ss.connection(srv.url)
        for i in range(READ_ENTRIES):
            reply = ss.exchange(conn, "POST", "/api/v1/entries", built_envelope(ledger, "read-%d" % i)[1])
            assert reply.status == 201, reply
        conn.close()
        header, entries = ss.read_bundle(ledger.export(ledger.dir / "reads.jsonl"))
        leaves = [helpers.leaf_hash(e) for e in entries]
        roots = helpers.roots_for_sizes(entries, range(1, len(entries) + 1))
        yield type("Reads", (), dict(srv=srv, ledger=ledger, entries=entries, leaves=leaves, roots=roots,
                                     bundle=(ledger.dir / "reads.jsonl").read_bytes()))


def test_reads_checkpoint_is_signed_by_the_log_key_and_covers_every_entry(reads, docket):
    """/checkpoint: no-cache; signed by the log key `docket ledger describe --json` gives; its size is the
    ledger's and its root the RFC 6962 root of every entry."""
    reply = reads.srv.get("/checkpoint")
    assert reply.status == 200 and reply.headers.get("cache-control") == "no-cache", reply.headers
    described = json.loads(docket.run(["ledger", "describe", "--json"], ledger=reads.ledger.path).out)
    c = helpers.parse_checkpoint(reply.text)
    assert helpers.note_signed_by(c.body, c.signatures, described["logKey"]), reply.text
    assert (c.origin, c.size) == (described["origin"], len(reads.entries)) == (reads.ledger.origin, 302)
    assert c.root == helpers.mth(reads.entries)


def test_reads_level0_tiles_are_the_leaf_hashes(reads):
    """/tile/0/000 holds the leaf hashes sha256(0x00‖entry) of entries 0-255; /tile/0/001.p/46 those of
    256-301; a narrower width, its prefix; tiles are immutable."""
    full = reads.srv.get("/tile/0/000")
    assert full.status == 200 and full.body == b"".join(reads.leaves[:256]), full
    assert "immutable" in full.headers.get("cache-control", ""), full.headers
    partial = reads.srv.get("/tile/0/001.p/46")
    assert partial.status == 200 and partial.body == b"".join(reads.leaves[256:302]), partial
    narrow = reads.srv.get("/tile/0/001.p/10")
    if narrow.status == 200:  # tlog-tiles lets a log serve narrower partial tiles, or not
        assert narrow.body == b"".join(reads.leaves[256:266])
    else:
        assert narrow.status == 404, narrow


def test_reads_level1_tile_is_the_root_of_the_first_256_entries(reads):
    """/tile/1/000.p/1: one hash, the RFC 6962 root of entries 0-255 (level 8 of the tree)."""
    reply = reads.srv.get("/tile/1/000.p/1")
    assert reply.status == 200 and reply.body == helpers.mth(reads.entries[:256]), reply


def test_reads_entry_bundles_hold_the_entries(reads):
    """/tile/entries/000 and /tile/entries/001.p/46 parse as uint16-length-prefixed entries, equal to the
    exported entries."""
    full = reads.srv.get("/tile/entries/000")
    assert full.status == 200 and ss.split_entry_bundle(full.body) == reads.entries[:256]
    partial = reads.srv.get("/tile/entries/001.p/46")
    assert partial.status == 200 and ss.split_entry_bundle(partial.body) == reads.entries[256:]
    assert "immutable" in partial.headers.get("cache-control", "")


BAD_TILES = ["/tile/0/002", "/tile/0/001", "/tile/0/001.p/47", "/tile/1/000", "/tile/2/000.p/1",
             "/tile/entries/001", "/tile/entries/002.p/1", "/tile/0/1", "/tile/0/0000", "/tile/0/x000/001",
             "/tile/0/000.p/0", "/tile/0/000.p/256", "/tile/0/000.p/046", "/tile/0/000.p/", "/tile/0/000.p/abc",
             "/tile/0/-01", "/tile/x/000", "/tile/entries/abc", "/tile/0", "/tile/", "/tile/0/000/extra"]


@pytest.mark.parametrize("path", BAD_TILES)
def test_reads_tiles_the_tree_does_not_hold_or_malformed_paths_are_404(reads, path):
    """A tile beyond the tree, a width it does not have, or a path that is not C2SP tlog-tiles: 404."""
    assert reads.srv.get(path).status == 404, path


@pytest.mark.parametrize("index", [0, 1, 2, 255, 256, 257, 300, 301])
def test_reads_entry_receipt_proves_inclusion(reads, index):
    """GET /api/v1/entries/N: 200, the entry's bytes, and an inclusion proof to the signed checkpoint."""
    reply = reads.srv.get("/api/v1/entries/%d" % index)
    assert reply.status == 200, reply
    receipt = reply.json()
    assert receipt["entry"].encode() == reads.entries[index]
    assert ss.ReceiptChecker(reads.ledger.verifier_key).problems(receipt) == []


@pytest.mark.parametrize("path,status", [("/api/v1/entries/302", 404), ("/api/v1/entries/99999999", 404),
                                         ("/api/v1/entries/-1", 400), ("/api/v1/entries/abc", 400)])
def test_reads_entry_out_of_range_or_not_a_number(reads, path, status):
    """An index the ledger does not hold is 404; one that is not a whole number 400."""
    check_error(reads.srv.get(path), status)


@pytest.mark.parametrize("m,n", [(1, 2), (1, 302), (2, 3), (3, 7), (7, 8), (8, 302), (255, 256), (256, 257),
                                 (100, 300), (201, 302), (301, 302), (302, 302)])
def test_reads_consistency_proof_verifies(reads, m, n):
    """GET /api/v1/proof/consistency?from=M&to=N: an RFC 9162 proof that the tree of N extends the one of M."""
    reply = reads.srv.get("/api/v1/proof/consistency?from=%d&to=%d" % (m, n))
    assert reply.status == 200, reply
    proof = reply.json()
    assert (proof["from"], proof["to"]) == (m, n)
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    assert ss.verify_consistency(m, n, reads.roots[m], reads.roots[n], hashes), proof


@pytest.mark.parametrize("query", ["from=0&to=3", "from=5&to=3", "from=1&to=303", "from=1", "to=3", "from=a&to=3",
                                   ""])
def test_reads_consistency_bad_ranges_are_400(reads, query):
    """Sizes outside 1 ≤ M ≤ N ≤ tree size, or missing: 400."""
    check_error(reads.srv.get("/api/v1/proof/consistency?" + query), 400)


def test_reads_bundle_is_the_export(reads):
    """GET /api/v1/bundle: the bytes `docket export` writes for the served file."""
    reply = reads.srv.get("/api/v1/bundle")
    assert reply.status == 200, reply
    assert reply.body == reads.bundle


def test_reads_health_and_readiness(reads):
    """/healthz and /readyz answer 200."""
    assert reads.srv.get("/healthz").status == 200
    assert reads.srv.get("/readyz").status == 200


# ------------------------------------------------------------------------------------------------ 5 load

LOAD_CLIENTS, LOAD_EACH, LOAD_KEYS = 64, 200, 8


def enrol_python_keys(ledger, count, label):
    """count Ed25519 keys made in Python, enrolled (role ci) in the ledger file with the CLI."""
    signers = []
    for k in range(count):
        signer = helpers.signing_key("%s-%d" % (label, k))
        pub = ss.write_public_key(ledger.dir / ("%s-%d.key.pub" % (label, k)), signer,
                                  "%s-%d@example.com" % (label, k))
        ledger.must(["key", "enroll", pub, "--role", "ci", "--key", ledger.admin_key])
        signers.append(signer)
    return signers


@slow
def test_load_64_keep_alive_clients_every_receipt_proved(serve, ledger_factory, docket, note):
    """64 threads × 200 distinct pre-signed envelopes over keep-alive connections (8 enrolled keys, no rate
    limits): every answer 201; every receipt proves its entry in a checkpoint signed by the log key; the
    indexes are unique and gapless; the tree grew by exactly 12,800; the final bundle passes `docket verify
    --bundle` and tools/verify-bundle."""
    ledger = ledger_factory("server-load")
    signers = enrol_python_keys(ledger, LOAD_KEYS, "load")
    srv = serve(ledger, "--key-rate", "0", "--address-rate", "0")
    initial = tree_size(srv)
    work = [[built_envelope(ledger, "load-%d-%d" % (c, n), signer=signers[c % LOAD_KEYS])
             for n in range(LOAD_EACH)] for c in range(LOAD_CLIENTS)]
    results = [[] for _ in range(LOAD_CLIENTS)]
    barrier = threading.Barrier(LOAD_CLIENTS + 1, timeout=30)
    deadline = time.monotonic() + 120

    def client(c):
        conn = ss.connection(srv.url, timeout=30)
        barrier.wait()
        for payload, body in work[c]:
            if time.monotonic() > deadline:
                results[c].append((payload, "deadline", None))
                break
            try:
                reply = ss.exchange(conn, "POST", "/api/v1/entries", body)
                results[c].append((payload, reply.status, reply.body))
            except (OSError, http.client.HTTPException) as e:
                results[c].append((payload, type(e).__name__, None))
                conn.close()
                conn = ss.connection(srv.url, timeout=30)
        conn.close()

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(LOAD_CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.monotonic()
    for t in threads:
        t.join(timeout=max(1.0, deadline + 10 - time.monotonic()))
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "clients still running after %.0fs" % elapsed
    answers = [a for r in results for a in r]
    statuses = collections.Counter(status for _, status, _ in answers)
    total = LOAD_CLIENTS * LOAD_EACH
    note("server load: %d envelopes from %d keep-alive clients in %.1fs: %.0f appends/s (statuses %s)" % (
        total, LOAD_CLIENTS, elapsed, total / elapsed, dict(statuses)))
    assert statuses == {201: total}, statuses
    checker = ss.ReceiptChecker(ledger.verifier_key)
    bad, indexes = [], []
    for payload, _, body in answers:
        receipt = json.loads(body)
        indexes.append(receipt["index"])
        problems = checker.problems(receipt, payload)
        if problems:
            bad.append((receipt.get("index"), problems))
    assert not bad, "%d receipts do not hold, e.g. %s" % (len(bad), bad[:3])
    assert sorted(indexes) == list(range(initial, initial + total)), "indexes not unique and gapless"
    assert tree_size(srv) == initial + total
    metrics = metric_values(srv)
    batches = metrics.get("docket_batch_size_count", 0)
    note("server load: %d group commits, %.1f envelopes each on average" % (
        batches, metrics.get("docket_batch_size_sum", 0) / max(1, batches)))
    assert metrics.get("docket_appends_total") == total, metrics.get("docket_appends_total")
    assert 0 < batches < total, "no group commit: %d batches for %d envelopes" % (batches, total)
    bundle = ledger.dir / "load-bundle.jsonl"
    reply = srv.get("/api/v1/bundle", timeout=120)
    assert reply.status == 200, reply
    bundle.write_bytes(reply.body)
    header, entries = ss.read_bundle(reply.body)
    assert header["size"] == len(entries) == initial + total
    ok, detail = docket.run(["verify", "--bundle", bundle, "--log-key", ledger.verifier_key, "--json"],
                            timeout=180).verified_clean()
    assert ok, detail
    res = docket.verify_bundle([bundle, "--log-key", ledger.verifier_key], timeout=180)
    assert res.rc == 0, res.describe()


# ------------------------------------------------------------------------------------------------ 6 SIGKILL

KILL_ROUNDS, KILL_CLIENTS = 20, 4


class Outbox:
    """One client's envelopes: those not yet acknowledged (retried first, in order), and the acknowledged ones
    with the index their receipt gave."""

    def __init__(self, ledger, name):
        self.ledger, self.name, self.made = ledger, name, 0
        self.waiting = collections.deque()
        self.acked = []  # (payload, status, index)
        self.unexpected = []

    def next(self):
        if not self.waiting:
            self.waiting.append(built_envelope(self.ledger, "%s-%d" % (self.name, self.made)))
            self.made += 1
        return self.waiting[0]

    def answered(self, reply):
        payload, _ = self.waiting[0]
        if reply.status in (200, 201):
            self.acked.append((payload, reply.status, reply.json()["index"]))
            self.waiting.popleft()
        elif reply.status in (429, 503):
            time.sleep(0.05)
        else:
            self.unexpected.append(reply)
            self.waiting.popleft()


def post_until_gone(url, box, until):
    """Posts the box's envelopes over one keep-alive connection until the server goes away or until; True if a
    request was in flight (sent, unanswered) when it went."""
    conn = ss.connection(url, timeout=10)
    try:
        while time.monotonic() < until:
            _, body = box.next()
            try:
                box.answered(ss.exchange(conn, "POST", "/api/v1/entries", body))
            except (OSError, http.client.HTTPException):
                return True
        return False
    finally:
        conn.close()


@slow
def test_sigkill_under_load_keeps_every_acknowledged_envelope_exactly_once(serve, ledger_factory, docket, seed,
                                                                           note):
    """20 rounds: 4 clients post while the server is SIGKILLed at a random moment (seeded), then it restarts on
    the same ledger and the clients resend what was not acknowledged. At the end every envelope answered
    201/200 is in the ledger exactly once at its receipt's index, no payload appears twice, nothing else was
    appended, and `docket verify` is clean."""
    rng = random.Random(seed)
    ledger = ledger_factory("server-kill")
    initial = local_size(docket, ledger.path)
    boxes = [Outbox(ledger, "kill-%d" % c) for c in range(KILL_CLIENTS)]
    started = time.monotonic()
    in_flight = 0
    for round_ in range(KILL_ROUNDS):
        assert time.monotonic() - started < 150, "the kill rounds took too long (round %d)" % round_
        srv = serve(ledger, "--key-rate", "0", "--address-rate", "0")
        until = time.monotonic() + 5
        with ThreadPoolExecutor(KILL_CLIENTS) as pool:
            futures = [pool.submit(post_until_gone, srv.url, box, until) for box in boxes]
            time.sleep(rng.uniform(0.05, 0.8))
            rc = srv.kill()
            assert rc == -signal.SIGKILL, "the server ended with %s before it was killed: %s" % (rc, srv.logs())
            in_flight += sum(f.result(timeout=15) for f in futures)
    srv = serve(ledger, "--key-rate", "0", "--address-rate", "0")
    for box in boxes:
        for _ in range(len(box.waiting) + 5):  # the resends, and at most a few 503/429 retries
            if not box.waiting:
                break
            box.answered(srv.post(box.waiting[0][1]))
        assert not box.waiting, "envelopes still unacknowledged after the last restart"
    assert srv.terminate() == 0
    unexpected = [r for box in boxes for r in box.unexpected]
    assert not unexpected, unexpected[:5]
    acked = [a for box in boxes for a in box.acked]
    note("server SIGKILL: %d rounds in %.1fs, %d envelopes acknowledged (%d of them as duplicates of an entry "
         "committed before a kill), %d requests in flight at the kills" % (
             KILL_ROUNDS, time.monotonic() - started, len(acked), sum(1 for a in acked if a[1] == 200), in_flight))
    assert in_flight >= KILL_ROUNDS // 2, "too few kills hit a request in flight (%d)" % in_flight
    entries, payloads = bundle_payloads(ledger, ledger.dir / "kill.jsonl")
    assert [p for p, n in payloads.items() if n > 1] == [], "payloads appended twice"
    for payload, _, index in acked:
        assert payloads[payload] == 1, "an acknowledged envelope is missing"
        assert ss.entry_payload(entries[index]) == payload, "entry %d is not the acknowledged envelope" % index
    assert len(entries) == initial + len(acked), "entries nobody had acknowledged: %d" % (
        len(entries) - initial - len(acked))
    verify_clean(docket, ledger.path)


# ------------------------------------------------------------------------------------------------ 7 SIGTERM


def test_sigterm_under_load_keeps_acknowledged_and_accepts_nothing_after(serve, ledger_factory, docket, note):
    """8 clients post over keep-alive connections (no rate limits); SIGTERM: the server exits 0 within 15 s;
    every envelope answered 201/200 is in the ledger once; every answer is 201/200 or 503 shutting-down with
    Retry-After (or a closed/refused connection); once any client saw shutdown (a 503 or a lost connection), no
    request sent later was accepted; an envelope answered only 503 was not appended."""
    ledger = ledger_factory("server-sigterm")
    srv = serve(ledger, "--key-rate", "0", "--address-rate", "0")
    log = []  # (sent, answered, payload, status or error name, reply)
    lock = threading.Lock()
    stop_at = time.monotonic() + 12

    def client(c):
        conn, n = ss.connection(srv.url, timeout=10), 0
        while time.monotonic() < stop_at:
            payload, body = built_envelope(ledger, "term-%d-%d" % (c, n))
            n += 1
            sent = time.monotonic()
            try:
                reply = ss.exchange(conn, "POST", "/api/v1/entries", body)
                outcome = reply.status
            except ConnectionRefusedError:
                with lock:
                    log.append((sent, time.monotonic(), payload, "refused", None))
                return
            except (OSError, http.client.HTTPException) as e:
                reply, outcome = None, type(e).__name__
                conn.close()
                conn = ss.connection(srv.url, timeout=10)
            with lock:
                log.append((sent, time.monotonic(), payload, outcome, reply))
        conn.close()

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.8)
    srv.proc.send_signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    for t in threads:
        t.join(timeout=20)
    assert rc == 0, "exit %s after SIGTERM; log:\n%s" % (rc, srv.logs())
    outcomes = collections.Counter(o for _, _, _, o, _ in log)
    note("server SIGTERM under load: answers %s" % dict(outcomes))
    assert outcomes[201] > 0, outcomes
    assert set(o for o in outcomes if isinstance(o, int)) <= {200, 201, 503}, outcomes
    for _, _, _, outcome, reply in log:
        if outcome == 503:
            check_error(reply, 503, "shutting-down")
            assert int(reply.headers["retry-after"]) >= 1
    shutdown_seen = min((answered for _, answered, _, o, _ in log if o not in (200, 201)), default=None)
    late = [(o, sent - shutdown_seen) for sent, _, _, o, _ in log
            if shutdown_seen is not None and sent > shutdown_seen and o in (200, 201)]
    assert not late, "accepted after shutdown was seen: %s" % late[:5]
    _, payloads = bundle_payloads(ledger, ledger.dir / "term.jsonl")
    for _, _, payload, outcome, _ in log:
        if outcome in (200, 201):
            assert payloads[payload] == 1, "an acknowledged envelope is not in the ledger once"
        elif outcome == 503:
            assert payloads[payload] == 0, "an envelope answered 503 was appended"
    lost = [payload for _, _, payload, o, _ in log if not isinstance(o, int)]
    note("server SIGTERM: %d requests lost their connection, %d of those envelopes were appended anyway" % (
        len(lost), sum(payloads[p] for p in lost)))
    verify_clean(docket, ledger.path)


def test_sigterm_commits_the_batch_in_hand(serve, ledger_factory):
    """With the writer lingering 1 s for a batch (--batch-wait-ms 1000), an envelope waiting in the queue when
    SIGTERM arrives is committed and answered 201 before the server exits 0."""
    ledger = ledger_factory("server-in-hand")
    srv = serve(ledger, "--batch-wait-ms", "1000")
    payload, body = built_envelope(ledger, "in-hand")
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(srv.post, body, timeout=20)
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        reply = answer.result(timeout=20)
    rc = srv.terminate()
    assert reply.status == 201, reply
    assert rc == 0, srv.logs()
    _, payloads = bundle_payloads(ledger, ledger.dir / "in-hand.jsonl")
    assert payloads[payload] == 1


def test_sigint_exits_0(served):
    """SIGINT stops the server as SIGTERM does: exit 0."""
    served.proc.send_signal(signal.SIGINT)
    assert served.proc.wait(timeout=15) == 0, served.logs()


def test_a_stopped_server_refuses_connections(served):
    """Once stopped (exit 0), its port refuses connections: nothing half-alive is left behind."""
    assert served.terminate() == 0
    with pytest.raises(OSError):
        served.get("/readyz", timeout=2)


# ------------------------------------------------------------------------------------------------ 8 a lying server


def ledger_files(path):
    return [Path(str(path) + suffix) for suffix in ("", "-wal", "-shm")]


def save_ledger(path, folder):
    """Copies the (stopped) ledger file with its -wal and -shm into folder."""
    folder.mkdir(parents=True)
    for f in ledger_files(path):
        if f.exists():
            shutil.copy2(f, folder / f.name)


def restore_ledger(folder, path):
    for f in ledger_files(path):
        f.unlink(missing_ok=True)
        if (folder / f.name).exists():
            shutil.copy2(folder / f.name, f)


def record_built(client, ledger, label, ok=0):
    return client("record", "built", "%s@sha256:%s" % (APP, ss.hex_digest(label)), "--key", ledger.ci_key, ok=ok)


def test_client_catches_a_server_that_rewrote_history(serve, ledger_factory, docket, tmp_path):
    """The client accepted a checkpoint of 7 entries; the server (stopped, its file restored to 5 entries, then 5
    different ones appended) restarts on the same port with 10: its checkpoint is not an extension of the one
    held, so a read and a write exit 3 with an ALARM naming both signed notes, and the write posted nothing."""
    ledger = ledger_factory("server-rewrite")
    srv = serve(ledger)
    client = ss.Client(docket, srv.url, tmp_path / "mirror")
    for i in range(3):
        record_built(client, ledger, "rw-%d" % i)
    assert srv.terminate() == 0
    save_ledger(ledger.path, tmp_path / "at-5")
    srv = serve(ledger, port=srv.port)
    record_built(client, ledger, "rw-3")
    record_built(client, ledger, "rw-4")
    assert srv.terminate() == 0
    restore_ledger(tmp_path / "at-5", ledger.path)
    for i in range(5):
        assert ledger.record_built(ss.hex_digest("other-%d" % i), repo=APP).rc == 0
    srv = serve(ledger, port=srv.port)
    assert tree_size(srv) == 10
    # Both checkpoints are signed by the log key: the proof that fails is evidence, and both notes are kept.
    for res in (client("status"), record_built(client, ledger, "rw-after", ok=None)):
        assert res.rc == 3 and "ALARM" in res.err and "not an extension" in res.err, res.describe()
    evidence = sorted((tmp_path / "mirror" / "evidence").glob("*.note"))
    assert evidence and any(p.name.endswith("-held.note") for p in evidence), evidence
    assert all("\n\n\u2014 " in p.read_text() for p in evidence), "the evidence is the two signed notes"
    assert tree_size(srv) == 10


def test_client_catches_a_server_whose_tree_shrank(serve, ledger_factory, docket, tmp_path):
    """The client accepted a checkpoint of 5 entries; the server comes back on the same port serving its older file
    of 3 and cannot prove it consistent with 5: a read exits 3 with "cannot be trusted"."""
    ledger = ledger_factory("server-shrink")
    srv = serve(ledger)
    client = ss.Client(docket, srv.url, tmp_path / "mirror")
    record_built(client, ledger, "sh-0")
    assert srv.terminate() == 0
    save_ledger(ledger.path, tmp_path / "at-3")
    srv = serve(ledger, port=srv.port)
    record_built(client, ledger, "sh-1")
    record_built(client, ledger, "sh-2")
    assert srv.terminate() == 0
    restore_ledger(tmp_path / "at-3", ledger.path)
    srv = serve(ledger, port=srv.port)
    res = client("log")
    assert res.rc == 3 and "cannot be trusted" in res.err, res.describe()


def test_a_port_in_use_is_said_in_words(served, docket):
    """A second `docket serve` on a port the first holds: exit 3 with one line that names the address and what to
    do, not the system call's text (issue 30, item 11)."""
    res = docket.run(["serve", "--ledger", served.path, "--listen", "127.0.0.1:%d" % served.port], timeout=60)
    assert res.rc == 3, res.describe()
    last = res.err.strip().splitlines()[-1]
    assert last.startswith("docket: cannot listen on 127.0.0.1:%d" % served.port) and "already in use" in last, res.err
    assert "bind(" not in res.err and "errno" not in res.err, res.err


def test_client_pinned_log_key_must_match(served, ledger_factory, docket, tmp_path):
    """DOCKET_LOG_KEY pinned to another ledger's key (its .logkey.pub file): a first contact exits 3 and keeps
    no mirror; pinned to the served ledger's own key file, the same read works."""
    other = ledger_factory("server-other-key")
    wrong = ss.Client(docket, served.url, tmp_path / "wrong", env={"DOCKET_LOG_KEY": str(other.path) + ".logkey.pub"})
    res = wrong("status")
    assert res.rc == 3 and "pinned" in res.err, res.describe()
    assert not list((tmp_path / "wrong").glob("*.mirror.db")), "a mirror was kept of a server not trusted"
    right = ss.Client(docket, served.url, tmp_path / "right",
                      env={"DOCKET_LOG_KEY": str(served.path) + ".logkey.pub"})
    right("status", ok=0)
    text = ss.Client(docket, served.url, tmp_path / "text", env={"DOCKET_LOG_KEY": other.verifier_key})
    assert text("status").rc == 3


# ------------------------------------------------------------------------------------------------ 9 spool, 10 TLS
# Both end with a client call that has to give up (nothing listens; a certificate it cannot check) after its
# retries: the `giving_up` fixture starts the two calls side by side, so the waits overlap.


def self_signed(folder):
    """A self-signed RSA certificate for 127.0.0.1 (the CLI's TLS does not offer Ed25519: with an Ed25519
    certificate the handshake fails)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-keyout", key, "-out", cert, "-days", "2",
                    "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def giving_up(docket, ledger_factory, workspace, tmp_path_factory):
    """A ledger and an HTTPS server on it; a free port with nothing on it; and two client calls started at once
    in the background: `submit --spool` to the free port, and a read of the HTTPS server without DOCKET_CA_FILE."""
    ledger = ledger_factory("server-spool-tls")
    folder = tmp_path_factory.mktemp("spool-tls")
    cert, key = self_signed(folder)
    envelope = ledger.built_envelope(ss.hex_digest("spooled"), folder / "spooled.json", repo=APP)
    port = ss.free_port()
    url = "http://127.0.0.1:%d" % port
    context = ssl.create_default_context(cafile=str(cert))
    with running(docket, workspace, ledger, ["--tls-cert", cert, "--tls-key", key], context=context) as tls:
        spool_client = ss.Client(docket, url, folder / "spool-mirror")
        no_ca = ss.Client(docket, tls.url, folder / "no-ca-mirror")
        with ThreadPoolExecutor(2) as pool:
            spooled = pool.submit(spool_client, "submit", "--spool", folder / "spool", envelope,
                                  timeout=GIVE_UP_TIMEOUT)
            untrusted = pool.submit(lambda: (time.monotonic(), no_ca("status", timeout=GIVE_UP_TIMEOUT),
                                             time.monotonic()))
            yield type("GivingUp", (), dict(ledger=ledger, folder=folder, cert=cert, tls=tls, port=port, url=url,
                                            envelope=envelope, spooled=spooled, untrusted=untrusted))


def test_tls_the_cli_records_and_reads_over_https_with_docket_ca_file(giving_up, docket):
    """`docket serve --tls-cert --tls-key`: the CLI with DOCKET_CA_FILE and an https:// URL records (its receipt
    proved), reads status, and verifies."""
    g = giving_up
    client = ss.Client(docket, g.tls.url, g.folder / "https-mirror", env={"DOCKET_CA_FILE": str(g.cert)})
    assert g.tls.url.startswith("https://")
    record_built(client, g.ledger, "over-tls")
    status = json.loads(client("status", "--json", ok=0).out)
    assert status["size"] == local_size(docket, g.ledger.path)
    ok, detail = client("verify", "--json").verified_clean()
    assert ok, detail


def test_tls_without_docket_ca_file_the_cli_fails(giving_up):
    """The same server without DOCKET_CA_FILE: the certificate cannot be checked, exit 3, and the message says
    so."""
    _, res, _ = giving_up.untrusted.result(timeout=GIVE_UP_TIMEOUT + 10)
    assert res.rc == 3 and "CERTIFICATE_VERIFY_FAILED" in res.err, res.describe()


def test_tls_a_certificate_that_does_not_verify_fails_at_once(giving_up):
    """A certificate failure cannot succeed on retry: the CLI reports it within 10 s."""
    started, res, ended = giving_up.untrusted.result(timeout=GIVE_UP_TIMEOUT + 10)
    assert res.rc == 3 and ended - started < 10, "exit %s after %.0fs" % (res.rc, ended - started)


def test_spool_submit_while_nothing_listens_then_flush(giving_up, docket, note):
    """`submit --spool DIR` to a port nothing listens on exits 0 with the envelope queued in DIR; once a server
    listens there, `spool flush DIR` appends it (exit 0) and leaves DIR empty."""
    g = giving_up
    res = g.spooled.result(timeout=GIVE_UP_TIMEOUT + 10)
    note("submit --spool gave up on the unreachable server after %.0fs" % res.elapsed)
    assert res.rc == 0, res.describe()
    queued = list((g.folder / "spool").glob("*.json"))
    assert len(queued) == 1 and queued[0].read_bytes() == g.envelope.read_bytes(), queued
    payload = helpers.any_b64(json.loads(g.envelope.read_bytes())["payload"])
    with running(docket, docket.work, g.ledger, port=g.port):
        client = ss.Client(docket, g.url, g.folder / "spool-mirror")
        client("spool", "flush", g.folder / "spool", ok=0)
    assert list((g.folder / "spool").iterdir()) == []
    _, payloads = bundle_payloads(g.ledger, g.folder / "spool.jsonl")
    assert payloads[payload] == 1


def test_spool_flush_moves_a_refused_envelope_aside(served, docket, tmp_path):
    """An envelope in the spool folder that the server refuses (an incident resolved that was never opened) is
    moved to DIR/refused/ and `spool flush` exits 1; the acceptable one next to it is appended."""
    ledger = served.ledger
    spool = tmp_path / "spool"
    spool.mkdir()
    good_payload, good = built_envelope(ledger, "spool-good")
    bad = ss.envelope(ledger.ci_signer, ss.statement("incident", APP, ss.hex_digest("spool-good"), ledger.origin,
                                                     ledger.ledger_id, environment="staging", incident="INC-9",
                                                     state="resolved"))
    (spool / "0000000000001-0000-good.json").write_bytes(good)  # named as `submit --spool` names them
    (spool / "0000000000002-0000-bad.json").write_bytes(bad)
    res = ss.Client(docket, served.url, tmp_path / "mirror")("spool", "flush", spool)
    assert res.rc == 1, res.describe()
    assert sorted(p.name for p in spool.rglob("*.json")) == ["0000000000002-0000-bad.json"]
    assert (spool / "refused" / "0000000000002-0000-bad.json").exists()
    _, payloads = bundle_payloads(ledger, tmp_path / "flush.jsonl")
    assert payloads[good_payload] == 1
