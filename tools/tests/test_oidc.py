"""CI without key files (DESIGN.md §14, issue 26): OIDC issuers recorded in the ledger, workload rules in the
policy, keys attested by a job's token, and both verifiers re-checking every token offline.

  1  tokens            RS256 and ES256 tokens minted here (Python `cryptography`) attest a job's key through
                       `--oidc-token`; its events are signed by the workload identity the rule gives
  2  refusals          hand-made `key-attested` envelopes submitted as another tool would: expired, not yet
                       valid, issued in the future, wrong aud, untrusted iss, alg none, HS256 keyed with the RSA
                       public key, unknown kid, a key rotated under the same kid, reused jti, no rule, two rules,
                       no jti, not signed by the attested key: each one line naming the claim or the reason,
                       nothing appended; an unknown kid is accepted once a refresh is appended
  3  lifetime          a key's events count until the token's exp, never after (refused at admission)
  4  policy            `policy set` refuses a rule on `sub`, a glob on a non-ref claim, the admin role
  5  the job story     through `docket serve`: ten commands of one job on one token (four of them at once,
                       sharing one cache), two services, the gate counting the workload's built and check; the
                       bundle verified by both verifiers three years later (faketime), and the independent
                       verifier reporting a bundle whose issuer entry was removed
  6  --oidc github     a fake GitHub token endpoint on 127.0.0.1: the audience asked for and the bearer sent
"""

import base64
import hashlib
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from . import helpers
from . import oidc_support as oidc
from . import server_support as ss
from .test_seeing import CHROMIUM, DOM, artefact, chromium
from .test_server import serve  # noqa: F401  (fixture)

GITHUB = "https://token.actions.githubusercontent.com"
GITLAB = "https://gitlab.example.com"
PAY_REPO, LINT_REPO = "registry.example/acme/payments", "registry.example/acme/lint"
FAKETIME = shutil.which("faketime")

POLICY = """\
pipelines:
  - name: services
    repositories: ["registry.example/acme/**"]
    environments:
      - name: staging
      - name: production
        from: staging
        checks: [unit]
workloads:
  - name: payments-main
    issuer: %(github)s
    claims:
      repository: acme/payments
      ref: refs/heads/main
    identity: "github:{repository}@{ref}"
    roles: [ci, checker]
  - name: payments-releases
    issuer: %(github)s
    claims:
      repository: acme/payments
      ref: refs/heads/release/*
    identity: "github:{repository}@{ref}"
    roles: [ci]
  - name: gitlab-lint
    issuer: %(gitlab)s
    claims:
      project_path: acme/lint
    identity: "gitlab:{project_path}"
    roles: [ci, checker]
  - name: gitlab-lint-again
    issuer: %(gitlab)s
    claims:
      project_path: acme/lint
      ref: main
    identity: "gitlab:{project_path}@{ref}"
    roles: [ci]
""" % {"github": GITHUB, "gitlab": GITLAB}


