"""Tests for tools/verify-bundle, the independent Python verifier of Docket bundles.

The bundles here are written by a small writer in this file that follows schemas/README.md (genesis, key
enrolment, policy, image events, a checkpoint note signed by the log key), not by the Swift tool, so the tests
run on a fresh clone with only PyNaCl and pytest. Known-answer vectors are in tools/testdata/ (see its README).

Run: tools/verify-bundle-tests   (or: python3 -m pytest -q tools/test_verify_bundle.py)
"""

import base64
import hashlib
import importlib.machinery
import importlib.util
import json
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nacl.signing import SigningKey

TOOLS = Path(__file__).resolve().parent
SCRIPT = TOOLS / "verify-bundle"
TESTDATA = TOOLS / "testdata"
ORIGIN = "example.com/app"


def _load_verifier():
    loader = importlib.machinery.SourceFileLoader("verify_bundle", str(SCRIPT))
    spec = importlib.util.spec_from_loader("verify_bundle", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


vb = _load_verifier()

# ----------------------------------------------------------------------------------------------------------
# A tiny bundle writer, independent of the verifier's code


def signing_key(label):
    """A deterministic Ed25519 key, so failures reproduce."""
    return SigningKey(hashlib.sha256(label.encode()).digest())


def raw_pk(key):
    return bytes(key.verify_key)


def b64(data):
    return base64.b64encode(data).decode()


def image(label):
    return hashlib.sha256(label.encode()).hexdigest()


def mth(leaves):
    """RFC 6962 Merkle Tree Hash, recursive (the textbook definition, unlike the verifier's frontier)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def note_key_id(name, key):
    return hashlib.sha256(name.encode() + b"\n\x01" + raw_pk(key)).digest()[:4]


def verifier_key_text(name, key):
    return "%s+%s+%s" % (name, note_key_id(name, key).hex(), b64(b"\x01" + raw_pk(key)))


def signed_note(body, key, name):
    signature = key.sign(body.encode()).signature
    return body + "\n" + "\u2014 %s %s\n" % (name, b64(note_key_id(name, key) + signature))


class LedgerWriter:
    """Writes entries and bundles the way Docket does (schemas/README.md)."""

    def __init__(self, origin=ORIGIN, log_key=None, admin=None, admin_identity="admin@x"):
        self.origin = origin
        self.log = log_key or signing_key("log")
        self.admin = admin or signing_key("admin")
        self.lines = []
        self.clock = datetime(2026, 1, 1, tzinfo=timezone.utc)
        self.nonce = 0
        self.append("initialized", origin, hashlib.sha256(raw_pk(self.log)).hexdigest(),
                    {"logKey": self.log_key_text(),
                     "admins": [{"identity": admin_identity, "publicKey": b64(raw_pk(self.admin))}]},
                    self.admin)

    def log_key_text(self):
        return verifier_key_text(self.origin, self.log)

    def tick(self):
        self.clock += timedelta(seconds=1, milliseconds=7)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (self.clock.microsecond // 1000)

    def envelope(self, kind, name, digest, fields, signer, ledger=None, urlsafe=False, payload=None):
        self.nonce += 1
        predicate = {"ledger": ledger or self.origin, "time": "2026-01-01T00:00:00Z", "nonce": "%032x" % self.nonce}
        predicate.update(fields)
        statement = {"_type": "https://in-toto.io/Statement/v1",
                     "subject": [{"name": name, "digest": {"sha256": digest}}],
                     "predicateType": "https://docket.dev/%s/v1" % kind, "predicate": predicate}
        if payload is None:
            payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
        payload_type = b"application/vnd.in-toto+json"
        pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)
        encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode() if urlsafe else b64(payload)
        return {"payloadType": payload_type.decode(), "payload": encoded,
                "signatures": [{"keyid": hashlib.sha256(raw_pk(signer)).hexdigest(),
                                "sig": b64(signer.sign(pae).signature)}]}

    def append(self, kind, name, digest, fields, signer, time=None, **options):
        envelope = self.envelope(kind, name, digest, fields, signer, **options)
        entry = {"index": len(self.lines), "integratedTime": time or self.tick(), "envelope": envelope}
        self.lines.append(json.dumps(entry, separators=(",", ":")).encode())
        return len(self.lines) - 1

    # events

    def enroll(self, identity, key, roles, signer=None):
        return self.append("key-enrolled", identity, hashlib.sha256(raw_pk(key)).hexdigest(),
                           {"identity": identity, "publicKey": b64(raw_pk(key)), "roles": roles}, signer or self.admin)

    def revoke(self, identity, key, signer=None):
        return self.append("key-revoked", identity, hashlib.sha256(raw_pk(key)).hexdigest(),
                           {"identity": identity, "publicKey": b64(raw_pk(key)), "reason": "left"},
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
        body = "%s\n%d\n%s\n" % (self.origin, len(lines) if size is None else size, b64(root or mth(lines)))
        return signed_note(body, key or self.log, name or self.origin)

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


def find(report, fragment, line=None, index="any"):
    """The problems whose message contains fragment (and on that line / entry, if given)."""
    return [p for p in report["problems"] if fragment in p["message"]
            and (line is None or p["line"] == line) and (index == "any" or p["index"] == index)]


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
    assert report["environments"] == {"staging": "sha256:" + B, "production": "sha256:" + A}
    assert [(d["index"], d["environment"], d["digest"]) for d in report["drift"]] == [(11, "production", "sha256:" + B)]
    assert report["checkpointVerified"] is True
    assert report["logKey"] == w.log_key_text()


def test_human_output_summarises_state(tmp_path):
    w = scenario()
    code, _, out, _ = run(tmp_path, w.bundle(), json_output=False)
    assert code == 0
    assert "12 entries" in out and b64(mth(w.lines)) in out
    assert "verified: no problems found" in out
    assert any(l.split() == ["production", "sha256:" + A] for l in out.splitlines())
    assert "entry 11: sha256:%s deployed to production" % B in out


def test_promotion_and_rollback_move_the_environment(tmp_path):
    w = scenario()
    w.approved(B, "production", APPROVER)
    w.promoted(B, "staging", "production", RELEASER)
    _, report, _, _ = run(tmp_path, w.bundle())
    assert report["environments"]["production"] == "sha256:" + B
    w.rolled_back(A, "production", B, RELEASER)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]
    assert report["environments"]["production"] == "sha256:" + A


def test_deployed_before_any_policy_sets_the_environment(tmp_path):
    w = LedgerWriter()
    w.enroll("ci@x", CI, ["ci"])
    w.deployed(A, "production", CI)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0
    assert report["environments"] == {"production": "sha256:" + A}
    assert report["drift"] == []


def test_url_safe_unpadded_payload_is_accepted(tmp_path):
    w = scenario()
    w.deployed(A, "staging", CI, urlsafe=True)
    payload = json.loads(w.lines[-1])["envelope"]["payload"]
    assert not payload.endswith("=") and len(payload) % 4 != 0
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]
    assert report["environments"]["staging"] == "sha256:" + A


def test_witnessed_older_checkpoint_is_checked_against_the_prefix(tmp_path):
    w = scenario()
    old = w.checkpoint(w.lines[:5])
    code, report, _, _ = run(tmp_path, w.bundle(witnessed=[old]))
    assert code == 0, report["problems"]
    wrong = w.checkpoint(w.lines[:5], root=mth(w.lines[:6]))
    code, report, _, _ = run(tmp_path, w.bundle(witnessed=[wrong]))
    assert code == 1
    assert find(report, "witnessed[0] root", line=1)


# ----------------------------------------------------------------------------------------------------------
# Tampering


def test_truncated_mid_line_is_rejected(tmp_path):
    data = scenario().bundle()
    code, report, _, _ = run(tmp_path, data[:-40])
    assert code == 1
    assert find(report, "does not end with a newline", line=13)
    assert find(report, "not valid JSON", line=13)


def test_missing_final_newline_is_reported_even_if_the_root_matches(tmp_path):
    data = scenario().bundle()
    code, report, _, _ = run(tmp_path, data[:-1])
    assert code == 1
    assert [p["line"] for p in report["problems"]] == [13]
    assert "newline" in report["problems"][0]["message"]


def test_edited_payload_fails_signature_and_root(tmp_path):
    w = scenario()
    entry = json.loads(w.lines[6])
    payload = base64.b64decode(entry["envelope"]["payload"]).replace(b'"staging"', b'"production"')
    entry["envelope"]["payload"] = b64(payload)
    data = replace_line(w.bundle(), 8, json.dumps(entry, separators=(",", ":")).encode())
    code, report, _, _ = run(tmp_path, data)
    assert code == 1
    assert find(report, "signature does not verify", line=8, index=6)
    assert find(report, "does not match the root", line=1)


def test_edited_unsigned_time_fails_root(tmp_path):
    w = scenario()
    edited = w.lines[6][:40] + bytes([w.lines[6][40] ^ 1]) + w.lines[6][41:]  # flips a digit of integratedTime
    assert json.loads(edited)["integratedTime"] != json.loads(w.lines[6])["integratedTime"]
    code, report, _, _ = run(tmp_path, replace_line(w.bundle(), 8, edited))
    assert code == 1
    assert find(report, "does not match the root", line=1)


def test_swapped_lines_are_rejected(tmp_path):
    w = scenario()
    lines = list(w.lines)
    lines[6], lines[7] = lines[7], lines[6]
    header = json.loads(w.bundle().split(b"\n")[0])  # checkpoint of the untampered log
    data = json.dumps(header).encode() + b"\n" + b"".join(l + b"\n" for l in lines)
    code, report, _, _ = run(tmp_path, data)
    assert code == 1
    assert find(report, "index 7, expected 6", line=8)
    assert find(report, "index 6, expected 8", line=9)
    assert find(report, "does not match the root", line=1)


def test_removed_line_is_rejected(tmp_path):
    w = scenario()
    data = w.bundle()
    lines = data.split(b"\n")
    del lines[5]  # entry 4 (the policy)
    code, report, _, _ = run(tmp_path, b"\n".join(lines))
    assert code == 1
    assert find(report, "index 5, expected 4", line=6)
    assert find(report, "header size is 12 but the bundle has 11", line=1)
    assert find(report, "checkpoint size is 12 but the bundle has 11", line=1)


def test_removed_line_with_resigned_checkpoint_is_still_a_gap(tmp_path):
    w = scenario()
    lines = w.lines[:4] + w.lines[5:]
    code, report, _, _ = run(tmp_path, w.bundle(lines))
    assert code == 1
    assert find(report, "index 5, expected 4", line=6)


def test_header_with_another_log_key_is_rejected(tmp_path):
    w = scenario()
    other = signing_key("other log")
    data = w.bundle(logKey=verifier_key_text(ORIGIN, other), checkpoint=w.checkpoint(key=other))
    code, report, _, _ = run(tmp_path, data)
    assert code == 1
    assert find(report, "header logKey", line=1)
    assert find(report, "checkpoint: not signed by", line=1)


def test_checkpoint_with_bad_signature_is_rejected(tmp_path):
    w = scenario()
    note = w.checkpoint()
    body, sig_line = note.split("\n\n")
    name, sig = sig_line.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(sig))
    blob[10] ^= 0x01
    code, report, _, _ = run(tmp_path, w.bundle(checkpoint=body + "\n\n" + name + " " + b64(bytes(blob)) + "\n"))
    assert code == 1
    assert find(report, "checkpoint: signature by example.com/app", line=1)
    assert report["checkpointVerified"] is False


def test_checkpoint_signed_over_a_wrong_root_is_rejected(tmp_path):
    w = scenario()
    code, report, _, _ = run(tmp_path, w.bundle(checkpoint=w.checkpoint(root=mth(w.lines[:-1]))))
    assert code == 1
    assert find(report, "checkpoint root", line=1)


def test_garbled_checkpoint_note_is_reported(tmp_path):
    w = scenario()
    code, report, _, _ = run(tmp_path, w.bundle(checkpoint="not a note"))
    assert code == 1
    assert find(report, "not a valid checkpoint note", line=1)


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


def test_entry_signed_by_unenrolled_key(tmp_path):
    w = scenario()
    w.built(image("c"), signing_key("stranger"))
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "does not verify with any enrolled key", line=14, index=12)


def test_entry_signed_by_revoked_key(tmp_path):
    w = scenario()
    w.revoke("ci@x", CI)  # 12
    w.built(image("c"), CI)  # 13
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert [p["index"] for p in report["problems"]] == [13]
    assert find(report, "revoked at entry 12", line=15, index=13)


def test_entry_signed_with_wrong_role(tmp_path):
    w = scenario()
    w.promoted(B, "staging", "production", CI)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "promoted needs role releaser", line=14, index=12)
    assert report["environments"]["production"] == "sha256:" + A  # a rejected entry changes nothing


def test_enrolment_by_non_admin_grants_nothing(tmp_path):
    w = scenario()
    mallory = signing_key("mallory")
    w.enroll("mallory@x", mallory, ["releaser"], signer=CI)  # 12
    w.promoted(B, "staging", "production", mallory)  # 13
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "key-enrolled needs role admin", index=12)
    assert find(report, "does not verify with any enrolled key", index=13)


def test_reenrolling_a_revoked_key_is_rejected(tmp_path):
    w = scenario()
    w.revoke("ci@x", CI)
    w.enroll("ci@x", CI, ["ci"])
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "revoked at entry 12", index=13)


def test_time_going_backwards_is_rejected(tmp_path):
    w = scenario()
    w.built(image("c"), CI, time="2025-12-31T23:59:59.000Z")
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "is earlier than the previous entry", line=14, index=12)


def test_equal_times_are_allowed(tmp_path):
    w = scenario()
    same = json.loads(w.lines[-1])["integratedTime"]
    w.built(image("c"), CI, time=same)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]


def test_wrong_ledger_origin_is_rejected(tmp_path):
    w = scenario()
    w.append("built", "registry.example/app", image("c"), {}, CI, ledger="other.example/app")
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "predicate ledger other.example/app is not this ledger's origin", line=14)


def test_header_origin_must_match_genesis(tmp_path):
    w = scenario()
    code, report, _, _ = run(tmp_path, w.bundle(origin="other.example/app"))
    assert code == 1
    assert find(report, "header origin other.example/app", line=1)


def test_first_entry_must_be_initialized(tmp_path):
    w = scenario()
    code, report, _, _ = run(tmp_path, w.bundle(w.lines[1:]))
    assert code == 1
    assert find(report, "a ledger must begin with initialized", line=2)


def test_second_initialized_is_rejected(tmp_path):
    w = scenario()
    w.append("initialized", ORIGIN, hashlib.sha256(raw_pk(w.log)).hexdigest(),
             {"logKey": w.log_key_text(), "admins": [{"identity": "admin@x", "publicKey": b64(raw_pk(w.admin))}]},
             w.admin)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "initialized may only be entry 0", index=12)


def test_genesis_signed_by_unlisted_key_is_rejected(tmp_path):
    w = LedgerWriter()
    entry = json.loads(w.lines[0])
    other = w.envelope("initialized", ORIGIN, hashlib.sha256(raw_pk(w.log)).hexdigest(),
                       {"logKey": w.log_key_text(),
                        "admins": [{"identity": "admin@x", "publicKey": b64(raw_pk(w.admin))}]},
                       signing_key("not the admin"))
    entry["envelope"] = other
    w.lines[0] = json.dumps(entry, separators=(",", ":")).encode()
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "any admin key the genesis entry lists", line=2, index=0)


def test_policy_digest_must_match_document(tmp_path):
    w = scenario()
    w.policy(POLICY, digest=image("some other policy"))
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "canonical JSON", index=12)


def test_environment_not_in_policy_is_reported(tmp_path):
    w = scenario()
    w.deployed(A, "qa", CI)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "environment qa is not in the policy in force (entry 4)", index=12)


def test_duplicate_keys_in_payload_are_rejected(tmp_path):
    w = scenario()
    payload = (b'{"_type":"https://in-toto.io/Statement/v1","predicate":{"environment":"staging",'
               b'"environment":"production","ledger":"example.com/app","nonce":"%032x","time":"2026-01-01T00:00:00Z"},'
               b'"predicateType":"https://docket.dev/deployed/v1","subject":[{"digest":{"sha256":"' % 99
               + A.encode() + b'"},"name":"registry.example/app"}]}')
    w.append("deployed", "", "", {}, CI, payload=payload)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "duplicate key", index=12)


def test_problem_lines_name_line_and_entry(tmp_path):
    w = scenario()
    w.built(image("c"), signing_key("stranger"))
    code, _, out, _ = run(tmp_path, w.bundle(), json_output=False)
    assert code == 1
    assert "FAILED: 1 problem(s)" in out
    assert "line 14 (entry 12): signature does not verify" in out


# ----------------------------------------------------------------------------------------------------------
# Unreadable input and garbage: never a traceback


def test_missing_file_is_bad_input(tmp_path):
    code, report, _, stderr = run(tmp_path, None)
    assert code == 2 and "cannot open" in stderr and report["ok"] is False


def test_empty_file_is_bad_input(tmp_path):
    code, _, _, stderr = run(tmp_path, b"")
    assert code == 2 and "empty" in stderr


def test_header_not_json_is_bad_input(tmp_path):
    code, _, _, stderr = run(tmp_path, b"hello\n" + scenario().bundle().split(b"\n", 1)[1])
    assert code == 2 and "not JSON" in stderr


def test_header_of_another_format_is_bad_input(tmp_path):
    code, _, _, stderr = run(tmp_path, b'{"format":"something/v9"}\n')
    assert code == 2 and "docket-bundle/v1" in stderr


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_bad_input(tmp_path, seed):
    data = random.Random(seed).randbytes(4096)
    code, _, _, _ = run(tmp_path, data)
    assert code == 2


def test_invalid_utf8_and_random_entry_lines(tmp_path):
    w = scenario()
    garbage = random.Random(7).randbytes(2000).replace(b"\n", b"")
    data = w.bundle() + b"\xff\xfe\xfd\n" + garbage + b"\n"
    code, report, _, _ = run(tmp_path, data)
    assert code == 1
    assert find(report, "not valid UTF-8", line=14)
    assert report["problems"]


def test_deeply_nested_json(tmp_path):
    w = scenario()
    deep = b"[" * 200000 + b"]" * 200000
    code, report, _, _ = run(tmp_path, w.bundle() + deep[:200000] + b"\n")
    assert code == 1
    assert find(report, "", line=14)
    code, _, _, _ = run(tmp_path, deep + b"\n")
    assert code == 2
    # nested inside a validly signed payload
    w.append("built", "", "", {}, CI, payload=b"[" * 100000 + b"]" * 100000)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1
    assert find(report, "", index=12)


def test_huge_lines_are_hashed_not_parsed(tmp_path):
    w = scenario()
    huge = b'{"index":12,' + b"x" * (3 * 1024 * 1024) + b"}"
    lines = w.lines + [huge]
    code, report, _, _ = run(tmp_path, w.bundle(lines))
    assert code == 1
    assert find(report, "over Docket's 256 KiB envelope limit", line=14)
    assert report["root"] == b64(mth(lines))  # still the right leaf, streamed in chunks
    assert report["checkpointVerified"] is True
    # and unterminated at the end of the file
    code, report, _, _ = run(tmp_path, w.bundle() + huge)
    assert code == 1
    assert find(report, "truncated", line=14)


def test_huge_header_is_bad_input(tmp_path):
    code, _, _, stderr = run(tmp_path, b'{"format":"' + b"a" * (5 * 1024 * 1024))
    assert code == 2


def test_bundle_without_entries(tmp_path):
    w = LedgerWriter()
    code, report, _, _ = run(tmp_path, w.bundle([]))
    assert code == 1
    assert find(report, "no entries")


# ----------------------------------------------------------------------------------------------------------
# Known-answer vectors


def test_checkpoint_note_vector():
    vector = json.loads((TESTDATA / "checkpoint_note.json").read_text())
    reference = json.loads((TESTDATA / "merkle_reference.json").read_text())
    key = vb.VerifierKey.parse(vector["verifierKey"])
    seed = SigningKey(bytes.fromhex(vector["privateKeySeedHex"]))
    assert key.name == "ledger.example/test"
    assert key.public_key == raw_pk(seed)
    note = vb.SignedNote.parse(vector["note"])
    note.verify(key)
    checkpoint = vb.Checkpoint.parse(note.body)
    assert (checkpoint.origin, checkpoint.size) == ("ledger.example/test", 8)
    assert checkpoint.root.hex() == reference["rootHexBySize"][8]
    # The test writer makes the identical note (Ed25519 is deterministic): writer and verifier agree on the format.
    assert signed_note(note.body, seed, key.name) == vector["note"]
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
    ("ledger.example/test+320bd21e+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM", "does not match"),
    ("ledger.example/test+320bd21f+Aj1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM", "not an Ed25519"),
    ("ledger.example/test+320bd21f", "part"),
    ("ledger.example/test+320BD21F+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM", "hex"),
    ("ledger.example/test+320bd21f+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9G", "base64"),
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
