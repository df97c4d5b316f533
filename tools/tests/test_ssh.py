"""Approvers sign with their SSH keys (DESIGN.md §14, issue 27): keys made by Debian's ssh-keygen, a real ssh-agent
started here, SSHSIG signatures (namespace docket) that `ssh-keygen -Y verify` accepts, git's allowed_signers
imported with its namespaces and validity honoured, and both verifiers checking every signature.

  1  agent story      enrol an SSH key, approve through ssh-agent (the agent also holds a key the ledger does not
                      know), promote; every approval verified by `ssh-keygen -Y verify`; both verifiers clean
  2  key file         approve with --ssh-key FILE (through ssh-keygen -Y sign)
  3  refusals         one flipped bit, a signature in namespace git, a key for namespace git only: refused, nothing
                      appended
  4  validity         allowed_signers valid-before in the past: refused; a few seconds ahead: signs, then refused
  5  security key     an sk-ssh-ed25519 key (made here, as a FIDO key would sign): accepted by both verifiers and
                      by ssh-keygen, its flags and counter in the signature
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time

import pytest
from nacl.signing import SigningKey

from . import server_support as ss

SSH_KEYGEN, SSH_AGENT = shutil.which("ssh-keygen"), shutil.which("ssh-agent")
pytestmark = pytest.mark.skipif(not SSH_KEYGEN or not SSH_AGENT, reason="needs openssh-client")
REPO = "registry.example/app"
POLICY = """\
environments:
  - name: staging
  - name: production
    from: staging
    approvals: {min: 1, roles: [approver]}
"""


def keygen(path, comment):
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


def pae(envelope):
    payload = base64.b64decode(envelope["payload"])
    kind = envelope["payloadType"].encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def armored(blob):
    text = base64.b64encode(blob).decode()
    return ("-----BEGIN SSH SIGNATURE-----\n" + "\n".join(text[i:i + 70] for i in range(0, len(text), 70))
            + "\n-----END SSH SIGNATURE-----\n")


def ssh_verify(tmp_path, envelope, identity, public_line, namespace="docket"):
    """`ssh-keygen -Y verify` of an envelope's signature over its PAE, for `identity` holding `public_line`."""
    allowed, signature = tmp_path / "allowed_signers", tmp_path / "sig"
    allowed.write_text("%s %s\n" % (identity, public_line))
    signature.write_text(armored(base64.b64decode(envelope["signatures"][0]["sig"])))
    return subprocess.run([SSH_KEYGEN, "-Y", "verify", "-f", str(allowed), "-I", identity, "-n", namespace,
                           "-s", str(signature)], input=pae(envelope), capture_output=True)


class Story:
    def __init__(self, ledger, docket, tmp, policy_text=POLICY):
        self.ledger, self.d, self.tmp = ledger, docket, tmp
        policy = ledger.dir / "policy.yaml"
        policy.write_text(policy_text)
        ledger.must(["policy", "set", policy, "--key", ledger.admin_key])
        self.digest = ss.hex_digest("ssh " + str(tmp))
        self.image = "%s@sha256:%s" % (REPO, self.digest)
        ledger.must(["record", "built", self.image, "--key", ledger.ci_key])
        ledger.must(["record", "deployed", self.image, "--env", "staging", "--key", ledger.ci_key])

    def run(self, *args, env=None):
        return self.d.run([str(a) for a in args], ledger=self.ledger.path, env_extra=env, timeout=60)

    def size(self):
        return json.loads(self.ledger.must(["ledger", "describe", "--json"]).stdout)["size"]

    def submit(self, envelope_bytes, name):
        path = self.tmp / (name + ".dsse")
        path.write_bytes(envelope_bytes)
        return self.run("submit", path)

    def promote(self):
        """A releaser enrolled now promotes the digest to production (the gate must pass)."""
        rita = self.tmp / "rita.key"
        self.ledger.must(["key", "generate", "--identity", "rita@example.com", "--out", rita])
        self.ledger.must(["key", "enroll", str(rita) + ".pub", "--role", "releaser", "--key", self.ledger.admin_key])
        promoted = self.run("promote", "sha256:" + self.digest, "--to", "production", "--key", rita)
        assert promoted.rc == 0, promoted.describe()

    def both_verifiers_clean(self):
        ok, detail = self.ledger.verify().verified_clean()
        assert ok, detail
        bundle = self.tmp / "clean.jsonl"
        self.ledger.export(bundle)
        independent = self.d.verify_bundle([bundle])
        assert independent.rc == 0, independent.describe()

    def envelope_at(self, index):
        entry = self.ledger.log(since=index, limit=1)[0]
        assert entry["index"] == index
        bundle = self.tmp / ("b%d.jsonl" % index)
        self.ledger.export(bundle)
        return json.loads(bundle.read_bytes().split(b"\n")[index + 1])["envelope"]