class Setup:
    """A ledger (the conftest Ledger) with the policy above and both issuers trusted: GitHub with RSA key k1 and
    P-256 key e1, GitLab with RSA key g1."""

    def __init__(self, docket, ledger):
        self.d, self.ledger = docket, ledger
        self.k1, self.e1, self.g1 = oidc.IssuerKey("k1"), oidc.IssuerKey("e1", "ES256"), oidc.IssuerKey("g1")
        self.k2 = oidc.IssuerKey("k2")
        policy = ledger.dir / "policy.yaml"
        policy.write_text(POLICY)
        ledger.must(["policy", "set", policy, "--key", ledger.admin_key])
        self.write_jwks("github.jwks", self.k1, self.e1)
        self.write_jwks("gitlab.jwks", self.g1)
        ledger.must(["trust", "oidc", "add", "--issuer", GITHUB, "--jwks-file", ledger.dir / "github.jwks",
                     "--key", ledger.admin_key])
        ledger.must(["trust", "oidc", "add", "--issuer", GITLAB, "--audience", "docket", "--algorithms", "RS256",
                     "--jwks-file", ledger.dir / "gitlab.jwks", "--key", ledger.admin_key])

    def write_jwks(self, name, *keys):
        path = self.ledger.dir / name
        path.write_text(json.dumps(oidc.jwks(*keys)))
        return path

    def claims(self, **kw):
        return oidc.github_claims(GITHUB, self.ledger.origin, **kw)

    def size(self):
        return json.loads(self.ledger.must(["ledger", "describe", "--json"]).stdout)["size"]

    def run(self, *args, cache=None, env=None):
        extra = {"DOCKET_CACHE_DIR": str(cache or self.ledger.dir / "cache")}
        extra.update(env or {})
        return self.d.run(list(args), ledger=self.ledger.path, env_extra=extra, timeout=30)

    def attest_envelope(self, token, signer=None, attested=None, issuer=None):
        """A `key-attested` envelope as another tool would make it: the token and a fresh key, signed by it."""
        signer = signer or SigningKey(os.urandom(32))
        public = bytes((attested or signer).verify_key)
        body = {"_type": helpers.STATEMENT_TYPE,
                "predicate": {"ledger": self.ledger.origin, "ledgerID": self.ledger.ledger_id,
                              "nonce": os.urandom(16).hex(), "time": ss.now_text(), "token": token,
                              "publicKey": base64.b64encode(public).decode()},
                "predicateType": "https://docket.dev/key-attested/v1",
                "subject": [{"digest": {"sha256": hashlib.sha256(public).hexdigest()}, "name": issuer or GITHUB}]}
        payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        return signer, ss.envelope(signer, payload)

    def submit(self, envelope, name):
        path = self.ledger.dir / (name + ".dsse")
        path.write_bytes(envelope)
        return self.d.run(["submit", path], ledger=self.ledger.path, timeout=30)

    def built_by(self, signer, label, repo=PAY_REPO):
        payload = ss.statement("built", repo, ss.hex_digest(label), self.ledger.origin, self.ledger.ledger_id)
        return self.submit(ss.envelope(signer, payload), "built-" + label)


@pytest.fixture(scope="module")
def setup(docket, ledger_factory):
    return Setup(docket, ledger_factory("oidc"))


