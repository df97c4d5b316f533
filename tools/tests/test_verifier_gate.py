"""The independent verifier re-decides promotions under the organisation model and agrees with Docket.

Stories built with the real CLI (the binary from $DOCKET_BIN, see conftest.py) and exported; on each bundle
`docket verify --bundle --json` and tools/verify-bundle --json must both pass and report the same state per
(environment, repository), the same break-glass promotions and rollbacks, the same drift (with the entry that
settled it) and the same tag moves:

  * two services under two pipelines, approval rules with teams and `distinct` (an assignment that needs an
    augmenting path), a team removed after approving, separation of duties;
  * freeze windows, weekly (Europe/Berlin, across the March 2027 daylight-saving change) and an absolute range,
    with ledger times set by running the CLI under faketime(1) (skipped when it is not installed);
  * break-glass with `breakGlass.approvals` (the promoter's own approval does not count) and `allow`;
  * rollback out of drift, to an earlier digest, and to a digest with an open incident;
  * the older top-level `environments:` policy, with repository names normalised by the CLI, and approvals made
    stale by an incident.

Then hand-built bundles (the test-side writer of test_verify_bundle.py, signed with helpers.py) whose promotions
or rollbacks break one rule each: the independent verifier must report it, and so must Docket.
"""

import hashlib
import json
import random
import re
import shutil
import time
from datetime import datetime, timedelta, timezone

import pytest

from .conftest import digest_of
from .test_verify_bundle import CI, RELEASER, LedgerWriter, b64, find, key_hash, raw_public_key, run, signing_key

TIMEOUT = 60
FAKETIME = shutil.which("faketime")


# ----------------------------------------------------------------------------------------------------------
# Stories with the CLI


class Org:
    """One ledger of a story: keys, `docket` calls (optionally at a faked wall-clock time), export."""

    def __init__(self, docket, directory, origin="org.example/ledger"):
        self.d = docket
        self.dir = directory
        self.dir.mkdir(parents=True)
        self.path = self.dir / "ledger.db"
        self.keys = {}
        self.at = None  # "YYYY-MM-DD HH:MM:SS" (UTC) for faketime, or None for the real clock
        self.origin = origin

    def __call__(self, *args, ok=True, at=None):
        when = at or self.at
        prefix = [FAKETIME, "-f", "@" + when] if when else None
        result = self.d.run([*args], ledger=self.path, timeout=TIMEOUT, cwd=self.dir, prefix=prefix,
                            env_extra={"TZ": "UTC"} if when else None)
        if ok and result.rc != 0:
            pytest.fail("`docket %s` exited %s:\n%s" % (" ".join(map(str, args)), result.rc, result.text()),
                        pytrace=False)
        return result

    def refused(self, *args, at=None):
        result = self(*args, ok=False, at=at)
        assert result.rc == 1, "expected a refusal (exit 1) of `docket %s`:\n%s" % (" ".join(map(str, args)),
                                                                                     result.text())
        return result

    def key(self, name, *roles, teams=()):
        path = self.dir / (name + ".key")
        self("key", "generate", "--identity", name + "@org.example", "--out", path)
        self.keys[name] = path
        if roles:
            self("key", "enroll", str(path) + ".pub", "--role", *roles, *(["--team", *teams] if teams else []),
                 "--key", self.keys["admin"])
        return path

    def start(self, policy, people):
        """init, then every (name, roles, teams) enrolled, then the policy."""
        self.key("admin")
        self("init", "--origin", self.origin, "--key", self.keys["admin"])
        for name, roles, teams in people:
            self.key(name, *roles, teams=teams)
        self.set_policy(policy)

    def set_policy(self, policy):
        path = self.dir / "policy.json"
        path.write_text(json.dumps(policy, indent=2) + "\n")
        self("policy", "set", path, "--key", self.keys["admin"])

    def as_(self, name):
        return ["--key", self.keys[name]]

    def built(self, image, *extra):
        return self("record", "built", image, *extra, *self.as_("ci"))

    def deployed(self, image, env):
        return self("record", "deployed", image, "--env", env, *self.as_("ci"))

    def check(self, image, name, result):
        return self("record", "check", image, "--check", name, "--result", result, *self.as_("ci"))

    def approve(self, digest, env, who, *extra):
        return self("approve", digest, "--env", env, *extra, *self.as_(who))

    def promote(self, image, env, *extra, who="rel"):
        return self("promote", image, "--to", env, *extra, *self.as_(who))

    def export(self):
        out = self.dir / "bundle.jsonl"
        self("export", "--out", out)
        return out


def swift_verify(docket, bundle):
    """`docket verify --bundle`, with its clock at the bundle's last ledger time or later (stories set in 2027 are
    written under faketime; verify reports entries later than its own clock)."""
    with open(bundle, "rb") as f:
        last = None
        for line in f.readlines()[1:]:
            try:
                last = json.loads(line).get("integratedTime") or last
            except ValueError:
                continue
    prefix = None
    if FAKETIME and last and last > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()):
        prefix = [FAKETIME, "-f", "@" + last[:19].replace("T", " ")]
    return docket.run(["verify", "--bundle", bundle, "--json"], timeout=TIMEOUT, prefix=prefix,
                      env_extra={"TZ": "UTC"} if prefix else None)


def python_verify(docket, bundle, *extra):
    return docket.verify_bundle([bundle, "--json", *extra], timeout=TIMEOUT)


