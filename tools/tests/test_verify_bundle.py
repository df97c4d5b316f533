"""Tests of tools/verify-bundle, the independent Python verifier of Docket bundles.

The bundles here are written by a small writer in this file that follows schemas/README.md (genesis, key
enrolment, policy, image events, a checkpoint note signed by the log key), with the test-side crypto of
helpers.py, not by the Swift tool, so these tests need no docket binary. The verifier runs as the auditor runs
it (the program tools/verify-bundle) and, for its building blocks, as the module `verify_bundle` (the same
file). Known-answer vectors are in testdata/ (see its README).
"""

import base64
import hashlib
import json
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nacl.signing import SigningKey

import verify_bundle as vb

from .helpers import (b64, checkpoint_text, mth, raw_public_key, roots_for_sizes, sign_envelope, sign_note,
                      signing_key, verifier_key_text)

SCRIPT = Path(__file__).resolve().parents[1] / "verify-bundle"
TESTDATA = Path(__file__).resolve().parent / "testdata"
ORIGIN = "example.com/app"
ANY = "any"


def image(label):
    return hashlib.sha256(label.encode()).hexdigest()


def key_hash(key):
    return hashlib.sha256(raw_public_key(key)).hexdigest()


# ----------------------------------------------------------------------------------------------------------
# A tiny bundle writer, independent of the verifier's code


