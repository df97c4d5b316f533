"""Fixtures of the Python test package: python3 -m pytest -q tools/tests   (quick run: -m "not slow")

  docket_bin      the binary under test: $DOCKET_BIN, else <repo>/.build/debug/docket, copied once into a private
                  work directory, so a rebuild during the run does not disturb it
  docket          runs that copy (environment without DOCKET_*, NO_COLOR=1, TMPDIR inside the work directory)
  ledger_factory  ledger_factory(name) makes a fresh ledger with the CLI: admin and ci keys, init, ci enrolled as
                  ci checker monitor
  story           the promotion story (built by the CLI, exported): ledger A, its fork B (same origin and signers,
                  own log key), an unrelated ledger C, bundles and checkpoints of each
  note            note(text) adds a line to the "notes" section at the end of the run

The work directory is removed at the end unless a test failed or DOCKET_TESTS_KEEP=1 (its path is then printed).
RELIABILITY_SEED=N replays the random choices of the reliability tests (the seed of each run is printed).
"""

import base64
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from . import helpers

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"
VERIFY_BUNDLE = TOOLS / "verify-bundle"  # the auditor's artefact, run as a program
ORIGIN = "example.com/app"
CALL_TIMEOUT = 10.0  # seconds, one docket call unless a test says otherwise
SEED = int(os.environ.get("RELIABILITY_SEED") or 0) or random.SystemRandom().randrange(1, 2 ** 31)

_notes = []
_kept = []


def source_binary():
    return Path(os.environ.get("DOCKET_BIN") or REPO / ".build" / "debug" / "docket")


def pytest_report_header(config):
    return ["docket binary: %s (DOCKET_BIN), seed %d (RELIABILITY_SEED)" % (source_binary(), SEED)]


def pytest_terminal_summary(terminalreporter):
    if _notes or _kept:
        terminalreporter.section("notes")
        for text in _notes:
            terminalreporter.write_line(text)
        for path in _kept:
            terminalreporter.write_line("work directory kept: %s (seed %d)" % (path, SEED))


@pytest.fixture(scope="session")
def note():
    return _notes.append


@pytest.fixture(scope="session")
def seed():
    return SEED


# ------------------------------------------------------------------------------------------------ running


def short(data, limit=300):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    data = data.replace("\n", "\\n")
    return data if len(data) <= limit else data[:limit] + f"…(+{len(data) - limit} chars)"


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
FATAL_WORDS = ("Fatal error", "fatalError", "Stack dump", "Segmentation", "Illegal instruction", "Backtrace")
CRASH_MARKERS = ("Traceback (most recent call last)", "Fatal error", "internal error", "Segmentation fault",
                 "Illegal instruction", "Current stack trace", "\U0001f4a3")


