"""Admission is at least as strict as the independent verifier (issue 10, item 3): whatever `docket submit`
accepts, `docket verify` and tools/verify-bundle both accept, for ever (the ledger is append-only).

  fixed cases   the inputs the issue names (nonce "x", a payload starting with a byte-order mark, a payload
                with invalid UTF-8, a key event whose subject name is not its identity), signed correctly and
                refused by `submit` with exit 1 or 2 and one line, the ledger's size unchanged         (fast)
  differential  two fresh ledgers, one under a `pipelines:` policy and one under the older top-level
                `environments:` form, with ci, approver (two, one in team security), releaser and a second
                admin enrolled. Thousands of cases, each one `submit` of a small batch: valid prerequisites
                (built, deployed, approved, promoted… of fresh digests, or a fresh key enrolled) and last a
                mutated, correctly re-signed envelope of one of the 13 kinds (every field of every kind: nonce
                and time forms, invalid or odd UTF-8 and Unicode, names not in NFC, repository names not in
                normal form, digests, ledger and ledgerID, duplicate keys, wrong types, extra fields, huge
                strings, payloadType and keyid variants, wrong signers, kind-specific rules, policies).
                Most are refused (a batch is all or nothing); then the ledgers are exported and
                `docket verify --json`, `docket verify --bundle --json` and tools/verify-bundle --json must
                all report no problem; a problem names the entry and the mutation that produced it  (slow)

DIFFERENTIAL_COUNT (default 3000 cases in all) and DIFFERENTIAL_SECONDS (default 120 s for the submitting)
bound the campaign; RELIABILITY_SEED replays it (printed in the header and with every failure). The two
ledgers are fed in parallel, one thread each. Every accepted mutated envelope is kept in the work directory
(accepted/<index>.json, with the label in accepted/index.txt) for reproduction; DOCKET_TESTS_KEEP=1 keeps it.
"""

import base64
import copy
import hashlib
import json
import os
import random
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from nacl.signing import SigningKey

from . import helpers
from .test_reliability import json_compact, short, statement_mutation

COUNT = int(os.environ.get("DIFFERENTIAL_COUNT") or 3000)
SECONDS = float(os.environ.get("DIFFERENTIAL_SECONDS") or 120)
CALL_TIMEOUT = 20.0
KINDS = ["initialized", "key-enrolled", "key-updated", "key-revoked", "policy", "built", "deployed", "check",
         "incident", "approved", "withdrawn", "promoted", "rolled-back"]
slow = pytest.mark.slow

PROTECTED = r"^v[0-9]+\.[0-9]+\.[0-9]+$"
PIPELINES_POLICY = {"pipelines": [
    {"name": "tools", "repositories": ["registry.example/tools/*", "docker.io/library/*"],
     "environments": [{"name": "staging"},
                      {"name": "prüfung", "from": "staging"},
                      {"name": "production", "from": "staging", "approvals": {"min": 1, "roles": ["approver"]},
                       "breakGlass": True}]},
    {"name": "payments", "repositories": ["registry.example/payments", "registry.example/payments-*",
                                          "localhost:5000/**"],
     "environments": [{"name": "staging"},
                      {"name": "production", "from": "staging",
                       "approvals": {"rules": [{"name": "engineering", "min": 1, "roles": ["approver"]},
                                               {"name": "security", "min": 1, "teams": ["security"]}],
                                     "distinct": True, "maxAge": "72h"},
                       "checks": ["security-scan"],
                       "breakGlass": {"allow": ["approvals", "checks"], "approvals": 1},
                       "protectedTags": [PROTECTED]}]},
]}
# One grapheme, 131 code points: Docket once counted it as 1 and took it as an environment name; names are now
# counted in code points, so a policy naming it is refused and a `deployed` to it is an unknown environment.
LONG_GRAPHEME = "\u00e1" + "\u0301" * 130
OLD_POLICY = {"environments": [
    {"name": "staging"},
    {"name": "prüfung", "from": "staging"},
    {"name": "production", "from": "staging", "approvals": {"min": 1, "roles": ["approver"]},
     "checks": ["security-scan"], "breakGlass": True}],
    "protectedTags": [PROTECTED]}

WORLDS = {
    "pipelines": (PIPELINES_POLICY, ["registry.example/tools/app", "registry.example/payments",
                                     "registry.example/payments-eu", "docker.io/library/nginx",
                                     "localhost:5000/team/app"]),
    "old-form": (OLD_POLICY, ["registry.example/tools/app", "docker.io/library/nginx", "docker.io/acme/web",
                              "quay.io/org/app", "localhost:5000/team/app", "registry.example:8443/a/b-c__d"]),
}

# Strings that tempt a lenient reader: BOM, NUL, controls, bidi, NFD/NFC, KELVIN SIGN, grapheme extenders
# (ZWJ, emoji modifier, variation selector), letters only Unicode's Alphabetic property calls letters, a
# long run of combining marks (one grapheme, many code points), whitespace-only, lone surrogates.
ODD_STRINGS = ["\ufeffstaging", "sta\u0000ging", "\u0000", "a\u0007b", "\u001b[31mred", "two\nlines", "tab\there",
               "\u202egnigats", "a\u2066b\u2069", "\u200f", "cafe\u0301", "caf\u00e9", "\u212a", "K", "\u00c5",
               "A\u030a", "\u212b", "a\u200d", "a\u200db", "\u200d", "a\U0001F3FB", "\U0001F44D\U0001F3FB", "a\ufe0f",
               "\u24b6", "\u0345", "\u0903", "a\u0301", "\u1100\u1161", "\u00e1" + "\u0301" * 130, "x" * 129,
               "é" * 65, " ", "\u00a0", "\u3000", "", "\ud800", "a\udfffb", "\U0010ffff", "\ufffe", "\uffff",
               "ǅ", "ⅰ", "²", "½", "٣", "𝟘", "prüfung", "pru\u0308fung", "PRODUCTION", "production ", "-", "_", ".",
               "..", "a/b", "a:b", "x" * 150_000]

STRING_FIELDS = {  # kind → predicate fields holding strings worth mutating (besides the common ones)
    "built": ["builder", "buildId"], "deployed": ["environment", "deployment"],
    "check": ["check", "result", "details"], "incident": ["environment", "incident", "state", "severity", "summary"],
    "approved": ["environment", "comment"], "withdrawn": ["environment"], "promoted": ["from", "to"],
    "rolled-back": ["environment", "reason", "from"], "key-enrolled": ["identity"],
    "key-updated": ["identity"], "key-revoked": ["identity", "reason"], "policy": [], "initialized": ["logKey"],
}


# ------------------------------------------------------------------------------------------------ helpers


def now_ms():
    return int(time.time() * 1000)


def iso(ms, fraction=3):
    t = datetime.fromtimestamp(ms / 1000, timezone.utc)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + ("%03d" % (ms % 1000) + "0" * 64)[:fraction]
    return text + "Z"


