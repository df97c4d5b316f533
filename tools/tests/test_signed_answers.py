"""Signed answers (DESIGN §13): what a server answers is signed with its log key and bound to a checkpoint, and both
verifiers check a saved answer against the log:  python3 -m pytest -q tools/tests/test_signed_answers.py

  honest      `--save-answer FILE` through the server for status, gate and pending; `docket verify --answer FILE`
              (on the ledger file, and on an exported bundle) exits 0; tools/verify-bundle --answer re-decides the
              gate verdict from the bundle and agrees; still so after the ledger grew (replayed to the checkpoint)
  lying       a gate answer changed to NOT ELIGIBLE and signed again with the log key: both verifiers exit 1
              saying the server signed a false answer; changed without signing: both exit 1 on the signature
  unreadable  a file that is not an answer: exit 2, naming the file
"""

import json
import subprocess
import sys

import pytest

from .conftest import VERIFY_BUNDLE
from .test_client_scale import log_key_seed, sign_answer
from .test_server import PAY, running, story  # noqa: F401  (the two-service story through a server)


def re_signed(answer, seed):
    """The answer signed again with the log key whose seed is given (a lying server holds its own key)."""
    return dict(answer, signature=sign_answer(answer, seed))


def verify_bundle(bundle, answer):
    return subprocess.run([sys.executable, str(VERIFY_BUNDLE), str(bundle), "--answer", str(answer)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def answers(story, tmp_path_factory):  # noqa: F811
    """Saved answers of status, gate (one environment) and pending, asked through the server."""
    folder = tmp_path_factory.mktemp("answers")
    saved = {}
    for name, args, expected in (("status", ["status"], 0), ("gate", ["gate", PAY, "--env", "production"], 1),
                                 ("pending", ["pending"], 0)):
        saved[name] = folder / (name + ".json")
        story.client(*args, "--save-answer", saved[name], ok=expected)
        assert json.loads(saved[name].read_text())["format"] == "docket-answer/v1"
    return saved


@pytest.mark.parametrize("name", ["status", "gate", "pending"])
def test_honest_answers_verify_on_the_ledger_and_the_bundle(story, answers, docket, tmp_path, name):  # noqa: F811
    res = docket.run(["verify", "--answer", answers[name], "--ledger", story.ledger.path])
    assert res.rc == 0 and "gives the same %s answer" % name in res.out, res.describe()
    bundle = tmp_path / "bundle.jsonl"
    story.ledger.export(bundle)
    res = docket.run(["verify", "--answer", answers[name], "--bundle", bundle])
    assert res.rc == 0, res.describe()
    independent = verify_bundle(bundle, answers[name])
    assert independent.returncode == 0, independent.stdout + independent.stderr
    if name == "gate":
        assert "re-decided from the bundle and agrees" in independent.stdout, independent.stdout


def test_a_lying_gate_answer_is_caught_by_both_verifiers(story, answers, docket, tmp_path):  # noqa: F811
    honest = json.loads(answers["gate"].read_text())
    verdicts = json.loads(honest["answer"])
    assert verdicts[0]["eligible"] is False
    verdicts[0]["eligible"] = True
    for rule in verdicts[0]["rules"]:
        rule["passed"] = True
    lie = re_signed(dict(honest, answer=json.dumps(verdicts, sort_keys=True, separators=(",", ":"))),
                    log_key_seed(story.ledger.path))
    lie_file = tmp_path / "lie.json"
    lie_file.write_text(json.dumps(lie))
    res = docket.run(["verify", "--answer", lie_file, "--ledger", story.ledger.path])
    assert res.rc == 1 and "signed a false answer" in res.err and str(lie_file) in res.err, res.describe()
    bundle = tmp_path / "bundle.jsonl"
    story.ledger.export(bundle)
    independent = verify_bundle(bundle, lie_file)
    assert independent.returncode == 1 and "signed a false answer" in independent.stdout, independent.stdout
    # The same change without the log key's signature proves nothing: both say so.
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps(dict(lie, signature=honest["signature"])))
    res = docket.run(["verify", "--answer", unsigned, "--ledger", story.ledger.path])
    assert res.rc == 1 and "not the log key's" in res.err, res.describe()
    independent = verify_bundle(bundle, unsigned)
    assert independent.returncode == 1 and "not the log key's" in independent.stdout, independent.stdout


def test_an_answer_still_verifies_after_the_ledger_grew(story, docket, tmp_path):  # noqa: F811
    saved = tmp_path / "gate.json"
    story.client("gate", PAY, "--env", "production", "--save-answer", saved, ok=1)
    story.client("record", "check", PAY, "--check", "perf", "--result", "pass", "--key", story.ledger.ci_key, ok=0)
    answered_at = json.loads(saved.read_text())["checkpoint"].split("\n")[1]
    assert int(answered_at) < int(story.ledger.checkpoint().split("\n")[1])
    res = docket.run(["verify", "--answer", saved, "--ledger", story.ledger.path])
    assert res.rc == 0 and "up to entry %d" % (int(answered_at) - 1) in res.out, res.describe()
    bundle = tmp_path / "bundle.jsonl"
    story.ledger.export(bundle)
    independent = verify_bundle(bundle, saved)
    assert independent.returncode == 0 and "agrees" in independent.stdout, independent.stdout


def test_a_file_that_is_not_an_answer_is_bad_input(story, docket, tmp_path):  # noqa: F811
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}')
    res = docket.run(["verify", "--answer", junk, "--ledger", story.ledger.path])
    assert res.rc == 2 and str(junk) in res.err and "not a signed answer" in res.err, res.describe()
    independent = verify_bundle(story.ledger.export(tmp_path / "b.jsonl") and tmp_path / "b.jsonl", junk)
    assert independent.returncode == 2 and "not a signed answer" in independent.stderr, independent.stderr
