"""Both verifiers re-check workload identity offline (DESIGN.md §14): hand-built bundles (the test-side writer of
test_verify_bundle.py, tokens minted by oidc_support) that Docket's admission would have refused, one rule broken in
each; `tools/verify-bundle` and `docket verify --bundle` must both report the entry at fault. A clean hand-built
bundle with an issuer, a key rotation and attested keys passes both.
"""

import hashlib
import json
from datetime import timedelta

import pytest
from nacl.signing import SigningKey

from . import oidc_support as oidc
from .test_verifier_gate import CI, Writer, assert_both_report, image, rules_policy, swift_verify
from .test_verify_bundle import b64, key_hash, raw_public_key, run

GITHUB = "https://token.actions.githubusercontent.com"
RULE = {"name": "payments-main", "issuer": GITHUB,
        "claims": {"repository": "acme/payments", "ref": "refs/heads/main"},
        "identity": "github:{repository}@{ref}", "roles": ["ci", "checker"]}
KEYS = {"k1": oidc.IssuerKey("k1"), "k2": oidc.IssuerKey("k2"), "e1": oidc.IssuerKey("e1", "ES256")}
D = image("oidc d")


class OIDCWriter(Writer):
    def __init__(self):
        policy = rules_policy()
        policy["workloads"] = [RULE]
        Writer.__init__(self, policy)

    def seconds(self):
        return int(self.clock.timestamp())

    def issuer(self, *kids):
        jwks = oidc.jwks(*(KEYS[k] for k in kids))
        canonical = json.dumps(jwks, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self.append("oidc-issuer", GITHUB, hashlib.sha256(canonical.encode()).hexdigest(), {
            "issuer": GITHUB, "audience": self.origin, "algorithms": ["RS256", "ES256"], "jwks": jwks}, self.admin)

    def claims(self, **kw):
        return oidc.github_claims(GITHUB, self.origin, now=self.seconds(), **kw)

    def attest(self, token, key=None, signer=None):
        """A key-attested of `key` (a fresh one by default) by `token`; returns (entry, key)."""
        key = key or SigningKey(bytes(hashlib.sha256(token.encode() + b"key").digest()))
        integrated = self.tick()
        fields = {"time": integrated, "token": token, "publicKey": b64(raw_public_key(key))}
        at = self.append("key-attested", GITHUB, key_hash(key), fields, signer or key, time=integrated)
        return at, key


NEGATIVES = []


def negative(name, fragment):
    def register(make):
        NEGATIVES.append(pytest.param(make, fragment, id=name))
        return make
    return register


@negative("built-after-token-exp", "expired")
def _():
    w = OIDCWriter()
    w.issuer("k1")
    _, key = w.attest(oidc.token(KEYS["k1"], w.claims(lifetime=60)))
    w.at(w.clock + timedelta(seconds=120))
    return w, w.event("built", D, {}, key)


@negative("attested-after-token-exp", "expired")
def _():
    w = OIDCWriter()
    w.issuer("k1")
    token = oidc.token(KEYS["k1"], w.claims(lifetime=60))
    w.at(w.clock + timedelta(seconds=120))
    return w, w.attest(token)[0]


@negative("jti-reused", "already attested a key")
def _():
    w = OIDCWriter()
    w.issuer("k1")
    token = oidc.token(KEYS["k1"], w.claims())
    w.attest(token)
    return w, w.attest(token, key=SigningKey(b"\x07" * 32))[0]


@negative("issuer-not-trusted-yet", "not trusted")
def _():
    w = OIDCWriter()
    at, _ = w.attest(oidc.token(KEYS["k1"], w.claims()))
    w.issuer("k1")
    return w, at


@negative("alg-none", "none")
def _():
    w = OIDCWriter()
    w.issuer("k1")
    return w, w.attest(oidc.token_alg_none(w.claims(), "k1"))[0]


@negative("kid-rotated-away", "kid")
def _():
    w = OIDCWriter()
    w.issuer("k1")
    w.issuer("k2")  # a refresh that drops k1: tokens signed with k1 no longer verify
    return w, w.attest(oidc.token(KEYS["k1"], w.claims()))[0]


@negative("claims-match-no-rule", "workload rule")
def _():
    w = OIDCWriter()
    w.issuer("k1")
    return w, w.attest(oidc.token(KEYS["k1"], w.claims(ref="refs/heads/feature")))[0]


@negative("not-signed-by-the-attested-key", "attests")
def _():
    w = OIDCWriter()
    w.issuer("k1")
    return w, w.attest(oidc.token(KEYS["k1"], w.claims()), signer=CI)[0]


@pytest.mark.parametrize("make, fragment", NEGATIVES)
def test_broken_workload_rule_is_reported_by_both_verifiers(docket, tmp_path, make, fragment):
    w, at = make()
    assert_both_report(docket, tmp_path, w, at, fragment)


def test_clean_workload_story_passes_both(docket, tmp_path):
    w = OIDCWriter()
    w.issuer("k1", "e1")
    _, rs = w.attest(oidc.token(KEYS["k1"], w.claims()))
    _, es = w.attest(oidc.token(KEYS["e1"], w.claims()))
    w.event("built", D, {}, rs)
    w.event("check", D, {"check": "unit", "result": "pass"}, es)
    w.issuer("k2")
    _, later = w.attest(oidc.token(KEYS["k2"], w.claims()))
    w.event("deployed", D, {"environment": "staging"}, later)
    code, report, _, _ = run(tmp_path, w.bundle())
    assert code == 0, report["problems"]
    swift = swift_verify(docket, tmp_path / "bundle.jsonl")
    assert swift.rc == 0, swift.text()
