"""Reliability of the docket binary: crash safety, concurrency, bad-input fuzzing, disk and file faults.

Each section runs its scenario once (a module-scoped fixture, on ledgers of its own in the run's work directory)
and its checks are the tests that follow it; a scenario that cannot finish fails every check that needs it.

  1  crash safety       appenders SIGKILLed at random moments; committed appends survive exactly once    (slow)
  2  concurrency        16 appending processes and 2 reader loops on one ledger; every checkpoint a reader saw
                        is re-checked against the final exported bundle (RFC 6962)                         (slow)
  3  bad-input fuzzing  special inputs (100 MB files, deep nesting, forged signatures), then thousands of mutated
                        envelopes (`submit`) and bundles (`verify --bundle`)                (mutations: slow)
  4  disk/file faults   read-only ledger, locked database, missing/foreign log key, disk full, corrupted pages

Every loop is bounded in count and in time: the sections share a 450 s budget from the first one that starts and
size themselves to what is left; one docket call gets 10 s unless said otherwise. Random choices come from
RELIABILITY_SEED (printed in the header), one stream per section. One section alone: -k TestFaults (or
TestCrashSafety, TestConcurrency, "Fuzz"); the quick run -m "not slow" keeps the special fuzzing inputs and the faults.
"""

import base64
import bisect
import copy
import hashlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from .helpers import any_b64, envelope_signed_by, note_signed_by, parse_checkpoint, roots_for_sizes

SUITE_BUDGET = 450.0  # seconds: the sections together stay under 7.5 minutes even when calls hang
CALL_TIMEOUT = 10.0
slow = pytest.mark.slow


# ------------------------------------------------------------------------------------------------ plumbing


def short(data, limit=300):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    data = data.replace("\n", "\\n")
    return data if len(data) <= limit else data[:limit] + f"…(+{len(data) - limit} chars)"


def new_hex(tag=""):
    return hashlib.sha256(f"{tag}-{secrets.token_hex(16)}".encode()).hexdigest()


def file_fingerprint(ledger):
    """sha256 over ledger.db and ledger.db-wal (an absent WAL counts as empty)."""
    h = hashlib.sha256()
    for suffix in ("", "-wal"):
        h.update(suffix.encode() + b"\0")
        p = Path(str(ledger) + suffix)
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()


def settle(ledger):
    """Checkpoints the WAL into ledger.db and empties it, so that a later byte comparison sees only real
    writes (a closing connection may otherwise checkpoint frames left by an earlier, legitimate append)."""
    con = sqlite3.connect(str(ledger), timeout=30)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        con.close()


def gapless(entries):
    return [e["index"] for e in entries] == list(range(len(entries)))


def digest_counts(entries):
    counts = {}
    for e in entries:
        d = e.get("digest")
        if d:
            counts[d] = counts.get(d, 0) + 1
    return counts


def issues(found):
    return f"{len(found)} input(s), e.g. " + "; ".join(found[:3]) if found else ""


class Budget:
    def __init__(self):
        self.start = time.monotonic()

    def left(self):
        return SUITE_BUDGET - (time.monotonic() - self.start)

    def require(self, section):
        if self.left() < 40:
            pytest.fail(f"{section} skipped: the reliability sections' {SUITE_BUDGET:.0f}s budget is spent",
                        pytrace=False)


@pytest.fixture(scope="module")
def budget():
    return Budget()


@pytest.fixture(scope="module")
def shared():
    """State handed from one section to a later one (the concurrency ledger, corrupted by section 4)."""
    return {}


# ------------------------------------------------------------------------------------ 1. crash safety