def token_issuer(token):
    """The `iss` a token names (the subject a tool puts on its key-attested), read without checking anything."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["iss"]


def digest(label):
    return "sha256:" + ss.hex_digest(label)


# ------------------------------------------------------------------------------------------------ 1 tokens


@pytest.mark.parametrize("kind", ["RS256", "ES256"])
def test_tokens_attest_a_jobs_key_and_its_events_carry_the_workload(setup, kind, tmp_path):
    key = setup.k1 if kind == "RS256" else setup.e1
    token = tmp_path / "token"
    token.write_text(oidc.token(key, setup.claims()) + "\n")
    image = "%s@%s" % (PAY_REPO, digest("tokens " + kind))
    before = setup.size()
    built = setup.run("record", "built", image, "--oidc-token", token, "--json", cache=tmp_path / "cache")
    assert built.rc == 0, built.describe()
    check = setup.run("record", "check", image, "--check", "unit", "--result", "pass", "--oidc-token", token,
                      cache=tmp_path / "cache")
    assert check.rc == 0, check.describe()
    assert setup.size() == before + 3  # one key-attested, then the two events
    entries = setup.ledger.log(since=before)
    assert [e["kind"] for e in entries] == ["key-attested", "built", "check"]
    assert {e["signer"] for e in entries} == {"github:acme/payments@refs/heads/main"}
    assert entries[1]["workload"] == "github:acme/payments@refs/heads/main, workflow release.yml, run 1234"
    history = setup.run("history", image).out
    assert "built by github:acme/payments@refs/heads/main, workflow release.yml, run 1234" in history
    keys = json.loads(setup.run("key", "list", "--json").out)
    attested = [k for k in keys if k["keyid"] == entries[0]["keyid"]]
    assert attested and attested[0]["roles"] == ["checker", "ci"], attested
    kept = list((tmp_path / "cache" / "docket-oidc").glob("*.key"))
    assert len(kept) == 1 and kept[0].stat().st_mode & 0o777 == 0o600


def test_a_glob_rule_names_the_release_branch(setup, tmp_path):
    token = tmp_path / "token"
    token.write_text(oidc.token(setup.k1, setup.claims(ref="refs/heads/release/2.4")))
    res = setup.run("record", "built", "%s@%s" % (PAY_REPO, digest("release 2.4")), "--oidc-token", token,
                    cache=tmp_path / "cache")
    assert res.rc == 0, res.describe()
    assert setup.ledger.log(since=setup.size() - 1)[0]["signer"] == "github:acme/payments@refs/heads/release/2.4"
    # One segment only: `*` does not cross a slash.
    token.write_text(oidc.token(setup.k1, setup.claims(ref="refs/heads/release/2.4/hotfix")))
    res = setup.run("record", "built", "%s@%s" % (PAY_REPO, digest("release nested")), "--oidc-token", token,
                    cache=tmp_path / "cache2")
    assert res.clean_refusal() and "match no workload rule" in res.err, res.describe()


# ------------------------------------------------------------------------------------------------ 2 refusals


def refusals(s):
    """(name, token text, expected words in the error)."""
    now = int(time.time())
    c = s.claims
    rotated = oidc.IssuerKey("k1")  # a new key published under the old kid
    two = dict(oidc.github_claims(GITLAB, "docket", now=now), project_path="acme/lint", ref="main")
    no_jti = c()
    del no_jti["jti"]
    return [
        ("expired", oidc.token(s.k1, c(now=now - 3600, lifetime=600)), "expired at"),
        ("not-yet-valid", oidc.token(s.k1, c(nbf=now + 600)), "`nbf`"),
        ("issued-in-the-future", oidc.token(s.k1, c(iat=now + 600, nbf=now)), "`iat`"),
        ("wrong-aud", oidc.token(s.k1, c(aud="someone-else")), "`aud`"),
        ("aud-list-of-two", oidc.token(s.k1, c(aud=[s.ledger.origin, "other"])), "`aud`"),
        ("wrong-iss", oidc.token(s.k1, dict(c(), iss="https://evil.example")), "not trusted"),
        ("alg-none", oidc.token_alg_none(c(), "k1"), "`none`"),
        ("hs256-rsa-public-key", oidc.token_hs256_with_public_key(s.k1, c()), "HS256"),
        ("unknown-kid", oidc.token(s.k2, c()), "kid `k2`"),
        ("rotated-same-kid", oidc.token(rotated, c()), "does not verify with key `k1`"),
        ("es256-key-says-rs256", oidc.token(s.e1, c(), alg="RS256"), "ES256 key"),
        ("no-jti", oidc.token(s.k1, no_jti), "`jti`"),
        ("no-rule", oidc.token(s.k1, c(repository="acme/other")), "match no workload rule"),
        ("two-rules", oidc.token(s.g1, two), "match 2 workload rules"),
        ("tampered-claims", oidc.token(s.k1, c())[:-10] + "AAAAAAAAAA", "does not verify"),
    ]


def test_each_bad_token_is_refused_in_one_line_and_nothing_is_appended(setup):
    failures = []
    for name, token, words in refusals(setup):
        before = setup.size()
        _, envelope = setup.attest_envelope(token, issuer=token_issuer(token))
        res = setup.submit(envelope, name)
        if not (res.clean_refusal() and words in res.err and setup.size() == before):
            failures.append("%s: expected a one-line refusal naming %r, got %s" % (name, words, res.describe()))
    assert not failures, "\n".join(failures)


def test_a_reused_jti_and_a_key_it_did_not_sign_are_refused(setup):
    token = oidc.token(setup.k1, setup.claims())
    _, first = setup.attest_envelope(token)
    assert setup.submit(first, "jti-first").rc == 0
    before = setup.size()
    _, again = setup.attest_envelope(token)
    res = setup.submit(again, "jti-again")
    assert res.clean_refusal() and "already attested a key at entry" in res.err, res.describe()
    _, foreign = setup.attest_envelope(oidc.token(setup.k1, setup.claims()), attested=SigningKey(os.urandom(32)))
    res = setup.submit(foreign, "not-possession")
    assert res.clean_refusal() and "not signed by the key it attests" in res.err, res.describe()
    assert setup.size() == before


def test_an_unknown_kid_is_accepted_once_a_refresh_records_it(setup):
    token = oidc.token(setup.k2, setup.claims())
    _, envelope = setup.attest_envelope(token)
    assert setup.submit(envelope, "kid-before").rc == 1
    unchanged = setup.run("trust", "oidc", "refresh", "--issuer", GITHUB, "--jwks-file", setup.ledger.dir / "github.jwks",
                          "--key", setup.ledger.admin_key)
    before = setup.size()
    assert unchanged.rc == 0 and "unchanged" in unchanged.out and setup.size() == before, unchanged.describe()
    rotated = setup.write_jwks("github-rotated.jwks", setup.k1, setup.e1, setup.k2)
    refreshed = setup.run("trust", "oidc", "refresh", "--issuer", GITHUB, "--jwks-file", rotated,
                          "--key", setup.ledger.admin_key)
    assert refreshed.rc == 0 and setup.size() == before + 1, refreshed.describe()
    accepted = setup.submit(envelope, "kid-after")
    assert accepted.rc == 0, accepted.describe()
    listed = json.loads(setup.run("trust", "oidc", "list", "--json").out)
    assert [i["keyIDs"] for i in listed if i["issuer"] == GITHUB] == [["k1", "e1", "k2"]]


# ------------------------------------------------------------------------------------------------ 3 lifetime


def test_a_keys_events_count_until_exp_and_never_after(setup):
    signer, envelope = setup.attest_envelope(oidc.token(setup.k1, setup.claims(lifetime=3)))
    attested = setup.submit(envelope, "short-lived")
    assert attested.rc == 0, attested.describe()
    assert setup.built_by(signer, "before exp").rc == 0
    time.sleep(3.2)
    before = setup.size()
    late = setup.built_by(signer, "after exp")
    assert late.clean_refusal() and "expired at" in late.err and setup.size() == before, late.describe()


# ------------------------------------------------------------------------------------------------ 4 policy


@pytest.mark.parametrize("rule,words", [
    ({"sub": "repo:acme/payments:ref:refs/heads/main"}, "may not match on `sub`"),
    ({"repository": "acme/*"}, "a glob is allowed only on ref-like claims"),
    ({"jti": "x"}, "`jti` is checked for every token"),
], ids=["sub", "glob-on-repository", "jti"])
def test_policy_set_refuses_rules_that_would_trust_too_much(setup, rule, words, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + "  - name: extra\n    issuer: %s\n    claims: %s\n    identity: x\n    roles: [ci]\n"
                      % (GITHUB, json.dumps(rule)))
    before = setup.size()
    res = setup.run("policy", "set", policy, "--key", setup.ledger.admin_key)
    assert res.rc == 2 and res.one_line_error() and words in res.err and setup.size() == before, res.describe()


def test_policy_set_refuses_a_workload_with_the_admin_role(setup, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.replace("roles: [ci, checker]", "roles: [ci, admin]", 1))
    res = setup.run("policy", "set", policy, "--key", setup.ledger.admin_key)
    assert res.rc == 2 and "admin role" in res.err, res.describe()


# ------------------------------------------------------------------------------------------------ 5 the job story


def test_job_story_through_the_server_verified_years_later(docket, ledger_factory, serve, tmp_path):  # noqa: F811
    s = Setup(docket, ledger_factory("oidc-story"))
    srv = serve(s.ledger)
    token = tmp_path / "job.token"
    token.write_text(oidc.token(s.k1, s.claims(lifetime=900)))
    cache = tmp_path / "runner-cache"
    pay, lint = "%s@%s" % (PAY_REPO, digest("story payments")), "%s@%s" % (LINT_REPO, digest("story lint"))

    def job(*args):
        return docket.run([*map(str, args), "--ledger", srv.url, "--oidc-token", token],
                          env_extra={"DOCKET_CACHE_DIR": str(cache)}, timeout=60)

    def ask(*args):
        return docket.run([*map(str, args), "--ledger", srv.url], env_extra={"DOCKET_CACHE_DIR": str(cache)},
                          timeout=60)

    before = s.size()
    # Four commands of the job at once, sharing one cache: one enrols the key, the others wait for it.
    with ThreadPoolExecutor(4) as pool:
        first = list(pool.map(lambda a: job(*a), [
            ("record", "built", pay), ("record", "built", lint),
            ("record", "check", pay, "--check", "unit", "--result", "pass"),
            ("record", "check", lint, "--check", "unit", "--result", "pass")]))
    assert all(r.rc == 0 for r in first), "\n".join(r.describe() for r in first)
    rest = [job("record", "deployed", pay, "--env", "staging"), job("record", "deployed", lint, "--env", "staging"),
            ask("gate", pay, "--env", "production"), ask("gate", lint, "--env", "production"), ask("status"),
            ask("history", pay)]
    assert all(r.rc == 0 for r in rest), "\n".join(r.describe() for r in rest)
    assert "ELIGIBLE" in rest[2].out and "ELIGIBLE" in rest[3].out
    assert "built by github:acme/payments@refs/heads/main, workflow release.yml, run 1234" in rest[5].out
    entries = s.ledger.log(since=before)
    assert [e["kind"] for e in entries].count("key-attested") == 1, [e["kind"] for e in entries]
    assert len(entries) == 7 and {e["signer"] for e in entries} == {"github:acme/payments@refs/heads/main"}
    assert srv.terminate() == 0

    bundle = tmp_path / "story.jsonl"
    s.ledger.export(bundle)
    later = ["faketime", "-f", "+1095d"] if FAKETIME else []
    verified = docket.run(["verify", "--json"], ledger=s.ledger.path, prefix=later, timeout=120)
    ok, detail = verified.verified_clean()
    assert ok, detail
    independent = docket.execute(later + [shutil.which("python3") or "python3", str(Path(__file__).parents[1] /
                                 "verify-bundle"), str(bundle)], "verify-bundle", [str(bundle)], timeout=120)
    assert independent.rc == 0 and "verified: no problems found" in independent.out, independent.describe()

    # The audit report names the workload, the rule and the claims it matched, as a table a person reads.
    report = tmp_path / "report.html"
    made = docket.run(["report", "--bundle", bundle, "--out", report], timeout=120)
    assert made.rc == 0, made.describe()
    dom = DOM(report.read_text()).root
    table = dom.one("table", **{"class": "workloads"})
    rows = [tr for tr in table.all("tr") if list(tr.all("td"))]
    assert len(rows) == 1, [r.content for r in rows]
    cells = [td.content for td in rows[0].all("td")]
    assert cells[2] == "github:acme/payments@refs/heads/main" and cells[3] == "payments-main", cells
    assert "ref=refs/heads/main" in cells[4] and "repository=acme/payments" in cells[4] and "run_id=1234" in cells[4]
    assert "&lt;" not in dom.content and "<td" not in dom.content, "escaped markup shows as text"
    if CHROMIUM:
        shot = artefact(docket.work, "report-workloads.png")
        chromium("--window-size=1280,2000", "--screenshot=" + str(shot), report.as_uri())
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The same bundle without the entry that trusted GitHub's issuer: the independent verifier names the token.
    lines = bundle.read_bytes().split(b"\n")
    payloads = [base64.b64decode(json.loads(line)["envelope"]["payload"]) if i and line else b""
                for i, line in enumerate(lines)]
    issuer_line = next(i for i, p in enumerate(payloads) if i > 0 and b"/oidc-issuer/v1" in p
                       and GITHUB.encode() in p)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"\n".join(lines[:issuer_line] + lines[issuer_line + 1:]))
    report = docket.verify_bundle([cut])
    assert report.rc == 1 and "is not trusted by the ledger before this entry" in report.out, report.describe()


# ------------------------------------------------------------------------------------------------ 6 --oidc github


class TokenEndpoint:
    """GitHub's ACTIONS_ID_TOKEN_REQUEST_URL on 127.0.0.1: answers {"value": TOKEN} minted for the audience asked,
    to a request bearing the runner's request token; records every request."""

    def __init__(self, mint, bearer):
        self.requests = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                endpoint.requests.append((self.path, self.headers.get("Authorization"), query))
                if self.headers.get("Authorization") != "Bearer " + bearer:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"count": 1, "value": mint(query.get("audience", [""])[0])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/_apis/token?api-version=2.0" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_oidc_github_asks_the_runner_for_a_token_with_the_ledgers_audience(setup, tmp_path):
    endpoint = TokenEndpoint(lambda audience: oidc.token(setup.k1, oidc.github_claims(GITHUB, audience)), "runner-t")
    try:
        env = {"ACTIONS_ID_TOKEN_REQUEST_URL": endpoint.url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-t",
               "RUNNER_TEMP": str(tmp_path)}
        before = setup.size()
        for label in ("github endpoint", "github endpoint again"):
            res = setup.run("record", "built", "%s@%s" % (PAY_REPO, digest(label)), "--oidc", "github", env=env)
            assert res.rc == 0, res.describe()
        # Each runner request gives a new token: the job's second command uses the key of the first, asks nothing.
        assert len(endpoint.requests) == 1, endpoint.requests
        assert [e["kind"] for e in setup.ledger.log(since=before)] == ["key-attested", "built", "built"]
        assert endpoint.requests[0][1] == "Bearer runner-t"
        assert endpoint.requests[0][2]["audience"] == [setup.ledger.origin]
        assert endpoint.requests[0][2]["api-version"] == ["2.0"]
        assert list((tmp_path / "docket-oidc").glob("*.key")), "the job's key is kept in RUNNER_TEMP"
        wrong = setup.run("record", "built", "%s@%s" % (PAY_REPO, digest("github wrong")), "--oidc", "github",
                          env=dict(env, ACTIONS_ID_TOKEN_REQUEST_TOKEN="stolen", RUNNER_TEMP=str(tmp_path / "b")))
        assert wrong.rc == 3 and wrong.one_line_error() and "HTTP 401" in wrong.err, wrong.describe()
        missing = setup.run("record", "built", "%s@%s" % (PAY_REPO, digest("github none")), "--oidc", "github")
        assert missing.rc == 2 and "id-token: write" in missing.err, missing.describe()
    finally:
        endpoint.close()


