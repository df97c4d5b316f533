"""Tamper matrix: `docket verify --bundle` and the independent tools/verify-bundle agree.

On the story ledger (conftest.py: built by the CLI, exported) it checks that:

  * both verifiers accept the clean bundle, with and without --log-key, and compute the same environments;
  * both reject every tampered copy (exit 1 or 2, never 0, never a crash or traceback), with and without the log
    key pinned, and both name the line or entry at fault where a verifier can know it: one test per case, mode
    (open, pinned) and verifier;
  * inclusion proofs, consistency proofs and `verify --since` hold for the real log and fail for altered proofs,
    other entries, and checkpoints of another ledger or of a rewritten history.

The verifier runs of the matrix go through a pool of two workers, started once for the selected tests.
"""

import base64
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from .helpers import note_body, sign_note

WORKERS = 2
VERIFIERS = ["docket", "verify-bundle"]
MODES = ["open", "pinned"]


# ----------------------------------------------------------------------------------------------------------
# Bundle surgery


def split_lines(data):
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def join_lines(lines):
    return b"\n".join(lines) + b"\n"


def header_of(lines):
    return json.loads(lines[0].decode())


def with_header(lines, **changes):
    header = header_of(lines)
    header.update(changes)
    return [json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()] + lines[1:]


def replace_in_payload(line, new_byte=None):
    """Change one character in the middle of the envelope's base64 payload (to another base64 character, or to
    new_byte)."""
    start = line.index(b'"payload":"') + len(b'"payload":"')
    end = line.index(b'"', start)
    at = (start + end) // 2
    if new_byte is None:
        new_byte = b"B" if line[at:at + 1] == b"A" else b"A"
    return line[:at] + new_byte + line[at + 1:]


def set_time(line, new_time):
    return re.sub(rb'"integratedTime":"[^"]*"', b'"integratedTime":"' + new_time.encode() + b'"', line, count=1)


def time_of(line):
    return json.loads(line.decode())["integratedTime"]


def parse_time(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def format_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def flip_base64_char(text, at):
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1:]


class Parts:
    """The story's bundles as lines, for the case table: L[i + 1] holds entry i, n is the number of entries."""

    def __init__(self, story):
        self.story = story
        self.clean = story.clean.read_bytes()
        self.L = split_lines(self.clean)
        self.n = len(self.L) - 1
        self.fork = split_lines(story.fork.read_bytes())
        self.other = split_lines(story.other.read_bytes())
        self.header = header_of(self.L)
        self.note = self.header["checkpoint"]

    @staticmethod
    def at(index):
        return ["line %d" % (index + 2), "entry %d" % index]

    header_loc = ["line 1", "header"]


# ----------------------------------------------------------------------------------------------------------
# The case table: each function returns (tampered bytes, locators or None); locators are the `line N` /
# `entry M` / `header` words, one of which each verifier's problem report must contain.

CASES = {}


def case(name, modes=tuple(MODES)):
    def register(make):
        CASES[name] = (make, modes)
        return make
    return register