class Result:
    """One finished (or timed-out) process: rc is None on a timeout, negative when killed by a signal."""

    def __init__(self, name, args, argv, rc, stdout, stderr, elapsed, timeout):
        self.name, self.args, self.argv = name, args, argv
        self.rc, self.stdout, self.stderr, self.elapsed, self.timeout = rc, stdout, stderr, elapsed, timeout

    @property
    def timed_out(self):
        return self.rc is None

    @property
    def signalled(self):
        return self.rc is not None and self.rc < 0

    @property
    def out(self):
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self):
        return self.stderr.decode("utf-8", "replace")

    def describe(self):
        rc = "TIMEOUT" if self.timed_out else (f"signal {-self.rc}" if self.signalled else f"exit {self.rc}")
        return f"`{self.name} {' '.join(self.args)}` → {rc} in {self.elapsed:.2f}s; stderr: {short(self.err)!r}"

    def crashed(self):
        """A reason if the process died by a signal, timed out, hit an internal error or printed a traceback."""
        if self.rc is None:
            return "timed out after %ds" % self.timeout
        if self.rc < 0:
            return "killed by signal %d" % -self.rc
        if self.rc >= 3:
            return "exit %d (internal error / crash)" % self.rc
        for marker in CRASH_MARKERS:
            if marker in self.out or marker in self.err:
                return "printed %r" % marker
        return None

    def text(self, limit=1800):
        both = (self.out + ("\n[stderr]\n" + self.err if self.err.strip() else "")).strip()
        return both if len(both) <= limit else both[:limit] + "\n…(%d more chars)" % (len(both) - limit)

    def one_line_error(self):
        """Exactly one `docket: …` line on stderr, with no crash text and no control characters (an error that
        echoes untrusted input raw can be split into several lines or carry terminal escape sequences)."""
        text = self.err
        lines = text.rstrip("\n").split("\n")
        return (len(lines) == 1 and lines[0].startswith("docket: ") and len(lines[0]) > len("docket: ") + 5
                and not CONTROL.search(lines[0]) and not any(w in text for w in FATAL_WORDS))

    def clean_refusal(self, allowed=(1, 2)):
        return not self.timed_out and not self.signalled and self.rc in allowed and self.one_line_error()

    def verified_clean(self):
        """(ok, detail) for a `verify --json` run: exit 0, ok true, no problems."""
        try:
            report = json.loads(self.stdout)
        except Exception:
            report = None
        ok = self.rc == 0 and isinstance(report, dict) and report.get("ok") is True and not report.get("problems")
        detail = f"{report.get('entries')} entries, exit 0" if ok else self.describe() + (
            f"; problems: {short(json.dumps(report.get('problems')), 600)}" if isinstance(report, dict) else "")
        return ok, detail