class FakeIssuer:
    """An OIDC issuer on 127.0.0.1: its discovery document names its jwks_uri, which serves `self.keys`."""

    def __init__(self, *keys):
        self.keys = list(keys)
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/keys"}
                elif self.path == "/keys":
                    body = oidc.jwks(*issuer.keys)
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_trust_oidc_fetch_follows_the_discovery_document_and_refresh_appends_only_changes(setup):
    first, second = oidc.IssuerKey("f1"), oidc.IssuerKey("f2", "ES256")
    issuer = FakeIssuer(first)
    admin = ["--key", setup.ledger.admin_key]
    try:
        before = setup.size()
        added = setup.run("trust", "oidc", "add", "--issuer", issuer.url, "--fetch", *admin)
        assert added.rc == 0 and setup.size() == before + 1, added.describe()
        same = setup.run("trust", "oidc", "refresh", "--issuer", issuer.url, "--fetch", *admin)
        assert same.rc == 0 and "unchanged" in same.out and setup.size() == before + 1, same.describe()
        issuer.keys = [first, second]  # the issuer publishes a new key
        rotated = setup.run("trust", "oidc", "refresh", "--issuer", issuer.url, "--fetch", *admin)
        assert rotated.rc == 0 and setup.size() == before + 2, rotated.describe()
        listed = {i["issuer"]: i for i in json.loads(setup.run("trust", "oidc", "list", "--json").out)}
        assert listed[issuer.url]["keyIDs"] == ["f1", "f2"] and listed[issuer.url]["index"] == before + 1
        again = setup.run("trust", "oidc", "add", "--issuer", issuer.url, "--fetch", *admin)
        assert again.rc == 2 and "already trusted" in again.err, again.describe()
    finally:
        issuer.close()
    gone = setup.run("trust", "oidc", "refresh", "--issuer", issuer.url, "--fetch", *admin)
    assert gone.rc == 3 and gone.one_line_error() and issuer.url in gone.err, gone.describe()
    plain = setup.run("trust", "oidc", "add", "--issuer", "http://ci.example.com", "--jwks-file",
                      setup.ledger.dir / "github.jwks", *admin)
    assert plain.rc == 2 and "https://" in plain.err, plain.describe()