def comparable(records):
    """Records of either verifier without what only one of them writes (line numbers, absent optionals)."""
    return [{k: v for k, v in r.items() if v is not None and k != "line"} for r in records]


def both_agree(docket, bundle):
    """Both verifiers pass the bundle and report the same state; returns the Python report."""
    s, p = swift_verify(docket, bundle), python_verify(docket, bundle)
    assert not s.crashed() and not p.crashed(), s.text() + "\n" + p.text()
    swift, python = json.loads(s.out), json.loads(p.out)
    assert s.rc == 0 and swift["ok"], "docket verify --bundle: %s" % json.dumps(swift["problems"], indent=1)
    assert p.rc == 0 and python["ok"], "verify-bundle: %s" % json.dumps(python["problems"], indent=1)
    assert python["environments"] == swift["environments"], "environments disagree"
    assert comparable(python["breakGlass"]) == comparable(swift["breakGlass"]), "break-glass lists disagree"
    assert comparable(python["drift"]) == comparable(swift["drift"]), "drift disagrees"
    assert comparable(python["tagMoves"]) == comparable(swift["tagMoves"]), "tag moves disagree"
    assert python["promotionsChecked"] == swift["promotionsChecked"]
    for field in ("entries", "root", "origin", "logKey"):
        assert python[field] == swift[field], field
    text = docket.verify_bundle([bundle], timeout=TIMEOUT)
    assert text.rc == 0 and "verified: no problems found" in text.out, text.text()
    return python


def state(report):
    return {(e["environment"], e["repository"]): e["digest"] for e in report["environments"]}


TOOLS, PAYMENTS, PAYMENTS_API = ("registry.example/tools/linter", "registry.example/payments",
                                 "registry.example/payments-api")

ORG_POLICY = {"pipelines": [
    {"name": "internal-tools", "repositories": ["registry.example/tools/*"], "environments": [
        {"name": "staging"},
        {"name": "production", "from": "staging", "approvals": {"min": 1, "roles": ["approver"]}}]},
    {"name": "payments", "repositories": ["registry.example/payments", "registry.example/payments-*"],
     "environments": [
         {"name": "staging"},
         {"name": "production", "from": "staging",
          "approvals": {"rules": [{"name": "engineering", "min": 1, "roles": ["approver"]},
                                  {"name": "security", "min": 1, "teams": ["security"]}],
                        "separationOfDuties": True, "distinct": True},
          "checks": ["security-scan"]}]}]}


def test_two_services_two_pipelines_rules_teams_distinct(docket, workspace):
    org = Org(docket, workspace / "gate-org")
    # aaron sorts before zed and is in both rules: distinct must move him to `security` (an augmenting path).
    org.start(ORG_POLICY, [("ci", ["ci", "checker", "monitor"], ()), ("rel", ["releaser"], ()),
                           ("aaron", ["approver"], ["security"]), ("zed", ["approver"], ())])
    t1, p1, q1 = digest_of("linter 1"), digest_of("payments 1"), digest_of("payments-api 1")

    # The internal tool: one approval is enough.
    org.built("%s@%s" % (TOOLS, t1))
    org.deployed("%s@%s" % (TOOLS, t1), "staging")
    org.approve(t1, "production", "zed")
    org.promote(t1, "production")

    # Payments: engineering and security, one person per rule, the scan passed.
    image = "%s@%s" % (PAYMENTS, p1)
    org.built(image)
    org.deployed(image, "staging")
    org.check(image, "security-scan", "pass")
    org.approve(p1, "production", "aaron")
    org.refused("promote", p1, "--to", "production", *org.as_("rel"))  # aaron alone cannot fill both rules
    org.approve(p1, "production", "zed")
    org("key", "update", "aaron@org.example", "--remove-team", "security", *org.as_("admin"))
    org.promote(p1, "production")  # aaron's approval keeps the team he held when he gave it

    # The second payments service: aaron, no longer in security, cannot meet the security rule until re-added.
    image = "%s@%s" % (PAYMENTS_API, q1)
    org.built(image)
    org.deployed(image, "staging")
    org.check(image, "security-scan", "pass")
    org.approve(q1, "production", "aaron")
    org.approve(q1, "production", "zed")
    org.refused("promote", q1, "--to", "production", *org.as_("rel"))
    org("key", "update", "aaron@org.example", "--add-team", "security", *org.as_("admin"))
    org.refused("promote", q1, "--to", "production", *org.as_("rel"))  # his approval was given without it
    org.approve(q1, "production", "aaron")
    org.promote(q1, "production")

    # A digest belongs to its first repository; another pipeline's environment names are refused.
    assert org("record", "deployed", "%s@%s" % (PAYMENTS_API, p1), "--env", "staging", *org.as_("ci"),
               ok=False).rc != 0
    report = both_agree(docket, org.export())
    assert state(report) == {
        ("staging", TOOLS): t1, ("production", TOOLS): t1, ("staging", PAYMENTS): p1, ("production", PAYMENTS): p1,
        ("staging", PAYMENTS_API): q1, ("production", PAYMENTS_API): q1}
    assert report["promotionsChecked"] == 3


