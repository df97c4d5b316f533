"""Test-side cryptography: RFC 6962 Merkle trees, DSSE envelopes (PAE) and C2SP signed notes (checkpoints).

Written from the specifications for the tests alone: tools/verify-bundle, the auditor's verifier under test,
never imports this module, and nothing here imports the verifier. The Merkle Tree Hash is the recursive
textbook definition (the verifier keeps a frontier); Ed25519 is PyNaCl's.
"""

import base64
import hashlib
from collections import namedtuple

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

INTOTO = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


# ------------------------------------------------------------------------------------------------ encoding


def b64(data):
    return base64.b64encode(data).decode()


def any_b64(text):
    """Standard or URL-safe base64, padded or not; None if it is not base64 (or not a string)."""
    if not isinstance(text, str):
        return None
    t = text.replace("-", "+").replace("_", "/")
    t += "=" * (-len(t) % 4)
    try:
        return base64.b64decode(t, validate=True)
    except Exception:
        return None


# ------------------------------------------------------------------------------------------------ keys


def signing_key(label):
    """A deterministic Ed25519 key, so failures reproduce."""
    return SigningKey(hashlib.sha256(label.encode()).digest())


def as_signing_key(key):
    """A SigningKey from a SigningKey or its 32-byte seed."""
    return key if isinstance(key, SigningKey) else SigningKey(bytes(key))


def raw_public_key(key):
    return bytes(as_signing_key(key).verify_key)


def key_id(public_key):
    """The DSSE keyid Docket writes: hex SHA-256 of the raw Ed25519 public key."""
    return hashlib.sha256(public_key).hexdigest()


# ------------------------------------------------------------------------------------------------ RFC 6962


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """RFC 6962 Merkle Tree Hash of the leaf inputs, recursive (section 2.1)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def roots_for_sizes(leaves, sizes):
    """{n: root of the first n leaf inputs} for every n in sizes, in one pass over a compact frontier (for
    thousands of sizes of one log, where calling mth for each would be quadratic)."""
    wanted = set(sizes)
    roots = {}
    if 0 in wanted:
        roots[0] = hashlib.sha256(b"").digest()
    stack = []  # (height, hash) of perfect subtrees, left to right
    for i, leaf in enumerate(leaves):
        stack.append((0, leaf_hash(leaf)))
        while len(stack) >= 2 and stack[-1][0] == stack[-2][0]:
            height, right = stack.pop()
            _, left = stack.pop()
            stack.append((height + 1, node_hash(left, right)))
        if i + 1 in wanted:
            root = stack[-1][1]
            for _, h in reversed(stack[:-1]):
                root = node_hash(h, root)
            roots[i + 1] = root
    return roots


# ------------------------------------------------------------------------------------------------ DSSE


def pae(payload_type, payload):
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode() if isinstance(payload_type, str) else payload_type
    return b"DSSEv1 %d %s %d " % (len(t), t, len(payload)) + payload


def sign_envelope(key, payload, payload_type=INTOTO, urlsafe=False):
    """A DSSE envelope (dict, in Docket's field order) over payload bytes, signed by key (SigningKey or seed);
    urlsafe writes the payload as unpadded URL-safe base64."""
    key = as_signing_key(key)
    signature = key.sign(pae(payload_type, payload)).signature
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode() if urlsafe else b64(payload)
    return {"payloadType": payload_type, "payload": encoded,
            "signatures": [{"keyid": key_id(bytes(key.verify_key)), "sig": b64(signature)}]}


def envelope_signed_by(envelope, public_key):
    """True when the envelope has exactly one signature and it verifies with public_key over the PAE of its
    payload type and (any base64 form of) its payload."""
    try:
        payload_type, payload, signatures = envelope["payloadType"], any_b64(envelope["payload"]), envelope["signatures"]
        if not isinstance(payload_type, str) or payload is None or not isinstance(signatures, list) or len(signatures) != 1:
            return False
        signature = any_b64(signatures[0]["sig"])
        if signature is None:
            return False
        VerifyKey(public_key).verify(pae(payload_type, payload), signature)
        return True
    except Exception:
        return False


# ------------------------------------------------------------------------------------------------ signed notes

Checkpoint = namedtuple("Checkpoint", "origin size root body signatures")


def note_key_id(name, public_key):
    """C2SP signed-note key ID of an Ed25519 key: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || key)."""
    return hashlib.sha256(name.encode() + b"\n\x01" + public_key).digest()[:4]


def verifier_key_text(name, key):
    """The verifier key string `name+keyid+base64(0x01 || public key)` of a SigningKey or seed."""
    public_key = raw_public_key(key)
    return "%s+%s+%s" % (name, note_key_id(name, public_key).hex(), b64(b"\x01" + public_key))


def sign_note(body, name, key):
    """A signed note: body (ending in a newline), a blank line and one signature line by key (SigningKey or
    seed) under name."""
    key = as_signing_key(key)
    blob = note_key_id(name, bytes(key.verify_key)) + key.sign(body.encode()).signature
    return body + "\n\u2014 %s %s\n" % (name, b64(blob))


def checkpoint_text(origin, size, root):
    """The body of a C2SP tlog-checkpoint."""
    return "%s\n%d\n%s\n" % (origin, size, b64(root))


def note_body(note):
    """The signed body of a note (up to and including the newline before the blank line)."""
    return note[:note.index("\n\n") + 1]


def parse_checkpoint(text):
    """Checkpoint(origin, size, root bytes, signed body bytes, signature lines) of a signed checkpoint note."""
    body, sep, rest = text.partition("\n\n")
    if not sep:
        raise ValueError("no blank line between the checkpoint body and its signatures")
    lines = body.split("\n")
    if len(lines) < 3:
        raise ValueError("checkpoint body has fewer than 3 lines")
    size = int(lines[1])
    root = base64.b64decode(lines[2], validate=True)
    signatures = [line for line in rest.split("\n") if line.startswith("\u2014 ")]
    return Checkpoint(lines[0], size, root, (body + "\n").encode(), signatures)


def note_signed_by(body, signature_lines, verifier_text):
    """True when one of the note's signature lines is a valid Ed25519 signature over body by the verifier key
    `name+keyid+base64(0x01 || public key)`."""
    try:
        name, key_id_hex, key_b64 = verifier_text.split("+", 2)  # names never contain "+"; base64 may
        public_key = base64.b64decode(key_b64)[1:]
        wanted_id = bytes.fromhex(key_id_hex)
    except ValueError:
        return False
    for line in signature_lines:
        parts = line[2:].split(" ")
        if len(parts) != 2 or parts[0] != name:
            continue
        try:
            blob = base64.b64decode(parts[1])
        except ValueError:
            continue
        if blob[:4] != wanted_id:
            continue
        try:
            VerifyKey(public_key).verify(body, blob[4:])
            return True
        except (BadSignatureError, ValueError, TypeError):
            return False
    return False