def canonical(value):
    """Docket's canonical JSON (sorted keys, compact, `/` unescaped), for the policy's subject digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def new_hex():
    return os.urandom(32).hex()


def b64(data):
    return base64.b64encode(data).decode()


def key_of(path):
    return SigningKey(base64.b64decode(json.loads(path.read_text())["seed"]))


class Case:
    """One `submit`: valid prerequisites, then the target (signer, statement) that the mutation changes."""

    def __init__(self, template, prereqs, signer, statement):
        self.template = template
        self.prereqs = prereqs  # [(signer, statement)]
        self.signer = signer
        self.statement = statement
        self.payload = None  # bytes instead of the statement's compact JSON
        self.payload_type = helpers.INTOTO
        self.envelope_edit = None  # fn(envelope dict) -> envelope dict or bytes
        self.restore_policy = template == "policy"


# ------------------------------------------------------------------------------------------------ a world


class World:
    """One ledger, its signers and the builders of valid statements of every kind."""

    def __init__(self, docket, ledger_factory, name, policy, repositories, seed):
        self.d = docket
        self.name = name
        self.policy = policy
        self.repositories = repositories
        self.rng = random.Random(f"{seed}:differential:{name}")
        self.ledger = ledger_factory("differential-" + name)
        lg = self.ledger
        self.keys = {"admin": key_of(lg.admin_key), "ci": lg.ci_signer}
        for who, roles, teams in (("approver", ["approver"], ["security"]), ("approver2", ["approver"], []),
                                  ("releaser", ["releaser"], []), ("admin2", ["admin"], [])):
            path = lg.dir / (who + ".key")
            lg.must(["key", "generate", "--identity", who + "@example.com", "--out", path])
            lg.must(["key", "enroll", str(path) + ".pub", "--role", *roles, *(["--team", *teams] if teams else []),
                     "--key", lg.admin_key])
            self.keys[who] = key_of(path)
        self.identity = {k: k + "@example.com" for k in self.keys}
        policy_file = lg.dir / "policy.json"
        policy_file.write_text(json.dumps(policy, indent=2, ensure_ascii=False) + "\n")
        lg.must(["policy", "set", policy_file, "--key", lg.admin_key])
        self.origin = lg.origin
        self.ledger_id = lg.ledger_id
        self.other_ledger_id = None  # the other world's ID, set once both exist
        self.folder = lg.dir / "cases"
        self.folder.mkdir()
        self.accepted_dir = lg.dir / "accepted"
        self.accepted_dir.mkdir()
        self.labels = {}  # entry index → label of what appended it
        self.stats = {"cases": 0, "accepted": 0, "refused": 0, "controls": 0, "controls-accepted": 0,
                      "policy-restored": 0}
        self.findings = []  # submit misbehaviour (crash, hang, exit code, message)
        self.control_refusals = []
        self.by_template = {}

    # -- statements --

    def statement(self, kind, name, digest_hex, **fields):
        predicate = {"ledger": self.origin, "ledgerID": self.ledger_id, "nonce": os.urandom(16).hex(),
                     "time": iso(now_ms())}
        predicate.update(fields)
        return {"_type": helpers.STATEMENT_TYPE, "predicate": predicate,
                "predicateType": f"https://docket.dev/{kind}/v1",
                "subject": [{"digest": {"sha256": digest_hex}, "name": name}]}

    def img(self, kind, repo, d, **fields):
        return self.statement(kind, repo, d, **fields)

    def key_statement(self, kind, identity, public_key, **fields):
        return self.statement(kind, identity, hashlib.sha256(public_key).hexdigest(), identity=identity,
                              publicKey=b64(public_key), **fields)

    def policy_statement(self, document):
        return self.statement("policy", "policy", hashlib.sha256(canonical(document)).hexdigest(),
                              policy=copy.deepcopy(document))

    def payments(self, repo):
        return self.name == "pipelines" and (repo.startswith("registry.example/payments") or
                                             repo.startswith("localhost:5000/"))

    def promotion_prereqs(self, repo, d):
        ci, a1, a2 = self.keys["ci"], self.keys["approver"], self.keys["approver2"]
        steps = [(ci, self.img("built", repo, d)), (ci, self.img("deployed", repo, d, environment="staging"))]
        if self.payments(repo) or self.name == "old-form":
            steps.append((ci, self.img("check", repo, d, check="security-scan", result="pass")))
        steps.append((a2, self.img("approved", repo, d, environment="production")))
        if self.payments(repo):
            steps.append((a1, self.img("approved", repo, d, environment="production")))
        return steps

    def case(self, template=None):
        rng = self.rng
        template = template or rng.choice(
            ["built"] * 3 + ["deployed"] * 3 + ["check"] * 2 + ["incident-open", "incident-resolved"] +
            ["approved"] * 3 + ["withdrawn"] * 2 + ["promoted"] * 3 + ["promoted-break-glass"] * 2 +
            ["rolled-back"] * 2 + ["rolled-back-production"] + ["key-enrolled"] * 3 + ["key-updated"] * 2 +
            ["key-revoked"] * 2 + ["policy"] * 2 + ["initialized"])
        repo = rng.choice(self.repositories)
        d, d2 = new_hex(), new_hex()
        k = self.keys
        ci = k["ci"]
        if template == "built":
            fields = {"tags": ["t" + os.urandom(4).hex()]}
            if rng.random() < 0.5:
                fields.update(source={"repository": "https://git.example/app", "revision": os.urandom(20).hex()},
                              builder="ci", buildId=str(rng.randrange(10 ** 6)))
            return Case(template, [], ci, self.img("built", repo, d, **fields))
        if template == "deployed":
            # prüfung is an environment of the old form and of the tools pipeline, not of payments.
            has_pruefung = self.name == "old-form" or repo.startswith(("registry.example/tools/", "docker.io/library/"))
            env = rng.choice(["staging", "staging", "production"] + (["prüfung"] if has_pruefung else []))
            return Case(template, [(ci, self.img("built", repo, d))], ci,
                        self.img("deployed", repo, d, environment=env, deployment="dep-%d" % rng.randrange(1000)))
        if template == "check":
            return Case(template, [(ci, self.img("built", repo, d))], ci,
                        self.img("check", repo, d, check=rng.choice(["security-scan", "perf"]),
                                 result=rng.choice(["pass", "fail"]), details="https://ci.example/%d" % rng.randrange(99)))
        if template.startswith("incident"):
            fields = dict(environment=rng.choice(["staging", "production"]), incident="INC-%d" % rng.randrange(10 ** 6),
                          severity="sev2", summary="checkout errors")
            prereqs = [(ci, self.img("built", repo, d))]
            if template == "incident-resolved":
                prereqs.append((ci, self.img("incident", repo, d, state="open", **fields)))
            return Case(template, prereqs, ci,
                        self.img("incident", repo, d, state="open" if template == "incident-open" else "resolved",
                                 **fields))
        if template == "approved":
            fields = dict(environment="production", comment="looks good")
            if rng.random() < 0.5:
                fields["expiresAt"] = iso(now_ms() + 72 * 3600 * 1000)
            if rng.random() < 0.2:
                fields["breakGlass"] = True
            return Case(template, [(ci, self.img("built", repo, d)),
                                   (ci, self.img("deployed", repo, d, environment="staging"))],
                        k["approver"], self.img("approved", repo, d, **fields))
        if template == "withdrawn":
            return Case(template, [(ci, self.img("built", repo, d)),
                                   (k["approver"], self.img("approved", repo, d, environment="production"))],
                        k["approver"], self.img("withdrawn", repo, d, environment="production"))
        if template == "promoted":
            return Case(template, self.promotion_prereqs(repo, d), k["releaser"],
                        self.img("promoted", repo, d, **{"from": "staging", "to": "production",
                                                         "tags": ["p" + os.urandom(4).hex()]}))
        if template == "promoted-break-glass":
            prereqs = [(ci, self.img("built", repo, d)), (ci, self.img("deployed", repo, d, environment="staging"))]
            if self.payments(repo):
                prereqs.append((k["approver"], self.img("approved", repo, d, environment="production",
                                                        breakGlass=True)))
                failed = ["approvals", "checks"]
            else:
                failed = ["approvals", "checks"] if self.name == "old-form" else ["approvals"]
            return Case(template, prereqs, k["releaser"],
                        self.img("promoted", repo, d, **{"from": "staging", "to": "production",
                                                         "breakGlass": {"reason": "CVE-2026-0001",
                                                                        "failedRules": failed}}))
        if template == "rolled-back":
            prereqs = [(ci, self.img("built", repo, d)), (ci, self.img("deployed", repo, d, environment="staging")),
                       (ci, self.img("built", repo, d2)), (ci, self.img("deployed", repo, d2, environment="staging"))]
            return Case(template, prereqs, k["releaser"],
                        self.img("rolled-back", repo, d, environment="staging", reason="errors",
                                 **{"from": "sha256:" + d2}))
        if template == "rolled-back-production":
            prereqs = (self.promotion_prereqs(repo, d) +
                       [(k["releaser"], self.img("promoted", repo, d, **{"from": "staging", "to": "production"}))] +
                       self.promotion_prereqs(repo, d2) +
                       [(k["releaser"], self.img("promoted", repo, d2, **{"from": "staging", "to": "production"}))])
            return Case(template, prereqs, k["releaser"],
                        self.img("rolled-back", repo, d, environment="production", reason="checkout errors",
                                 **{"from": "sha256:" + d2}))
        if template in ("key-enrolled", "key-updated", "key-revoked"):
            fresh = bytes(SigningKey.generate().verify_key)
            who = "svc-%s@example.com" % os.urandom(3).hex()
            enrol = self.key_statement("key-enrolled", who, fresh, roles=["ci"], teams=["platform"])
            signer = k[rng.choice(["admin", "admin2"])]
            if template == "key-enrolled":
                return Case(template, [], signer, enrol)
            if template == "key-updated":
                return Case(template, [(k["admin"], enrol)], signer,
                            self.key_statement("key-updated", who, fresh, roles=["ci", "checker"], teams=["sre"]))
            return Case(template, [(k["admin"], enrol)], signer,
                        self.key_statement("key-revoked", who, fresh, reason="rotated",
                                           **({"voidApprovals": True} if rng.random() < 0.3 else {})))
        if template == "policy":
            return Case(template, [], k[rng.choice(["admin", "admin2"])], self.policy_statement(self.policy))
        log_key = self.ledger.verifier_key
        return Case(template, [], k["admin"],
                    self.statement("initialized", self.origin, new_hex(), logKey=log_key,
                                   admins=[{"identity": "admin@example.com",
                                            "publicKey": b64(bytes(k["admin"].verify_key))}]))

    # -- submitting --

    def envelope(self, signer, statement=None, payload=None, payload_type=helpers.INTOTO):
        if payload is None:
            payload = json_compact(statement) if not isinstance(statement, bytes) else statement
        return helpers.sign_envelope(signer, payload, payload_type)

    def case_files(self, case):
        files = []
        for n, (signer, st) in enumerate(case.prereqs):
            p = self.folder / f"p{n}.json"
            p.write_bytes(json_compact(self.envelope(signer, st)))
            files.append(p)
        payload = case.payload if case.payload is not None else json_compact(case.statement)
        env = self.envelope(case.signer, payload=payload, payload_type=case.payload_type)
        data = json_compact(env)
        if case.envelope_edit is not None:
            edited = case.envelope_edit(env)
            data = edited if isinstance(edited, bytes) else json_compact(edited)
        target = self.folder / "target.json"
        target.write_bytes(data)
        files.append(target)
        return files, data

    def submit(self, case, label):
        files, data = self.case_files(case)
        res = self.d.run(["submit", *files, "--json"], ledger=self.ledger.path, timeout=CALL_TIMEOUT)
        self.stats["cases"] += 1
        what = f"{self.name}: {case.template}: {label}"
        bad = res.crashed()
        if bad:
            self.findings.append(f"{what}: {bad}: {res.describe()}")
            return res
        if res.rc == 0:
            try:
                receipts = json.loads(res.stdout)
            except ValueError:
                self.findings.append(f"{what}: exit 0 without JSON receipts: {short(res.stdout)}")
                return res
            self.stats["accepted"] += 1
            self.by_template.setdefault(case.template, [0, 0])[0] += 1
            for n, receipt in enumerate(receipts):
                index = receipt.get("index")
                if n == len(receipts) - 1:
                    if not receipt.get("duplicate"):
                        self.labels[index] = what
                        (self.accepted_dir / f"{index}.json").write_bytes(data)
                elif not receipt.get("duplicate"):
                    self.labels.setdefault(index, f"prerequisite {n} of [{what}]")
            if case.restore_policy:
                self.restore()
        else:
            self.stats["refused"] += 1
            self.by_template.setdefault(case.template, [0, 0])[1] += 1
            if res.rc not in (1, 2) or not res.one_line_error():
                self.findings.append(f"{what}: refusal is not exit 1/2 with one line: {res.describe()}")
        return res

    def restore(self):
        """After an accepted policy mutation: the base policy again, so later cases see the rules they expect."""
        case = Case("policy-restore", [], self.keys["admin"], self.policy_statement(self.policy))
        files, _ = self.case_files(case)
        res = self.d.run(["submit", files[-1], "--json"], ledger=self.ledger.path, timeout=CALL_TIMEOUT)
        if res.rc != 0:
            self.findings.append(f"{self.name}: restoring the base policy failed: {res.describe()}")
            return
        index = json.loads(res.stdout)[0]["index"]
        self.labels[index] = f"{self.name}: base policy restored"
        self.stats["policy-restored"] += 1

    def control(self, template):
        """An unmutated case: the builders are right only if it is accepted."""
        case = self.case(template)
        res = self.submit(case, "control (unmutated)")
        self.stats["controls"] += 1
        if res.rc == 0:
            self.stats["controls-accepted"] += 1
        else:
            self.control_refusals.append(f"{self.name} {template}: {res.describe()}")


# ------------------------------------------------------------------------------------------------ mutations


def leaf_paths(obj, prefix=()):
    """Paths to every leaf (and every container) of a JSON value."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += leaf_paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += leaf_paths(v, prefix + (i,))
    return out