class LedgerWriter:
    """Writes entries and bundles the way Docket does (schemas/README.md)."""

    def __init__(self, origin=ORIGIN, log_key=None, admin=None, admin_identity="admin@x"):
        self.origin = origin
        self.log = log_key or signing_key("log")
        self.admin = admin or signing_key("admin")
        self.lines = []
        self.clock = datetime(2026, 1, 1, tzinfo=timezone.utc)
        self.nonce = 0
        self.append("initialized", origin, key_hash(self.log), self.genesis_fields(admin_identity), self.admin)

    def genesis_fields(self, admin_identity="admin@x"):
        return {"logKey": self.log_key_text(),
                "admins": [{"identity": admin_identity, "publicKey": b64(raw_public_key(self.admin))}]}

    def log_key_text(self):
        return verifier_key_text(self.origin, self.log)

    def tick(self):
        self.clock += timedelta(seconds=1, milliseconds=7)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (self.clock.microsecond // 1000)

    def ledger_id(self):
        """The hex RFC 6962 leaf hash of entry 0."""
        return hashlib.sha256(b"\x00" + self.lines[0]).hexdigest()

    def envelope(self, kind, name, digest, fields, signer, ledger=None, urlsafe=False, payload=None, ledger_id=None,
                 signed="2026-01-01T00:00:00Z"):
        self.nonce += 1
        predicate = {"ledger": ledger or self.origin, "time": signed, "nonce": "%032x" % self.nonce}
        if self.lines and ledger_id is not False:  # every predicate after the genesis names the ledger ID
            predicate["ledgerID"] = ledger_id or self.ledger_id()
        predicate.update(fields)
        statement = {"_type": "https://in-toto.io/Statement/v1",
                     "subject": [{"name": name, "digest": {"sha256": digest}}],
                     "predicateType": "https://docket.dev/%s/v1" % kind, "predicate": predicate}
        if payload is None:
            payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
        return sign_envelope(signer, payload, urlsafe=urlsafe)

    def append(self, kind, name, digest, fields, signer, time=None, **options):
        integrated = time or self.tick()
        # Signed when appended (as a signer's clock within maxClockSkew and maxSubmitDelay would be), unless the
        # fields say otherwise.
        envelope = self.envelope(kind, name, digest, fields, signer, **dict({"signed": integrated}, **options))
        entry = {"index": len(self.lines), "integratedTime": integrated, "envelope": envelope}
        self.lines.append(json.dumps(entry, separators=(",", ":")).encode())
        return len(self.lines) - 1

    # events

    def enroll(self, identity, key, roles, signer=None):
        return self.append("key-enrolled", identity, key_hash(key),
                           {"identity": identity, "publicKey": b64(raw_public_key(key)), "roles": roles},
                           signer or self.admin)

    def revoke(self, identity, key, signer=None):
        return self.append("key-revoked", identity, key_hash(key),
                           {"identity": identity, "publicKey": b64(raw_public_key(key)), "reason": "left"},
                           signer or self.admin)

    def policy(self, document, signer=None, digest=None):
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self.append("policy", "policy", digest or hashlib.sha256(canonical.encode()).hexdigest(),
                           {"policy": document}, signer or self.admin)

    def built(self, digest, signer, **options):
        return self.append("built", "registry.example/app", digest, {"tags": ["v1"]}, signer, **options)

    def deployed(self, digest, environment, signer, **options):
        return self.append("deployed", "registry.example/app", digest, {"environment": environment}, signer, **options)

    def approved(self, digest, environment, signer):
        return self.append("approved", "registry.example/app", digest, {"environment": environment}, signer)

    def promoted(self, digest, source, target, signer):
        return self.append("promoted", "registry.example/app", digest, {"from": source, "to": target}, signer)

    def rolled_back(self, digest, environment, from_digest, signer):
        return self.append("rolled-back", "registry.example/app", digest,
                           {"environment": environment, "from": "sha256:" + from_digest, "reason": "bad"}, signer)

    # bundle

    def checkpoint(self, lines=None, size=None, root=None, key=None, name=None):
        lines = self.lines if lines is None else lines
        body = checkpoint_text(self.origin, len(lines) if size is None else size, root or mth(lines))
        return sign_note(body, name or self.origin, key or self.log)

    def bundle(self, lines=None, **header):
        lines = self.lines if lines is None else lines
        fields = {"format": "docket-bundle/v1", "origin": self.origin, "logKey": self.log_key_text(),
                  "checkpoint": self.checkpoint(lines), "size": len(lines)}
        fields.update(header)
        return json.dumps(fields).encode() + b"\n" + b"".join(line + b"\n" for line in lines)


POLICY = {"environments": [{"name": "staging"},
                           {"name": "production", "from": "staging", "approvals": {"min": 1, "roles": ["approver"]}}]}
A, B = image("image a"), image("image b")
CI, RELEASER, APPROVER = signing_key("ci"), signing_key("releaser"), signing_key("approver")


def scenario():
    """A small ledger: A is built, deployed to staging, approved and promoted; B is built and deployed to staging
    and (drift) straight to production. Entry i is on line i + 2."""
    w = LedgerWriter()
    w.enroll("ci@x", CI, ["ci"])  # 1
    w.enroll("rel@x", RELEASER, ["releaser"])  # 2
    w.enroll("ap@x", APPROVER, ["approver"])  # 3
    w.policy(POLICY)  # 4
    w.built(A, CI)  # 5
    w.deployed(A, "staging", CI)  # 6
    w.approved(A, "production", APPROVER)  # 7
    w.promoted(A, "staging", "production", RELEASER)  # 8
    w.built(B, CI)  # 9
    w.deployed(B, "staging", CI)  # 10
    w.deployed(B, "production", CI)  # 11: drift
    return w


def run(tmp_path, data, *args, json_output=True):
    path = tmp_path / "bundle.jsonl"
    if data is not None:
        path.write_bytes(data)
    command = [sys.executable, str(SCRIPT), str(path)] + (["--json"] if json_output else []) + list(args)
    result = subprocess.run(command, capture_output=True, timeout=300)
    stderr = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr
    stdout = result.stdout.decode("utf-8")
    report = json.loads(stdout) if json_output and stdout.strip() else None
    return result.returncode, report, stdout, stderr


def state(report, repository="registry.example/app"):
    """{environment: digest} of one repository, from the report's list of (environment, repository, digest)."""
    return {e["environment"]: e["digest"] for e in report["environments"] if e["repository"] == repository}


def find(report, fragment, line=None, index=ANY):
    """The problems whose message contains fragment (and on that line / entry, if given)."""
    return [p for p in report["problems"] if fragment in p["message"]
            and (line is None or p["line"] == line) and (index == ANY or p["index"] == index)]


def replace_line(data, line_number, new_line):
    lines = data.split(b"\n")
    lines[line_number - 1] = new_line
    return b"\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Clean bundles


def test_clean_bundle_is_accepted_with_state(tmp_path):
    w = scenario()
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["entries"] == 12
    assert report["root"] == b64(mth(w.lines))
    assert state(report) == {"staging": "sha256:" + B, "production": "sha256:" + A}
    assert [(d["index"], d["environment"], d["digest"]) for d in report["drift"]] == [(11, "production", "sha256:" + B)]
    assert report["checkpointVerified"] is True
    assert report["logKey"] == w.log_key_text()


def test_human_output_summarises_state(tmp_path):
    w = scenario()
    code, _, out, _ = run(tmp_path, w.bundle(), json_output=False)
    assert code == 0
    assert "12 entries" in out and b64(mth(w.lines)) in out
    assert "verified: no problems found" in out
    assert any(l.split() == ["production", "registry.example/app", "sha256:" + A] for l in out.splitlines())
    assert "entry 11: observed sha256:%s of registry.example/app in production while sha256:%s was current" % (B, A) in out


def test_promotion_and_rollback_move_the_environment(tmp_path):
    w = scenario()
    w.approved(B, "production", APPROVER)
    w.promoted(B, "staging", "production", RELEASER)
    _, report, _, _ = run(tmp_path, w.bundle())
    assert state(report)["production"] == "sha256:" + B
    w.rolled_back(A, "production", B, RELEASER)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]
    assert state(report)["production"] == "sha256:" + A