class Docket:
    """Runs the private copy of the binary (and other programs) with a clean environment."""

    def __init__(self, binary, work):
        self.binary = str(binary)
        self.work = Path(work)

    def env(self, ledger=None, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKET_")}
        env.update({"NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(self.work / "tmp")})
        if ledger is not None:
            env["DOCKET_LEDGER"] = str(ledger)
        env.update(extra or {})
        return env

    def execute(self, argv, name, args, ledger=None, timeout=CALL_TIMEOUT, cwd=None, env_extra=None,
                preexec_fn=None):
        argv = [str(a) for a in argv]
        started = time.monotonic()
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, cwd=cwd,
                               env=self.env(ledger, env_extra), preexec_fn=preexec_fn)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = None, e.stdout or b"", e.stderr or b""
        return Result(name, [str(a) for a in args], argv, rc, out, err, time.monotonic() - started, timeout)

    def run(self, args, ledger=None, timeout=CALL_TIMEOUT, cwd=None, env_extra=None, preexec_fn=None, prefix=None):
        """`docket ARGS` (ledger: as $DOCKET_LEDGER; prefix: a command to run it under, e.g. unshare)."""
        return self.execute((prefix or []) + [self.binary] + list(args), "docket", args, ledger=ledger,
                            timeout=timeout, cwd=cwd, env_extra=env_extra, preexec_fn=preexec_fn)

    def verify_bundle(self, args, timeout=30):
        """The independent verifier, run as the auditor runs it."""
        return self.execute([sys.executable, VERIFY_BUNDLE] + list(args), "verify-bundle", args, timeout=timeout)

    def popen(self, args, ledger):
        return subprocess.Popen([self.binary] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env(ledger))


@pytest.fixture(scope="session")
def workspace(request):
    """The run's private directory (mode 755: the fault tests run the binary as uid 65534 when root)."""
    path = Path(tempfile.mkdtemp(prefix="docket-tests-"))
    os.chmod(path, 0o755)
    (path / "tmp").mkdir()
    yield path
    for big in path.glob("**/big-*.bin"):
        big.unlink(missing_ok=True)
    if os.environ.get("DOCKET_TESTS_KEEP") == "1" or request.session.testsfailed:
        _kept.append(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def docket_bin(workspace):
    source = source_binary()
    if not source.is_file() or not os.access(source, os.X_OK):
        pytest.fail(f"no docket binary at {source}: build it (swift build) or set DOCKET_BIN", pytrace=False)
    (workspace / "bin").mkdir()
    private = workspace / "bin" / "docket"
    for attempt in range(3):  # the developer may rebuild the original at any moment: copy it once, whole
        shutil.copy2(source, private)
        os.chmod(private, 0o755)
        probe = Docket(private, workspace).run(["--version"], timeout=30)
        if probe.rc == 0:
            return private
        if attempt == 2:
            pytest.fail(f"the copy of {source} does not run: {probe.describe()}", pytrace=False)
        time.sleep(2)


@pytest.fixture(scope="session")
def docket(docket_bin, workspace):
    return Docket(docket_bin, workspace)


# ------------------------------------------------------------------------------------------------ ledgers


class Ledger:
    """A ledger made the way the README says: admin and ci keys, init, ci enrolled as ci checker monitor."""

    def __init__(self, docket, directory, origin=ORIGIN):
        self.d = docket
        self.dir = directory
        self.dir.mkdir(parents=True)
        self.path = self.dir / "ledger.db"
        self.origin = origin
        self.admin_key = self.dir / "admin.key"
        self.ci_key = self.dir / "ci.key"
        for key, identity in ((self.admin_key, "admin@example.com"), (self.ci_key, "ci@example.com")):
            self.must(["key", "generate", "--identity", identity, "--out", key])
        self.must(["init", "--origin", origin, "--key", self.admin_key])
        self.must(["key", "enroll", str(self.ci_key) + ".pub", "--role", "ci", "checker", "monitor",
                   "--key", self.admin_key])
        self.ci_seed = base64.b64decode(json.loads(self.ci_key.read_text())["seed"])
        self.ci_signer = helpers.as_signing_key(self.ci_seed)
        self.verifier_key = self.log(limit=1)[0]["predicate"]["logKey"]
        self.ledger_id = json.loads(self.must(["ledger", "describe", "--json"]).stdout)["ledgerID"]

    def must(self, args, timeout=30):
        res = self.d.run(args, ledger=self.path, timeout=timeout, cwd=self.dir)
        if res.rc != 0:
            pytest.fail(f"setting up {self.path}: {res.describe()}", pytrace=False)
        return res

    def record_built(self, hex_digest, repo="reliability/app", timeout=CALL_TIMEOUT):
        return self.d.run(["record", "built", f"{repo}@sha256:{hex_digest}", "--key", self.ci_key, "--json"],
                          ledger=self.path, timeout=timeout)

    def log(self, since=0, limit=1000, timeout=60):
        return json.loads(self.must(["log", "--json", "--since", since, "--limit", limit], timeout=timeout).stdout)

    def full_log(self):
        entries, since = [], 0
        for _ in range(100000):
            page = self.log(since=since, limit=1000)
            entries += page
            if len(page) < 1000:
                break
            since = page[-1]["index"] + 1
        return entries

    def verify(self, timeout=120):
        return self.d.run(["verify", "--json"], ledger=self.path, timeout=timeout)

    def checkpoint(self):
        return self.must(["checkpoint"]).stdout.decode()

    def export(self, out):
        self.must(["export", "--out", out], timeout=120)
        return out.read_bytes()

    def sign_statement_bytes(self, payload, payload_type=helpers.INTOTO):
        """A DSSE envelope (compact JSON bytes) over arbitrary payload bytes, signed with the ci key."""
        envelope = helpers.sign_envelope(self.ci_signer, payload, payload_type)
        return json.dumps(envelope, separators=(",", ":")).encode()

    def built_statement(self, hex_digest, repo="docker.io/reliability/app", origin=None):
        """A `built` statement signed for this ledger (its origin and ledger ID); `repo` in normal form."""
        t = datetime.now(timezone.utc)
        now = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        return {"_type": helpers.STATEMENT_TYPE,
                "predicate": {"ledger": origin or self.origin, "ledgerID": self.ledger_id,
                              "nonce": os.urandom(16).hex(), "time": now},
                "predicateType": "https://docket.dev/built/v1",
                "subject": [{"digest": {"sha256": hex_digest}, "name": repo}]}

    def built_envelope(self, hex_digest, out, repo="docker.io/reliability/app"):
        """Writes a signed, not appended, `built` envelope to out."""
        payload = json.dumps(self.built_statement(hex_digest, repo), separators=(",", ":"), sort_keys=True)
        out.write_bytes(self.sign_statement_bytes(payload.encode()))
        return out


@pytest.fixture(scope="session")
def ledger_factory(docket, workspace):
    """ledger_factory(name, origin=...) → a fresh Ledger in its own folder of the work directory."""
    made = {}

    def make(name, origin=ORIGIN):
        made[name] = made.get(name, 0) + 1
        folder = workspace / (name if made[name] == 1 else f"{name}-{made[name]}")
        return Ledger(docket, folder, origin)

    return make


# ------------------------------------------------------------------------------------------------ the story

STORY_ORIGIN = "tamper-a.test/payments"  # the ledger under test, and its fork (same origin, same signers)
STORY_OTHER_ORIGIN = "tamper-c.test/elsewhere"  # an unrelated ledger
STORY_REPO = "registry.tamper.test/payments"
STORY_TIMEOUT = 30


def digest_of(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class BoundLedger:
    """`docket … --ledger PATH` for one ledger file of the story."""

    def __init__(self, docket, ledger):
        self.docket = docket
        self.ledger = ledger

    def __call__(self, *args, ok=True):
        result = self.docket.run([*args, "--ledger", self.ledger], timeout=STORY_TIMEOUT)
        if ok and result.rc != 0:
            pytest.fail("`docket %s` exited %s:\n%s" % (" ".join(map(str, args)), result.rc, result.text()),
                        pytrace=False)
        return result


class Story:
    """Ledger A (under test) and its fork B (same origin, same signers, own log key) tell the same story; ledger
    C is unrelated. Entry numbers of A: 0 init, 1-4 enrolments, 5 policy, 6 built v1, 7 deployed to staging,
    8 check, 9-10 approvals, 11 promoted after the 1 s soak, 12 built v2, 13 deployed v2 to staging, 14 break-glass
    promotion of v2, 15 rollback to v1; B has a 16th entry (built v3)."""

    origin = STORY_ORIGIN
    other_origin = STORY_OTHER_ORIGIN
    repo = STORY_REPO
    v1 = digest_of("payments v1")
    v2 = digest_of("payments v2 hotfix")
    v3 = digest_of("payments v3 (fork only)")


def generate_keys(docket, directory, names, domain):
    directory.mkdir(parents=True, exist_ok=True)
    keys = {}
    for name in names:
        path = directory / (name + ".key")
        result = docket.run(["key", "generate", "--identity", "%s@%s" % (name, domain), "--out", path],
                            timeout=STORY_TIMEOUT)
        if result.rc != 0:
            pytest.fail("`docket key generate` for %s exited %s:\n%s" % (name, result.rc, result.text()),
                        pytrace=False)
        keys[name] = path
    return keys


@pytest.fixture(scope="session")
def story(docket, workspace):
    work = workspace / "story"
    s = Story()
    s.work = work
    keys = generate_keys(docket, work / "keys", ["admin", "ci", "alice", "bob", "rita"], "tamper.test")
    s.keys = keys
    policy = work / "policy.json"
    policy.write_text(json.dumps({"environments": [
        {"name": "staging"},
        {"name": "production", "from": "staging", "soak": "1s",
         "approvals": {"min": 2, "roles": ["approver"]}, "breakGlass": True},
    ]}, indent=2) + "\n")
    a, b = BoundLedger(docket, work / "a.db"), BoundLedger(docket, work / "b.db")
    s.a, s.b = a, b
    image1, image2 = "%s@%s" % (s.repo, s.v1), "%s@%s" % (s.repo, s.v2)
    deployed_at, mid, final = {}, {}, {}
    for name, ledger in (("a", a), ("b", b)):
        ledger("init", "--origin", s.origin, "--key", keys["admin"])                                  # 0
        ledger("key", "enroll", str(keys["ci"]) + ".pub", "--role", "ci", "checker", "--key", keys["admin"])  # 1
        ledger("key", "enroll", str(keys["alice"]) + ".pub", "--role", "approver", "--key", keys["admin"])  # 2
        ledger("key", "enroll", str(keys["bob"]) + ".pub", "--role", "approver", "--key", keys["admin"])  # 3
        ledger("key", "enroll", str(keys["rita"]) + ".pub", "--role", "releaser", "--key", keys["admin"])  # 4
        ledger("policy", "set", policy, "--key", keys["admin"])                                       # 5
        ledger("record", "built", image1, "--tag", "v1", "--builder", "ci", "--key", keys["ci"])        # 6
        ledger("record", "deployed", image1, "--env", "staging", "--key", keys["ci"])                 # 7
        deployed_at[name] = time.monotonic()
        ledger("record", "check", image1, "--check", "security-scan", "--result", "pass", "--key", keys["ci"])  # 8
        mid[name] = work / (name + "-mid.checkpoint")
        mid[name].write_text(ledger("checkpoint").out)  # saved mid-story, size 9
        ledger("approve", s.v1, "--env", "production", "--key", keys["alice"])                        # 9
        ledger("approve", s.v1, "--env", "production", "--key", keys["bob"])                          # 10
    # Wait out the 1s soak (counted from the deployment to staging, in ledger time), then promote.
    for name, ledger in (("a", a), ("b", b)):
        time.sleep(max(0.0, deployed_at[name] + 1.25 - time.monotonic()))
        for attempt in range(6):
            result = ledger("promote", s.v1, "--to", "production", "--key", keys["rita"], ok=False)   # 11
            if result.rc == 0:
                break
            if result.rc != 1 or attempt == 5:
                pytest.fail("`docket promote` after the soak exited %s:\n%s" % (result.rc, result.text()),
                            pytrace=False)
            time.sleep(0.3)
    for name, ledger in (("a", a), ("b", b)):
        ledger("record", "built", image2, "--tag", "v2", "--key", keys["ci"])                         # 12
        ledger("record", "deployed", image2, "--env", "staging", "--key", keys["ci"])                 # 13
        ledger("promote", s.v2, "--to", "production", "--break-glass", "CVE-2026-9999 exploited",
               "--key", keys["rita"])                                                                 # 14
        ledger("rollback", "--env", "production", "--reason", "checkout errors", "--key", keys["rita"])  # 15
        final[name] = work / (name + "-final.checkpoint")
        final[name].write_text(ledger("checkpoint").out)
    b("record", "built", "%s@%s" % (s.repo, s.v3), "--key", keys["ci"])                               # B: 16
    s.clean, s.fork = work / "clean.jsonl", work / "fork.jsonl"
    a("export", "--out", s.clean)
    b("export", "--out", s.fork)
    s.a_mid, s.b_mid, s.a_final, s.b_final = mid["a"], mid["b"], final["a"], final["b"]

    for name, ledger in (("a", a), ("b", b)):
        result = ledger("verify", "--json")
        try:
            logkey = json.loads(result.out)["logKey"]
        except (ValueError, KeyError, TypeError):
            pytest.fail("`docket verify --json` gave no logKey:\n%s" % result.text(), pytrace=False)
        setattr(s, name + "_logkey", logkey)
        seed = base64.b64decode(json.loads(Path(str(ledger.ledger) + ".logkey").read_text())["seed"])
        setattr(s, name + "_logkey_seed", seed)

    # Ledger C: another origin, other signers, 17 entries so its last line claims the index A would use next.
    other_keys = generate_keys(docket, work / "other-keys", ["admin", "ci"], "elsewhere.test")
    c = BoundLedger(docket, work / "c.db")
    c("init", "--origin", s.other_origin, "--key", other_keys["admin"])
    c("key", "enroll", str(other_keys["ci"]) + ".pub", "--role", "ci", "--key", other_keys["admin"])
    for n in range(15):
        c("record", "built", "registry.elsewhere.test/tool@%s" % digest_of("tool %d" % n), "--key", other_keys["ci"])
    s.other = work / "other.jsonl"
    c("export", "--out", s.other)
    s.c_final = work / "c-final.checkpoint"
    s.c_final.write_text(c("checkpoint").out)
    return s