@pytest.fixture
def agent(tmp_path):
    out = subprocess.run([SSH_AGENT, "-s", "-a", str(tmp_path / "agent.sock")], capture_output=True, text=True,
                         check=True).stdout
    pid = int(out.split("SSH_AGENT_PID=")[1].split(";")[0])
    env = {"SSH_AUTH_SOCK": str(tmp_path / "agent.sock")}
    yield env
    os.kill(pid, 15)


def test_approve_through_ssh_agent_and_promote_verified_by_ssh_keygen(ledger_factory, docket, agent, tmp_path):
    s = Story(ledger_factory("ssh-agent"), docket, tmp_path)
    alice, stranger = keygen(tmp_path / "alice", "alice laptop"), keygen(tmp_path / "stranger", "not enrolled")
    for key in (stranger, alice):  # the agent lists a key the ledger does not know first
        subprocess.run(["ssh-add", "-q", str(key)], env=dict(os.environ, **agent), check=True)
    no_identity = s.run("key", "enroll", str(alice) + ".pub", "--role", "approver", "--key", s.ledger.admin_key)
    assert no_identity.rc == 2 and "--identity" in no_identity.err, no_identity.describe()
    s.ledger.must(["key", "enroll", str(alice) + ".pub", "--identity", "alice@example.com", "--role", "approver",
                   "--key", s.ledger.admin_key])
    approved = s.run("approve", s.image, "--env", "production", "--ssh-agent", "--json", env=agent)
    assert approved.rc == 0, approved.describe()
    index = json.loads(approved.out)["index"]
    s.promote()
    envelope = s.envelope_at(index)
    public_line = " ".join((tmp_path / "alice.pub").read_text().split()[:2])
    checked = ssh_verify(tmp_path, envelope, "alice@example.com", public_line)
    assert checked.returncode == 0 and b'Good "docket" signature' in checked.stdout, checked
    assert ssh_verify(tmp_path, envelope, "alice@example.com", public_line, namespace="git").returncode != 0
    s.both_verifiers_clean()


def test_approve_with_an_ssh_key_file(ledger_factory, docket, tmp_path):
    s = Story(ledger_factory("ssh-file"), docket, tmp_path)
    bob = keygen(tmp_path / "bob", "bob")
    s.ledger.must(["key", "enroll", str(bob) + ".pub", "--identity", "bob@example.com", "--role", "approver",
                   "--key", s.ledger.admin_key])
    res = s.run("approve", s.image, "--env", "production", "--ssh-key", bob)
    assert res.rc == 0, res.describe()
    assert "ELIGIBLE" in s.run("gate", s.image, "--env", "production").out