FREEZE_POLICY = {"pipelines": [{"name": "shop", "repositories": ["registry.example/shop"], "environments": [
    {"name": "staging"},
    {"name": "production", "from": "staging",
     "freeze": [{"weekly": {"from": "Fri 16:00", "to": "Mon 08:00"}, "timeZone": "Europe/Berlin", "reason": "weekend"},
                {"from": "2027-12-20T00:00:00Z", "to": "2028-01-04T00:00:00Z", "reason": "year-end freeze"}],
     "breakGlass": {"allow": ["freeze"]}}]}]}


@pytest.mark.skipif(FAKETIME is None, reason="needs faketime(1) to set the ledger's clock (apt install faketime)")
def test_freeze_weekly_across_daylight_saving_and_range(docket, workspace):
    org = Org(docket, workspace / "gate-freeze")
    org.at = "2027-03-26 12:00:00"  # a Friday; Berlin is on CET (UTC+1) until Sunday 28 March 01:00 UTC
    org.start(FREEZE_POLICY, [("ci", ["ci", "checker", "monitor"], ()), ("rel", ["releaser"], ())])
    repo = "registry.example/shop"
    d1, d2, d3 = digest_of("shop 1"), digest_of("shop 2"), digest_of("shop 3")
    org.built("%s@%s" % (repo, d1))
    org.deployed("%s@%s" % (repo, d1), "staging")
    org.at = "2027-03-26 14:30:00"  # 15:30 in Berlin: not yet frozen
    org.promote(d1, "production")
    org.at = "2027-03-26 15:10:00"
    org.built("%s@%s" % (repo, d2))
    org.deployed("%s@%s" % (repo, d2), "staging")
    org.refused("promote", d2, "--to", "production", *org.as_("rel"), at="2027-03-26 15:30:00")  # 16:30 CET
    # Monday 29 March, after the change to CEST (UTC+2): 05:30 UTC is 07:30 in Berlin (frozen), 06:30 UTC is
    # 08:30 (open). A fixed +1h offset would still call 06:30 UTC frozen.
    org.refused("promote", d2, "--to", "production", *org.as_("rel"), at="2027-03-29 05:30:00")
    org.at = "2027-03-29 06:30:00"
    org.promote(d2, "production")
    # The year-end range: refused, then promoted by break-glass, which both verifiers list.
    org.at = "2027-12-21 10:00:00"
    org.built("%s@%s" % (repo, d3))
    org.deployed("%s@%s" % (repo, d3), "staging")
    org.refused("promote", d3, "--to", "production", *org.as_("rel"))
    org.promote(d3, "production", "--break-glass", "payment outage hotfix")
    report = both_agree(docket, org.export())
    assert state(report)[("production", repo)] == d3
    assert [(b["kind"], b["digest"], b["failedRules"]) for b in report["breakGlass"]] == [("promoted", d3, ["freeze"])]


GLASS_POLICY = {"pipelines": [{"name": "api", "repositories": ["registry.example/api"], "environments": [
    {"name": "staging"},
    {"name": "production", "from": "staging", "soak": "1h", "approvals": {"min": 2, "roles": ["approver"]},
     "checks": ["security-scan"], "breakGlass": {"allow": ["soak", "approvals"], "approvals": 2}}]}]}


def test_break_glass_needs_approvals_by_others_and_only_allowed_rules(docket, workspace):
    org = Org(docket, workspace / "gate-glass")
    org.start(GLASS_POLICY, [("ci", ["ci", "checker", "monitor"], ()), ("rel", ["releaser"], ()),
                             ("rita", ["releaser", "approver"], ()), ("zed", ["approver"], ()),
                             ("bob", ["approver"], ())])
    repo = "registry.example/api"
    d1, d2 = digest_of("api 1"), digest_of("api 2")
    org.built("%s@%s" % (repo, d1))
    org.deployed("%s@%s" % (repo, d1), "staging")
    org.check("%s@%s" % (repo, d1), "security-scan", "pass")
    glass = ["--break-glass", "CVE-2027-0001 exploited"]
    org.refused("promote", d1, "--to", "production", *glass, *org.as_("rita"))  # no break-glass approvals
    org.approve(d1, "production", "zed", "--break-glass")
    org.approve(d1, "production", "rita", "--break-glass")  # the promoter's own does not count
    org.refused("promote", d1, "--to", "production", *glass, *org.as_("rita"))
    org.approve(d1, "production", "bob", "--break-glass")
    org.promote(d1, "production", *glass, who="rita")
    # A failing check is not in `allow`: no break-glass can override it.
    org.built("%s@%s" % (repo, d2))
    org.deployed("%s@%s" % (repo, d2), "staging")
    org.check("%s@%s" % (repo, d2), "security-scan", "fail")
    org.approve(d2, "production", "zed", "--break-glass")
    org.approve(d2, "production", "bob", "--break-glass")
    org.refused("promote", d2, "--to", "production", *glass, *org.as_("rita"))
    report = both_agree(docket, org.export())
    assert state(report)[("production", repo)] == d1
    assert [(b["digest"], sorted(b["failedRules"])) for b in report["breakGlass"]] == [(d1, ["approvals", "soak"])]


ROLLBACK_POLICY = {"pipelines": [{"name": "web", "repositories": ["registry.example/web/**"], "environments": [
    {"name": "staging"}, {"name": "production", "from": "staging"}]}]}