def test_a_ledger_made_before_workload_identity_reads_and_verifies(ledger_factory, docket):
    """A ledger file from the version before (no identity tables), read with commands that open it read-only:
    nothing fails for want of the new tables; the first write adds them."""
    ledger = ledger_factory("pre-identity")
    image = "%s@%s" % (PAY_REPO, digest("before identity"))
    ledger.must(["record", "built", image.replace("acme/payments", "reliability/app"), "--key", ledger.ci_key])
    subprocess.run(["sqlite3", str(ledger.path),
                    "DROP TABLE key_lifetimes; DROP TABLE attested_keys; DROP TABLE oidc_issuers;"], check=True)
    for args in (["trust", "oidc", "list"], ["log"], ["key", "list"], ["status"], ["verify"]):
        res = docket.run(args, ledger=ledger.path, timeout=60)
        assert res.rc == 0, res.describe()
    assert "no OIDC issuer is trusted" in docket.run(["trust", "oidc", "list"], ledger=ledger.path).out
    ledger.must(["record", "built", "registry.example/reliability/app@%s" % digest("after"), "--key", ledger.ci_key])
    tables = subprocess.run(["sqlite3", str(ledger.path), "SELECT name FROM sqlite_master WHERE type='table'"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert {"key_lifetimes", "attested_keys", "oidc_issuers"} <= set(tables)