def test_deployed_before_any_policy_sets_the_environment(tmp_path):
    w = LedgerWriter()
    w.enroll("ci@x", CI, ["ci"])
    w.deployed(A, "production", CI)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0
    assert state(report) == {"production": "sha256:" + A}
    assert report["drift"] == []


def test_url_safe_unpadded_payload_is_accepted(tmp_path):
    w = scenario()
    w.deployed(A, "staging", CI, urlsafe=True)
    payload = json.loads(w.lines[-1])["envelope"]["payload"]
    assert not payload.endswith("=") and len(payload) % 4 != 0
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]
    assert state(report)["staging"] == "sha256:" + A


def test_equal_times_are_allowed(tmp_path):
    w = scenario()
    same = json.loads(w.lines[-1])["integratedTime"]
    w.built(image("c"), CI, time=same)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]


def test_witnessed_older_checkpoint_is_checked_against_the_prefix(tmp_path):
    w = scenario()
    old = w.checkpoint(w.lines[:5])
    code, report, _, _ = run(tmp_path, w.bundle(witnessed=[old]))
    assert code == 0, report["problems"]
    wrong = w.checkpoint(w.lines[:5], root=mth(w.lines[:6]))
    code, report, _, _ = run(tmp_path, w.bundle(witnessed=[wrong]))
    assert code == 1
    assert find(report, "witnessed[0] root", line=1)


def test_pinned_log_key(tmp_path):
    w = scenario()
    code, report, _, _ = run(tmp_path, w.bundle(), "--log-key", w.log_key_text())
    assert code == 0 and report["logKeySource"] == "pinned"
    # The whole history re-created and re-signed under another log key is consistent in itself...
    forged = LedgerWriter(log_key=signing_key("forger log"))
    forged.enroll("ci@x", CI, ["ci"])
    code, report, _, _ = run(tmp_path, forged.bundle())
    assert code == 0
    # ...but not against the pin.
    code, report, _, _ = run(tmp_path, forged.bundle(), "--log-key", w.log_key_text())
    assert code == 1
    assert find(report, "is not the pinned log key", line=2, index=0)
    assert find(report, "checkpoint: not signed by", line=1)


def test_bad_log_key_argument_is_bad_input(tmp_path):
    code, report, _, stderr = run(tmp_path, scenario().bundle(), "--log-key", "example.com/app+00000000+AAAA")
    assert code == 2
    assert report["ok"] is False and "--log-key" in report["error"]
    assert "--log-key" in stderr