def test_rollback_out_of_drift_to_earlier_and_past_an_incident(docket, workspace):
    org = Org(docket, workspace / "gate-rollback")
    org.start(ROLLBACK_POLICY, [("ci", ["ci", "checker", "monitor"], ()), ("rel", ["releaser"], ())])
    repo = "registry.example/web/front"
    d1, d2, d3 = digest_of("front 1"), digest_of("front 2"), digest_of("front 3")
    for d in (d1, d2):
        org.built("%s@%s" % (repo, d))
        org.deployed("%s@%s" % (repo, d), "staging")
        org.promote(d, "production")
    org.built("%s@%s" % (repo, d3))
    org.deployed("%s@%s" % (repo, d3), "production")  # drift: observed d3 while d2 was current
    org("rollback", "--env", "production", "--repo", repo, "--reason", "undo the hand deploy", *org.as_("rel"))
    org("rollback", "--env", "production", "--repo", repo, "--to", d1, "--reason", "d2 misbehaves",
        *org.as_("rel"))
    org("record", "incident", "%s@%s" % (repo, d2), "--env", "staging", "--id", "INC-7", "--state", "open",
        *org.as_("ci"))
    org.refused("rollback", "--env", "production", "--repo", repo, "--to", d2, "--reason", "d1 worse",
                *org.as_("rel"))
    org("rollback", "--env", "production", "--repo", repo, "--to", d2, "--reason", "d1 worse",
        "--break-glass", "d2's incident is cosmetic", *org.as_("rel"))
    report = both_agree(docket, org.export())
    assert state(report)[("production", repo)] == d2
    (drift,) = report["drift"]
    assert (drift["digest"], drift["currentDigest"]) == (d3, d2)
    assert drift["settledIndex"] == drift["index"] + 1  # the rollback right after it
    assert [(b["kind"], b["digest"], b["failedRules"]) for b in report["breakGlass"]] == [
        ("rolled-back", d2, ["incidents"])]
    assert report["rollbacksChecked"] == 3


OLD_POLICY = {"environments": [
    {"name": "staging"},
    {"name": "production", "from": "staging", "approvals": {"min": 1, "roles": ["approver"]}}]}


def test_old_form_policy_and_normalised_names(docket, workspace):
    org = Org(docket, workspace / "gate-old")
    org.start(OLD_POLICY, [("ci", ["ci", "checker", "monitor"], ()), ("rel", ["releaser"], ()),
                           ("zed", ["approver"], ())])
    a, n = digest_of("old app 1"), digest_of("old nginx 1")
    for typed, d in (("reliability/app", a), ("nginx", n)):
        org.built("%s@%s" % (typed, d))
        org.deployed("%s@%s" % (typed, d), "staging")
        org.approve(d, "production", "zed")
    # An incident opened after the approval makes it stale, even once resolved.
    org("record", "incident", "nginx@" + n, "--env", "staging", "--id", "INC-1", "--state", "open", *org.as_("ci"))
    org("record", "incident", "nginx@" + n, "--env", "staging", "--id", "INC-1", "--state", "resolved",
        *org.as_("ci"))
    org.promote(a, "production")
    org.refused("promote", n, "--to", "production", *org.as_("rel"))
    org.approve(n, "production", "zed")
    org.promote(n, "production")
    report = both_agree(docket, org.export())
    assert state(report) == {("staging", "docker.io/reliability/app"): a, ("production", "docker.io/reliability/app"): a,
                             ("staging", "docker.io/library/nginx"): n, ("production", "docker.io/library/nginx"): n}


# ----------------------------------------------------------------------------------------------------------
# Hand-built bundles: one broken rule each; the independent verifier reports it, and so does Docket

REPO = "registry.example/app"
APPROVERS = {name: signing_key("gate " + name) for name in ("aaron", "zed", "bob", "mallory")}
BASE = datetime(2027, 3, 22, 9, 0, tzinfo=timezone.utc)  # a Monday


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def image(label):
    return hashlib.sha256(label.encode()).hexdigest()


class Writer(LedgerWriter):
    """The test-side bundle writer with signed times that follow the ledger clock (as the CLI's do)."""

    def __init__(self, policy, start=BASE):
        LedgerWriter.__init__(self, origin="hand.example/ledger")
        self.clock = start
        self.enroll("ci@x", CI, ["ci", "checker", "monitor"])
        self.enroll("rel@x", RELEASER, ["releaser"])
        for name, key in APPROVERS.items():
            self.enroll_with_teams(name + "@x", key, ["approver"], ["security"] if name == "aaron" else [])
        self.policy(policy)

    def at(self, moment):
        self.clock = moment - timedelta(seconds=1, milliseconds=7)  # tick() adds that back
        return self

    def event(self, kind, digest, fields, signer, repo=REPO, signed=None):
        integrated = self.tick()
        predicate = {"time": signed or integrated}
        predicate.update(fields)
        return self.append(kind, repo, digest, predicate, signer, time=integrated)

    def enroll_with_teams(self, identity, key, roles, teams):
        return self.append("key-enrolled", identity, key_hash(key), {
            "identity": identity, "publicKey": b64(raw_public_key(key)), "roles": roles, "teams": teams}, self.admin)

    def update_key(self, identity, key, roles, teams, signer=None):
        return self.append("key-updated", identity, key_hash(key), {
            "identity": identity, "publicKey": b64(raw_public_key(key)), "roles": roles, "teams": teams},
            signer or self.admin)

    def ready(self, digest, repo=REPO):
        """Built, deployed to staging, scanned."""
        self.event("built", digest, {}, CI, repo)
        self.event("deployed", digest, {"environment": "staging"}, CI, repo)
        self.event("check", digest, {"check": "security-scan", "result": "pass"}, CI, repo)

    def approve(self, digest, who, signed=None, **fields):
        return self.event("approved", digest, dict({"environment": "production"}, **fields), APPROVERS[who],
                          signed=signed)

    def promote(self, digest, repo=REPO, **fields):
        return self.event("promoted", digest, dict({"from": "staging", "to": "production"}, **fields), RELEASER, repo)