def test_a_flipped_bit_another_namespace_and_a_git_only_key_are_refused(ledger_factory, docket, tmp_path):
    s = Story(ledger_factory("ssh-refusals"), docket, tmp_path)
    carol = keygen(tmp_path / "carol", "carol")
    s.ledger.must(["key", "enroll", str(carol) + ".pub", "--identity", "carol@example.com", "--role", "approver",
                   "--key", s.ledger.admin_key])
    signed = s.run("approve", s.image, "--env", "production", "--ssh-key", carol, "--out", tmp_path / "a.dsse")
    assert signed.rc == 0, signed.describe()
    envelope = json.loads((tmp_path / "a.dsse").read_text())
    before = s.size()
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[-7] ^= 0x01
    flipped = dict(envelope, signatures=[dict(envelope["signatures"][0], sig=base64.b64encode(bytes(sig)).decode())])
    res = s.submit(json.dumps(flipped).encode(), "flipped")
    assert res.clean_refusal() and "does not verify" in res.err and s.size() == before, res.describe()
    git = subprocess.run([SSH_KEYGEN, "-Y", "sign", "-q", "-n", "git", "-f", str(carol)], input=pae(envelope),
                         capture_output=True, check=True).stdout.decode()
    blob = base64.b64decode("".join(git.strip().splitlines()[1:-1]))
    other = dict(envelope, signatures=[dict(envelope["signatures"][0], sig=base64.b64encode(blob).decode())])
    res = s.submit(json.dumps(other).encode(), "namespace-git")
    assert res.clean_refusal() and "does not verify" in res.err and s.size() == before, res.describe()
    assert s.submit(json.dumps(envelope).encode(), "genuine").rc == 0

    dave = keygen(tmp_path / "dave", "dave")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text('dave@example.com namespaces="git" %s\n' % " ".join((tmp_path / "dave.pub").read_text().split()[:2]))
    imported = s.run("key", "import-allowed-signers", allowed, "--role", "approver", "--key", s.ledger.admin_key)
    assert imported.rc == 0 and "namespaces git, not docket" in imported.err, imported.describe()
    res = s.run("approve", s.image, "--env", "production", "--ssh-key", dave)
    assert res.clean_refusal() and "does not verify under any key enrolled" in res.err, res.describe()


def test_allowed_signers_validity_is_ledger_time(ledger_factory, docket, tmp_path):
    s = Story(ledger_factory("ssh-validity"), docket, tmp_path)
    erin, fay = keygen(tmp_path / "erin", "erin"), keygen(tmp_path / "fay", "fay")
    line = lambda name: " ".join((tmp_path / (name + ".pub")).read_text().split()[:2])  # noqa: E731
    past = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() - 86400))
    soon = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() + 4))
    allowed = tmp_path / "allowed_signers"
    allowed.write_text('erin@example.com valid-before="%s" %s\n' % (past, line("erin")))
    before = s.size()
    expired = s.run("key", "import-allowed-signers", allowed, "--role", "approver", "--key", s.ledger.admin_key)
    assert expired.clean_refusal() and "validBefore" in expired.err and s.size() == before, expired.describe()
    allowed.write_text('fay@example.com namespaces="git,docket",valid-before="%s" %s\n' % (soon, line("fay")))
    imported = s.run("key", "import-allowed-signers", allowed, "--role", "approver", "--key", s.ledger.admin_key)
    assert imported.rc == 0 and s.size() == before + 1, imported.describe()
    again = s.run("key", "import-allowed-signers", allowed, "--role", "approver", "--key", s.ledger.admin_key)
    assert again.rc == 0 and s.size() == before + 1, again.describe()
    assert s.run("approve", s.image, "--env", "production", "--ssh-key", fay).rc == 0
    time.sleep(max(0.0, time.mktime(time.strptime(soon, "%Y%m%d%H%M%SZ")) - time.mktime(time.gmtime()) + 1.2))
    late = s.run("withdraw", s.image, "--env", "production", "--ssh-key", fay)
    assert late.clean_refusal() and "validBefore" in late.err, late.describe()


def ssh_string(data):
    return len(data).to_bytes(4, "big") + data


