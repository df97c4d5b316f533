"""Read-only auditors (issue 10, item 7): every read command works on a ledger file and folder the caller can read
but not write, as another user with read access only, and verify leaves no scratch file behind even when killed.

As root (CI), the commands run as uid 65534 (root ignores file modes); otherwise the ledger is chmod 444 in a
555 folder and the commands run as the current user."""

import os
import shutil
import signal
import subprocess
import time

import pytest

NOBODY = 65534


@pytest.fixture(scope="module")
def auditor(docket, ledger_factory, workspace):
    """A story ledger copied into a folder the auditor may only read, and a way to run docket as the auditor."""
    ledger = ledger_factory("read-only-source")
    digest = "ab" * 32
    policy = ledger.dir / "policy.yaml"
    policy.write_text("environments:\n  - name: staging\n  - name: production\n    from: staging\n"
                      "    approvals: {min: 1, roles: [approver]}\n")
    ledger.must(["policy", "set", policy, "--key", ledger.admin_key])
    ledger.must(["record", "built", f"registry.example/app@sha256:{digest}", "--key", ledger.ci_key])
    ledger.must(["record", "deployed", f"registry.example/app@sha256:{digest}", "--env", "staging",
                 "--key", ledger.ci_key])
    saved = ledger.must(["checkpoint"]).stdout
    ledger.must(["record", "check", f"registry.example/app@sha256:{digest}", "--check", "scan", "--result",
                 "pass", "--key", ledger.ci_key])
    folder = workspace / "read-only"
    folder.mkdir()
    for name in ("ledger.db", "ledger.db.logkey.pub"):
        shutil.copy2(ledger.dir / name, folder / name)
    assert not (folder / "ledger.db-wal").exists()
    out = workspace / "auditor-out"  # where the auditor may write (bundles, proofs)
    out.mkdir()
    os.chmod(out, 0o777)
    (out / "saved.checkpoint").write_bytes(saved)
    os.chmod(out / "saved.checkpoint", 0o644)
    root = os.geteuid() == 0
    os.chmod(folder / "ledger.db", 0o444)
    os.chmod(folder / "ledger.db.logkey.pub", 0o444)
    os.chmod(folder, 0o555)

    def drop():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    def run(args, **kw):
        tmp = out / "tmp"
        tmp.mkdir(exist_ok=True)
        os.chmod(tmp, 0o777)
        return docket.run(args, ledger=folder / "ledger.db", preexec_fn=drop if root else None,
                          env_extra={"TMPDIR": str(tmp)}, **kw)

    yield type("Auditor", (), {"run": staticmethod(run), "digest": digest, "out": out, "folder": folder,
                               "preexec": staticmethod(drop) if root else None})
    os.chmod(folder, 0o755)


READS = [
    ["status"], ["status", "--repo", "registry.example/app"], ["gate", "sha256:" + "ab" * 32, "--env", "production"],
    ["pending"], ["log"], ["log", "--json"], ["history", "sha256:" + "ab" * 32], ["replay", "--at", "3"],
    ["verify"], ["checkpoint"], ["prove", "2"], ["key", "list"], ["policy", "show"], ["ledger", "describe"],
]


@pytest.mark.parametrize("args", READS, ids=[" ".join(a[:2]) for a in READS])
def test_read_command_works_without_write_access(auditor, args):
    res = auditor.run(args)
    allowed = (0, 1) if args[0] == "gate" else (0,)
    assert res.rc in allowed, res.describe()
    assert "write access" not in res.err and "read-only" not in res.err, res.describe()


def test_export_and_consistency_without_write_access(auditor):
    bundle = auditor.out / "bundle.jsonl"
    res = auditor.run(["export", "--out", bundle])
    assert res.rc == 0, res.describe()
    res = auditor.run(["verify", "--bundle", bundle])
    assert res.rc == 0, res.describe()
    res = auditor.run(["consistency", auditor.out / "saved.checkpoint"])
    assert res.rc == 0, res.describe()


def test_the_copy_is_unchanged_and_nothing_was_created(auditor):
    assert sorted(p.name for p in auditor.folder.iterdir()) == ["ledger.db", "ledger.db.logkey.pub"]


def test_a_killed_verify_leaves_no_scratch_file(auditor, docket):
    """SQLite's temporary database is unlinked as it is opened: TMPDIR stays empty even after SIGKILL."""
    tmp = auditor.out / "tmp"
    for attempt_delay in (0.05, 0.15, 0.3):
        proc = subprocess.Popen([str(docket.binary), "verify", "--ledger", str(auditor.folder / "ledger.db")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=dict(docket.env(), TMPDIR=str(tmp)), preexec_fn=auditor.preexec)
        time.sleep(attempt_delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        leftovers = [p.name for p in tmp.iterdir()]
        assert not leftovers, f"verify left {leftovers} in TMPDIR"