def rules_policy(**production):
    env = {"name": "production", "from": "staging"}
    env.update(production)
    return {"pipelines": [{"name": "app", "repositories": ["registry.example/*"],
                           "environments": [{"name": "staging"}, env]}]}


TEAM_RULES = {"rules": [{"name": "engineering", "min": 1, "roles": ["approver"]},
                        {"name": "security", "min": 1, "teams": ["security"]}]}
D, E = image("hand d"), image("hand e")

NEGATIVE = []


def negative(name, fragment, needs=None):
    """Registers a hand-built bundle (make() returns the writer and the entry at fault) and the fragment of
    the problem the independent verifier must report there; needs names a CLI flag whose presence says the
    binary under test knows the rule (older binaries are then only not checked on that rule)."""
    def register(make):
        NEGATIVE.append(pytest.param(make, fragment, needs, id=name))
        return make
    return register


def revoke_key(w, identity, key, void=False, signer=None):
    fields = {"identity": identity, "publicKey": b64(raw_public_key(key)), "reason": "stolen"}
    if void:
        fields["voidApprovals"] = True
    return w.append("key-revoked", identity, key_hash(key), fields, signer or w.admin)


VOID_FLAG = (("key", "revoke", "--help"), "--void-approvals")


@negative("security-rule-needs-team", "rule security needs 1 more approval from team security")
def _():
    w = Writer(rules_policy(approvals=TEAM_RULES))
    w.ready(D)
    w.approve(D, "zed")
    w.approve(D, "bob")
    return w, w.promote(D)


@negative("distinct-one-person-one-rule", "rule security needs 1 more approval")
def _():
    w = Writer(rules_policy(approvals=dict(TEAM_RULES, distinct=True)))
    w.ready(D)
    w.approve(D, "aaron")  # allowed by both rules, counts for one
    return w, w.promote(D)


@negative("team-removed-before-approving", "rule security needs 1 more approval")
def _():
    w = Writer(rules_policy(approvals=TEAM_RULES))
    w.ready(D)
    w.update_key("aaron@x", APPROVERS["aaron"], ["approver"], [])
    w.approve(D, "aaron")
    return w, w.promote(D)


@negative("key-updated-by-non-admin", "key-updated needs role admin")
def _():
    w = Writer(rules_policy())
    return w, w.update_key("zed@x", APPROVERS["zed"], ["approver", "releaser"], [], signer=CI)


@negative("approval-without-user-presence", "the approver touched (userPresence)")
def _():
    w = Writer(rules_policy(approvals={"min": 1, "userPresence": True}))
    w.ready(D)
    w.approve(D, "zed")  # a Docket key: no security key's flags
    return w, w.promote(D)


@negative("approval-before-incident-opened", "given before the incident opened")
def _():
    w = Writer(rules_policy(approvals={"min": 1}))
    w.ready(D)
    w.approve(D, "zed")
    w.event("incident", D, {"environment": "staging", "incident": "INC-1", "state": "open"}, CI)
    w.event("incident", D, {"environment": "staging", "incident": "INC-1", "state": "resolved"}, CI)
    return w, w.promote(D)


@negative("approval-signed-before-incident-submitted-after", "signed before the incident opened")
def _():
    w = Writer(rules_policy(approvals={"min": 1}))
    w.ready(D)
    early = stamp(w.clock)
    w.event("incident", D, {"environment": "staging", "incident": "INC-1", "state": "open"}, CI)
    w.event("incident", D, {"environment": "staging", "incident": "INC-1", "state": "resolved"}, CI)
    w.approve(D, "zed", signed=early)  # signed earlier, submitted later: not fresh
    return w, w.promote(D)


@negative("approval-older-than-max-age", "older than 1h")
def _():
    w = Writer(rules_policy(approvals={"min": 1, "maxAge": "1h"}))
    w.ready(D)
    w.approve(D, "zed")
    w.at(w.clock + timedelta(hours=2))
    return w, w.promote(D)


@negative("approval-expired", "expired at")
def _():
    w = Writer(rules_policy(approvals={"min": 1}))
    w.ready(D)
    w.approve(D, "zed", expiresAt=stamp(w.clock + timedelta(minutes=5)))
    w.at(w.clock + timedelta(minutes=10))
    return w, w.promote(D)


@negative("approval-withdrawn", "rule approvals needs 1 more approval")
def _():
    w = Writer(rules_policy(approvals={"min": 1}))
    w.ready(D)
    w.approve(D, "zed")
    w.event("withdrawn", D, {"environment": "production"}, APPROVERS["zed"])
    return w, w.promote(D)


@negative("separation-of-duties", "built or deployed this digest")
def _():
    w = Writer(rules_policy(approvals={"min": 1, "separationOfDuties": True}))
    w.update_key("ci@x", CI, ["ci", "checker", "monitor", "approver"], [])
    w.ready(D)
    w.event("approved", D, {"environment": "production"}, CI)
    return w, w.promote(D)