class SecurityKey:
    """An sk-ssh-ed25519@openssh.com key made here, signing SSHSIGs as a FIDO authenticator does: the Ed25519
    signature covers SHA-256(application), the flags, the counter and SHA-256 of the signed data."""

    def __init__(self, label):
        self.device = SigningKey(hashlib.sha256(b"security key " + label.encode()).digest())
        self.raw = bytes(self.device.verify_key)
        self.blob = ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(self.raw) + ssh_string(b"ssh:")
        self.line = "sk-ssh-ed25519@openssh.com " + base64.b64encode(self.blob).decode()

    def envelope(self, story, kind, count, flags=1):
        payload = ss.statement(kind, REPO, story.digest, story.ledger.origin, story.ledger.ledger_id,
                               environment="production")
        payload_type = b"application/vnd.in-toto+json"
        message = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)
        signed = (b"SSHSIG" + ssh_string(b"docket") + ssh_string(b"") + ssh_string(b"sha512")
                  + ssh_string(hashlib.sha512(message).digest()))
        tail = bytes([flags]) + count.to_bytes(4, "big")
        sig = self.device.sign(hashlib.sha256(b"ssh:").digest() + tail + hashlib.sha256(signed).digest()).signature
        blob = (b"SSHSIG" + (1).to_bytes(4, "big") + ssh_string(self.blob) + ssh_string(b"docket") + ssh_string(b"")
                + ssh_string(b"sha512") + ssh_string(ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(sig)
                                                    + tail))
        return {"payloadType": payload_type.decode(), "payload": base64.b64encode(payload).decode(),
                "signatures": [{"keyid": hashlib.sha256(self.raw).hexdigest(),
                                "sig": base64.b64encode(blob).decode()}]}

    def enroll(self, story, identity):
        path = story.tmp / (identity + ".pub")
        path.write_text(self.line + " " + identity + "\n")
        story.ledger.must(["key", "enroll", path, "--identity", identity, "--role", "approver",
                           "--key", story.ledger.admin_key])


def test_a_security_key_signature_is_checked_by_both_verifiers_and_ssh_keygen(ledger_factory, docket, tmp_path):
    s = Story(ledger_factory("ssh-sk"), docket, tmp_path)
    grace = SecurityKey(str(tmp_path))
    grace.enroll(s, "grace@example.com")
    envelope = grace.envelope(s, "approved", 7)
    checked = ssh_verify(tmp_path, envelope, "grace@example.com", grace.line)
    assert checked.returncode == 0, checked
    res = s.submit(json.dumps(envelope).encode(), "sk")
    assert res.rc == 0, res.describe()
    ok, detail = s.ledger.verify().verified_clean()
    assert ok, detail
    bundle = tmp_path / "bundle.jsonl"
    s.ledger.export(bundle)
    assert docket.verify_bundle([bundle]).rc == 0
    # The same counter again: a cloned key? Admitted (the signature is genuine), reported by both verifiers.
    assert s.submit(json.dumps(grace.envelope(s, "withdrawn", 7)).encode(), "sk-again").rc == 0
    swift = s.ledger.verify()
    assert swift.rc == 1 and "counter 7, not above 7" in swift.out, swift.describe()
    again = tmp_path / "again.jsonl"
    s.ledger.export(again)
    independent = docket.verify_bundle([again])
    assert independent.rc == 1 and "counter 7, not above 7" in independent.out, independent.describe()


def test_user_presence_counts_only_touched_security_keys(ledger_factory, docket, tmp_path):
    s = Story(ledger_factory("ssh-presence"), docket, tmp_path,
              POLICY.replace("approvals: {min: 1, roles: [approver]}",
                             "approvals: {min: 1, roles: [approver], userPresence: true}"))
    shown = s.run("policy", "show")
    assert "signed by a security key with user presence" in shown.out, shown.describe()
    plain = keygen(tmp_path / "henry", "henry")
    s.ledger.must(["key", "enroll", str(plain) + ".pub", "--identity", "henry@example.com", "--role", "approver",
                   "--key", s.ledger.admin_key])
    assert s.run("approve", s.image, "--env", "production", "--ssh-key", plain).rc == 0
    ivy, jack = SecurityKey("ivy " + str(tmp_path)), SecurityKey("jack " + str(tmp_path))
    ivy.enroll(s, "ivy@example.com")
    jack.enroll(s, "jack@example.com")
    assert s.submit(json.dumps(ivy.envelope(s, "approved", 1, flags=0)).encode(), "untouched").rc == 0
    gate = s.run("gate", s.image, "--env", "production")
    assert gate.rc == 1 and "henry@example.com: not signed with a security key the approver touched" in gate.out
    assert "ivy@example.com: not signed with a security key the approver touched" in gate.out, gate.out
    assert s.submit(json.dumps(jack.envelope(s, "approved", 1, flags=1)).encode(), "touched").rc == 0
    gate = s.run("gate", s.image, "--env", "production")
    assert gate.rc == 0 and "jack@example.com" in gate.out, gate.describe()
    s.promote()
    s.both_verifiers_clean()