@pytest.fixture(scope="module")
def crash(docket, ledger_factory, budget, seed, note):
    budget.require("crash safety")
    rng = random.Random(f"{seed}:crash")
    ledger = ledger_factory("crash")
    target_kills, max_spawns, time_budget, concurrency = 300, 1500, min(75.0, max(10.0, budget.left() - 300)), 3
    batches_wanted = 100
    # An append's lifetime under `concurrency` parallel appenders, to spread kills over all of it: half the
    # appenders get the plain 0–40 ms delay, half a delay drawn over the whole measured lifetime (on a slow
    # machine 40 ms is only the start-up, and kills would never land inside or after the transaction).
    lifetimes = []

    def timed_append(k):
        res = ledger.record_built(new_hex(f"crash-calibrate-{k}"), repo="crash/calibrate", timeout=60)
        lifetimes.append(res.elapsed if res.rc == 0 else 0.0)

    for _ in range(2):
        threads = [threading.Thread(target=timed_append, args=(k,), daemon=True) for k in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    lifetime = sorted(lifetimes)[len(lifetimes) // 2]
    window = max(0.040, 1.15 * lifetime)
    batch_files = []
    for b in range(batches_wanted):
        hexes = [new_hex(f"crash-batch-{b}-{k}") for k in range(3)]
        files = [ledger.built_envelope(h, ledger.dir / f"batch-{b}-{k}.json", repo="docker.io/crash/batch")
                 for k, h in enumerate(hexes)]
        batch_files.append((hexes, files))
    launched = {}  # digest hex → kind
    single_ok = {}  # hex → receipt index
    killed_singles, batches = [], []  # (hexes, rc)
    other_failures = []
    delivered = spawned = finished_early = 0
    running = []
    started = time.monotonic()

    def collect(item, killed_now):
        nonlocal delivered, finished_early
        proc, kind, hexes, _ = item
        out, err = proc.communicate()
        rc = proc.returncode
        if rc == -signal.SIGKILL:
            delivered += 1
        elif killed_now:
            finished_early += 1  # exited on its own between the last poll and the kill
        if kind == "single":
            if rc == 0:
                try:
                    single_ok[hexes[0]] = json.loads(out)["index"]
                except Exception:
                    other_failures.append(f"exit 0 but receipt not JSON: {short(out)}")
            elif rc == -signal.SIGKILL:
                killed_singles.append(hexes[0])
            else:
                other_failures.append(f"record built exit {rc}: {short(err)}")
        else:
            batches.append((hexes, rc))
            if rc not in (0, -signal.SIGKILL):
                other_failures.append(f"submit batch exit {rc}: {short(err)}")

    while delivered < target_kills and spawned < max_spawns and time.monotonic() - started < time_budget:
        while len(running) < concurrency and spawned < max_spawns:
            spawned += 1
            if spawned % 5 == 0 and batch_files:
                hexes, files = batch_files.pop()
                proc = docket.popen(["submit", *files, "--json"], ledger.path)
                kind = "batch"
            else:
                hexes = [new_hex(f"crash-{spawned}")]
                proc = docket.popen(["record", "built", f"crash/app@sha256:{hexes[0]}", "--key", ledger.ci_key,
                                     "--json"], ledger.path)
                kind = "single"
            for h in hexes:
                launched[h] = kind
            running.append((proc, kind, hexes, time.monotonic() + rng.uniform(0.0, 0.040 if spawned % 2 else window)))
        now = time.monotonic()
        still = []
        for item in running:
            proc, _, _, kill_at = item
            if proc.poll() is not None:
                collect(item, False)
            elif now >= kill_at:
                proc.send_signal(signal.SIGKILL)
                collect(item, True)
            else:
                still.append(item)
        running = still
        time.sleep(0.0005)
    for item in running:  # bounded: each remaining process gets at most 30 s
        try:
            item[0].wait(timeout=30)
        except subprocess.TimeoutExpired:
            item[0].kill()
        collect(item, False)
    note(f"crash safety: an append takes ~{lifetime * 1000:.0f} ms with {concurrency} running at once (kill delays "
         f"0–40 ms and 0–{window * 1000:.0f} ms); {spawned} appenders started ({batches_wanted - len(batch_files)} "
         f"of them 3-envelope `submit` batches) in {time.monotonic() - started:.1f}s: {delivered} SIGKILLs "
         f"delivered to running processes, {len(single_ok)} single appends reported success")
    after_hex = new_hex("crash-after")
    launched[after_hex] = "after"
    after = ledger.record_built(after_hex)
    verified = ledger.verify()
    entries = ledger.full_log()
    checkpoint = parse_checkpoint(ledger.checkpoint())
    try:
        con = sqlite3.connect(f"file:{ledger.path}?mode=ro", uri=True, timeout=10)
        integrity = con.execute("PRAGMA integrity_check").fetchall()
        con.close()
    except sqlite3.Error as e:
        integrity = [(f"error: {e}",)]
    return SimpleNamespace(ledger=ledger, delivered=delivered, other_failures=other_failures, after=after,
                           verify=verified, entries=entries, counts=digest_counts(entries), successes=single_ok,
                           killed_singles=killed_singles, launched=launched, batches=batches, checkpoint=checkpoint,
                           integrity=integrity)


@slow
class TestCrashSafety:
    def test_at_least_100_sigkills_delivered_to_running_appenders(self, crash):
        assert crash.delivered >= 100, f"{crash.delivered} delivered"

    def test_appenders_that_were_not_killed_all_succeeded(self, crash):
        assert not crash.other_failures, f"{len(crash.other_failures)} failed: {crash.other_failures[:3]}"

    def test_the_ledger_still_accepts_an_append_after_the_crashes(self, crash):
        assert crash.after.rc == 0, crash.after.describe()

    def test_no_digest_appears_twice(self, crash):
        """Killed appends are committed at most once."""
        dup = [dg for dg, c in crash.counts.items() if c > 1]
        assert not dup, f"duplicates: {dup[:5]}"

    def test_no_entry_that_no_appender_asked_for(self, crash):
        unknown = [e["index"] for e in crash.entries if e["kind"] == "built"
                   and e.get("digest", "")[7:] not in crash.launched and e.get("subject") != "docker.io/crash/calibrate"]
        assert not unknown, f"unexpected entries: {unknown[:5]}"

    def test_submit_batches_are_all_or_nothing_under_sigkill(self, crash):
        torn = []
        for hexes, rc in crash.batches:
            present = sum(crash.counts.get("sha256:" + h, 0) for h in hexes)
            if present not in (0, 3) or (rc == 0 and present != 3):
                torn.append((rc, present))
        assert not torn, f"{len(crash.batches)} batches; torn (exit, entries present): {torn[:5]}"

    def test_checkpoint_covers_exactly_the_entries(self, crash):
        assert crash.checkpoint.size == len(crash.entries), \
            f"checkpoint size {crash.checkpoint.size}, {len(crash.entries)} entries"

    def test_sqlite_integrity_check_ok(self, crash):
        assert crash.integrity == [("ok",)], short(str(crash.integrity))


# ------------------------------------------------------------------------------------- 2. concurrency


@pytest.fixture(scope="module")
def concurrency(docket, ledger_factory, budget, note, shared):
    budget.require("concurrency")
    ledger = ledger_factory("concurrency")
    writers, wanted_per_writer, append_budget = 16, 200, min(150.0, max(20.0, budget.left() - 230))
    lock = threading.Lock()
    appends = []  # (digest hex, rc, index, finished monotonic, stderr)

    def writer(w, count, tag):
        for i in range(count):
            h = new_hex(f"{tag}-{w}-{i}")
            res = ledger.record_built(h, repo=f"conc/w{w}", timeout=120)
            done = time.monotonic()
            idx = None
            if res.rc == 0:
                try:
                    idx = json.loads(res.stdout)["index"]
                except Exception:
                    pass
            with lock:
                appends.append((h, res.rc, idx, done, res.stderr))

    def run_writers(count, tag):
        threads = [threading.Thread(target=writer, args=(w, count, tag), daemon=True) for w in range(writers)]
        for t in threads:
            t.start()
        return threads

    # Calibrate: 16 processes × 3 appends, to size the run to the time budget on this machine.
    t0 = time.monotonic()
    for t in run_writers(3, "calibrate"):
        t.join()
    rate = 48 / max(time.monotonic() - t0, 1e-3)
    # Readers take a share of the cores; keep 15% headroom.
    affordable = int(append_budget * rate * 0.85 / writers)
    per_writer = max(20, min(wanted_per_writer, affordable))
    if per_writer < wanted_per_writer:
        note(f"concurrency: measured {rate:.0f} appends/s with 16 concurrent appenders on {os.cpu_count()} cores; "
             f"16×{wanted_per_writer} would take ~{writers * wanted_per_writer / rate / 0.85:.0f}s, so this run does "
             f"16 processes × {per_writer} appends (scaled down to fit the time budget)")

    stop = threading.Event()
    reader_obs = [[] for _ in range(2)]  # per reader: dicts
    reader_failures = []

    def reader(r):
        last_size = 0
        for _ in range(20000):
            if stop.is_set():
                break
            t_status = time.monotonic()
            res = docket.run(["status", "--json"], ledger=ledger.path, timeout=60)
            if res.rc != 0:
                reader_failures.append(res.describe())
            else:
                try:
                    size = json.loads(res.stdout)["size"]
                    reader_obs[r].append({"what": "status", "t": t_status, "size": size})
                except Exception as e:
                    reader_failures.append(f"status output not JSON: {e}: {short(res.stdout)}")
            t_cp = time.monotonic()
            res = docket.run(["checkpoint"], ledger=ledger.path, timeout=60)
            if res.rc != 0:
                reader_failures.append(res.describe())
                continue
            text = res.out
            reader_obs[r].append({"what": "checkpoint", "t": t_cp, "text": text})
            try:
                last_size = parse_checkpoint(text).size
            except Exception:
                pass
            since = max(0, last_size - 40)
            res = docket.run(["log", "--json", "--since", since, "--limit", 40], ledger=ledger.path, timeout=60)
            if res.rc != 0:
                reader_failures.append(res.describe())
                continue
            try:
                seen = [(e["index"], e["kind"], e.get("digest")) for e in json.loads(res.stdout)]
                reader_obs[r].append({"what": "log", "entries": seen})
            except Exception as e:
                reader_failures.append(f"log output not JSON: {e}: {short(res.stdout)}")

    readers = [threading.Thread(target=reader, args=(r,), daemon=True) for r in range(2)]
    t1 = time.monotonic()
    for t in readers:
        t.start()
    threads = run_writers(per_writer, "main")
    deadline = t1 + min(append_budget * 2 + 60, max(30.0, budget.left() - 150))  # hard bound on the writers
    for t in threads:
        t.join(timeout=max(1.0, deadline - time.monotonic()))
    hung_writers = sum(t.is_alive() for t in threads)
    stop.set()
    for t in readers:
        t.join(timeout=120)
    with lock:
        snapshot = list(appends)
    n_reads = sum(len(o) for o in reader_obs)
    note(f"concurrency: {len(snapshot)} appends (incl. 48 calibration, {rate:.0f} appends/s measured) by 16 processes "
         f"and {n_reads} reads by 2 readers in {time.monotonic() - t1:.1f}s")

    verified = ledger.verify(timeout=240)
    entries = ledger.full_log()
    ok_appends = [(h, idx) for h, rc, idx, _, _ in snapshot if rc == 0]
    bundle = ledger.export(ledger.dir / "final.bundle")
    lines = bundle.split(b"\n")
    entry_lines = lines[1:-1] if lines[-1] == b"" else lines[1:]
    checkpoints = [o for obs in reader_obs for o in obs if o["what"] == "checkpoint"]
    parsed, unparsable = [], []
    for o in checkpoints:
        try:
            parsed.append((o, parse_checkpoint(o["text"])))
        except Exception as e:
            unparsable.append(f"{e}: {short(o['text'])}")
    final_size = len(entry_lines)
    roots = roots_for_sizes(entry_lines, [cp.size for _, cp in parsed if 0 <= cp.size <= final_size] + [final_size])
    shared["big_ledger"] = ledger
    return SimpleNamespace(ledger=ledger, hung_writers=hung_writers, snapshot=snapshot, n_reads=n_reads,
                           reader_obs=reader_obs, reader_failures=reader_failures, verify=verified, entries=entries,
                           successes=dict(ok_appends), ok_appends=ok_appends, header=json.loads(lines[0]),
                           final_size=final_size, checkpoints=checkpoints, parsed=parsed, unparsable=unparsable,
                           roots=roots)


def reader_sizes(obs):
    """The sizes one reader saw, in order: (observation, size) of its status and checkpoint reads."""
    for o in obs:
        if o["what"] == "status":
            yield o, o["size"]
        elif o["what"] == "checkpoint":
            try:
                yield o, parse_checkpoint(o["text"]).size
            except Exception:
                continue


@slow
class TestConcurrency:
    def test_all_writer_loops_finished_in_time(self, concurrency):
        assert concurrency.hung_writers == 0, f"{concurrency.hung_writers} still running"

    def test_every_concurrent_append_exited_0(self, concurrency):
        failed = [(rc, short(err)) for _, rc, _, _, err in concurrency.snapshot if rc != 0]
        assert not failed, f"{len(failed)} of {len(concurrency.snapshot)} failed: {failed[:3]}"

    def test_every_reader_call_exited_0_with_valid_output(self, concurrency):
        failures = concurrency.reader_failures
        assert not failures, f"{len(failures)} of {concurrency.n_reads} failed: {failures[:3]}"

    def test_no_two_appends_got_the_same_index(self, concurrency):
        indexes = [idx for _, idx in concurrency.ok_appends]
        assert len(set(indexes)) == len(indexes)

    def test_the_ledger_holds_exactly_genesis_enrolment_and_the_appends(self, concurrency):
        assert len(concurrency.entries) == 2 + len(concurrency.ok_appends), \
            f"{len(concurrency.entries)} entries for {len(concurrency.ok_appends)} appends"

    def test_exported_bundle_has_every_entry(self, concurrency):
        c = concurrency
        assert c.final_size == len(c.entries) == c.header.get("size"), \
            f"bundle {c.final_size} lines, header size {c.header.get('size')}, log {len(c.entries)}"

    def test_final_bundles_root_equals_its_signed_checkpoint(self, concurrency):
        assert parse_checkpoint(concurrency.header["checkpoint"]).root == concurrency.roots[concurrency.final_size]

    def test_every_checkpoint_a_reader_saw_parses(self, concurrency):
        assert not concurrency.unparsable, f"{len(concurrency.checkpoints)} checkpoints; {concurrency.unparsable[:2]}"

    def test_every_checkpoint_a_reader_saw_is_a_prefix_of_the_final_log(self, concurrency):
        """Size ≤ final size, and the RFC 6962 root of that many final entries."""
        c = concurrency
        mismatches, too_big = [], []
        for _, cp in c.parsed:
            if cp.size > c.final_size:
                too_big.append(cp.size)
            elif c.roots.get(cp.size) != cp.root or cp.origin != c.ledger.origin:
                mismatches.append((cp.size, base64.b64encode(cp.root).decode()))
        assert not mismatches and not too_big, \
            f"{len(c.parsed)} checkpoints; root mismatch at sizes {mismatches[:5]}; too big: {too_big[:5]}"

    def test_every_checkpoint_a_reader_saw_is_signed_by_the_log_key(self, concurrency):
        bad = [cp.size for _, cp in concurrency.parsed
               if not note_signed_by(cp.body, cp.signatures, concurrency.ledger.verifier_key)]
        assert not bad, f"bad signatures at sizes {bad[:5]}"

    def test_each_readers_sizes_never_go_backwards(self, concurrency):
        """Status and checkpoint sizes, per reader."""
        backwards = []
        for obs in concurrency.reader_obs:
            last = 0
            for _, size in reader_sizes(obs):
                if size < last or size > concurrency.final_size:
                    backwards.append((last, size))
                last = max(last, size)
        assert not backwards, f"{backwards[:5]}"

    def test_every_entry_a_reader_listed_is_the_final_ledgers_entry_at_that_index(self, concurrency):
        final_view = {e["index"]: (e["index"], e["kind"], e.get("digest")) for e in concurrency.entries}
        listed = [seen for obs in concurrency.reader_obs for o in obs if o["what"] == "log" for seen in o["entries"]]
        differ = [seen for seen in listed if final_view.get(seen[0]) != tuple(seen)]
        assert not differ, f"{len(listed)} entries seen; differ: {differ[:3]}"

    def test_reads_never_miss_an_append_that_had_already_returned(self, concurrency):
        """Read-after-write: an append that returned before a read started is visible to that read."""
        done = sorted((t, idx) for _, rc, idx, t, _ in concurrency.snapshot if rc == 0 and idx is not None)
        times = [t for t, _ in done]
        prefix_max, m = [], -1
        for _, idx in done:
            m = max(m, idx)
            prefix_max.append(m)
        stale = []
        for obs in concurrency.reader_obs:
            for o, size in reader_sizes(obs):
                k = bisect.bisect_left(times, o["t"])
                if k > 0 and prefix_max[k - 1] >= size:
                    stale.append((o["what"], size, prefix_max[k - 1]))
        assert not stale, f"stale reads: {stale[:5]}"


# Checks of the ledger after both load sections: one table instead of a copy per section.
LOADS = [pytest.param("crash", id="after-crashes", marks=slow),
         pytest.param("concurrency", id="after-concurrent-appends", marks=slow)]


@pytest.fixture
def load(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("load", LOADS, indirect=True)
class TestLedgerAfterLoad:
    def test_verify_is_clean(self, load):
        ok, detail = load.verify.verified_clean()
        assert ok, detail

    def test_indexes_are_gapless(self, load):
        assert gapless(load.entries), f"{len(load.entries)} entries"

    def test_every_append_reported_successful_is_present_once_at_its_receipts_index(self, load):
        counts = digest_counts(load.entries)
        by_digest = {e.get("digest"): e["index"] for e in load.entries if e.get("digest")}
        wrong = [h for h, idx in load.successes.items()
                 if counts.get("sha256:" + h, 0) != 1 or by_digest.get("sha256:" + h) != idx]
        assert not wrong, f"{len(load.successes)} successes; missing, duplicated or at another index: {wrong[:5]}"


# ---------------------------------------------------------------------------------- 3. bad-input fuzzing


def json_compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


WRONG_VALUES = [None, 0, -1, 1.5, 1e308, True, False, [], {}, "", "x", [1, 2], {"a": 1}, "\u0000", "\ud800", 2 ** 70,
                -(2 ** 63), "é" * 50, ["payload"], [[[[[]]]]], "two\nlines", "\u001b[2J\u001b[31mred"]


def mutate_bytes(rng, data):
    b = bytearray(data)
    choice = rng.randrange(9)
    if choice == 0:
        n = rng.choice([1, 1, 1, 2, 3, 8])
        for _ in range(n):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return f"flip {n} bit(s)", bytes(b)
    if choice == 1:
        cut = rng.randrange(len(b))
        return f"truncate at {cut}", bytes(b[:cut])
    if choice == 2:
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256)
        return f"random byte at {i}", bytes(b)
    if choice == 3:
        i = rng.randrange(len(b) + 1)
        junk = rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x00", b"\xf8\x88\x80\x80\x80", b"\xe2\x82", b"\x80"])
        return f"invalid UTF-8 {junk!r} at {i}", bytes(b[:i] + junk + b[i:])
    if choice == 4:
        i, j = sorted(rng.randrange(len(b) + 1) for _ in range(2))
        return f"delete [{i}:{j}]", bytes(b[:i] + b[j:])
    if choice == 5:
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randrange(1, 64))
        return f"duplicate [{i}:{j}]", bytes(b[:j] + b[i:j] + b[j:])
    if choice == 6:
        i = rng.randrange(len(b) + 1)
        junk = rng.choice([b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\", b"\\u", b"\\ud800", b"null", b"1e999", b"-", b" "])
        return f"insert {junk!r} at {i}", bytes(b[:i] + junk + b[i:])
    if choice == 7:
        return "trailing garbage", bytes(b) + rng.choice([b"x", b"{}", b"\x00", b"\n\n\n", b"]", b",{}"])
    return "leading BOM/whitespace", rng.choice([b"\xef\xbb\xbf", b" \n\t", b"\xfe\xff", b"\x00"]) + bytes(b)


def mutate_envelope_json(rng, data):
    env = json.loads(data)
    fields = ["payloadType", "payload", "signatures"]
    choice = rng.randrange(12)
    if choice == 0:
        f = rng.choice(fields)
        v = rng.choice(WRONG_VALUES)
        env[f] = v
        return f"{f} = {short(json.dumps(v), 40)}", json_compact(env)
    if choice == 1:
        f = rng.choice(fields)
        del env[f]
        return f"remove {f}", json_compact(env)
    if choice == 2:
        f = rng.choice(["keyid", "sig"])
        v = rng.choice(WRONG_VALUES)
        env["signatures"][0][f] = v
        return f"signatures[0].{f} = {short(json.dumps(v), 40)}", json_compact(env)
    if choice == 3:
        env["signatures"] = rng.choice([[], env["signatures"] * 2, env["signatures"] * 1000, [None], ["sig"], {"0": 1}])
        return f"signatures × {len(env['signatures']) if isinstance(env['signatures'], list) else 'object'}", json_compact(env)
    if choice == 4:
        f = rng.choice(fields + ["extra"])
        size = rng.choice([100_000, 200_000, 262_000, 270_000])
        env[f] = "A" * size
        return f"huge {f} ({size} chars)", json_compact(env)
    if choice == 5:
        # Duplicated keys: the same key twice with different values, either order.
        text = json_compact(env).decode()
        key = rng.choice(fields)
        other = json.dumps(rng.choice(["AAAA", "application/json", "", 7, None, []]))
        dup = f'"{key}":{other},'
        text = "{" + dup + text[1:] if rng.random() < 0.5 else text[:-1] + "," + dup[:-1] + "}"
        return f"duplicated key {key}", text.encode()
    if choice == 6:
        payload = base64.b64decode(env["payload"])
        bad = bytearray(payload)
        if bad:
            i = rng.randrange(len(bad))
            bad[i] ^= 1 << rng.randrange(8)
        env["payload"] = base64.b64encode(bytes(bad)).decode()
        return "bit flip inside the decoded payload", json_compact(env)
    if choice == 7:
        inner = rng.choice([b"", b"null", b"[]", b"{}", b"\"str\"", b"\xff\xfe", b"[" * 90000,
                            b"{\"a\":" * 40000, b"1e999", b"{\"_type\":1}"])
        env["payload"] = base64.b64encode(inner).decode()
        return f"payload = base64({short(inner, 20)!s})", json_compact(env)
    if choice == 8:
        env["payload"] = rng.choice(["!!!!", "A", "AB=", "====", "A===", env["payload"] + "*", env["payload"][:-1],
                                     env["payload"].replace("+", "-").replace("/", "_").rstrip("=")])
        return "odd base64 payload", json_compact(env)
    if choice == 9:
        env["payloadType"] = rng.choice(["application/vnd.in-toto+json ", "APPLICATION/VND.IN-TOTO+JSON",
                                         "application/vnd.in-toto+json\u0000", "text/plain", "\u00e9" * 1000,
                                         "text/plain\nsecond line", "\u001b[2J\u001b[31mred"])
        return "payloadType variant", json_compact(env)
    if choice == 10:
        text = json.dumps(env, ensure_ascii=False).encode()
        return "non-compact JSON with UTF-16 encoding", text.decode().encode(rng.choice(["utf-16", "utf-32"]))
    sig = base64.b64decode(env["signatures"][0]["sig"])
    s = bytearray(sig)
    s[rng.randrange(len(s))] ^= 1 << rng.randrange(8)
    env["signatures"][0]["sig"] = base64.b64encode(bytes(s)).decode()
    return "signature bit flip (payload intact)", json_compact(env)


def statement_mutation(rng, statement):
    """A mutated statement's payload bytes (signed afterwards with the enrolled ci key)."""
    st = copy.deepcopy(statement)
    choice = rng.randrange(12)
    paths = [("_type",), ("predicateType",), ("subject",), ("predicate",), ("predicate", "ledger"), ("predicate", "nonce"),
             ("predicate", "time"), ("subject", 0, "name"), ("subject", 0, "digest"), ("subject", 0, "digest", "sha256")]
    if choice <= 2:
        path = rng.choice(paths)
        v = rng.choice(WRONG_VALUES + ["A" * 150_000])
        obj = st
        for p in path[:-1]:
            obj = obj[p]
        obj[path[-1]] = v
        return f"{'.'.join(map(str, path))} = {short(json.dumps(v), 40)}", json_compact(st)
    if choice == 3:
        path = rng.choice(paths)
        obj = st
        for p in path[:-1]:
            obj = obj[p]
        del obj[path[-1]]
        return f"remove {'.'.join(map(str, path))}", json_compact(st)
    if choice == 4:
        st["subject"] = rng.choice([[], st["subject"] * 2, [{"name": "x", "digest": {"sha512": "ab"}}],
                                    [{"name": "", "digest": {"sha256": "0" * 64}}],
                                    [{"name": "x", "digest": {"sha256": "A" * 64}}],
                                    [{"name": "x", "digest": {"sha256": "0" * 63}}],
                                    [{"name": "x" * 100_000, "digest": {"sha256": "0" * 64}}]])
        return "subject variant", json_compact(st)
    if choice == 5:
        kind = rng.choice(["initialized", "key-enrolled", "key-revoked", "policy", "deployed", "check", "incident",
                           "approved", "withdrawn", "promoted", "rolled-back", "unknown", "built/../deployed", ""])
        st["predicateType"] = f"https://docket.dev/{kind}/v1"
        return f"predicateType kind {kind!r} with a built predicate", json_compact(st)
    if choice == 6:
        st["predicate"][rng.choice(["tags", "builder", "buildId", "sourceRepo", "sourceRevision", "environment", "unknownField"])] = \
            rng.choice([["v1"] * 5000, ["bad tag!"], ["-x"], ["x" * 129], "x" * 100_000, 5, None, {"a": [1]}, ["é"], [""]])
        return "predicate field variant", json_compact(st)
    if choice == 7:
        st["predicate"]["ledger"] = rng.choice(["example.com/other", "", "example.com/app ", "EXAMPLE.COM/APP"])
        return "foreign origin", json_compact(st)
    if choice == 8:
        depth = rng.choice([1000, 20000, 60000])
        text = json_compact(st).decode()
        return f"predicate.builder nested {depth} deep", text.replace('"predicate":{', '"predicate":{"builder":' + "[" * depth + "]" * depth + ",", 1).encode()
    if choice == 9:
        text = json_compact(st).decode()
        key = rng.choice(['"predicateType":', '"predicate":', '"subject":', '"ledger":', '"sha256":'])
        i = text.find(key)
        if key == '"ledger":':
            dup = '"ledger":"example.com/other",'
        elif key == '"sha256":':
            dup = '"sha256":"' + "1" * 64 + '",'
        elif key == '"predicateType":':
            dup = '"predicateType":"https://docket.dev/promoted/v1",'
        else:
            dup = key + "null,"
        return f"duplicated key {key}", (text[:i] + dup + text[i:]).encode()
    if choice == 10:
        raw = bytearray(json_compact(st))
        i = rng.randrange(len(raw))
        raw[i:i] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\\ud800"])
        return "invalid UTF-8 in the payload", bytes(raw)
    raw = json_compact(st)
    return "payload variant", rng.choice([raw + b" x", b"\xef\xbb\xbf" + raw, raw.replace(b"}", b",}", 1), raw + raw,
                                          raw.replace(b'"time":', b'"time":NaN,"t":', 1), raw.replace(b"{", b"[", 1)])


def mutate_bundle(rng, data):
    lines = data.split(b"\n")[:-1]
    header = json.loads(lines[0])
    choice = rng.randrange(12)
    if choice <= 2:
        return mutate_bytes(rng, data)
    if choice == 3:
        i, j = rng.randrange(1, len(lines)), rng.randrange(1, len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return f"swap lines {i + 1} and {j + 1}", b"\n".join(lines) + b"\n"
    if choice == 4:
        i = rng.randrange(1, len(lines))
        if rng.random() < 0.5:
            del lines[i]
            return f"drop line {i + 1}", b"\n".join(lines) + b"\n"
        lines.insert(i, lines[i])
        return f"duplicate line {i + 1}", b"\n".join(lines) + b"\n"
    if choice == 5:
        f = rng.choice(list(header.keys()) + ["witnessed", "extra"])
        v = rng.choice(WRONG_VALUES + [2 ** 63, -5, 10 ** 12, "A" * 300_000, ["x"] * 10, [header.get("checkpoint", "")] * 3])
        header[f] = v
        lines[0] = json_compact(header)
        return f"header {f} = {short(json.dumps(v), 40)}", b"\n".join(lines) + b"\n"
    if choice == 6:
        f = rng.choice(list(header.keys()))
        del header[f]
        lines[0] = json_compact(header)
        return f"header without {f}", b"\n".join(lines) + b"\n"
    if choice == 7:
        i = rng.randrange(1, len(lines))
        label, lines[i] = mutate_bytes(rng, lines[i])
        return f"line {i + 1}: {label}", b"\n".join(lines) + b"\n"
    if choice == 8:
        i = rng.randrange(1, len(lines))
        entry = json.loads(lines[i])
        f = rng.choice(["index", "integratedTime", "envelope"])
        entry[f] = rng.choice(WRONG_VALUES + [entry.get("index", 0) + 1, "1970-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z"])
        lines[i] = json_compact(entry)
        return f"line {i + 1}: {f} changed", b"\n".join(lines) + b"\n"
    if choice == 9:
        i = rng.randrange(1, len(lines) + 1)
        lines.insert(i, rng.choice([b"[" * 100_000 + b"]" * 100_000, b"{}", b"", b"null", b"A" * 300_000, b'{"index":' * 50_000]))
        return f"junk line inserted at {i + 1}", b"\n".join(lines) + b"\n"
    if choice == 10:
        return rng.choice([("CRLF line endings", data.replace(b"\n", b"\r\n")), ("no final newline", data[:-1]),
                           ("header only", lines[0] + b"\n"), ("empty file", b""), ("blank lines", data + b"\n\n"),
                           ("entries only", b"\n".join(lines[1:]) + b"\n")])
    cp = header["checkpoint"].split("\n")
    k = rng.randrange(len(cp))
    cp[k] = rng.choice(["", "x", cp[k] + "x", "99999999999999999999", "-1", "\u2014 example.com/app AAAA"])
    header["checkpoint"] = "\n".join(cp)
    lines[0] = json_compact(header)
    return f"checkpoint line {k} altered", b"\n".join(lines) + b"\n"


def write_big(path, kind, size=100 * 1024 * 1024):
    with open(path, "wb") as f:
        if kind == "zeros":
            f.truncate(size)  # sparse: instant
        else:
            f.write(b'"')
            chunk = b"a" * (1 << 20)
            for _ in range(size // len(chunk) - 1):
                f.write(chunk)
            f.write(b"a" * (size - 2 - (size // len(chunk) - 1) * len(chunk)))
            f.write(b'"')


def envelope_readings(data):
    """The ways a JSON reader could take these bytes: with duplicated keys, first-wins and last-wins."""
    out = []
    for pick in ("first", "last"):
        def hook(pairs, pick=pick):
            obj = {}
            for k, v in pairs:
                if pick == "last" or k not in obj:
                    obj[k] = v
            return obj
        for text in (data, data.decode("utf-8", "replace")):  # bytes: UTF-8/16/32 detected as JSON allows
            try:
                obj = json.loads(text, object_pairs_hook=hook)
                if isinstance(obj, dict):
                    out.append(obj)
                break
            except Exception:
                pass
    return out


BUNDLE_HEADER_FIELDS = ("format", "origin", "logKey", "checkpoint", "size")


def bundle_equivalent(data, header, lines):
    """(same meaning, only advisory header fields changed): an altered bundle that still says the same thing
    may verify clean. Unknown header fields mean nothing to a verifier, and `witnessed` cosignatures are only
    examined for witnesses pinned with --witness (none here), so changing either does not count."""
    got = data.split(b"\n")
    if got and got[-1] == b"":
        got = got[:-1]
    if len(got) != len(lines) or got[1:] != lines[1:]:
        return False, False
    try:
        h = json.loads(got[0])
    except Exception:
        return False, False
    if not isinstance(h, dict):
        return False, False
    same = all(h.get(k) == header.get(k) for k in BUNDLE_HEADER_FIELDS) and all((k in h) == (k in header) for k in BUNDLE_HEADER_FIELDS)
    witnessed_ok = h.get("witnessed") is None or (isinstance(h["witnessed"], list) and all(isinstance(x, str) for x in h["witnessed"]))
    same = same and witnessed_ok
    return same, same and h != header


@pytest.fixture(scope="module")
def fuzz_base(docket, ledger_factory, budget):
    """The fuzzing ledger and its mutation bases: seed envelopes of several kinds, signed with --out, then
    appended (a mutation that is still the same envelope is then a duplicate and cannot change the ledger),
    and the exported bundle."""
    budget.require("bad-input fuzzing")
    ledger = ledger_factory("fuzz")
    seeds, refused = [], []
    seed_specs = [
        ["record", "built", f"fuzz/app@sha256:{new_hex('s1')}", "--tag", "v1", "--tag", "latest", "--source-repo",
         "https://git.example/app", "--source-revision", "abc123", "--builder", "ci", "--build-id", "42"],
        ["record", "deployed", f"fuzz/app@sha256:{new_hex('s2')}", "--env", "staging", "--deployment", "d-1"],
        ["record", "check", f"fuzz/app@sha256:{new_hex('s3')}", "--check", "scan", "--result", "pass"],
        ["record", "incident", f"fuzz/app@sha256:{new_hex('s4')}", "--env", "staging", "--id", "INC-1", "--state", "open",
         "--summary", "fuzz"],
    ]
    for k, spec in enumerate(seed_specs):
        out = ledger.dir / f"seed-{k}.json"
        res = docket.run(spec + ["--key", ledger.ci_key, "--out", out, "--origin", ledger.origin], ledger=ledger.path)
        if res.rc != 0:
            refused.append(f"seed {spec[1]} could not be signed: {res.describe()}")
            continue
        sub = docket.run(["submit", out, "--json"], ledger=ledger.path)
        if sub.rc != 0:
            refused.append(f"seed {spec[1]} refused, kept as a mutation base anyway: {sub.describe()}")
        seeds.append(out.read_bytes())
    if not seeds:
        pytest.fail("no seed envelope could be made: " + "; ".join(refused), pytrace=False)
    bundle = ledger.export(ledger.dir / "base.bundle")
    ledger.checkpoint()
    known = set()
    for seed in seeds:
        e = json.loads(seed)
        known.add((e["payloadType"], any_b64(e["payload"]), any_b64(e["signatures"][0]["sig"])))
    return SimpleNamespace(ledger=ledger, seeds=seeds, refused=refused, bundle=bundle, known=known,
                           b_lines=bundle.split(b"\n")[:-1], b_header=json.loads(bundle.split(b"\n")[0]))


class Campaign:
    """Feeds inputs to `submit` (envelopes) and `verify --bundle` (bundles) on the fuzzing ledger and records
    every finding; the ledger must not change (bytes and log) and no temporary file may be left behind."""

    def __init__(self, docket, base, name):
        self.d, self.base, self.name = docket, base, name
        self.ledger = base.ledger
        self.folder = self.ledger.dir / name
        self.inputs = self.folder / "inputs"
        self.failures = self.folder / "failures"
        self.inputs.mkdir(parents=True)
        self.failures.mkdir()
        self.saved = 0
        self.stats = {k: [] for k in ("signal", "hang", "exit", "message", "changed", "forged")}
        self.bstats = {k: [] for k in ("signal", "hang", "exit", "message", "accepted", "changed")}
        self.signed_stats = {k: [] for k in ("signal", "hang", "exit", "message")}
        self.counts = {"envelopes": 0, "accepted-duplicates": 0, "signed": 0, "signed-accepted": 0, "bundles": 0,
                       "extra-header-fields": 0}
        self.results = {}
        self.tmp_dir = docket.work / "tmp"
        self.leftovers_before = set(os.listdir(self.tmp_dir))
        settle(self.ledger.path)
        self.fp0 = file_fingerprint(self.ledger.path)
        self.logical0 = (self.ledger.checkpoint(), json.dumps(self.ledger.full_log()))

    def save(self, label, data):
        self.saved += 1
        p = self.failures / f"{self.saved:04d}.bin"
        p.write_bytes(data)
        return f"{label!r} (input saved as {p})"

    def authentic(self, envelope):
        """True when the envelope carries a payload signed by the ci key: byte for byte one of the seeds, or its
        signature really verifies."""
        try:
            sigs = envelope["signatures"]
            sig = any_b64(sigs[0]["sig"]) if isinstance(sigs, list) else None
            if len(sigs) == 1 and (envelope["payloadType"], any_b64(envelope["payload"]), sig) in self.base.known:
                return True
        except Exception:
            return False
        return envelope_signed_by(envelope, bytes(self.ledger.ci_signer.verify_key))

    def feed_envelope(self, label, data=None, path=None, forged=False):
        if path is None:
            path = self.inputs / "envelope.json"
            path.write_bytes(data)
        res = self.d.run(["submit", path, "--json"], ledger=self.ledger.path)
        self.counts["envelopes"] += 1
        blob = data if data is not None else b"(file " + str(path).encode() + b")"
        if res.timed_out:
            self.stats["hang"].append(self.save(label, blob))
        elif res.signalled:
            self.stats["signal"].append(f"{self.save(label, blob)}: {res.describe()}")
        elif res.rc == 0:
            receipts = []
            try:
                receipts = json.loads(res.stdout)
            except Exception:
                pass
            # forged: known without any crypto, a signature whose R half was altered never verifies
            authentic = not forged and any(self.authentic(env) for env in envelope_readings(data or b""))
            if receipts and all(r.get("duplicate") for r in receipts) and authentic:
                self.counts["accepted-duplicates"] += 1
            elif receipts and all(r.get("duplicate") for r in receipts):
                self.stats["forged"].append(f"{self.save(label, blob)}: exit 0, receipt {short(res.stdout, 160)}")
            else:
                self.stats["exit"].append(f"{self.save(label, blob)}: exit 0 appended: {short(res.stdout, 200)}")
        elif res.rc not in (1, 2):
            self.stats["exit"].append(f"{self.save(label, blob)}: {res.describe()}")
        elif not res.one_line_error():
            self.stats["message"].append(f"{self.save(label, blob)}: stderr {short(res.err)!r}")
        if not self.stats["changed"] and file_fingerprint(self.ledger.path) != self.fp0:
            self.stats["changed"].append(f"first change after {self.save(label, blob)} ({res.describe()})")
        return res

    def feed_bundle(self, label, data=None, path=None):
        if path is None:
            path = self.inputs / "bundle.jsonl"
            path.write_bytes(data)
        res = self.d.run(["verify", "--bundle", path, "--json"], ledger=self.ledger.path)
        self.counts["bundles"] += 1
        blob = data if data is not None else b"(file " + str(path).encode() + b")"
        if res.timed_out:
            self.bstats["hang"].append(self.save(label, blob))
        elif res.signalled:
            self.bstats["signal"].append(f"{self.save(label, blob)}: {res.describe()}")
        elif res.rc == 0:
            same, extra_only = bundle_equivalent(data, self.base.b_header, self.base.b_lines) if data is not None \
                else (False, False)
            if not same:
                self.bstats["accepted"].append(f"{self.save(label, blob)}: verified clean")
            elif extra_only:
                self.counts["extra-header-fields"] += 1
        elif res.rc == 1:
            try:
                report = json.loads(res.stdout)
                good = report.get("ok") is False and report.get("problems") and (not res.stderr or res.one_line_error())
            except Exception:
                good = False
            if not good:
                self.bstats["message"].append(f"{self.save(label, blob)}: exit 1 without a report: "
                                              f"{short(res.stdout, 120)} / {short(res.stderr, 120)}")
        elif res.rc == 2:
            if not res.one_line_error():
                self.bstats["message"].append(f"{self.save(label, blob)}: stderr {short(res.err)!r}")
        else:
            self.bstats["exit"].append(f"{self.save(label, blob)}: {res.describe()}")
        if not self.bstats["changed"] and file_fingerprint(self.ledger.path) != self.fp0:
            self.bstats["changed"].append(f"after {self.save(label, blob)}")
        return res

    def finish(self, note):
        with open(self.failures / "index.txt", "w") as f:  # every finding, one per line, for whoever debugs it
            for group, found in (("submit", self.stats), ("re-signed", self.signed_stats), ("bundle", self.bstats)):
                for kind, items in found.items():
                    for item in items:
                        f.write(f"{group} {kind}: {item}\n")
        self.fp1 = file_fingerprint(self.ledger.path)
        self.logical1 = (self.ledger.checkpoint(), json.dumps(self.ledger.full_log()))
        self.leftovers = sorted(set(os.listdir(self.tmp_dir)) - self.leftovers_before)
        for p in self.leftovers:
            shutil.rmtree(self.tmp_dir / p, ignore_errors=True)
        if self.counts["accepted-duplicates"]:
            note(f"fuzzing ({self.name}): {self.counts['accepted-duplicates']} mutated envelopes still carried the "
                 "original payload and a valid signature: answered as duplicates (exit 0, nothing appended), as documented")
        if self.counts["extra-header-fields"]:
            note(f"fuzzing ({self.name}): {self.counts['extra-header-fields']} bundle(s) whose header only gained an "
                 "unknown field or changed `witnessed` verified clean: entries and checkpoint intact, cosignatures are "
                 "only checked for --witness keys (none given), though schemas/bundle-header.schema.json says "
                 "additionalProperties: false")
        return self


@pytest.fixture(scope="module")
def special_campaign(docket, fuzz_base, note):
    """Special inputs, once each: odd JSON, deep nesting, size limits, forged signatures, files that are not
    files, 100 MB inputs."""
    c = Campaign(docket, fuzz_base, "special")
    for text in fuzz_base.refused:
        note("fuzzing: " + text)
    seeds = fuzz_base.seeds
    specials = [
        ("empty file", b""), ("null", b"null"), ("array", b"[]"), ("string", b'"x"'), ("number", b"1e999"),
        ("100000-deep [[[...]]]", b"[" * 100_000 + b"]" * 100_000),
        ("100000-deep {\"a\":...", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("100000 unclosed [", b"[" * 100_000),
        ("256 KiB exactly of spaces then {}", b" " * (256 * 1024 - 2) + b"{}"),
        ("256 KiB + 1", b" " * (256 * 1024 - 1) + b"{}"),
        ("NUL bytes", b"\x00" * 1000),
        ("invalid UTF-8 only", b"\xff\xfe\xfd" * 100),
        ("payloadType with a newline and a terminal escape",
         json_compact({**json.loads(seeds[0]), "payloadType": "text/plain\n\u001b[2Jsecond line"})),
    ]
    for label, data in specials:
        c.feed_envelope(label, data)
    for k, seed in enumerate(seeds):  # an appended envelope with one bit of its signature's R flipped
        e = json.loads(seed)
        sig = bytearray(base64.b64decode(e["signatures"][0]["sig"]))
        sig[k % 32] ^= 0x01
        e["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
        c.feed_envelope(f"seed envelope {k} with one signature bit flipped", json_compact(e), forged=True)
    deep_payload = c.ledger.sign_statement_bytes(b"[" * 90_000 + b"]" * 90_000)
    if len(deep_payload) > 256 * 1024:
        deep_payload = c.ledger.sign_statement_bytes(b"[" * 70_000 + b"]" * 70_000)
    c.feed_envelope("signed payload nested 70000+ deep", deep_payload)
    for label, path in (("a directory", c.ledger.dir), ("a missing file", c.ledger.dir / "nope.json"),
                        ("/dev/zero", Path("/dev/zero"))):
        if label != "/dev/zero" or os.path.exists("/dev/zero"):
            c.feed_envelope(label, path=path)
    for kind in ("zeros", "json-string"):
        big = c.inputs / f"big-{kind}.bin"
        t = time.monotonic()
        write_big(big, kind)
        made = time.monotonic() - t
        c.results[("big-envelope", kind)] = (c.feed_envelope(f"100 MB {kind}", path=big), made)
        big.unlink()

    b_header, b_lines = fuzz_base.b_header, fuzz_base.b_lines
    c.results["unmodified-bundle"] = c.feed_bundle("the unmodified bundle", fuzz_base.bundle)
    for label, data in (("header format with a newline and a terminal escape",
                         json_compact({**b_header, "format": "x\n\u001b[2Jy"}) + b"\n" + b"\n".join(b_lines[1:]) + b"\n"),
                        ("100000-deep header", b"[" * 100_000 + b"]" * 100_000 + b"\n"),
                        ("100000-deep entry line", b_lines[0] + b"\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n"),
                        ("header + 2000 junk lines", b_lines[0] + b"\n" + b"{}\n" * 2000),
                        ("header claiming 2^62 entries",
                         json_compact({**b_header, "size": 2 ** 62}) + b"\n" + b"\n".join(b_lines[1:]) + b"\n")):
        c.feed_bundle(label, data)
    for kind in ("zeros", "json-string"):
        big = c.inputs / f"big-bundle-{kind}.bin"
        write_big(big, kind)
        c.results[("big-bundle", kind)] = c.feed_bundle(f"100 MB {kind} bundle", path=big)
        big.unlink()
    return c.finish(note)


@pytest.fixture(scope="module")
def random_campaign(docket, fuzz_base, budget, seed, note):
    """Random mutations of the seed envelopes (raw bytes and JSON-aware), statements re-signed with the enrolled
    ci key (on a scratch copy of the ledger: a well-formed one may legitimately be appended there), and mutated
    bundles; bounded in count (1500, 400, 300) and together in time."""
    budget.require("bad-input fuzzing")
    rng = random.Random(f"{seed}:fuzz")
    c = Campaign(docket, fuzz_base, "random")
    ledger = c.ledger
    budget_start = time.monotonic()
    time_budget = min(165.0, max(30.0, budget.left() - 75))
    n_env, n_signed, n_bundle = 1500, 400, 300

    t_env = time.monotonic()
    for i in range(n_env):
        if time.monotonic() - budget_start > time_budget * 0.55:
            note(f"fuzzing: envelope mutations stopped at {i} of {n_env} (time budget)")
            break
        seed_envelope = rng.choice(fuzz_base.seeds)
        label, data = (mutate_bytes if rng.random() < 0.45 else mutate_envelope_json)(rng, seed_envelope)
        c.feed_envelope(label, data)
    env_elapsed = time.monotonic() - t_env

    scratch = ledger.dir / "scratch"
    scratch.mkdir()
    src = sqlite3.connect(f"file:{ledger.path}?mode=ro", uri=True)
    dst = sqlite3.connect(str(scratch / "ledger.db"))
    src.backup(dst)
    src.close()
    dst.close()
    shutil.copy2(str(ledger.path) + ".logkey", scratch / "ledger.db.logkey")
    os.chmod(scratch / "ledger.db.logkey", 0o600)
    sp = c.inputs / "signed.json"
    for i in range(n_signed):
        if time.monotonic() - budget_start > time_budget * 0.75:
            note(f"fuzzing: signed mutations stopped at {i} of {n_signed} (time budget)")
            break
        label, payload = statement_mutation(rng, ledger.built_statement(new_hex(f"signed-{i}")))
        data = ledger.sign_statement_bytes(payload)
        sp.write_bytes(data)
        res = docket.run(["submit", sp, "--json"], ledger=scratch / "ledger.db")
        c.counts["signed"] += 1
        if res.timed_out:
            c.signed_stats["hang"].append(c.save(label, data))
        elif res.signalled:
            c.signed_stats["signal"].append(f"{c.save(label, data)}: {res.describe()}")
        elif res.rc == 0:
            c.counts["signed-accepted"] += 1
        elif res.rc not in (1, 2):
            c.signed_stats["exit"].append(f"{c.save(label, data)}: {res.describe()}")
        elif not res.one_line_error():
            c.signed_stats["message"].append(f"{c.save(label, data)}: stderr {short(res.err)!r}")
    c.results["scratch-verify"] = docket.run(["verify", "--json"], ledger=scratch / "ledger.db", timeout=60)
    c.results["scratch-log"] = docket.run(["log", "--json", "--limit", 100000], ledger=scratch / "ledger.db", timeout=60)
    c.results["scratch-status"] = docket.run(["status", "--json"], ledger=scratch / "ledger.db", timeout=60)

    t_b = time.monotonic()
    for i in range(n_bundle):
        if time.monotonic() - budget_start > time_budget:
            note(f"fuzzing: bundle mutations stopped at {i} of {n_bundle} (time budget)")
            break
        label, data = mutate_bundle(rng, fuzz_base.bundle)
        c.feed_bundle(label, data)
    note(f"fuzzing: {c.counts['envelopes']} mutated envelopes ({env_elapsed:.1f}s), {c.counts['signed']} re-signed "
         f"statement mutations ({c.counts['signed-accepted']} well-formed enough to be appended to the scratch "
         f"ledger), {c.counts['bundles']} mutated bundles ({time.monotonic() - t_b:.1f}s)")
    return c.finish(note)


class TestFuzzSpecialInputs:
    @pytest.mark.parametrize("kind", ["zeros", "json-string"])
    def test_100_mb_envelope_is_refused_cleanly_in_under_2_s(self, special_campaign, kind):
        res, made = special_campaign.results[("big-envelope", kind)]
        assert res.clean_refusal() and res.elapsed < 2.0, \
            f"exit {res.rc} in {res.elapsed:.2f}s (file made in {made:.2f}s): {short(res.err, 160)}"

    def test_the_unmodified_exported_bundle_verifies_clean(self, special_campaign):
        res = special_campaign.results["unmodified-bundle"]
        assert res.rc == 0, res.describe()

    @pytest.mark.parametrize("kind", ["zeros", "json-string"])
    def test_100_mb_bundle_is_rejected_cleanly_within_the_timeout(self, special_campaign, kind):
        res = special_campaign.results[("big-bundle", kind)]
        assert not res.timed_out and not res.signalled and res.rc in (1, 2), f"exit {res.rc} in {res.elapsed:.2f}s"


CAMPAIGNS = [pytest.param("special_campaign", id="special-inputs"),
             pytest.param("random_campaign", id="random-mutations", marks=slow)]


@pytest.fixture
def campaign(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("campaign", CAMPAIGNS, indirect=True)
class TestFuzzing:
    @pytest.mark.parametrize("kind, what", [
        pytest.param("signal", "no death by signal", id="no-signal"),
        pytest.param("hang", f"no hang (each < {CALL_TIMEOUT:.0f}s)", id="no-hang"),
        pytest.param("exit", "exit code 1 or 2 for every bad input", id="exit-1-or-2"),
        pytest.param("message", "exactly one `docket: …` line on stderr for each refusal", id="one-line-error"),
        pytest.param("forged", "an envelope whose signature does not verify is never answered with success",
                     id="forged-never-success"),
    ])
    def test_submit(self, campaign, kind, what):
        assert not campaign.stats[kind], f"submit: {what}: {issues(campaign.stats[kind])}"

    @pytest.mark.parametrize("kinds, what", [
        pytest.param(["signal"], "no death by signal", id="no-signal"),
        pytest.param(["hang"], f"no hang (each < {CALL_TIMEOUT:.0f}s)", id="no-hang"),
        pytest.param(["exit", "accepted"], "exit 1 (report) or 2 (one-line error) for every altered bundle",
                     id="exit-1-or-2"),
        pytest.param(["message"], "a problem report or one `docket: …` line each time", id="report-or-one-line"),
    ])
    def test_verify_bundle(self, campaign, kinds, what):
        found = [item for kind in kinds for item in campaign.bstats[kind]]
        assert not found, f"verify --bundle: {what}: {issues(found)}"

    def test_ledger_unchanged_byte_for_byte_after_every_input(self, campaign):
        """sha256 of ledger.db + ledger.db-wal."""
        changed = campaign.stats["changed"] + campaign.bstats["changed"]
        assert not changed and campaign.fp1 == campaign.fp0, "; ".join(changed) or "fingerprint changed"

    def test_ledger_unchanged_logically(self, campaign):
        """Checkpoint and full log."""
        assert campaign.logical0 == campaign.logical1

    def test_no_temporary_files_left_behind_in_tmpdir(self, campaign):
        assert not campaign.leftovers, f"{campaign.leftovers[:5]}"


@slow
class TestFuzzResignedStatements:
    @pytest.mark.parametrize("kind, what", [
        pytest.param("signal", "no death by signal", id="no-signal"),
        pytest.param("hang", "no hang", id="no-hang"),
        pytest.param("exit", "exit code 0, 1 or 2", id="exit-0-1-or-2"),
        pytest.param("message", "one `docket: …` line per refusal", id="one-line-error"),
    ])
    def test_submit(self, random_campaign, kind, what):
        assert not random_campaign.signed_stats[kind], f"{what}: {issues(random_campaign.signed_stats[kind])}"

    def test_scratch_ledger_still_verifies_clean_after_the_accepted_ones(self, random_campaign):
        ok, detail = random_campaign.results["scratch-verify"].verified_clean()
        assert ok, f"{random_campaign.counts['signed-accepted']} accepted; {detail}"

    def test_log_and_status_still_work_on_the_scratch_ledger(self, random_campaign):
        log, status = random_campaign.results["scratch-log"], random_campaign.results["scratch-status"]
        assert log.rc == 0 and status.rc == 0, f"log {log.describe()}; status {status.describe()}"


# ------------------------------------------------------------------------------- 4. disk and file faults


@pytest.fixture(scope="module")
def faults(ledger_factory, budget):
    budget.require("disk and file faults")
    ledger = ledger_factory("faults/main")
    for i in range(5):
        ledger.record_built(new_hex(f"faults-{i}"))

    def snapshot():
        """(sha256 of ledger.db + -wal after emptying the WAL, checkpoint + full log) before a fault."""
        settle(ledger.path)
        return file_fingerprint(ledger.path), (ledger.checkpoint(), json.dumps(ledger.full_log()))

    def unchanged_and_clean(before):
        """(ok, detail): the ledger's bytes and log are as before the fault, and it verifies clean."""
        fp_after = file_fingerprint(ledger.path)
        logical_same = (ledger.checkpoint(), json.dumps(ledger.full_log())) == before[1]
        ok, detail = ledger.verify().verified_clean()
        return (fp_after == before[0] and logical_same and ok,
                ("bytes unchanged" if fp_after == before[0] else "ledger.db/-wal bytes CHANGED")
                + ("" if logical_same else ", checkpoint/log CHANGED") + f"; verify: {detail}")

    return SimpleNamespace(ledger=ledger, base=ledger.dir.parent, is_root=os.geteuid() == 0, snapshot=snapshot,
                           unchanged_and_clean=unchanged_and_clean)


READONLY_METHODS = [
    pytest.param("nobody", id="chmod-444-run-as-uid-65534"),
    pytest.param("chattr", id="chattr-immutable"),
    pytest.param("bind-mount", id="read-only-bind-mount"),
    pytest.param("chmod", id="chmod-444-ledger-555-folder"),
]


@pytest.fixture(scope="module")
def readonly(docket, faults):
    """{method: outcome, or the reason it could not run here}: an append and a `status` against a ledger made
    read-only each way, judged after the fault is lifted. Root ignores file modes, so as root a chmod 444 test
    runs the binary as `nobody`, and chattr +i and a read-only bind mount (in a private mount namespace) stop root
    too; without root the ledger is chmod 444 in a 555 folder."""
    ledger, base = faults.ledger, faults.base
    outcomes = {}

    def attempt(prefix=None, preexec_fn=None, key=None):
        h = new_hex("ro")
        res = docket.run(["record", "built", f"ro/app@sha256:{h}", "--key", key or ledger.ci_key], ledger=ledger.path,
                         prefix=prefix, preexec_fn=preexec_fn)
        st = docket.run(["status"], ledger=ledger.path, prefix=prefix, preexec_fn=preexec_fn)
        return res, st

    def judge(method, label, res, st, before, restore):
        restore()
        outcomes[method] = SimpleNamespace(label=label, res=res, status=st, unchanged=faults.unchanged_and_clean(before))

    files = [Path(str(ledger.path) + s) for s in ("", "-wal", "-shm")]
    if not faults.is_root:
        for method in ("nobody", "chattr", "bind-mount"):
            outcomes[method] = "runs only as root"
        before = faults.snapshot()
        modes = {f: f.stat().st_mode for f in files if f.exists()}
        dir_mode = ledger.dir.stat().st_mode
        for f in modes:
            os.chmod(f, 0o444)
        os.chmod(ledger.dir, 0o555)
        try:
            res, st = attempt()
        finally:
            os.chmod(ledger.dir, stat.S_IMODE(dir_mode))
            for f, m in modes.items():
                os.chmod(f, stat.S_IMODE(m))
        judge("chmod", "chmod 444 ledger and 555 folder", res, st, before, lambda: None)
        return outcomes
    outcomes["chmod"] = "runs only without root (root ignores file modes: the three root methods run instead)"
    nobody = 65534
    key_copy = base / "ro-key"
    key_copy.mkdir()
    nobody_key = key_copy / "ci.key"
    shutil.copy2(ledger.ci_key, nobody_key)
    try:
        os.chown(nobody_key, nobody, nobody)
        os.chmod(key_copy, 0o755)
        before = faults.snapshot()
        modes = {f: f.stat().st_mode for f in files if f.exists()}
        for f in modes:
            os.chmod(f, 0o444)

        def drop():
            os.setgroups([])
            os.setgid(nobody)
            os.setuid(nobody)

        res, st = attempt(preexec_fn=drop, key=nobody_key)

        def restore_modes():
            for f, m in modes.items():
                if f.exists():
                    os.chmod(f, stat.S_IMODE(m))
        judge("nobody", "chmod 444 ledger, run as uid 65534", res, st, before, restore_modes)
    except (PermissionError, OSError) as e:
        outcomes["nobody"] = f"cannot run as nobody here: {e}"
    # chattr +i (immutable): stops root too, where the file system supports it.
    probe = ledger.dir / "chattr-probe"
    probe.write_text("x")
    pr = subprocess.run(["chattr", "+i", str(probe)], capture_output=True) if shutil.which("chattr") else None
    if pr is not None and pr.returncode == 0:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True)
        probe.unlink()
        before = faults.snapshot()
        subprocess.run(["chattr", "+i", str(ledger.path)], check=True)
        try:
            res, st = attempt()
        finally:
            subprocess.run(["chattr", "-i", str(ledger.path)], capture_output=True)
        judge("chattr", "ledger.db immutable (chattr +i)", res, st, before, lambda: None)
    else:
        probe.unlink(missing_ok=True)
        outcomes["chattr"] = "chattr " + ("not installed" if pr is None else f"not supported here ({short(pr.stderr, 80)})")
    # A read-only bind mount of the ledger's folder, inside a private mount namespace (nothing leaks out).
    if shutil.which("unshare"):
        folder = str(ledger.dir)
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 97; shift; exec "$@"'
        prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", folder]
        probe = subprocess.run(prefix + ["sh", "-c", f'touch "{folder}/rw-probe" 2>/dev/null && echo writable || echo readonly'],
                               capture_output=True, text=True, timeout=20)
        if probe.returncode == 0 and probe.stdout.strip() == "readonly":
            before = faults.snapshot()
            res, st = attempt(prefix=prefix)
            judge("bind-mount", "ledger folder on a read-only bind mount", res, st, before, lambda: None)
        else:
            Path(folder, "rw-probe").unlink(missing_ok=True)
            outcomes["bind-mount"] = f"cannot mount here (exit {probe.returncode}, {short(probe.stderr, 100)})"
    else:
        outcomes["bind-mount"] = "unshare not installed"
    return outcomes


@pytest.fixture(scope="module")
def locked(docket, faults):
    """An append started while another connection holds BEGIN EXCLUSIVE for 2 s, and a `status` during it."""
    ledger = faults.ledger
    con = sqlite3.connect(str(ledger.path), timeout=5, isolation_level=None)
    h = new_hex("locked")
    con.execute("BEGIN EXCLUSIVE")
    locked_at = time.monotonic()
    result = {}

    def appender():
        result["res"] = ledger.record_built(h, timeout=60)
        result["t"] = time.monotonic() - locked_at

    th = threading.Thread(target=appender, daemon=True)
    th.start()
    time.sleep(0.3)
    during = docket.run(["status", "--json"], ledger=ledger.path, timeout=10)
    time.sleep(max(0.0, 2.0 - (time.monotonic() - locked_at)))
    still_waiting = th.is_alive()
    con.execute("ROLLBACK")
    con.close()
    th.join(timeout=70)
    entries = ledger.full_log()
    return SimpleNamespace(hex=h, res=result.get("res"), t=result.get("t", 0), still_waiting=still_waiting,
                           during=during, entries=entries, verify=ledger.verify())


BAD_LOG_KEYS = [  # (name, content; None: the file is moved away)
    pytest.param("missing", None, id="missing"),
    pytest.param("garbage", b"not a key\n", id="holding-garbage"),
    pytest.param("empty", b"", id="empty"),
]


@pytest.fixture(scope="module")
def logkey(docket, faults):
    """Appends with the log key missing, garbled, empty and foreign (valid, but not this ledger's), then with
    it restored; each judged right after (bytes and log unchanged, still verifies clean)."""
    ledger, base = faults.ledger, faults.base
    path = Path(str(ledger.path) + ".logkey")
    backup = path.read_bytes()
    outcomes = {}
    for name, content in (param.values for param in BAD_LOG_KEYS):
        before = faults.snapshot()
        if content is None:
            moved = base / "logkey.moved"
            shutil.move(path, moved)
            try:
                res = ledger.record_built(new_hex("nologkey"))
            finally:
                shutil.move(moved, path)
        else:
            path.write_bytes(content)
            try:
                res = ledger.record_built(new_hex("badlogkey"))
            finally:
                path.write_bytes(backup)
        outcomes[name] = SimpleNamespace(res=res, unchanged=faults.unchanged_and_clean(before))
    # A valid key that is not this ledger's log key: appending would sign a checkpoint no verifier accepts.
    other = base / "other.key"
    docket.run(["key", "generate", "--identity", ledger.origin, "--out", other])
    before = faults.snapshot()
    shutil.copy2(other, path)
    try:
        res = ledger.record_built(new_hex("foreignlogkey"))
        verified = ledger.verify()
    finally:
        path.write_bytes(backup)
    outcomes["foreign"] = SimpleNamespace(res=res, verify=verified, before=before,
                                          fingerprint=file_fingerprint(ledger.path))
    res = ledger.record_built(new_hex("logkey-restored"))
    outcomes["restored"] = SimpleNamespace(res=res, verify=ledger.verify())
    outcomes["path"] = path
    return outcomes


@pytest.fixture(scope="module")
def disk_full(docket, faults, note):
    """Appends under a 64 KiB file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) until three have failed (at most
    30), then the limit lifted."""
    ledger = faults.ledger
    limit = 64 * 1024

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    successes, failures = [], []
    for i in range(30):
        h = new_hex(f"full-{i}")
        res = docket.run(["record", "built", f"full/app@sha256:{h}", "--key", ledger.ci_key, "--json"],
                         ledger=ledger.path, preexec_fn=limited)
        if res.rc == 0:
            successes.append(h)
        else:
            failures.append((h, res))
        if len(failures) >= 3:
            break
    note(f"faults: under a {limit // 1024} KiB file size limit {len(successes)} appends succeeded, "
         f"{len(failures)} failed")
    entries = ledger.full_log()
    verified = ledger.verify()
    after = ledger.record_built(new_hex("after-full"))
    return SimpleNamespace(successes=successes, failures=failures, entries=entries, verify=verified, after=after)


def flip_bytes(data, offsets):
    out = bytearray(data)
    for off in offsets:
        out[off] ^= 0x20
    return bytes(out)


def logical_dump(path):
    """integrity_check plus a hash of every row of every table, read with Python's own SQLite."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            integrity = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
            h = hashlib.sha256()
            for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
                cols = len(con.execute(f'SELECT * FROM "{name}" LIMIT 0').description)
                order = ", ".join(str(i + 1) for i in range(cols))
                for row in con.execute(f'SELECT * FROM "{name}" ORDER BY {order}'):
                    h.update(repr(row).encode())
            return (tuple(integrity), h.hexdigest())
        finally:
            con.close()
    except sqlite3.Error as e:
        return ("unreadable", str(e))


def damage_summary(path):
    dump = logical_dump(path)
    if dump[0] == "unreadable":
        return f"unreadable: {dump[1]}"
    return "integrity_check: " + short("; ".join(dump[0]), 100) if dump[0] != ("ok",) else "rows differ, integrity_check ok"


@pytest.fixture(scope="module")
def corruption(faults, shared, note):
    """A pristine copy (SQLite backup) of the concurrency ledger (the fault ledger if that section did not run),
    the pages of each b-tree (dbstat) and a logical dump, for the corrupted-copy variants."""
    source = shared.get("big_ledger") or faults.ledger
    if source is faults.ledger:
        note("faults: the concurrency section did not run: corrupting a copy of the small fault-test ledger")
    c = SimpleNamespace(source=source, src_fp=file_fingerprint(source.path), base=faults.base, harmless=[], exit3=[])
    clean = faults.base / "pristine.db"
    s = sqlite3.connect(f"file:{source.path}?mode=ro", uri=True)
    dcon = sqlite3.connect(str(clean))
    s.backup(dcon)
    s.close()
    try:
        c.pages = {}
        for name, pageno, pagetype in dcon.execute("SELECT name, pageno, pagetype FROM dbstat"):
            c.pages.setdefault((name, pagetype), []).append(pageno)
    except sqlite3.Error:
        c.pages = {}
    c.page_size = dcon.execute("PRAGMA page_size").fetchone()[0]
    dcon.close()
    c.pristine = clean.read_bytes()
    c.n_pages = len(c.pristine) // c.page_size
    c.pristine_dump = logical_dump(clean)
    yield c
    if c.harmless:
        note(f"faults: {len(c.harmless)} corruption variant(s) hit only unused space (integrity_check ok, every row "
             f"identical): verify may pass them: {', '.join(c.harmless)}")
    if c.exit3:
        note(f"faults: {len(c.exit3)} command(s) answered a damaged ledger with exit 3 rather than 2, e.g. {c.exit3[0]}")


def over(b, off, new):
    return b[:off] + new + b[off + len(new):]


def corrupted(c, how):
    """(label, damaged bytes) of the pristine copy for one variant, or None when this ledger has no such page."""
    size, page_size = len(c.pristine), c.page_size
    if how[0] == "ff":
        return "512 bytes of 0xFF in the middle of the file", over(c.pristine, size // 2, b"\xff" * 512)
    if how[0] in ("zero", "random", "flip"):
        lst = c.pages.get((how[1], how[2])) or []
        if not lst:
            return None
        p = lst[len(lst) // 2]
        off = (p - 1) * page_size + (100 if p == 1 else 0)
        name, kind = how[1], how[2]
        if how[0] == "zero":
            return f"zeroed {name} {kind} page {p}", over(c.pristine, off, bytes(page_size - (off % page_size)))
        if how[0] == "random":
            return (f"random bytes over {name} {kind} page {p} (b-tree header kept)",
                    over(c.pristine, off + 12, os.urandom(page_size - 12 - (off % page_size))))
        flips = sorted(random.Random(p).sample(range(page_size * 2 // 3, page_size), 3))
        return (f"3 bytes flipped in the cells of {name} {kind} page {p}",
                flip_bytes(c.pristine, [off - off % page_size + f for f in flips]))
    if how[0] == "position":
        if c.pages:
            return None
        p = c.n_pages * (how[1] - 1) // how[1]
        return f"zeroed page {p + 1}", over(c.pristine, p * page_size, bytes(page_size))
    if how[0] == "half":
        return "file truncated to half", c.pristine[: (c.n_pages // 2) * page_size]
    if how[0] == "header":
        return "database header damaged (page size)", over(c.pristine, 16, b"\x00\x07")
    if how[0] == "zeros":
        return "file of zeros", bytes(size)
    return "empty file", b""


PAGE_TARGETS = [("entries", "leaf"), ("entries", "internal"), ("merkle", "leaf"), ("keys", "leaf"),
                ("checkpoint", "leaf"), ("sqlite_autoindex_entries_1", "leaf"), ("digest_entries", "leaf")]
CORRUPTIONS = [pytest.param(("ff",), id="512-bytes-of-ff-mid-file")]
for _name, _kind in PAGE_TARGETS:
    CORRUPTIONS.append(pytest.param(("zero", _name, _kind), id=f"zeroed-{_name}-{_kind}-page"))
    CORRUPTIONS.append(pytest.param(("random", _name, _kind), id=f"random-bytes-over-{_name}-{_kind}-page"))
    if _kind == "leaf":
        CORRUPTIONS.append(pytest.param(("flip", _name, _kind), id=f"3-bytes-flipped-in-{_name}-{_kind}-cells"))
CORRUPTIONS += [pytest.param(("position", 4), id="zeroed-page-at-three-quarters-without-dbstat"),
                pytest.param(("position", 2), id="zeroed-page-at-half-without-dbstat"),
                pytest.param(("half",), id="truncated-to-half"),
                pytest.param(("header",), id="header-page-size-damaged"),
                pytest.param(("zeros",), id="file-of-zeros"),
                pytest.param(("empty",), id="empty-file")]


class TestFaults:
    # --- read-only ledger

    @pytest.mark.parametrize("method", READONLY_METHODS)
    def test_read_only_ledger_append_is_refused_with_a_clear_error(self, readonly, method):
        o = readonly[method]
        if isinstance(o, str):
            pytest.skip(o)
        msg = o.res.err.lower()
        clear = o.res.clean_refusal(allowed=(2, 3)) and any(
            w in msg for w in ("read-only", "readonly", "permission", "cannot open", "write access"))
        assert clear, f"{o.label}: {o.res.describe()}"

    @pytest.mark.parametrize("method", READONLY_METHODS)
    def test_read_only_ledger_status_answers_or_fails_cleanly(self, readonly, method):
        o = readonly[method]
        if isinstance(o, str):
            pytest.skip(o)
        st = o.status
        assert not st.timed_out and not st.signalled and (st.rc == 0 or st.one_line_error()), f"{o.label}: {st.describe()}"

    @pytest.mark.parametrize("method", READONLY_METHODS)
    def test_read_only_ledger_is_unchanged_and_still_verifies_clean(self, readonly, method):
        o = readonly[method]
        if isinstance(o, str):
            pytest.skip(o)
        ok, detail = o.unchanged
        assert ok, f"{o.label}: {detail}"

    def test_at_least_one_read_only_method_could_be_exercised(self, readonly):
        assert any(not isinstance(o, str) for o in readonly.values()), readonly

    # --- locked database

    def test_append_during_a_2_s_exclusive_lock_waits_then_succeeds(self, locked):
        """(or fails clearly)"""
        res = locked.res
        assert res is not None and ((res.rc == 0 and locked.still_waiting) or res.clean_refusal(allowed=(1, 2, 3))), \
            (res.describe() if res else "no result") + \
            f"; was still waiting at 2 s: {locked.still_waiting}; finished {locked.t:.2f}s after the lock"

    def test_status_during_the_exclusive_lock_answers_or_fails_clearly(self, locked):
        """WAL readers are not blocked."""
        d = locked.during
        assert not d.timed_out and not d.signalled and (d.rc == 0 or d.one_line_error()), d.describe()

    def test_after_the_lock_verify_is_clean_and_the_append_present_once(self, locked):
        ok, detail = locked.verify.verified_clean()
        wanted = 1 if locked.res and locked.res.rc == 0 else 0
        assert ok and digest_counts(locked.entries).get("sha256:" + locked.hex, 0) == wanted, detail

    def test_append_while_another_process_holds_a_read_transaction_succeeds_promptly(self, faults):
        """A long-lived reader snapshot must not block appends (WAL)."""
        con = sqlite3.connect(f"file:{faults.ledger.path}?mode=ro", uri=True, isolation_level=None)
        con.execute("BEGIN")
        con.execute("SELECT COUNT(*) FROM entries").fetchall()
        res = faults.ledger.record_built(new_hex("reader-open"), timeout=20)
        con.execute("COMMIT")
        con.close()
        assert res.rc == 0 and res.elapsed < 5, res.describe()

    # --- log key

    @pytest.mark.parametrize("name, content", BAD_LOG_KEYS)
    def test_bad_log_key_append_fails_with_exit_2_naming_the_log_key(self, logkey, name, content):
        """(the missing one: naming the file too)"""
        res = logkey[name].res
        must_name = ["log key"] + ([str(logkey["path"])] if content is None else [])
        assert res.clean_refusal(allowed=(2,)) and all(w in res.err for w in must_name), res.describe()

    @pytest.mark.parametrize("name, content", BAD_LOG_KEYS)
    def test_bad_log_key_leaves_the_ledger_unchanged_and_clean(self, logkey, name, content):
        ok, detail = logkey[name].unchanged
        assert ok, detail

    def test_foreign_log_key_append_is_refused_or_the_ledger_still_verifies_clean(self, logkey):
        """A valid key that is not this ledger's: appending would sign a checkpoint no verifier accepts."""
        o = logkey["foreign"]
        v_ok, v_detail = o.verify.verified_clean()
        assert (o.res.rc != 0 and o.fingerprint == o.before[0] and not o.res.signalled) or (o.res.rc == 0 and v_ok), \
            f"append {o.res.describe()}; verify afterwards: {v_detail}"

    def test_log_key_restored_append_works_and_verify_is_clean(self, logkey):
        o = logkey["restored"]
        ok, detail = o.verify.verified_clean()
        assert o.res.rc == 0 and ok, f"{o.res.describe()}; {detail}"

    # --- disk full (RLIMIT_FSIZE)

    def test_disk_full_appends_eventually_fail(self, disk_full):
        """The limit bites."""
        assert disk_full.failures

    def test_disk_full_every_failure_is_a_clean_exit_2_or_3_with_one_line(self, disk_full):
        unclear = [res.describe() for _, res in disk_full.failures if not res.clean_refusal(allowed=(2, 3))]
        assert not unclear, "; ".join(unclear[:2])

    def test_disk_full_limit_lifted_verify_clean_gapless_successes_once_failures_absent(self, disk_full):
        counts = digest_counts(disk_full.entries)
        ok, detail = disk_full.verify.verified_clean()
        assert (ok and gapless(disk_full.entries) and all(counts.get("sha256:" + h) == 1 for h in disk_full.successes)
                and all(counts.get("sha256:" + h, 0) == 0 for h, _ in disk_full.failures)), detail

    def test_disk_full_limit_lifted_the_next_append_succeeds(self, disk_full):
        assert disk_full.after.rc == 0, disk_full.after.describe()

    # --- corrupted pages (on copies)

    @pytest.mark.parametrize("how", CORRUPTIONS)
    def test_corrupted_copy(self, docket, corruption, request, how):
        """No crash, no hang, clear errors, and `verify` exits ≠ 0 whenever live data was hit."""
        made = corrupted(corruption, how)
        if made is None:
            pytest.skip("no such page in this ledger" if how[0] != "position" else "dbstat is available")
        label, data = made
        cdir = corruption.base / f"corrupt-{request.node.callspec.id}"
        cdir.mkdir()
        target = cdir / "ledger.db"
        target.write_bytes(data)
        damaged = logical_dump(target) != corruption.pristine_dump  # integrity_check or any row differs
        shutil.copy2(str(corruption.source.path) + ".logkey", cdir / "ledger.db.logkey")
        problems, outcomes = [], {}
        for cmd in (["verify", "--json"], ["status", "--json"], ["log", "--json", "--limit", 100000], ["checkpoint"],
                    ["export", "--out", cdir / "b"],
                    ["record", "built", f"c/app@sha256:{new_hex('c')}", "--key", corruption.source.ci_key]):
            res = docket.run(cmd, ledger=target, timeout=60)
            outcomes[cmd[0]] = res
            if res.timed_out or res.signalled:
                problems.append(res.describe())
            elif res.rc not in (0, 1) and not res.one_line_error():
                problems.append(f"unclear error: {res.describe()}")
            elif res.rc == 3:
                corruption.exit3.append(f"{label}: {cmd[0]}: {short(res.err, 160)}")
        v = outcomes["verify"]
        flagged = v.rc in (2, 3) and v.one_line_error()
        if v.rc == 1:
            try:
                rep = json.loads(v.stdout)
                flagged = rep.get("ok") is False and bool(rep.get("problems"))
            except Exception:
                flagged = False
        summary = ", ".join(f"{c} {('→ ' + str(r.rc)) if not r.timed_out else 'TIMEOUT'}" for c, r in outcomes.items())
        if damaged and not flagged:
            detail = short(v.stdout, 160) if v.rc == 0 else v.describe()
            problems.append(f"SQLite sees the damage ({damage_summary(target)}) but `docket verify` exits {v.rc}: {detail}")
        if not damaged:
            corruption.harmless.append(label)
        shutil.rmtree(cdir, ignore_errors=True)
        assert not problems, f"{label}: {'damaged' if damaged else 'no live data hit'}; {summary}: " + " | ".join(problems)

    def test_corruption_tests_left_the_original_ledger_untouched(self, corruption):
        assert file_fingerprint(corruption.source.path) == corruption.src_fp


# ------------------------------------------------------------------------------------------------ attacks (issue 10)

from .test_verifier_gate import FAKETIME, Org  # noqa: E402  (the story helper: keys, calls at a faked clock)

HOSTILE = "\r\x1b[2K\x1b[1A\u202eevil\u2066"
RAW = [chr(c) for c in range(0x20) if c != 0x0A] + ["\x7f", "\x9b", "\u202e", "\u2066", "\u200f"]


def raw_controls(text):
    return sorted({"U+%04X" % ord(c) for c in text if c in RAW})


ATTACK_POLICY = {"environments": [{"name": "staging"}, {
    "name": "production", "from": "staging", "soak": "24h", "approvals": {"min": 1, "roles": ["approver"]},
    "breakGlass": True}]}


@pytest.fixture(scope="module")
def attack(docket, workspace):
    org = Org(docket, workspace / "attacks")
    org.start(ATTACK_POLICY, [("ci", ["ci", "checker", "monitor"], ()), ("alice", ["approver"], ()),
                              ("rel", ["releaser"], ())])
    return org


class TestAttacks:
    """Each attack of issue 10, reproduced as an attacker or a hurried user would, kept as a permanent case."""

    @pytest.mark.skipif(FAKETIME is None, reason="needs faketime(1)")
    def test_an_appender_clock_25h_ahead_is_reported_by_verify(self, attack, docket):
        image = "registry.example/clock@sha256:" + "c1" * 32
        attack.built(image)
        attack.deployed(image, "staging")
        attack.approve(image, "production", "alice")
        ahead = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 25 * 3600))
        attack("promote", image, "--to", "production", *attack.as_("rel"), at=ahead)  # the soak "passed"
        res = docket.run(["verify"], ledger=attack.path, timeout=60)
        assert res.rc == 1 and "after this verifier's clock" in res.out, res.describe() + res.out

    @pytest.mark.skipif(FAKETIME is None, reason="needs faketime(1)")
    def test_a_clock_past_year_9999_appends_nothing_and_the_ledger_reads_on(self, docket, workspace):
        org = Org(docket, workspace / "attacks-far")
        org.start(ATTACK_POLICY, [("ci", ["ci"], ())])
        before = org("checkpoint").out
        far = docket.run(["record", "built", "registry.example/far@sha256:" + "f2" * 32, "--key", org.keys["ci"]],
                         ledger=org.path, prefix=[FAKETIME, "-f", "+2920000d"])  # year 10021
        assert far.rc == 3 and "outside what an entry can record" in far.err, far.describe()
        assert org("checkpoint").out == before
        # The last instant an entry can record is accepted; honest appenders then go on (ledger time stands
        # still there, and verify says why).
        org("record", "built", "registry.example/far@sha256:" + "f3" * 32, *org.as_("ci"), at="9999-12-31 23:59:59")
        org.built("registry.example/far@sha256:" + "f4" * 32)
        for args in (["log"], ["history", "sha256:" + "f4" * 32], ["status"], ["gate", "sha256:" + "f4" * 32]):
            res = org(*args, ok=False)
            assert res.rc in (0, 1) and not res.crashed(), res.describe()
        res = org("verify", ok=False)
        assert res.rc == 1 and "after this verifier's clock" in res.out, res.out

    @pytest.mark.parametrize("lookalike", ["INC-\u212a", "INC-cafe\u0301"], ids=["kelvin-sign", "nfd"])
    def test_a_lookalike_incident_id_is_refused(self, attack, docket, lookalike):
        image = "registry.example/inc-%d@sha256:%s" % (len(lookalike), hashlib.sha256(lookalike.encode()).hexdigest())
        attack.built(image)
        attack.deployed(image, "staging")
        original = "INC-K" if "\u212a" in lookalike else "INC-caf\u00e9"
        attack("record", "incident", image, "--env", "staging", "--id", original, "--state", "open",
               *attack.as_("ci"))
        res = attack("record", "incident", image, "--env", "staging", "--id", lookalike, "--state", "resolved",
                     *attack.as_("ci"), ok=False)
        assert res.rc == 2 and "normal form C" in res.err, res.describe()
        status = json.loads(attack("status", "--json").out)
        assert any(i["incident"] == original for i in status["openIncidents"]), status["openIncidents"]

    def test_revoking_the_last_admin_key_is_refused(self, attack):
        res = attack("key", "revoke", "admin@org.example", "--reason", "oops", *attack.as_("admin"), ok=False)
        assert res.rc == 1 and "last unrevoked admin key" in res.err, res.describe()

    def test_a_stolen_key_s_approvals_are_voided(self, attack, docket, workspace):
        org = Org(docket, workspace / "attacks-void")
        org.start({"environments": [{"name": "staging"}, {"name": "production", "from": "staging",
                                                          "approvals": {"min": 1, "roles": ["approver"]}}]},
                  [("ci", ["ci"], ()), ("mallory", ["approver"], ()), ("rel", ["releaser"], ())])
        image = "registry.example/void@sha256:" + "d0" * 32
        org.built(image)
        org.deployed(image, "staging")
        org.approve(image, "production", "mallory")
        assert org("gate", image, "--env", "production", ok=False).rc == 0
        org("key", "revoke", "mallory@org.example", "--reason", "laptop stolen", "--void-approvals",
            *org.as_("admin"))
        gate = org("gate", image, "--env", "production", ok=False)
        assert gate.rc == 1 and "approvals voided" in gate.out, gate.describe() + gate.out
        org.refused("promote", image, "--to", "production", *org.as_("rel"))

    def test_hostile_text_reaches_no_terminal_raw(self, attack, docket):
        image = "registry.example/hostile@sha256:" + "e1" * 32
        attack.built(image)
        attack.deployed(image, "staging")
        attack("record", "check", image, "--check", "scan" + HOSTILE, "--result", "pass", *attack.as_("ci"))
        attack("promote", image, "--to", "production", "--break-glass", HOSTILE, *attack.as_("rel"))
        bundle = attack.export()
        outputs = [attack("verify", ok=False), attack("status", ok=False), attack("log", ok=False),
                   attack("history", image, ok=False), attack("verify", "--bundle", bundle, ok=False),
                   docket.verify_bundle([bundle])]
        for res in outputs:
            for stream in (res.out, res.err):
                assert not raw_controls(stream), "%s: %s" % (res.describe(), raw_controls(stream))
        assert "\\u{1b}[2K" in outputs[0].out or "\\u001b" in outputs[0].out, outputs[0].out