@negative("soak-not-over", "of 1h in staging, eligible at")
def _():
    w = Writer(rules_policy(soak="1h"))
    w.ready(D)
    return w, w.promote(D)


@negative("soak-restarts-after-incident-resolved", "eligible at")
def _():
    w = Writer(rules_policy(soak="1h"))
    w.ready(D)
    w.event("incident", D, {"environment": "staging", "incident": "INC-1", "state": "open"}, CI)
    w.at(w.clock + timedelta(minutes=90))
    w.event("incident", D, {"environment": "staging", "incident": "INC-1", "state": "resolved"}, CI)
    return w, w.promote(D)


@negative("open-incident", "open incident(s) qa/INC-9")
def _():
    w = Writer({"pipelines": [{"name": "app", "repositories": ["**"], "environments": [
        {"name": "staging"}, {"name": "qa"}, {"name": "production", "from": "staging"}]}]})
    w.ready(D)
    w.event("incident", D, {"environment": "qa", "incident": "INC-9", "state": "open"}, CI)
    return w, w.promote(D)


@negative("check-failed-last", "security-scan failed")
def _():
    w = Writer(rules_policy(checks=["security-scan"]))
    w.ready(D)
    w.event("check", D, {"check": "security-scan", "result": "fail"}, CI)
    return w, w.promote(D)


@negative("not-from-the-source", "not current in staging")
def _():
    w = Writer(rules_policy())
    w.ready(D)
    w.ready(E)  # E is now staging's current digest
    return w, w.promote(D)


@negative("weekly-freeze-before-dst-change", "frozen until Mon 08:00 Europe/Berlin, 2027-03-29T06:00:00.000Z")
def _():
    w = Writer(rules_policy(freeze=[{"weekly": {"from": "Fri 16:00", "to": "Mon 08:00"},
                                     "timeZone": "Europe/Berlin", "reason": "weekend"}]))
    w.ready(D)
    w.at(datetime(2027, 3, 29, 5, 59, 59, tzinfo=timezone.utc))  # 07:59:59 CEST (06:59:59 CET)
    return w, w.promote(D)


@negative("range-freeze", "year-end")
def _():
    w = Writer(rules_policy(freeze=[{"from": "2027-03-22T00:00:00Z", "to": "2027-03-23T00:00:00+01:00",
                                     "reason": "year-end"}]))
    w.ready(D)
    return w, w.promote(D)


@negative("break-glass-overrides-rule-not-allowed", "which breakGlass.allow (soak, approvals) does not name")
def _():
    w = Writer(rules_policy(checks=["perf"], breakGlass={"allow": ["soak", "approvals"]}))
    w.ready(D)
    return w, w.promote(D, breakGlass={"reason": "hotfix", "failedRules": ["checks"]})


@negative("break-glass-needs-approvals-by-others", "needs 2 approval(s) of the break-glass")
def _():
    w = Writer(rules_policy(checks=["perf"], breakGlass={"approvals": 2}))
    w.ready(D)
    w.approve(D, "zed", breakGlass=True)
    w.approve(D, "bob")  # an ordinary approval is not one of the break-glass
    return w, w.promote(D, breakGlass={"reason": "hotfix", "failedRules": ["checks"]})


@negative("break-glass-failed-rules-must-match", "lists failedRules")
def _():
    w = Writer(rules_policy(checks=["perf"], soak="1h", breakGlass=True))
    w.ready(D)
    return w, w.promote(D, breakGlass={"reason": "hotfix", "failedRules": ["checks"]})


@negative("break-glass-not-needed", "but the gate passes")
def _():
    w = Writer(rules_policy(breakGlass=True))
    w.ready(D)
    return w, w.promote(D, breakGlass={"reason": "habit", "failedRules": []})


@negative("break-glass-not-allowed-here", "does not allow break-glass")
def _():
    w = Writer(rules_policy(checks=["perf"]))
    w.ready(D)
    return w, w.promote(D, breakGlass={"reason": "hotfix", "failedRules": ["checks"]})


@negative("digest-bound-to-its-first-repository", "belongs to repository registry.example/app")
def _():
    w = Writer(rules_policy())
    w.ready(D)
    return w, w.event("deployed", D, {"environment": "staging"}, CI, repo="registry.example/other")


@negative("subject-not-normalised", "is not in normal form; Docket writes docker.io/library/nginx")
def _():
    w = Writer({"environments": [{"name": "staging"}, {"name": "production", "from": "staging"}]})
    return w, w.event("built", D, {}, CI, repo="nginx")


@negative("no-pipeline-covers-the-repository", "no pipeline of the policy in force")
def _():
    w = Writer(rules_policy())
    return w, w.event("built", D, {}, CI, repo="docker.io/library/nginx")


@negative("environment-of-another-pipeline", "environment qa is not in the policy in force")
def _():
    w = Writer(rules_policy())
    return w, w.event("deployed", D, {"environment": "qa"}, CI)


@negative("ledger-id-missing", "predicate ledgerID is missing")
def _():
    w = Writer(rules_policy())
    return w, w.append("built", REPO, D, {}, CI, ledger_id=False)


@negative("ledger-id-of-another-ledger", "is not this ledger's ID")
def _():
    w = Writer(rules_policy())
    return w, w.append("built", REPO, D, {}, CI, ledger_id="00" * 32)


