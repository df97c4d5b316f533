"""Durability you can see (issue 10, item 9): what SQLite cannot protect, and how a witness reveals it.

A ledger is `ledger.db` and, while any process has it open, `ledger.db-wal`: committed appends may live only in
the write-ahead log until SQLite checkpoints it into the main file. Lose the `-wal` file (a backup or copy that
takes only `ledger.db` while the ledger is open, a clean-up that deletes it) and the last commits are gone, with
nothing in the remaining file to say so: it verifies clean. A checkpoint saved earlier, above all one a witness
cosigned, reveals the loss: `verify --since` and `consistency` report the truncation and the witness refuses to
cosign again."""

import json
import shutil
import sqlite3

import pytest


@pytest.fixture(scope="module")
def lost_wal(ledger_factory, workspace):
    ledger = ledger_factory("durability")
    witness_key = ledger.dir / "witness.key"
    ledger.must(["key", "generate", "--identity", "witness@example.com", "--out", witness_key])
    # Another process has the ledger open (a reader, here): the appends below stay in the WAL.
    holder = sqlite3.connect(str(ledger.path))
    holder.execute("SELECT count(*) FROM sqlite_master").fetchall()
    for i in range(3):
        res = ledger.record_built(f"{i:02d}" * 32, repo="registry.example/app")
        assert res.rc == 0, res.describe()
    state = ledger.dir / "witness.state"
    ledger.must(["witness", "cosign", "--key", witness_key, "--name", "witness.example", "--state", state])
    assert (ledger.dir / "ledger.db-wal").stat().st_size > 0, "the appends should still be in the WAL"
    # The copy without its -wal: what a careless backup (or a deleted -wal) leaves.
    copy = workspace / "durability-copy"
    copy.mkdir()
    for name in ("ledger.db", "ledger.db.logkey", "ledger.db.logkey.pub"):
        shutil.copy2(ledger.dir / name, copy / name)
    holder.close()
    saved = copy / "witnessed.checkpoint"
    saved.write_text(json.loads(state.read_text())["checkpoint"])
    return type("Lost", (), {"ledger": ledger, "copy": copy / "ledger.db", "saved": saved, "state": state,
                             "witness_key": witness_key})


def test_the_copy_alone_looks_fine(lost_wal, docket):
    res = docket.run(["verify"], ledger=lost_wal.copy, timeout=60)
    assert res.rc == 0, "nothing in the file itself shows the loss: " + res.describe()
    original = docket.run(["checkpoint"], ledger=lost_wal.ledger.path)
    lost = docket.run(["checkpoint"], ledger=lost_wal.copy)
    assert original.out.splitlines()[1] == str(int(lost.out.splitlines()[1]) + 3), (original.out, lost.out)


def test_verify_since_the_witnessed_checkpoint_reports_the_truncation(lost_wal, docket):
    res = docket.run(["verify", "--since", lost_wal.saved], ledger=lost_wal.copy, timeout=60)
    assert res.rc == 1, res.describe()
    assert "truncated" in res.out, res.out


def test_consistency_with_the_witnessed_checkpoint_fails(lost_wal, docket):
    res = docket.run(["consistency", lost_wal.saved], ledger=lost_wal.copy)
    assert res.rc in (1, 2) and res.err.count("\n") == 1, res.describe()


def test_the_witness_refuses_to_cosign_the_shorter_log(lost_wal, docket):
    res = docket.run(["witness", "cosign", "--key", lost_wal.witness_key, "--name", "witness.example", "--state",
                      lost_wal.state], ledger=lost_wal.copy)
    assert res.rc == 1 and "truncated" in res.err, res.describe()