# ----------------------------------------------------------------------------------------------------------
# Tampered and invalid histories: one table. Each row makes a bundle and names the problems the verifier must
# report (message fragment, and the line and entry where given); exit 1 for all of them.

REJECTED = []


def rejected(name, *problems, then=None):
    """Registers a row: the decorated function returns the bundle; problems are (fragment, line, index)
    with line None and index ANY for "anywhere"; then(report) checks anything else."""
    def register(make):
        REJECTED.append(pytest.param(make, problems, then, id=name))
        return make
    return register


def problem(fragment, line=None, index=ANY):
    return fragment, line, index


@rejected("truncated-mid-line", problem("does not end with a newline", 13), problem("not valid JSON", 13))
def _():
    return scenario().bundle()[:-40]


def _only_line_13_newline(report):
    assert [p["line"] for p in report["problems"]] == [13]
    assert "newline" in report["problems"][0]["message"]


@rejected("missing-final-newline-even-if-the-root-matches", then=_only_line_13_newline)
def _():
    return scenario().bundle()[:-1]


@rejected("edited-payload", problem("signature does not verify", 8, 6), problem("does not match the root", 1))
def _():
    w = scenario()
    entry = json.loads(w.lines[6])
    payload = base64.b64decode(entry["envelope"]["payload"]).replace(b'"staging"', b'"production"')
    entry["envelope"]["payload"] = b64(payload)
    return replace_line(w.bundle(), 8, json.dumps(entry, separators=(",", ":")).encode())


@rejected("edited-unsigned-time", problem("does not match the root", 1))
def _():
    w = scenario()
    edited = w.lines[6][:40] + bytes([w.lines[6][40] ^ 1]) + w.lines[6][41:]  # flips a digit of integratedTime
    assert json.loads(edited)["integratedTime"] != json.loads(w.lines[6])["integratedTime"]
    return replace_line(w.bundle(), 8, edited)


@rejected("swapped-lines", problem("index 7, expected 6", 8), problem("index 6, expected 8", 9),
          problem("does not match the root", 1))
def _():
    w = scenario()
    lines = list(w.lines)
    lines[6], lines[7] = lines[7], lines[6]
    header = json.loads(w.bundle().split(b"\n")[0])  # checkpoint of the untampered log
    return json.dumps(header).encode() + b"\n" + b"".join(l + b"\n" for l in lines)


@rejected("removed-line", problem("index 5, expected 4", 6), problem("header size is 12 but the bundle has 11", 1),
          problem("checkpoint size is 12 but the bundle has 11", 1))
def _():
    lines = scenario().bundle().split(b"\n")
    del lines[5]  # entry 4 (the policy)
    return b"\n".join(lines)


@rejected("removed-line-with-resigned-checkpoint-is-still-a-gap", problem("index 5, expected 4", 6))
def _():
    w = scenario()
    return w.bundle(w.lines[:4] + w.lines[5:])


@rejected("header-with-another-log-key", problem("header logKey", 1), problem("checkpoint: not signed by", 1))
def _():
    w = scenario()
    other = signing_key("other log")
    return w.bundle(logKey=verifier_key_text(ORIGIN, other), checkpoint=w.checkpoint(key=other))


def _checkpoint_not_verified(report):
    assert report["checkpointVerified"] is False


@rejected("checkpoint-with-bad-signature", problem("checkpoint: signature by example.com/app", 1),
          then=_checkpoint_not_verified)
def _():
    w = scenario()
    body, sig_line = w.checkpoint().split("\n\n")
    name, sig = sig_line.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(sig))
    blob[10] ^= 0x01
    return w.bundle(checkpoint=body + "\n\n" + name + " " + b64(bytes(blob)) + "\n")


@rejected("checkpoint-signed-over-a-wrong-root", problem("checkpoint root", 1))
def _():
    w = scenario()
    return w.bundle(checkpoint=w.checkpoint(root=mth(w.lines[:-1])))