@negative("rollback-to-a-digest-never-current", "which was never")
def _():
    w = Writer(rules_policy())
    w.ready(D)
    w.promote(D)
    w.event("built", E, {}, CI)
    return w, w.event("rolled-back", E, {"environment": "production", "from": "sha256:" + D, "reason": "x"},
                      RELEASER)


@negative("rollback-to-a-digest-with-an-open-incident", "without breakGlass")
def _():
    w = Writer(rules_policy())
    w.ready(D)
    w.promote(D)
    w.ready(E)
    w.promote(E)
    w.event("incident", D, {"environment": "staging", "incident": "INC-2", "state": "open"}, CI)
    return w, w.event("rolled-back", D, {"environment": "production", "from": "sha256:" + E, "reason": "x"},
                      RELEASER)


@negative("rollback-in-drift-must-leave-the-drifted-digest", "says it leaves")
def _():
    w = Writer(rules_policy())
    w.ready(D)
    w.promote(D)
    w.event("built", E, {}, CI)
    w.event("deployed", E, {"environment": "production"}, CI)  # drift
    return w, w.event("rolled-back", D, {"environment": "production", "from": "sha256:" + D, "reason": "x"},
                      RELEASER)


@negative("approvals-voided-with-the-key", "with its approvals voided", needs=VOID_FLAG)
def _():
    w = Writer(rules_policy(approvals={"min": 1}))
    w.ready(D)
    w.approve(D, "zed")
    revoke_key(w, "zed@x", APPROVERS["zed"], void=True)
    return w, w.promote(D)


@negative("revoking-the-last-admin", "the last unrevoked admin key", needs=VOID_FLAG)
def _():
    w = Writer(rules_policy())
    return w, revoke_key(w, "admin@x", w.admin)


@negative("last-admin-losing-the-role", "the last unrevoked admin key", needs=VOID_FLAG)
def _():
    w = Writer(rules_policy())
    return w, w.update_key("admin@x", w.admin, ["approver"], [])


def assert_both_report(docket, tmp_path, w, at, fragment, needs=None, note=None):
    """verify-bundle reports `fragment` at entry `at` of the writer's bundle, and `docket verify --bundle` reports
    that entry too (unless `needs` names a flag the binary under test lacks)."""
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 1, "verify-bundle accepted it"
    assert find(report, fragment, index=at), (fragment, at, report["problems"])
    if needs is not None and needs[1] not in docket.run(list(needs[0])).out:
        note("test_verifier_gate: %s not checked against docket: the binary has no %s" % (fragment, needs[1]))
        return
    swift = swift_verify(docket, tmp_path / "bundle.jsonl")
    assert not swift.crashed(), swift.text()
    problems = json.loads(swift.out)["problems"] if swift.out.strip() else []
    assert swift.rc == 1 and any(p.get("index") == at for p in problems), \
        "docket verify --bundle does not report entry %d: %s" % (at, swift.text())


@pytest.mark.parametrize("make, fragment, needs", NEGATIVE)
def test_broken_rule_is_reported_by_both_verifiers(docket, tmp_path, note, make, fragment, needs):
    w, at = make()
    assert_both_report(docket, tmp_path, w, at, fragment, needs, note)


def test_clean_hand_built_story_passes_both(docket, tmp_path):
    """The same writer's bundle where every rule holds: distinct met by an augmenting path, team at signing."""
    w = Writer(rules_policy(approvals=dict(TEAM_RULES, distinct=True, separationOfDuties=True, maxAge="1h"),
                            soak="10m", checks=["security-scan"],
                            freeze=[{"weekly": {"from": "Fri 16:00", "to": "Mon 08:00"},
                                     "timeZone": "Europe/Berlin", "reason": "weekend"}]))
    w.ready(D)
    w.approve(D, "aaron")
    w.approve(D, "zed")
    w.update_key("aaron@x", APPROVERS["aaron"], ["approver"], [])
    w.at(datetime(2027, 3, 29, 6, 0, 1, tzinfo=timezone.utc) - timedelta(minutes=50))  # Mon 07:11 CEST: frozen
    w.ready(E)
    w.approve(E, "zed")
    w.approve(E, "bob")
    w.update_key("bob@x", APPROVERS["bob"], ["approver"], ["security"])
    w.approve(E, "bob")  # again, now in security
    w.at(datetime(2027, 3, 29, 6, 0, 1, tzinfo=timezone.utc))  # 08:00:01 CEST: open; 50 min of soak
    w.promote(E)
    w.approve(D, "mallory")
    w.at(w.clock + timedelta(minutes=1))
    w.event("deployed", D, {"environment": "staging"}, CI)
    w.at(w.clock + timedelta(minutes=11))
    w.approve(D, "aaron")  # his team is gone: he counts for engineering only; mallory is no security member
    w.update_key("mallory@x", APPROVERS["mallory"], ["approver"], ["security"])
    w.approve(D, "mallory")
    w.promote(D)
    path = tmp_path / "bundle.jsonl"
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]
    assert state(report) == {("staging", REPO): "sha256:" + D, ("production", REPO): "sha256:" + D}
    assert both_agree(docket, path)["promotionsChecked"] == 2


# ----------------------------------------------------------------------------------------------------------
# Random ledgers: the two verifiers find problems at the same entries, fail the same rules, end in the same state