@case("truncated-mid-line")
def _(p):
    return p.clean[:len(p.clean) - 1 - len(p.L[-1]) // 2], p.at(p.n - 1)


@case("truncated-mid-file")
def _(p):
    mid = 8
    return p.clean[:len(join_lines(p.L[:mid + 1])) + len(p.L[mid + 1]) // 2], p.at(mid)


@case("truncated-at-line-end")
def _(p):
    return join_lines(p.L[:-1]), p.header_loc + p.at(p.n - 1)


@case("edited-payload-char")
def _(p):
    edited = list(p.L)
    edited[9 + 1] = replace_in_payload(p.L[9 + 1])
    return join_lines(edited), p.at(9)


@case("edited-time-backwards")
def _(p):
    edited = list(p.L)
    edited[7 + 1] = set_time(p.L[7 + 1], format_time(parse_time(time_of(p.L[6 + 1])) - timedelta(seconds=1)))
    return join_lines(edited), p.at(7)


@case("edited-time-in-order")
def _(p):
    # integratedTime is covered only by the Merkle root: moved forward but still in order, no verifier can say
    # which line changed, only that the root no longer matches the signed checkpoint.
    edited = list(p.L)
    t10, t11 = parse_time(time_of(p.L[10 + 1])), parse_time(time_of(p.L[11 + 1]))
    edited[10 + 1] = set_time(p.L[10 + 1], format_time(t10 + (t11 - t10) / 2))
    return join_lines(edited), None


@case("swapped-adjacent")
def _(p):
    swapped = list(p.L)
    swapped[9 + 1], swapped[10 + 1] = p.L[10 + 1], p.L[9 + 1]
    return join_lines(swapped), p.at(9) + p.at(10)


@case("line-removed")
def _(p):
    return join_lines(p.L[:10 + 1] + p.L[10 + 2:]), ["line %d" % (10 + 2)]


@case("line-duplicated")
def _(p):
    return join_lines(p.L[:9 + 2] + [p.L[9 + 1]] + p.L[9 + 2:]), ["line %d" % (9 + 3)]


@case("substituted-fork-entry")
def _(p):
    # An entry of the fork (same origin, same signer keys, valid signature) substituted for the original.
    substituted = list(p.L)
    substituted[12 + 1] = p.fork[12 + 1]
    return join_lines(substituted), None


@case("appended-foreign-entry")
def _(p):
    foreign = next(line for line in p.other[1:] if json.loads(line.decode())["index"] == p.n)
    return join_lines(p.L + [foreign]), p.at(p.n)


@case("appended-fork-entry")
def _(p):
    return join_lines(p.L + [p.fork[p.n + 1]]), p.at(p.n)


@case("appended-blank-line")
def _(p):
    return join_lines(p.L + [b""]), p.at(p.n)


@case("header-foreign-logkey")
def _(p):
    return join_lines(with_header(p.L, logKey=p.story.b_logkey)), p.header_loc


@case("checkpoint-bad-signature")
def _(p):
    sig_b64_start = p.note.index(" ", p.note.index("\u2014 ") + 2) + 1
    return join_lines(with_header(p.L, checkpoint=flip_base64_char(p.note, sig_b64_start + 30))), p.header_loc


@case("checkpoint-root-edited")
def _(p):
    at = p.note.index("\n", p.note.index("\n") + 1) + 5
    return join_lines(with_header(p.L, checkpoint=flip_base64_char(p.note, at))), p.header_loc


@case("checkpoint-of-other-ledger")
def _(p):
    return join_lines(with_header(p.L, checkpoint=p.story.b_final.read_text())), p.header_loc


def resigned_by_fork_key(p):
    return sign_note(note_body(p.note), p.story.origin, p.story.b_logkey_seed)


@case("checkpoint-resigned-foreign-key")
def _(p):
    return join_lines(with_header(p.L, checkpoint=resigned_by_fork_key(p))), p.header_loc


@case("checkpoint-and-logkey-foreign")
def _(p):
    return join_lines(with_header(p.L, checkpoint=resigned_by_fork_key(p), logKey=p.story.b_logkey)), p.header_loc


@case("header-size-minus-one")
def _(p):
    return join_lines(with_header(p.L, size=p.n - 1)), p.header_loc


@case("header-size-plus-one")
def _(p):
    return join_lines(with_header(p.L, size=p.n + 1)), p.header_loc


@case("header-not-json")
def _(p):
    return join_lines([b"this is not JSON {"] + p.L[1:]), p.header_loc


@case("header-removed")
def _(p):
    return join_lines(p.L[1:]), p.header_loc


@case("genesis-removed")
def _(p):
    return join_lines(p.L[:1] + p.L[2:]), p.at(0)


@case("empty-file")
def _(p):
    return b"", None


@case("invalid-utf8")
def _(p):
    broken = list(p.L)
    broken[6 + 1] = replace_in_payload(p.L[6 + 1], b"\xff")
    return join_lines(broken), p.at(6)


@case("other-ledger-bundle", modes=("pinned",))
def _(p):
    # The whole fork, consistent with itself and signed by its own log key: only pinning the real key exposes it.
    return join_lines(p.fork), p.header_loc + p.at(0)


MATRIX = [pytest.param(name, mode, verifier, id="%s-%s-%s" % (name, mode, verifier))
          for name, (_, modes) in CASES.items() for mode in modes for verifier in VERIFIERS]


# ----------------------------------------------------------------------------------------------------------
# Running both verifiers


def verifier_runs(docket, path, pin, json_mode):
    """The two verifiers' runs on path, as (label, callable) pairs."""
    extra = (["--log-key", pin] if pin else []) + (["--json"] if json_mode else [])
    return [("docket", lambda: docket.run(["verify", "--bundle", path, *extra], timeout=30)),
            ("verify-bundle", lambda: docket.verify_bundle([path, *extra], timeout=30))]


def problem_text(result, verifier):
    """The part of a verifier's output that reports problems (not the summary or the break-glass list)."""
    lines = result.out.splitlines()
    if verifier == "docket":
        picked = [line for line in lines if "\u2717" in line]
    else:
        picked = lines[next((i for i, line in enumerate(lines) if line.startswith("FAILED")), len(lines)):]
    return "\n".join(picked + result.err.splitlines())


def located(text, locators):
    """True when text names one of the locators (`entry N` also matches a range `entries N…`)."""
    patterns = [r"\bentr(?:y|ies) %s\b" % word.split()[1] if word.startswith("entry ") else r"\b%s\b" % re.escape(word)
                for word in locators]
    return any(re.search(pattern, text) for pattern in patterns)


def shown(*results):
    return "\n".join("%s (%s):\n%s" % (r.name, " ".join(r.args), r.text()) for r in results)


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(max_workers=WORKERS) as executor:
        yield executor


@pytest.fixture(scope="module")
def parts(story):
    return Parts(story)


@pytest.fixture(scope="module")
def clean_runs(docket, story, pool):
    """{(mode, verifier, json): Result} on the clean bundle."""
    jobs = {}
    for mode in MODES:
        pin = story.a_logkey if mode == "pinned" else None
        for json_mode in (False, True):
            for verifier, call in verifier_runs(docket, story.clean, pin, json_mode):
                jobs[(mode, verifier, json_mode)] = pool.submit(call)
    return {key: future.result() for key, future in jobs.items()}


@pytest.fixture(scope="module")
def matrix_runs(request, docket, story, parts, pool):
    """{(case, mode, verifier, json): Result} for the cases and modes of the selected tests: the text run in
    both modes, the --json run too in the open mode."""
    wanted = {(item.callspec.params["name"], item.callspec.params["mode"]) for item in request.session.items
              if getattr(item, "originalname", None) == "test_tampered_bundle_is_rejected"
              and item.module is request.module}
    folder = story.work / "tampered"
    folder.mkdir(exist_ok=True)
    jobs = {}
    for name, (make, modes) in CASES.items():
        if not any((name, mode) in wanted for mode in modes):
            continue
        path = folder / (name + ".jsonl")
        path.write_bytes(make(parts)[0])
        for mode in modes:
            if (name, mode) not in wanted:
                continue
            pin = story.a_logkey if mode == "pinned" else None
            for json_mode in ((False, True) if mode == "open" else (False,)):
                for verifier, call in verifier_runs(docket, path, pin, json_mode):
                    jobs[(name, mode, verifier, json_mode)] = pool.submit(call)
    return {key: future.result() for key, future in jobs.items()}


# ----------------------------------------------------------------------------------------------------------
# Preconditions: the forged-checkpoint cases prove something only if the test-side note signer reproduces the
# ledger's own signature, and the bundle carries the ledger's latest checkpoint.


def test_note_signer_reproduces_the_ledgers_checkpoint(story):
    real = story.a_final.read_text()
    assert sign_note(note_body(real), story.origin, story.a_logkey_seed) == real


def test_bundle_header_carries_the_latest_checkpoint(story, parts):
    assert parts.header["checkpoint"] == story.a_final.read_text()
    assert parts.n == 16


# ----------------------------------------------------------------------------------------------------------
# Clean bundles


@pytest.mark.parametrize("verifier", VERIFIERS)
@pytest.mark.parametrize("mode", MODES)
def test_clean_bundle_is_accepted(clean_runs, mode, verifier):
    text, as_json = clean_runs[(mode, verifier, False)], clean_runs[(mode, verifier, True)]
    for label, result in (("text", text), ("--json", as_json)):
        assert not result.crashed(), "%s %s crashed: %s\n%s" % (verifier, label, result.crashed(), shown(result))
        assert result.rc == 0, "%s %s exit %s on the clean bundle\n%s" % (verifier, label, result.rc, shown(result))
    report = json.loads(as_json.out)
    assert report.get("ok") is True, report
    if mode == "pinned":
        pinned = report.get("logKeyPinned") is True if verifier == "docket" else report.get("logKeySource") == "pinned"
        assert pinned, "the pin was not used: %s" % {k: report.get(k) for k in ("logKeyPinned", "logKeySource")}


@pytest.mark.parametrize("mode", MODES)
def test_clean_bundle_verifiers_agree(clean_runs, story, mode):
    d, p = json.loads(clean_runs[(mode, "docket", True)].out), json.loads(clean_runs[(mode, "verify-bundle", True)].out)
    assert d.get("environments") == p.get("environments"), "environments disagree"
    assert d.get("environments") == [{"environment": "staging", "repository": story.repo, "digest": story.v2},
                                     {"environment": "production", "repository": story.repo, "digest": story.v1}], \
        "not the story's environments"
    for field in ("root", "entries", "origin", "logKey"):
        assert d.get(field) == p.get(field), "%s disagrees: docket %r, verify-bundle %r" % (field, d.get(field), p.get(field))
    assert d.get("logKey") == story.a_logkey, "logKey is not the ledger's"


@pytest.fixture(scope="module")
def fork_runs(docket, story, pool):
    jobs = {verifier: pool.submit(call) for verifier, call in verifier_runs(docket, story.fork, None, True)}
    return {verifier: future.result() for verifier, future in jobs.items()}


@pytest.mark.parametrize("verifier", VERIFIERS)
def test_fork_is_valid_on_its_own(fork_runs, verifier):
    result = fork_runs[verifier]
    assert not result.crashed(), shown(result)
    assert result.rc == 0, "exit %s on a valid (forked) ledger\n%s" % (result.rc, shown(result))


def test_fork_verifiers_agree(fork_runs):
    d, p = (json.loads(fork_runs[v].out) for v in VERIFIERS)
    assert d.get("environments") == p.get("environments")


# ----------------------------------------------------------------------------------------------------------
# Tampered bundles


@pytest.mark.parametrize("name, mode, verifier", MATRIX)
def test_tampered_bundle_is_rejected(matrix_runs, parts, note, name, mode, verifier):
    locators = CASES[name][0](parts)[1]
    result = matrix_runs[(name, mode, verifier, False)]
    assert not result.crashed(), "crashed: %s\n%s" % (result.crashed(), shown(result))
    assert result.rc != 0, "ACCEPTED the tampered bundle (exit 0)\n" + shown(result)
    assert result.rc in (1, 2), "exit %s, expected 1 or 2\n%s" % (result.rc, shown(result))
    if locators:
        assert located(problem_text(result, "docket" if verifier == "docket" else "python"), locators), \
            "does not name the fault (expected one of: %s)\n%s" % (", ".join(locators), shown(result))
    as_json = matrix_runs.get((name, mode, verifier, True))
    if as_json is not None:
        assert not as_json.crashed(), "--json crashed: %s\n%s" % (as_json.crashed(), shown(as_json))
        assert as_json.rc == result.rc, "--json exit %s, but %s without --json" % (as_json.rc, result.rc)
        if as_json.rc == 1:
            try:
                report = json.loads(as_json.out)
            except ValueError:
                pytest.fail("--json exit 1 but its output is not JSON\n" + shown(as_json))
            assert report.get("ok") is False, "--json exit 1 but ok is not false"
    if verifier == "verify-bundle":
        other = matrix_runs[(name, mode, "docket", False)]
        if other.rc in (1, 2) and other.rc != result.rc:
            note("tamper matrix: %s%s: docket exit %s, verify-bundle exit %s (both reject; exit codes differ)"
                 % (name, "" if mode == "open" else "[pinned]", other.rc, result.rc))


# ----------------------------------------------------------------------------------------------------------
# Proofs: inclusion, consistency and `verify --since`


def flip_hash_line(text, first_line, flip):
    """text with one bit of the first 32-byte base64 hash at or after first_line flipped (flip(raw) edits it)."""
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if i >= first_line and len(line) == 44 and line.endswith("="))
    raw = bytearray(base64.b64decode(lines[at]))
    flip(raw)
    lines[at] = base64.b64encode(bytes(raw)).decode()
    return "\n".join(lines)


@pytest.fixture(scope="module")
def proofs(story):
    """The proof files: inclusion proofs of entries 9 and 10 with their entries, altered copies, a consistency
    proof from the checkpoint saved mid-story, and a checkpoint re-signed by the real log key over a rewritten
    history."""
    a, folder = story.a, story.work / "proofs"
    for index in (9, 10):
        result = a("prove", str(index), "--out-dir", folder, ok=False)
        assert result.rc == 0 and (folder / ("%d.tlog-proof" % index)).is_file(), shown(result)
    f = {"proof": folder / "9.tlog-proof", "entry": folder / "9.entry", "other_entry": folder / "10.entry",
         "mid": story.a_mid, "fork_mid": story.b_mid, "unrelated": story.c_final}
    text = f["proof"].read_text()
    f["flipped"] = folder / "9-bitflip.tlog-proof"
    f["flipped"].write_text(flip_hash_line(text, 2, lambda raw: raw.__setitem__(len(raw) // 2, raw[len(raw) // 2] ^ 0x01)))
    f["moved"] = folder / "9-index10.tlog-proof"
    f["moved"].write_text(text.replace("\nindex 9\n", "\nindex 10\n", 1))
    f["edited_entry"] = folder / "9-edited.entry"
    f["edited_entry"].write_bytes(replace_in_payload(f["entry"].read_bytes()))
    result = a("consistency", story.a_mid, ok=False)
    assert result.rc == 0, "docket consistency from the mid-story checkpoint:\n" + shown(result)
    f["cons"] = folder / "mid.consistency"
    f["cons"].write_text(result.out)
    f["cons_flipped"] = folder / "mid-bitflip.consistency"
    f["cons_flipped"].write_text(flip_hash_line(result.out, 3, lambda raw: raw.__setitem__(0, raw[0] ^ 0x80)))
    body_lines = note_body(story.a_mid.read_text()).split("\n")
    body_lines[2] = base64.b64encode(hashlib.sha256(b"a rewritten history").digest()).decode()
    f["rewritten"] = story.work / "rewritten-mid.checkpoint"
    f["rewritten"].write_text(sign_note("\n".join(body_lines), story.origin, story.a_logkey_seed))
    return f


# (id, how to run it, expected exit: a code, or "nonzero" for 1 or 2). "verify-proof" runs `docket verify-proof
# PROOF CHECKPOINT-OR-ENTRY --log-key KEY` (KEY the ledger's, or the fork's with foreign-key), "ledger" runs a
# command on ledger A, "bundle-since" runs `docket verify --bundle CLEAN --since CHECKPOINT --log-key KEY`.
PROOFS = [
    ("inclusion-proof-holds", ("verify-proof", "proof", "entry"), 0),
    ("inclusion-proof-bit-flipped", ("verify-proof", "flipped", "entry"), 1),
    ("inclusion-proof-other-entry", ("verify-proof", "proof", "other_entry"), 1),
    ("inclusion-proof-index-changed", ("verify-proof", "moved", "entry"), 1),
    ("inclusion-proof-edited-entry", ("verify-proof", "proof", "edited_entry"), 1),
    ("inclusion-proof-foreign-log-key", ("verify-proof", "proof", "entry", "foreign-key"), "nonzero"),
    ("consistency-proof-holds", ("verify-proof", "cons", "mid"), 0),
    ("consistency-proof-bit-flipped", ("verify-proof", "cons_flipped", "mid"), 1),
    ("verify-since-own-checkpoint", ("ledger", "verify", "--since", "mid"), 0),
    # a checkpoint of the fork (same origin and size, other root, other log key) ...
    ("consistency-from-other-ledger", ("ledger", "consistency", "fork_mid"), "nonzero"),
    ("verify-proof-other-ledger-checkpoint", ("verify-proof", "cons", "fork_mid"), "nonzero"),
    ("verify-since-other-ledger", ("ledger", "verify", "--since", "fork_mid"), 1),
    ("verify-bundle-since-other-ledger", ("bundle-since", "fork_mid"), 1),
    # ... a checkpoint of an unrelated ledger (other origin, other log key) ...
    ("consistency-from-unrelated-ledger", ("ledger", "consistency", "unrelated"), "nonzero"),
    ("verify-proof-unrelated-checkpoint", ("verify-proof", "cons", "unrelated"), "nonzero"),
    ("verify-since-unrelated-ledger", ("ledger", "verify", "--since", "unrelated"), 1),
    # ... and one signed by the real log key over a rewritten history (what --since exists to catch).
    ("consistency-from-rewritten-history", ("ledger", "consistency", "rewritten"), "nonzero"),
    ("verify-proof-rewritten-checkpoint", ("verify-proof", "cons", "rewritten"), "nonzero"),
    ("verify-since-rewritten-history", ("ledger", "verify", "--since", "rewritten"), 1),
]


@pytest.mark.parametrize("how, expected", [pytest.param(how, expected, id=name) for name, how, expected in PROOFS])
def test_proof(docket, story, proofs, how, expected):
    if how[0] == "verify-proof":
        key = story.b_logkey if how[3:] == ("foreign-key",) else story.a_logkey
        result = docket.run(["verify-proof", proofs[how[1]], proofs[how[2]], "--log-key", key], timeout=30)
    elif how[0] == "ledger":
        result = story.a(*[proofs.get(word, word) for word in how[1:]], ok=False)
    else:
        result = docket.run(["verify", "--bundle", story.clean, "--since", proofs[how[1]], "--log-key",
                             story.a_logkey], timeout=30)
    assert not result.crashed(), "crashed: %s\n%s" % (result.crashed(), shown(result))
    if expected == "nonzero":
        assert result.rc in (1, 2), "exit %s, expected 1 or 2\n%s" % (result.rc, shown(result))
    else:
        assert result.rc == expected, "exit %s, expected %s\n%s" % (result.rc, expected, shown(result))