@rejected("garbled-checkpoint-note", problem("not a valid checkpoint note", 1))
def _():
    return scenario().bundle(checkpoint="not a note")


@rejected("entry-signed-by-unenrolled-key", problem("does not verify with any enrolled key", 14, 12))
def _():
    w = scenario()
    w.built(image("c"), signing_key("stranger"))
    return w.bundle()


def _only_entry_13(report):
    assert [p["index"] for p in report["problems"]] == [13]


@rejected("entry-signed-by-revoked-key", problem("revoked at entry 12", 15, 13), then=_only_entry_13)
def _():
    w = scenario()
    w.revoke("ci@x", CI)  # 12
    w.built(image("c"), CI)  # 13
    return w.bundle()


def _production_unchanged(report):
    assert state(report)["production"] == "sha256:" + A  # a rejected entry changes nothing


@rejected("entry-signed-with-wrong-role", problem("promoted needs role releaser", 14, 12), then=_production_unchanged)
def _():
    w = scenario()
    w.promoted(B, "staging", "production", CI)
    return w.bundle()


@rejected("enrolment-by-non-admin-grants-nothing", problem("key-enrolled needs role admin", index=12),
          problem("does not verify with any enrolled key", index=13))
def _():
    w = scenario()
    mallory = signing_key("mallory")
    w.enroll("mallory@x", mallory, ["releaser"], signer=CI)  # 12
    w.promoted(B, "staging", "production", mallory)  # 13
    return w.bundle()


@rejected("reenrolling-a-revoked-key", problem("revoked at entry 12", index=13))
def _():
    w = scenario()
    w.revoke("ci@x", CI)
    w.enroll("ci@x", CI, ["ci"])
    return w.bundle()


@rejected("time-going-backwards", problem("is earlier than the previous entry", 14, 12))
def _():
    w = scenario()
    w.built(image("c"), CI, time="2025-12-31T23:59:59.000Z")
    return w.bundle()


@rejected("wrong-ledger-origin", problem("predicate ledger other.example/app is not this ledger's origin", 14))
def _():
    w = scenario()
    w.append("built", "registry.example/app", image("c"), {}, CI, ledger="other.example/app")
    return w.bundle()


@rejected("header-origin-must-match-genesis", problem("header origin other.example/app", 1))
def _():
    return scenario().bundle(origin="other.example/app")


@rejected("first-entry-must-be-initialized", problem("a ledger must begin with initialized", 2))
def _():
    w = scenario()
    return w.bundle(w.lines[1:])


@rejected("second-initialized", problem("initialized may only be entry 0", index=12))
def _():
    w = scenario()
    w.append("initialized", ORIGIN, key_hash(w.log), w.genesis_fields(), w.admin)
    return w.bundle()


@rejected("genesis-signed-by-unlisted-key", problem("any admin key the genesis entry lists", 2, 0))
def _():
    w = LedgerWriter()
    entry = json.loads(w.lines[0])
    entry["envelope"] = w.envelope("initialized", ORIGIN, key_hash(w.log), w.genesis_fields(),
                                   signing_key("not the admin"))
    w.lines[0] = json.dumps(entry, separators=(",", ":")).encode()
    return w.bundle()


@rejected("policy-digest-must-match-document", problem("canonical JSON", index=12))
def _():
    w = scenario()
    w.policy(POLICY, digest=image("some other policy"))
    return w.bundle()


@rejected("environment-not-in-policy", problem("environment qa is not in the policy in force (entry 4)", index=12))
def _():
    w = scenario()
    w.deployed(A, "qa", CI)
    return w.bundle()


@rejected("duplicate-keys-in-payload", problem("duplicate key", index=12))
def _():
    w = scenario()
    payload = (b'{"_type":"https://in-toto.io/Statement/v1","predicate":{"environment":"staging",'
               b'"environment":"production","ledger":"example.com/app","nonce":"%032x","time":"2026-01-01T00:00:00Z"},'
               b'"predicateType":"https://docket.dev/deployed/v1","subject":[{"digest":{"sha256":"' % 99
               + A.encode() + b'"},"name":"registry.example/app"}]}')
    w.append("deployed", "", "", {}, CI, payload=payload)
    return w.bundle()


