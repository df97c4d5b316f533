"""OIDC issuers for the tests: RSA and P-256 keys, their JWKS, and ID tokens minted the way CI systems mint them
(RS256, ES256), plus the forgeries a verifier must refuse (`alg: none`, HS256 keyed with the RSA public key).

Written with Python's `cryptography` for the tests alone: nothing here is shared with Docket or the independent
verifier.
"""

import base64
import hashlib
import hmac
import json
import os
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(n, length=None):
    return n.to_bytes(length or (n.bit_length() + 7) // 8, "big")


class IssuerKey:
    """One signing key of an issuer: RSA 2048 (RS256) or P-256 (ES256), with its kid."""

    def __init__(self, kid, kind="RS256"):
        self.kid, self.kind = kid, kind
        if kind == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())

    def jwk(self):
        numbers = self.private.public_key().public_numbers()
        if self.kind == "RS256":
            return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                    "n": b64url(_int_bytes(numbers.n)), "e": b64url(_int_bytes(numbers.e))}
        return {"kty": "EC", "kid": self.kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                "x": b64url(_int_bytes(numbers.x, 32)), "y": b64url(_int_bytes(numbers.y, 32))}

    def sign(self, message):
        if self.kind == "RS256":
            return self.private.sign(message, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
        return _int_bytes(r, 32) + _int_bytes(s, 32)

    def public_pem(self):
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


def jwks(*keys):
    return {"keys": [k.jwk() for k in keys]}


def github_claims(issuer, audience, repository="acme/payments", ref="refs/heads/main", lifetime=600, now=None,
                  **extra):
    """Claims as GitHub Actions sends them (the subset rules match on), valid for `lifetime` seconds."""
    now = int(time.time()) if now is None else now
    claims = {
        "iss": issuer, "aud": audience, "jti": os.urandom(8).hex(),
        "sub": "repo:%s:ref:%s" % (repository, ref), "repository": repository, "ref": ref,
        "repository_owner": repository.split("/")[0], "workflow": "release.yml", "run_id": "1234",
        "job_workflow_ref": "%s/.github/workflows/release.yml@%s" % (repository, ref),
        "iat": now, "nbf": now, "exp": now + lifetime,
    }
    claims.update(extra)
    return claims


def token(key, claims, alg=None, kid=None, header=None):
    """A compact JWS over `claims`, signed by `key` (alg and kid as the key's unless given)."""
    head = {"alg": alg or key.kind, "typ": "JWT", "kid": key.kid if kid is None else kid}
    head.update(header or {})
    signing_input = (b64url(json.dumps(head, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    return signing_input + "." + b64url(key.sign(signing_input.encode()))


def token_alg_none(claims, kid):
    head = {"alg": "none", "typ": "JWT", "kid": kid}
    return (b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode()) + ".")


def token_hs256_with_public_key(key, claims):
    """The classic key-confusion forgery: HS256 keyed with the bytes of the RSA public key (PEM)."""
    head = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())
    mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)