def set_path(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def get_path(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def del_path(obj, path):
    for p in path[:-1]:
        obj = obj[p]
    del obj[path[-1]]


def refresh_digest(st):
    """Keeps a key event's or policy's subject digest consistent with the (mutated) predicate, so the mutation
    is judged on its own merits; returns st."""
    kind = st.get("predicateType", "").split("/")[-2] if isinstance(st.get("predicateType"), str) else ""
    try:
        if kind == "policy":
            st["subject"][0]["digest"]["sha256"] = hashlib.sha256(canonical(st["predicate"]["policy"])).hexdigest()
        elif kind.startswith("key-"):
            raw = helpers.any_b64(st["predicate"]["publicKey"])
            if raw is not None:
                st["subject"][0]["digest"]["sha256"] = hashlib.sha256(raw).hexdigest()
    except (KeyError, IndexError, TypeError, ValueError, UnicodeEncodeError):
        pass
    return st


def time_forms(rng, base_ms):
    """(label, text) RFC 3339 spellings around base_ms, valid and not."""
    t = datetime.fromtimestamp(base_ms / 1000, timezone.utc)
    z = iso(base_ms)
    plus = (t + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+05:30" % (base_ms % 1000)
    minus = (t - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S") + "-08:00"
    forms = [
        ("Z", z), ("lower-case t", z.replace("T", "t")), ("lower-case z", z[:-1] + "z"),
        ("lower-case t and z", z.replace("T", "t")[:-1] + "z"), ("+00:00", z[:-1] + "+00:00"),
        ("-00:00", z[:-1] + "-00:00"), ("+05:30", plus), ("-08:00 no fraction", minus),
        ("+0000", z[:-1] + "+0000"), ("+05", z[:-1] + "+05"), ("+24:00", z[:-1] + "+24:00"),
        ("+23:60", z[:-1] + "+23:60"), ("space for T", z.replace("T", " ")), ("no fraction", iso(base_ms, 0)),
        ("1 fraction digit", iso(base_ms, 1)), ("6 fraction digits", iso(base_ms, 6)),
        ("9 fraction digits", iso(base_ms, 9)), ("64 fraction digits", iso(base_ms, 64)),
        ("65 fraction digits", iso(base_ms, 65)), ("comma fraction", z.replace(".", ",")),
        ("empty fraction", iso(base_ms, 0)[:-1] + ".Z"), ("no seconds", z[:16] + "Z"),
        ("second 60", z[:17] + "60" + z[19:]), ("hour 24", z[:11] + "24" + z[13:]),
        ("year 9999", "9999" + z[4:]), ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("year 10000", "10000" + z[4:]), ("year 0000", "0000" + z[4:]), ("1969", "1969-12-31T23:59:59.999Z"),
        ("epoch", "1970-01-01T00:00:00.000Z"), ("epoch +00:01", "1970-01-01T00:00:00+00:01"),
        ("leap day 2024-02-29", "2024-02-29T12:00:00Z"), ("2023-02-29", "2023-02-29T12:00:00Z"),
        ("2100-02-29", "2100-02-29T12:00:00Z"), ("2000-02-29", "2000-02-29T12:00:00Z"),
        ("month 13", z[:5] + "13" + z[7:]), ("day 00", z[:8] + "00" + z[10:]), ("day 31 of a 30-day month",
                                                                                  z[:4] + "-11-31" + z[10:]),
        ("fullwidth digits", z.translate({c: 0xFF10 + c - 48 for c in range(48, 58)})),
        ("Arabic-Indic digits", z.translate({c: 0x0660 + c - 48 for c in range(48, 58)})),
        ("trailing space", z + " "), ("leading space", " " + z), ("trailing newline", z + "\n"),
        ("NUL", z + "\u0000"), ("date only", z[:10]), ("unix seconds", str(base_ms // 1000)),
        ("-1 s", iso(base_ms - 1000)), ("+1 s", iso(base_ms + 1000)),
        ("4m58s ahead", iso(base_ms + 298_000)), ("5m1s ahead", iso(base_ms + 301_000)),
        ("23h59m58s behind", iso(base_ms - 86_398_000)), ("24h0m1s behind", iso(base_ms - 86_401_000)),
        ("a year ahead", iso(base_ms + 366 * 86_400_000)),
    ]
    return rng.choice(forms)


NONCES = [("x", "x"), ("empty", ""), ("upper-case hex", None), ("31 hex", None), ("33 hex", None),
          ("64 hex", None), ("g×32", "g" * 32), ("fullwidth hex", "\uff10" * 32), ("spaces", " " * 32),
          ("NUL-padded", "\u0000" * 32), ("with newline", None), ("0x prefix", None), ("all zero", "0" * 32),
          ("é×32", "é" * 32)]


def mutate(rng, world, case):
    """Mutates case (its target) in place; returns the label."""
    st = case.statement
    kind = case.template if case.template in KINDS else st["predicateType"].split("/")[-2]
    pred = st["predicate"]
    family = rng.randrange(22)
    if kind in ("policy", "key-enrolled", "key-updated", "key-revoked") and rng.random() < 0.4:
        family = 18  # their own rules are where most of their fields are

    if family == 0:  # nonce forms
        label, value = rng.choice(NONCES + [("number", 12345), ("null", None), ("missing", "MISSING")])
        hexa = os.urandom(16).hex()
        value = {"upper-case hex": hexa.upper(), "31 hex": hexa[:31], "33 hex": hexa + "a", "64 hex": hexa * 2,
                 "with newline": hexa[:31] + "\n", "0x prefix": "0x" + hexa[:30]}.get(label, value)
        if value == "MISSING":
            del pred["nonce"]
        else:
            pred["nonce"] = value
        return f"nonce {label}: {short(json.dumps(value), 60)}"
    if family in (1, 2):  # time forms, of the signed time or another time field
        fields = ["time"] + (["expiresAt"] if "expiresAt" in pred else [])
        field = rng.choice(fields)
        base = now_ms() if field == "time" else now_ms() + 72 * 3600 * 1000
        label, text = time_forms(rng, base)
        pred[field] = text
        return f"predicate.{field} {label}: {short(json.dumps(text), 80)}"
    if family in (3, 4, 5):  # an odd string in one of the kind's string fields (or a common one)
        fields = [f for f in STRING_FIELDS.get(kind, []) if f in pred] or ["ledger"]
        field = rng.choice(fields + ["ledger"] if rng.random() < 0.1 else fields)
        value = rng.choice(ODD_STRINGS)
        pred[field] = value
        refresh_digest(st)
        if kind.startswith("key-") and field == "identity" and rng.random() < 0.7:
            st["subject"][0]["name"] = value  # the subject follows, so the identity itself is what is judged
            return f"identity (and subject name) = {short(json.dumps(value), 60)}"
        return f"predicate.{field} = {short(json.dumps(value), 60)}"
    if family == 6:  # subject name
        name = st["subject"][0]["name"]
        if kind in ("key-enrolled", "key-updated", "key-revoked"):
            ident = pred.get("identity", "")
            value = rng.choice([ident.upper(), ident + " ", " " + ident, ident.replace("@", "\uff20"),
                                "\u212a" + ident, ident + "\u0301", ident + "\u200d", "other@example.com",
                                "admin@example.com", ident[:-1], ""])
            st["subject"][0]["name"] = value
            return f"{kind} subject name {short(json.dumps(value), 60)} ≠ identity {short(json.dumps(ident), 40)}"
        value = rng.choice([
            name.upper(), name.replace("registry.example", "Registry.Example"), name.split("/")[-1], "nginx",
            "library/nginx", "docker.io/nginx", "index.docker.io/library/nginx", "registry-1.docker.io/library/nginx",
            "docker.io/library/nginx", "DOCKER.IO/library/nginx", "localhost:5000/team/app", "LOCALHOST:5000/team/app",
            "localhost/team/app", "[::1]:5000/app", "registry.example:99999/x", "registry.example:/x",
            "registry.example:0/x", name + "/", "/" + name, name.replace("/", "//", 1), name + "/a__b",
            name + "/a___b", name + "/a--b", name + "/a.-b", name + "/-a", name + "/a_", name + "/ä",
            name + "/a\u0301", name + "\n", name + "@sha256:" + "0" * 64, name + ":latest", "./app", "-/app",
            "reg_istry.example/app", "a..b.example/app", "registry.example/" + "a" * (255 - 17),
            "registry.example/" + "a" * (256 - 17), "registry.example/tools/" + "b" * 300,
            "quay.io/org/app", "registry.example/other", "\ufeff" + name, name.replace("e", "\u0435", 1)])
        st["subject"][0]["name"] = value
        if kind == "policy":
            return f"policy subject name {short(json.dumps(value), 60)}"
        return f"subject name {short(json.dumps(value), 80)}"
    if family == 7:  # digest
        digest = st["subject"][0]["digest"]
        label, value = rng.choice([("upper-case", digest["sha256"].upper()), ("63 hex", digest["sha256"][:63]),
                                   ("65 hex", digest["sha256"] + "0"), ("non-hex", "g" + digest["sha256"][1:]),
                                   ("sha256: prefix", "sha256:" + digest["sha256"]), ("number", 7),
                                   ("null", None), ("empty", ""), ("another fresh digest", new_hex())])
        if rng.random() < 0.2:
            st["subject"][0]["digest"] = {"sha512": "ab" * 64}
            return "subject digest only sha512"
        if rng.random() < 0.2:
            digest["sha512"] = "ab" * 64
            return "subject digest with an extra sha512"
        digest["sha256"] = value
        return f"subject digest.sha256 {label}"
    if family == 8:  # ledger and ledger ID
        label, field, value = rng.choice([
            ("wrong origin", "ledger", "example.com/other"), ("origin upper-case", "ledger", world.origin.upper()),
            ("origin + space", "ledger", world.origin + " "), ("origin NFD-ish", "ledger", world.origin + "\u0301"),
            ("ledger missing", "ledger", "MISSING"), ("ledger null", "ledger", None),
            ("ledgerID missing", "ledgerID", "MISSING"), ("ledgerID null", "ledgerID", None),
            ("ledgerID upper-case", "ledgerID", world.ledger_id.upper()),
            ("ledgerID of the other ledger", "ledgerID", world.other_ledger_id),
            ("ledgerID 63 hex", "ledgerID", world.ledger_id[:63]), ("ledgerID number", "ledgerID", 1),
            ("ledgerID with sha256: prefix", "ledgerID", "sha256:" + world.ledger_id),
            ("ledgerID empty", "ledgerID", "")])
        if value == "MISSING":
            pred.pop(field, None)
        else:
            pred[field] = value
        return f"predicate {label}"
    if family == 9:  # duplicate keys, written textually
        text = json_compact(st).decode("utf-8", "surrogatepass")
        keys = ['"ledger":', '"ledgerID":', '"nonce":', '"time":', '"name":', '"sha256":', '"predicateType":',
                '"_type":'] + [f'"{f}":' for f in STRING_FIELDS.get(kind, []) if f in pred]
        key = rng.choice(keys)
        i = text.find(key)
        j = text.find(",", i)
        k2 = text.find("}", i)
        end = min(x for x in (j, k2) if x > 0)
        same = rng.random() < 0.5
        dup = text[i:end] if same else key + json.dumps(rng.choice(["x", "example.com/other", "0" * 64, 1]))
        text = text[:i] + dup + "," + text[i:] if rng.random() < 0.5 else text[:end] + "," + dup + text[end:]
        case.payload = text.encode("utf-8", "surrogatepass")
        return f"duplicate key {key} ({'same' if same else 'other'} value)"
    if family == 10:  # invalid, overlong or odd UTF-8 inside a string of the payload, BOM, encodings
        raw = json_compact(st)
        junk_label, junk = rng.choice([("\\xff", b"\xff"), ("\\xfe", b"\xfe"), ("overlong /", b"\xc0\xaf"),
                                       ("overlong NUL", b"\xc0\x80"), ("overlong e", b"\xe0\x81\xa5"),
                                       ("surrogate", b"\xed\xa0\x80"), ("above U+10FFFF", b"\xf4\x90\x80\x80"),
                                       ("truncated", b"\xe2\x82"), ("lone continuation", b"\x80"),
                                       ("raw NUL", b"\x00"), ("raw newline", b"\n"), ("raw tab", b"\t"),
                                       ("raw DEL", b"\x7f"), ("raw ESC", b"\x1b"), ("5-byte form", b"\xf8\x88\x80\x80\x80"),
                                       ("escaped lone surrogate", b"\\ud800"), ("escaped NUL", b"\\u0000")])
        where = rng.choice(["nonce", "time", "name"] + [f for f in STRING_FIELDS.get(kind, []) if f in pred])
        marker = f'"{where}":"'.encode()
        i = raw.find(marker)
        if i < 0 or rng.random() < 0.15:
            wrap = rng.choice([("BOM", b"\xef\xbb\xbf" + raw), ("UTF-16", raw.decode().encode("utf-16")),
                               ("UTF-16LE", raw.decode().encode("utf-16-le")), ("leading space", b" " + raw),
                               ("trailing newline", raw + b"\n"), ("trailing NUL", raw + b"\x00"),
                               ("trailing garbage", raw + b"x"), ("two statements", raw + raw),
                               ("pretty-printed", json.dumps(st, indent=2, ensure_ascii=False).encode()),
                               ("ASCII-escaped", json.dumps(st, sort_keys=True).encode()),
                               ("unsorted keys", json.dumps(dict(reversed(list(st.items())))).encode()),
                               ("\\/ escapes", raw.replace(b"/", b"\\/")), ("trailing comma", raw[:-1] + b",}"),
                               ("NaN field", raw[:-1] + b',"x":NaN}'), ("1e999 field", raw[:-1] + b',"x":1e999}')])
            case.payload = wrap[1]
            return f"payload {wrap[0]}"
        at = i + len(marker) + rng.choice([0, 1, 3])
        case.payload = raw[:at] + junk + raw[at:]
        return f"{junk_label} inside predicate/subject {where}"
    if family == 11:  # structure: extra fields, types, subjects, _type and predicateType
        label, edit = rng.choice([
            ("extra top-level field", lambda: st.__setitem__("extra", 1)),
            ("extra predicate field", lambda: pred.__setitem__("unknownField", "x")),
            ("extra predicate field with a huge string", lambda: pred.__setitem__("note", "x" * 180_000)),
            ("extra subject field", lambda: st["subject"][0].__setitem__("uri", "x")),
            ("two subjects", lambda: st.__setitem__("subject", st["subject"] * 2)),
            ("no subject", lambda: st.__setitem__("subject", [])),
            ("subject object", lambda: st.__setitem__("subject", st["subject"][0])),
            ("_type v0.1", lambda: st.__setitem__("_type", "https://in-toto.io/Statement/v0.1")),
            ("_type trailing slash", lambda: st.__setitem__("_type", helpers.STATEMENT_TYPE + "/")),
            ("_type missing", lambda: st.pop("_type")),
            ("predicateType upper-case", lambda: st.__setitem__("predicateType", st["predicateType"].upper())),
            ("predicateType http", lambda: st.__setitem__("predicateType", st["predicateType"].replace("https", "http"))),
            ("predicateType v2", lambda: st.__setitem__("predicateType", st["predicateType"].replace("/v1", "/v2"))),
            ("predicateType trailing slash", lambda: st.__setitem__("predicateType", st["predicateType"] + "/")),
            ("predicate a list", lambda: st.__setitem__("predicate", [pred])),
            ("predicate null", lambda: st.__setitem__("predicate", None)),
            ("statement a list", None),
        ])
        if edit is None:
            case.payload = json_compact([st])
        else:
            edit()
        return label
    if family == 12:  # another kind's predicate type over this predicate
        other = rng.choice(KINDS)
        st["predicateType"] = f"https://docket.dev/{other}/v1"
        return f"predicateType {other} over a {kind} predicate"
    if family == 13:  # numbers, booleans, lists where strings go (and the reverse)
        paths = [p for p in leaf_paths(st) if p and p[0] in ("predicate", "subject")]
        path = rng.choice(paths)
        value = rng.choice([5, 1.0, -1, 0, 2 ** 70, True, False, None, [], {}, ["x"], {"a": 1}, "5", "true"])
        set_path(st, path, value)
        return f"{'.'.join(map(str, path))} = {json.dumps(value)}"
    if family == 14:  # remove one field
        paths = [p for p in leaf_paths(st) if p and not isinstance(p[-1], int)]
        path = rng.choice(paths)
        del_path(st, path)
        refresh_digest(st)
        return f"remove {'.'.join(map(str, path))}"
    if family == 15:  # envelope: payloadType, keyid hint, base64 forms, extra fields, signatures
        label, edit = rng.choice([
            ("payloadType upper-case", "TYPE:APPLICATION/VND.IN-TOTO+JSON"),
            ("payloadType trailing space", "TYPE:application/vnd.in-toto+json "),
            ("payloadType application/json", "TYPE:application/json"), ("payloadType empty", "TYPE:"),
            ("payloadType with parameters", "TYPE:application/vnd.in-toto+json; charset=utf-8"),
            ("payloadType NUL", "TYPE:application/vnd.in-toto+json\u0000"),
            ("keyid missing", lambda e: (e["signatures"][0].pop("keyid"), e)[1]),
            ("keyid empty", lambda e: (e["signatures"][0].__setitem__("keyid", ""), e)[1]),
            ("keyid upper-case", lambda e: (e["signatures"][0].__setitem__("keyid", e["signatures"][0]["keyid"].upper()), e)[1]),
            ("keyid of another enrolled key", lambda e: (e["signatures"][0].__setitem__(
                "keyid", helpers.key_id(bytes(world.keys["releaser" if case.signer is not world.keys["releaser"]
                                                            else "ci"].verify_key))), e)[1]),
            ("keyid garbage", lambda e: (e["signatures"][0].__setitem__("keyid", "not-a-key\n\u001b[2J"), e)[1]),
            ("keyid number", lambda e: (e["signatures"][0].__setitem__("keyid", 7), e)[1]),
            ("keyid null", lambda e: (e["signatures"][0].__setitem__("keyid", None), e)[1]),
            ("payload URL-safe unpadded", lambda e: (e.__setitem__("payload", e["payload"].replace("+", "-").replace("/", "_").rstrip("=")), e)[1]),
            ("payload unpadded", lambda e: (e.__setitem__("payload", e["payload"].rstrip("=")), e)[1]),
            ("sig URL-safe", lambda e: (e["signatures"][0].__setitem__("sig", e["signatures"][0]["sig"].replace("+", "-").replace("/", "_")), e)[1]),
            ("extra envelope field", lambda e: (e.__setitem__("extra", "x"), e)[1]),
            ("extra signature field", lambda e: (e["signatures"][0].__setitem__("cert", "x"), e)[1]),
            ("signature twice", lambda e: (e.__setitem__("signatures", e["signatures"] * 2), e)[1]),
            ("envelope keys reordered", lambda e: {k: e[k] for k in reversed(list(e))}),
            ("envelope pretty-printed", lambda e: json.dumps(e, indent=2).encode()),
            ("envelope BOM", lambda e: b"\xef\xbb\xbf" + json_compact(e)),
            ("envelope duplicate payloadType", lambda e: b'{"payloadType":"text/plain",' + json_compact(e)[1:]),
            ("envelope duplicate signatures", lambda e: json_compact(e)[:-1] + b',"signatures":[]}'),
        ])
        if isinstance(edit, str):
            case.payload_type = edit[len("TYPE:"):]
        else:
            case.envelope_edit = edit
        return f"envelope {label}"
    if family == 16:  # the wrong signer
        who = rng.choice(["ci", "approver", "approver2", "releaser", "admin", "admin2", "unenrolled"])
        case.signer = SigningKey.generate() if who == "unenrolled" else world.keys[who]
        return f"signed by {who}"
    if family == 17:  # the reliability suite's statement mutations (shared code), on any kind
        label, payload = statement_mutation(rng, st)
        case.payload = payload
        return f"reliability mutation: {label}"
    if family in (18, 19, 20):
        return kind_mutation(rng, world, case, kind)
    return unicode_field_mutation(rng, case, kind)


def unicode_field_mutation(rng, case, kind):
    """NFD/NFC and other look-alike spellings of a name that must be NFC and compared as bytes."""
    st, pred = case.statement, case.statement["predicate"]
    fields = [f for f in STRING_FIELDS.get(kind, []) if isinstance(pred.get(f), str)]
    if not fields:
        return kind_mutation(rng, None, case, kind)
    field = rng.choice(fields)
    value = pred[field]
    label, new = rng.choice([("NFD é", value + "-cafe\u0301"), ("NFC é", value + "-caf\u00e9"),
                             ("KELVIN SIGN", value.replace("k", "\u212a").replace("e", "\u212a", 1) + "\u212a"),
                             ("ANGSTROM SIGN", value + "\u212b"), ("ZWJ", value + "\u200d"),
                             ("bidi override", "\u202e" + value), ("BOM inside", value[:1] + "\ufeff" + value[1:]),
                             ("combining run", value + "\u00e1" + "\u0301" * 130), ("NUL", value + "\u0000"),
                             ("ESC", value + "\u001b[0m"), ("emoji modifier", value + "\U0001F3FB"),
                             ("circled letter", value + "\u24b6"), ("upper-case", value.upper()),
                             ("trailing space", value + " ")])
    pred[field] = new
    if kind.startswith("key-") and field == "identity":
        st["subject"][0]["name"] = new
    return f"predicate.{field} {label}: {short(json.dumps(new), 60)}"


def kind_mutation(rng, world, case, kind):
    st = case.statement
    pred = st["predicate"]
    r = rng.random
    if kind == "built":
        label, value = rng.choice([("bad tag", ["bad tag!"]), ("tag -x", ["-x"]), ("tag .x", [".x"]),
                                   ("129-char tag", ["x" * 129]), ("128-char tag", ["x" * 128]),
                                   ("protected tag v1.2.3", ["v1.2.3"]), ("empty tag", [""]), ("tags string", "v1"),
                                   ("5000 tags", ["t%d" % i for i in range(5000)]), ("duplicate tags", ["a", "a"]),
                                   ("tag é", ["é"]), ("tags null", None), ("tags []", [])])
        pred["tags"] = value
        if r() < 0.2:
            pred["source"] = rng.choice([{"repository": ""}, {"revision": "x"}, "https://git", {"repository": "x", "revision": 1}])
            label += " and odd source"
        return f"built {label}"
    if kind == "deployed":
        value = rng.choice(["unknown-env", "Staging", "STAGING", "prüfung", "pru\u0308fung", "staging.", "x" * 128,
                            LONG_GRAPHEME, LONG_GRAPHEME[:-1], "\u00e1" + "\u0301" * 127,
                            "x" * 129, "stag ing", "staging/eu"])
        pred["environment"] = value
        return f"deployed environment {short(json.dumps(value), 40)}"
    if kind == "check":
        pred["result"] = rng.choice(["PASS", "pass ", "passed", "ok", "", "fail\n"])
        return f"check result {json.dumps(pred['result'])}"
    if kind == "incident":
        if r() < 0.5:
            pred["state"] = rng.choice(["closed", "Open", "OPEN", "resolved ", ""])
            return f"incident state {json.dumps(pred['state'])}"
        pred["state"] = "resolved" if pred["state"] == "open" else "open"
        return "incident state flipped (resolve an unopened one / reopen an open one)"
    if kind == "approved":
        choice = rng.randrange(4)
        if choice == 0:
            label, text = time_forms(rng, now_ms() + 72 * 3600 * 1000)
            pred["expiresAt"] = text
            return f"approved expiresAt {label}: {short(json.dumps(text), 60)}"
        if choice == 1:
            pred["expiresAt"] = rng.choice([iso(now_ms() - 3600 * 1000), "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z",
                                            "2024-02-29T00:00:00Z", "2027-02-29T00:00:00Z", 1893456000, ""])
            return f"approved expiresAt {json.dumps(pred['expiresAt'])}"
        if choice == 2:
            pred["breakGlass"] = rng.choice(["true", 1, 0, False, None, {}, "yes"])
            return f"approved breakGlass {json.dumps(pred['breakGlass'])}"
        pred["environment"] = rng.choice(["staging", "prüfung", "unknown", "Production"])
        return f"approved environment {pred['environment']}"
    if kind == "withdrawn":
        case.signer = world.keys["approver2"] if world else case.signer
        return "withdrawn by an identity whose approval does not stand"
    if kind == "promoted":
        choice = rng.randrange(6)
        if choice == 0:
            pred["from"] = rng.choice(["production", "prüfung", "unknown", "Staging"])
            return f"promoted from {pred['from']}"
        if choice == 1:
            pred["to"] = rng.choice(["staging", "prüfung", "unknown", "Production"])
            return f"promoted to {pred['to']}"
        if choice == 2:
            if "breakGlass" in pred:
                del pred["breakGlass"]
                return "break-glass promotion without breakGlass"
            pred["breakGlass"] = {"reason": "x", "failedRules": ["approvals"]}
            return "breakGlass on a passing gate"
        if choice == 3:
            glass = pred.setdefault("breakGlass", {"reason": "x", "failedRules": ["approvals"]})
            glass["failedRules"] = rng.choice([[], ["approvals", "approvals"], ["soak"], ["built"], ["Approvals"],
                                               ["approvals", "checks", "freeze"], "approvals", [1]])
            return f"promoted breakGlass.failedRules {json.dumps(glass['failedRules'])}"
        if choice == 4:
            glass = pred.setdefault("breakGlass", {"reason": "x", "failedRules": ["approvals"]})
            glass["reason"] = rng.choice(["", " ", "\u00a0", "\n", "\u3000", None, 5])
            return f"promoted breakGlass.reason {json.dumps(glass['reason'])}"
        pred["tags"] = rng.choice([["v1.2.3"], ["bad tag"], ["x" * 129], "latest"])
        return f"promoted tags {short(json.dumps(pred['tags']), 40)}"
    if kind == "rolled-back":
        choice = rng.randrange(4)
        if choice == 0:
            pred["from"] = rng.choice([pred["from"].upper(), pred["from"][7:], "sha256:" + new_hex(),
                                       "sha256:" + pred["from"][7:].upper(), "sha512:" + "a" * 128, ""])
            return f"rolled-back from {short(pred['from'], 30)}"
        if choice == 1:
            pred["breakGlass"] = rng.choice([{"reason": "x"}, {"reason": ""}, {"reason": " "}, {}, "x", True])
            return f"rolled-back breakGlass {json.dumps(pred['breakGlass'])}"
        if choice == 2:
            pred["reason"] = rng.choice(["", " ", "\u00a0", "\u2028", "\t"])
            return f"rolled-back reason {json.dumps(pred['reason'])}"
        pred["environment"] = rng.choice(["production", "staging", "prüfung", "unknown"])
        return f"rolled-back environment {pred['environment']}"
    if kind in ("key-enrolled", "key-updated", "key-revoked"):
        choice = rng.randrange(7)
        ident = pred["identity"]
        if choice == 0:  # the fixed case: subject name ≠ identity
            st["subject"][0]["name"] = rng.choice([ident.upper(), ident + " ", "other@example.com", ident + "\u0301"])
            return f"{kind} subject name ≠ identity"
        if choice == 1:
            raw = helpers.any_b64(pred["publicKey"])
            label, value = rng.choice([("31 bytes", b64(raw[:31])), ("33 bytes", b64(raw + b"\0")),
                                       ("URL-safe unpadded", base64.urlsafe_b64encode(raw).decode().rstrip("=")),
                                       ("unpadded", b64(raw).rstrip("=")), ("garbage", "!!!!"),
                                       ("a fresh key", b64(bytes(SigningKey.generate().verify_key))),
                                       ("the admin key", b64(bytes(world.keys["admin"].verify_key))),
                                       ("the ci key", b64(bytes(world.keys["ci"].verify_key)))])
            pred["publicKey"] = value
            if r() < 0.7:
                refresh_digest(st)
                label += ", digest recomputed"
            return f"{kind} publicKey {label}"
        if choice == 2 and kind != "key-revoked":
            pred["roles"] = rng.choice([[], ["Admin"], ["ci", "ci"], ["root"], "ci", ["ci", None], ["approver", "admin"]])
            return f"{kind} roles {json.dumps(pred['roles'])}"
        if choice == 3 and kind != "key-revoked":
            value = rng.choice([["bad team"], [""], ["x" * 65], ["é" * 32], ["é" * 33], ["cafe\u0301"], ["\u24b6"],
                                ["\u0345"], ["a\u200d"], ["a\U0001F3FB"], ["a\ufe0f"], ["sec/urity"], "security",
                                None, [], ["\u212a"], ["team\u0000"], ["ⅻ"], ["½"]])
            if value is None and r() < 0.5:
                pred.pop("teams", None)
                return f"{kind} teams missing"
            pred["teams"] = value
            return f"{kind} teams {short(json.dumps(value), 40)}"
        if choice == 4 and kind == "key-revoked":
            pred["voidApprovals"] = rng.choice(["true", 1, None, False, "yes"])
            return f"key-revoked voidApprovals {json.dumps(pred['voidApprovals'])}"
        if choice == 5 and kind != "key-enrolled":
            pred["identity"] = st["subject"][0]["name"] = "someone-else@example.com"
            return f"{kind} of a key under another identity"
        if kind == "key-enrolled":
            pred["identity"] = st["subject"][0]["name"] = rng.choice(
                ["ci@example.com", "x", "cafe\u0301@example.com", "caf\u00e9@example.com", "\u212a@example.com",
                 "\u202eevil@example.com", "a\u200d@example.com", "\u24b6@example.com", " "])
            return f"key-enrolled identity {short(json.dumps(pred['identity']), 40)}"
        pred["reason" if kind == "key-revoked" else "identity"] = rng.choice(["", " ", "\u00a0"])
        return f"{kind} blank reason/identity"
    if kind == "policy":
        return policy_mutation(rng, case)
    if kind == "initialized":
        return "initialized after the genesis"
    return "unmutated"


def policy_mutation(rng, case):
    st = case.statement
    doc = st["predicate"]["policy"]
    envs = doc["pipelines"][0]["environments"] if "pipelines" in doc else doc["environments"]
    prod = envs[-1]
    choice = rng.randrange(12)
    if choice == 0:
        value = rng.choice(["pru\u0308fung", "a\u200d", "\u24b6", "\u0345", "a\U0001F3FB", "\u00e1" + "\u0301" * 130,
                            "x" * 129, "Prod", "prod eu", "\u212a", "ⅻ", "é" * 100])
        envs.append({"name": value, "from": "staging"})
        label = f"policy environment named {short(json.dumps(value), 40)}"
    elif choice == 1:
        prod["soak"] = rng.choice(["0s", "1s", "1h30m", "36600d", "36601d", "1y", "-1s", "1.5h", "", "1h 30m", "5", 5,
                                   "99999999999999999999s", "\uff11h"])
        label = f"policy soak {json.dumps(prod['soak'])}"
    elif choice == 2:
        doc["maxClockSkew"] = rng.choice(["5m", "0s", "100000d", "1d", "x", 300])
        label = f"policy maxClockSkew {json.dumps(doc['maxClockSkew'])}"
    elif choice == 3:
        prod["approvals"] = rng.choice([{"min": 0}, {"min": 1.0, "roles": ["approver"]}, {"min": True},
                                        {"min": -1}, {"min": 2 ** 64}, {"min": 1, "roles": ["Approver"]},
                                        {"min": 1, "teams": ["cafe\u0301"]}, {"min": 1, "identities": ["\u212a@x"]},
                                        {"rules": [{"name": "a", "min": 1}, {"name": "a", "min": 1}]},
                                        {"min": 1, "maxAge": "73h", "separationOfDuties": True}])
        label = f"policy approvals {short(json.dumps(prod['approvals'], ensure_ascii=False), 60)}"
    elif choice == 4:
        prod["freeze"] = [rng.choice([
            {"weekly": {"from": "Fri 16:00", "to": "Mon 08:00"}, "timeZone": "Europe/Berlin", "reason": "weekend"},
            {"weekly": {"from": "fri 16:00", "to": "Mon 08:00"}, "timeZone": "Europe/Berlin", "reason": "w"},
            {"weekly": {"from": "Fri 16:00", "to": "Fri 16:00"}, "timeZone": "UTC", "reason": "w"},
            {"weekly": {"from": "Fri 24:00", "to": "Mon 08:00"}, "timeZone": "UTC", "reason": "w"},
            {"weekly": {"from": "Fri 16:00", "to": "Mon 08:00"}, "timeZone": "Europe/Atlantis", "reason": "w"},
            {"weekly": {"from": "Fri 16:00", "to": "Mon 08:00"}, "timeZone": "europe/berlin", "reason": "w"},
            {"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z", "reason": "new year"},
            {"from": "2030-01-01t00:00:00z", "to": "2030-01-02T00:00:00Z", "reason": "lower case"},
            {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z", "reason": "backwards"},
            {"from": "2028-02-29T00:00:00+01:00", "to": "9999-12-31T23:59:59Z", "reason": "leap day to 9999"},
            {"from": "2030-01-01T00:00:00Z", "to": "10000-01-01T00:00:00Z", "reason": "year 10000"},
            {"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"},
        ])]
        label = f"policy freeze {short(json.dumps(prod['freeze']), 80)}"
    elif choice == 5:
        patterns = ["registry.example/Tools/*", "nginx", "docker.io/nginx", "index.docker.io/**", "", "**",
                    "registry.example/tools/*/", "REGISTRY.EXAMPLE/**", "[a-z]*", "registry.example/caf\u00e9"]
        value = rng.choice(patterns)
        if "pipelines" in doc:
            doc["pipelines"][0]["repositories"].append(value)
        else:
            doc["repositories"] = [value]
        label = f"policy repository pattern {json.dumps(value)}"
    elif choice == 6:
        doc.setdefault("protectedTags", []).append(rng.choice(["(", "^v\\d+$", "[[:alpha:]]", "(?i)^v", "\\p{L}",
                                                               "a{1000000}", "", "^v[0-9]+$\n"]))
        label = f"policy protectedTags {json.dumps(doc['protectedTags'][-1])}"
    elif choice == 7:
        prod["unknownField"] = 1
        label = "policy unknown field"
    elif choice == 8:
        envs.append(copy.deepcopy(envs[0]))
        label = "policy environment defined twice"
    elif choice == 9:
        prod["breakGlass"] = rng.choice([{"allow": ["built", "from", "incidents"], "approvals": 0},
                                         {"allow": ["Soak"]}, {"approvals": 101}, {"approvals": -1},
                                         {"approvals": 1.0}, "yes", None, False])
        label = f"policy breakGlass {json.dumps(prod['breakGlass'])}"
    elif choice == 10:
        st["subject"][0]["digest"]["sha256"] = hashlib.sha256(json.dumps(doc).encode()).hexdigest()
        return "policy digest over non-canonical JSON"
    else:
        prod["from"] = rng.choice(["production", "unknown", "Staging", "prüfung"])
        label = f"policy from {prod['from']}"
    refresh_digest(st)
    return label


# ------------------------------------------------------------------------------------------------ the campaign


def feed(world, count, deadline):
    rng = world.rng
    for template in ("built", "deployed", "check", "incident-open", "incident-resolved", "approved", "withdrawn",
                     "promoted", "promoted-break-glass", "rolled-back", "rolled-back-production", "key-enrolled",
                     "key-updated", "key-revoked", "policy"):
        world.control(template)
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        case = world.case()
        if rng.random() < 0.03:
            world.submit(case, "unmutated")
            continue
        label = mutate(rng, world, case)
        world.submit(case, label)


def verifier_reports(docket, world):
    lg = world.ledger
    bundle = lg.dir / "ledger.bundle"
    lg.export(bundle)
    return {"docket verify": docket.run(["verify", "--json"], ledger=lg.path, timeout=180),
            "docket verify --bundle": docket.run(["verify", "--bundle", bundle, "--json"], timeout=180),
            "tools/verify-bundle": docket.verify_bundle([bundle, "--json"], timeout=300)}, bundle


@pytest.fixture(scope="module")
def differential(docket, ledger_factory, seed, note):
    worlds = [World(docket, ledger_factory, name, policy, repos, seed) for name, (policy, repos) in WORLDS.items()]
    worlds[0].other_ledger_id, worlds[1].other_ledger_id = worlds[1].ledger_id, worlds[0].ledger_id
    started = time.monotonic()
    deadline = started + SECONDS
    per_world = [COUNT // len(worlds) + (1 if i < COUNT % len(worlds) else 0) for i in range(len(worlds))]
    errors = []

    def run(world, count):
        try:
            feed(world, count, deadline)
        except Exception:  # a bug of the test itself: reported, not swallowed
            import traceback
            errors.append(f"{world.name}: {traceback.format_exc()}")

    threads = [threading.Thread(target=run, args=(w, n), daemon=True) for w, n in zip(worlds, per_world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submitting = time.monotonic() - started
    results = {}
    for world in worlds:
        results[world.name] = verifier_reports(docket, world)
        with open(world.accepted_dir / "index.txt", "w") as f:
            for index in sorted(world.labels):
                f.write(f"{index}\t{world.labels[index]}\n")
    total = sum(w.stats["cases"] for w in worlds)
    accepted = sum(w.stats["accepted"] for w in worlds)
    note(f"differential: {total} cases submitted in {submitting:.1f}s ({accepted} accepted, "
         f"{total - accepted} refused); per ledger: " + "; ".join(
             f"{w.name} {w.stats['cases']} cases, {w.stats['accepted']} accepted, "
             f"{w.stats['policy-restored']} policy restores" for w in worlds) + f"; seed {seed}")
    return {"worlds": worlds, "results": results, "errors": errors, "seed": seed, "elapsed": submitting}


def problems_of(result):
    try:
        report = json.loads(result.stdout)
    except ValueError:
        return None
    return report.get("problems") if isinstance(report, dict) else None


@slow
class TestDifferential:
    def test_the_campaign_ran_without_errors_of_its_own(self, differential):
        assert not differential["errors"], "\n".join(differential["errors"])

    def test_thousands_of_cases_were_submitted(self, differential):
        total = sum(w.stats["cases"] for w in differential["worlds"])
        wanted = min(COUNT, 1000)
        assert total >= wanted, f"only {total} cases in {differential['elapsed']:.0f}s (DIFFERENTIAL_SECONDS)"

    def test_every_unmutated_case_is_accepted(self, differential):
        """The builders make valid statements of every kind, so a refusal is the mutation's doing."""
        refused = [r for w in differential["worlds"] for r in w.control_refusals]
        assert not refused, "\n".join(refused[:10])

    def test_submit_refuses_cleanly(self, differential):
        found = [f for w in differential["worlds"] for f in w.findings]
        assert not found, f"{len(found)} case(s), seed {differential['seed']}:\n" + "\n".join(found[:10])

    @pytest.mark.parametrize("world", list(WORLDS))
    @pytest.mark.parametrize("verifier", ["docket verify", "docket verify --bundle", "tools/verify-bundle"])
    def test_whatever_docket_accepted_the_verifier_accepts(self, differential, world, verifier):
        w = next(x for x in differential["worlds"] if x.name == world)
        reports, bundle = differential["results"][world]
        res = reports[verifier]
        assert not res.crashed(), res.describe()
        problems = problems_of(res)
        if res.rc == 0 and problems == [] and json.loads(res.stdout).get("ok") is True:
            return
        lines = []
        for p in (problems or [])[:25]:
            index = p.get("index")
            label = w.labels.get(index, "?")
            saved = w.accepted_dir / f"{index}.json"
            lines.append(f"  entry {index} [{label}]: {short(p.get('message', p), 300)}"
                         + (f"\n      envelope: {saved}" if saved.exists() else ""))
        pytest.fail(f"{verifier} on the {world} ledger ({w.stats['accepted']} accepted cases, bundle {bundle}, "
                    f"seed {differential['seed']}): exit {res.rc}, {len(problems or [])} problem(s):\n"
                    + ("\n".join(lines) or res.text()), pytrace=False)


# ------------------------------------------------------------------------------------------------ fixed cases


@pytest.fixture(scope="module")
def fixed(docket, ledger_factory, seed):
    world = World(docket, ledger_factory, "fixed", OLD_POLICY, ["docker.io/library/nginx"], seed)
    return world


def ledger_size(world):
    return json.loads(world.ledger.must(["ledger", "describe", "--json"]).stdout)["size"]


def fixed_nonce_x(world):
    case = world.case("built")
    case.statement["predicate"]["nonce"] = "x"
    return case


def fixed_bom(world):
    case = world.case("built")
    case.payload = b"\xef\xbb\xbf" + json_compact(case.statement)
    return case


def fixed_invalid_utf8(world):
    case = world.case("built")
    raw = json_compact(case.statement)
    marker = b'"nonce":"'
    i = raw.find(marker) + len(marker)
    case.payload = raw[:i] + b"\xff" + raw[i:]
    return case


def fixed_subject(kind):
    def make(world):
        case = world.case(kind)
        case.statement["subject"][0]["name"] = "someone-else@example.com"
        return case
    return make


FIXED = [pytest.param(fixed_nonce_x, id="nonce-x"), pytest.param(fixed_bom, id="payload-with-bom"),
         pytest.param(fixed_invalid_utf8, id="payload-with-invalid-utf8-xff"),
         pytest.param(fixed_subject("key-enrolled"), id="key-enrolled-subject-not-identity"),
         pytest.param(fixed_subject("key-updated"), id="key-updated-subject-not-identity"),
         pytest.param(fixed_subject("key-revoked"), id="key-revoked-subject-not-identity")]


class TestFixedCases:
    @pytest.mark.parametrize("template", ["built", "key-enrolled", "key-updated", "key-revoked"])
    def test_the_unmutated_envelope_is_accepted(self, fixed, template):
        before = ledger_size(fixed)
        res = fixed.submit(fixed.case(template), "control")
        assert res.rc == 0, res.describe()
        assert ledger_size(fixed) > before

    @pytest.mark.parametrize("make", FIXED)
    def test_submit_refuses_it_and_the_ledger_is_unchanged(self, fixed, make):
        case = make(fixed)
        before = ledger_size(fixed)
        # Prerequisites (the key that key-updated/-revoked name) are appended first, on their own.
        if case.prereqs:
            pre = Case("prerequisites", case.prereqs[:-1], *case.prereqs[-1])
            assert fixed.submit(pre, "prerequisites").rc == 0
            before = ledger_size(fixed)
            case.prereqs = []
        files, data = fixed.case_files(case)
        res = fixed.d.run(["submit", files[-1], "--json"], ledger=fixed.ledger.path, timeout=CALL_TIMEOUT)
        assert res.clean_refusal(), f"expected exit 1 or 2 with one `docket: …` line: {res.describe()}"
        assert ledger_size(fixed) == before, "the ledger grew"