def _some_problem(report):
    assert report["problems"]


@rejected("invalid-utf8-and-random-entry-lines", problem("not valid UTF-8", 14), then=_some_problem)
def _():
    garbage = random.Random(7).randbytes(2000).replace(b"\n", b"")
    return scenario().bundle() + b"\xff\xfe\xfd\n" + garbage + b"\n"


@rejected("deeply-nested-entry-line", problem("", 14))
def _():
    return scenario().bundle() + b"[" * 200000 + b"\n"


@rejected("deeply-nested-signed-payload", problem("", index=12))
def _():
    w = scenario()
    w.append("built", "", "", {}, CI, payload=b"[" * 100000 + b"]" * 100000)
    return w.bundle()


def _huge_line_still_hashed(report):
    w = scenario()
    assert report["root"] == b64(mth(w.lines + [HUGE_LINE]))  # still the right leaf, streamed in chunks
    assert report["checkpointVerified"] is True


HUGE_LINE = b'{"index":12,' + b"x" * (3 * 1024 * 1024) + b"}"


@rejected("huge-line-is-hashed-not-parsed", problem("over Docket's 256 KiB envelope limit", 14),
          then=_huge_line_still_hashed)
def _():
    w = scenario()
    return w.bundle(w.lines + [HUGE_LINE])


@rejected("huge-line-unterminated-at-the-end", problem("truncated", 14))
def _():
    return scenario().bundle() + HUGE_LINE


@rejected("bundle-without-entries", problem("no entries"))
def _():
    return LedgerWriter().bundle([])


@pytest.mark.parametrize("make, problems, then", REJECTED)
def test_rejected(tmp_path, make, problems, then):
    code, report, _, _ = run(tmp_path, make())
    assert code == 1, report
    for fragment, line, index in problems:
        assert find(report, fragment, line=line, index=index), (fragment, line, index, report["problems"])
    if then:
        then(report)


def test_problem_lines_name_line_and_entry(tmp_path):
    w = scenario()
    w.built(image("c"), signing_key("stranger"))
    code, _, out, _ = run(tmp_path, w.bundle(), json_output=False)
    assert code == 1
    assert "FAILED: 1 problem(s)" in out
    assert "line 14 (entry 12): signature does not verify" in out


# ----------------------------------------------------------------------------------------------------------
# Unreadable input and garbage: exit 2 (bad input), never a traceback

BAD_INPUT = [
    pytest.param(None, "cannot open", id="missing-file"),
    pytest.param(b"", "empty", id="empty-file"),
    pytest.param(b"hello\n" + scenario().bundle().split(b"\n", 1)[1], "not JSON", id="header-not-json"),
    pytest.param(b'{"format":"something/v9"}\n', "docket-bundle/v1", id="header-of-another-format"),
    pytest.param(b'{"format":"' + b"a" * (5 * 1024 * 1024), "", id="huge-header"),
    pytest.param(b"[" * 200000 + b"]" * 200000 + b"\n", "", id="deeply-nested-header"),
] + [pytest.param(random.Random(seed).randbytes(4096), "", id="random-bytes-%d" % seed) for seed in range(5)]


@pytest.mark.parametrize("data, message", BAD_INPUT)
def test_bad_input(tmp_path, data, message):
    code, report, _, stderr = run(tmp_path, data)
    assert code == 2, stderr
    assert message in stderr
    if report is not None:
        assert report["ok"] is False


# ----------------------------------------------------------------------------------------------------------
# Known-answer vectors, against the verifier's building blocks (imported as the module verify_bundle)