RANDOM_POLICIES = [
    rules_policy(approvals=dict(TEAM_RULES, distinct=True, separationOfDuties=True, maxAge="3h"), soak="20m",
                 checks=["security-scan"], breakGlass={"allow": ["soak", "approvals", "freeze"], "approvals": 1},
                 freeze=[{"weekly": {"from": "Sat 00:00", "to": "Sun 12:00"}, "timeZone": "America/New_York",
                          "reason": "weekend"}]),
    rules_policy(approvals={"rules": [{"name": "a", "min": 1, "identities": ["zed@x", "bob@x"]},
                                      {"name": "b", "min": 1, "teams": ["security"]},
                                      {"name": "c", "min": 1, "roles": ["approver"]}], "distinct": True}, soak="10m"),
    rules_policy(approvals={"min": 2, "maxAge": "1h"}, breakGlass=True,
                 freeze=[{"from": "2027-03-23T00:00:00Z", "to": "2027-03-23T06:00:00Z", "reason": "range"}]),
]
RULE_NAMES = r"(built|from|incidents|soak|approvals|checks|freeze)"


def random_ledger(seed):
    """Digests through their lifecycle with steps skipped or repeated at random: checks, incidents, approvals
    (some stale, expired, withdrawn, break-glass, by keys whose teams change), promotions (some break-glass),
    hand deploys to production (drift) and rollbacks."""
    r = random.Random(seed)
    w = Writer(r.choice(RANDOM_POLICIES))
    digests = []
    for n in range(r.randint(2, 6)):
        d = hashlib.sha256(b"random %d %d" % (seed, n)).hexdigest()
        digests.append(d)
        if r.random() < 0.95:
            w.event("built", d, {}, CI)
        w.event("deployed", d, {"environment": "staging"}, CI)
        if r.random() < 0.85:
            w.event("check", d, {"check": "security-scan", "result": "pass" if r.random() < 0.9 else "fail"}, CI)
        if r.random() < 0.2:
            w.event("incident", d, {"environment": "staging", "incident": "INC", "state": "open"}, CI)
            if r.random() < 0.7:
                w.at(w.clock + timedelta(minutes=r.choice([1, 15, 40])))
                w.event("incident", d, {"environment": "staging", "incident": "INC", "state": "resolved"}, CI)
        for who in r.sample(sorted(APPROVERS), r.choice([0, 2, 3, 4, 4])):
            if r.random() < 0.15:
                w.update_key(who + "@x", APPROVERS[who], ["approver"], r.choice([[], ["security"]]))
            fields = {"environment": "production"}
            if r.random() < 0.1:
                fields["breakGlass"] = True
            if r.random() < 0.1:
                fields["expiresAt"] = stamp(w.clock + timedelta(minutes=r.choice([5, 600])))
            w.approve(d, who, signed=stamp(w.clock - timedelta(minutes=r.choice([0, 0, 0, 90]))), **fields)
            if r.random() < 0.05:
                w.event("withdrawn", d, {"environment": "production"}, APPROVERS[who])
        w.at(w.clock + timedelta(minutes=r.choice([1, 12, 25, 70, 300, 1500, 2900])))
        glass = {}
        if r.random() < 0.12:
            glass["breakGlass"] = {"reason": "hotfix",
                                   "failedRules": r.sample(["soak", "approvals", "freeze"], r.randint(1, 2))}
        w.promote(d, **glass)
        if r.random() < 0.2:
            w.event("deployed", r.choice(digests), {"environment": "production"}, CI)
        if r.random() < 0.2:
            w.event("rolled-back", r.choice(digests), {"environment": "production", "reason": "bad",
                                                       "from": "sha256:" + r.choice(digests)}, RELEASER)
    return w


def failing_rules(problems, marker):
    return {p["index"]: set(re.findall(r"(?:: |; )" + RULE_NAMES + r"(?: [^ :]+)?: ", p["message"].split(marker, 1)[1]))
            for p in problems if marker in p["message"]}


def test_random_ledgers_agree(docket, tmp_path, seed, note):
    refused = accepted = 0
    for n in range(30):
        ledger_seed = seed * 1000 + n
        path = tmp_path / ("random-%d.jsonl" % n)
        path.write_bytes(random_ledger(ledger_seed).bundle())
        s, p = swift_verify(docket, path), python_verify(docket, path, "--max-problems", "0")
        assert not s.crashed() and not p.crashed(), s.text() + "\n" + p.text()
        swift, python = json.loads(s.out), json.loads(p.out)
        where = "ledger seed %d (RELIABILITY_SEED=%d)" % (ledger_seed, seed)
        assert sorted({x["index"] for x in swift["problems"]}) == sorted({x["index"] for x in python["problems"]}), \
            "%s: problems at different entries:\ndocket %s\nverify-bundle %s" % (
                where, json.dumps(swift["problems"], indent=1), json.dumps(python["problems"], indent=1))
        assert failing_rules(swift["problems"], "not break-glass: ") == failing_rules(python["problems"],
                                                                                      "is not break-glass: "), where
        assert python["environments"] == swift["environments"], where
        assert comparable(python["breakGlass"]) == comparable(swift["breakGlass"]), where
        assert comparable(python["drift"]) == comparable(swift["drift"]), where
        refused += len(python["problems"])
        accepted += python["promotionsChecked"] + python["rollbacksChecked"]
    note("random ledgers: 30 agree (%d promotions and rollbacks, %d problems)" % (accepted, refused))