def test_checkpoint_note_vector():
    vector = json.loads((TESTDATA / "checkpoint_note.json").read_text())
    reference = json.loads((TESTDATA / "merkle_reference.json").read_text())
    key = vb.VerifierKey.parse(vector["verifierKey"])
    seed = SigningKey(bytes.fromhex(vector["privateKeySeedHex"]))
    assert key.name == "ledger.example/test"
    assert key.public_key == raw_public_key(seed)
    note = vb.SignedNote.parse(vector["note"])
    note.verify(key)
    checkpoint = vb.Checkpoint.parse(note.body)
    assert (checkpoint.origin, checkpoint.size) == ("ledger.example/test", 8)
    assert checkpoint.root.hex() == reference["rootHexBySize"][8]
    # The test writer makes the identical note (Ed25519 is deterministic): writer and verifier agree on the format.
    assert sign_note(note.body, key.name, seed) == vector["note"]
    assert verifier_key_text(key.name, seed) == vector["verifierKey"]


def test_checkpoint_note_vector_tampered():
    vector = json.loads((TESTDATA / "checkpoint_note.json").read_text())
    key = vb.VerifierKey.parse(vector["verifierKey"])
    with pytest.raises(ValueError, match="does not verify"):
        vb.SignedNote.parse(vector["note"].replace("\n8\n", "\n9\n", 1)).verify(key)
    other = vb.VerifierKey.parse(verifier_key_text("ledger.example/test", signing_key("x")))
    with pytest.raises(ValueError, match="not signed by"):
        vb.SignedNote.parse(vector["note"]).verify(other)


@pytest.mark.parametrize("text, reason", [
    pytest.param("ledger.example/test+320bd21e+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM", "does not match",
                 id="wrong-key-id"),
    pytest.param("ledger.example/test+320bd21f+Aj1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM", "not an Ed25519",
                 id="not-ed25519"),
    pytest.param("ledger.example/test+320bd21f", "part", id="missing-part"),
    pytest.param("ledger.example/test+320BD21F+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM", "hex",
                 id="upper-case-hex"),
    pytest.param("ledger.example/test+320bd21f+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9G", "base64",
                 id="bad-base64"),
])
def test_verifier_key_parsing_rejects(text, reason):
    with pytest.raises(ValueError, match=reason):
        vb.VerifierKey.parse(text)


@pytest.mark.parametrize("size", range(9))
def test_merkle_reference_roots(size):
    reference = json.loads((TESTDATA / "merkle_reference.json").read_text())
    leaves = [bytes.fromhex(h) for h in reference["leafInputsHex"][:size]]
    frontier = vb.MerkleFrontier()
    for leaf in leaves:
        frontier.add(leaf)
    assert frontier.root().hex() == reference["rootHexBySize"][size]
    assert mth(leaves).hex() == reference["rootHexBySize"][size]


def test_test_side_merkle_frontier_matches_the_reference():
    """helpers.roots_for_sizes (used by the concurrency tests) agrees with the reference roots and with mth."""
    reference = json.loads((TESTDATA / "merkle_reference.json").read_text())
    leaves = [bytes.fromhex(h) for h in reference["leafInputsHex"]]
    roots = roots_for_sizes(leaves, range(9))
    assert [roots[n].hex() for n in range(9)] == reference["rootHexBySize"]
    many = [b"%d" % i for i in range(300)]
    assert roots_for_sizes(many, [1, 2, 3, 64, 65, 255, 300]) == {n: mth(many[:n]) for n in (1, 2, 3, 64, 65, 255, 300)}


def test_merkle_frontier_stays_logarithmic():
    frontier = vb.MerkleFrontier()
    leaves = [b"%d" % i for i in range(1000)]
    for leaf in leaves:
        frontier.add(leaf)
        assert len(frontier._stack) <= frontier.size.bit_length()
    assert frontier.root() == mth(leaves)


def test_base64_variants():
    data = bytes(range(256))
    for text in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode(),
                 base64.b64encode(data).decode().rstrip("="), base64.urlsafe_b64encode(data).decode().rstrip("=")):
        assert vb.b64decode_any(text) == data
    for bad in ("a", "ab$d", "+-ab", "abc==="):
        with pytest.raises(ValueError):
            vb.b64decode_any(bad)
