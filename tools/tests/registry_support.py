"""Test-side support for the registry tests (test_registry.py): real OCI registries on 127.0.0.1 and the
programs around them, written from the OCI distribution spec and distribution 2.8's documented configuration.

  RegistryProcess   Debian's `docker-registry serve CONFIG` (distribution 2.8) on a free loopback port, storage in
                    the test work directory, `delete: enabled`; anonymous, htpasswd basic auth (bcrypt, made with
                    `htpasswd -Bbn`), or token auth against a TokenServer; started within START_TIMEOUT (until
                    /v2/ answers), stopped with SIGTERM, then SIGKILL
  TokenServer       a Docker token service in Python (a thread, 127.0.0.1): GET with basic credentials, POST with
                    an OAuth2 refresh token (`identitytoken`); RS256 JWTs with an x5c chain the registry trusts
                    through its rootcertbundle; every request it answered is in `.requests`
  Proxy             forwards to a registry, and lies on demand: rewrites Docker-Content-Digest, alters manifest
                    bytes, or drops a blob mount request's `mount`/`from` (a registry that will not mount)
  Client            a small distribution client (http.client) that answers basic and bearer challenges, and
                    pushes images with tools/oci-push's generator (imported, not copied)
  skopeo            `skopeo inspect` against a registry, in a private HOME

Fixtures (imported by test_registry.py): registry, registry2 (a second, separate anonymous registry),
basic_registry, token_registry (with .tokens, its TokenServer), proxy (a Proxy in front of `registry`).
Nothing here imports Docket's code; every socket is on 127.0.0.1.
"""

import base64
import contextlib
import hashlib
import http.client
import http.server
import importlib.machinery
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1]
OCI_PUSH = TOOLS / "oci-push"
REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo")
HTPASSWD = shutil.which("htpasswd")

START_TIMEOUT = 15.0  # seconds from exec until /v2/ answers
STOP_TIMEOUT = 10.0  # seconds from SIGTERM to exit, then SIGKILL
HTTP_TIMEOUT = 10.0  # one request from the test side

USER, PASSWORD = "alice", "correct horse battery staple"
REFRESH_TOKEN = "docket-test-refresh-" + "7" * 24
SERVICE = "docket-test-registry"
ISSUER = "docket-test-token-issuer"


def _load_oci_push():
    """tools/oci-push as a module (it is a script without .py)."""
    loader = importlib.machinery.SourceFileLoader("docket_oci_push", str(OCI_PUSH))
    spec = importlib.util.spec_from_loader("docket_oci_push", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


oci_push = _load_oci_push()
OCI_MANIFEST, OCI_INDEX = oci_push.OCI_MANIFEST, oci_push.OCI_INDEX
DOCKER_MANIFEST, DOCKER_LIST = oci_push.DOCKER_MANIFEST, oci_push.DOCKER_LIST
ALL_TYPES = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ------------------------------------------------------------------------------------------------ a client


class Reply:
    """One HTTP answer: status, headers (lower-case names), body bytes."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:300])


def parse_challenge(text):
    """`Bearer realm="…",service="…",scope="…"` → ("bearer", {realm, service, scope})."""
    kind, _, rest = text.strip().partition(" ")
    fields, i = {}, 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip(" ,").lower()
        if rest[eq + 1:eq + 2] == '"':
            end = rest.find('"', eq + 2)
            end = len(rest) if end < 0 else end
            fields[key], i = rest[eq + 2:end], end + 1
        else:
            end = rest.find(",", eq + 1)
            end = len(rest) if end < 0 else end
            fields[key], i = rest[eq + 1:end].strip(), end + 1
    return kind.lower(), fields


class Client(oci_push.Registry):
    """The distribution API of one registry host over plain HTTP (http.client, no proxies from the
    environment), answering a 401's basic or bearer challenge once with user/password. As an oci_push.Registry
    it pushes images with oci-push's own generator."""

    def __init__(self, host, user=None, password=None):
        super().__init__(host)
        self.host = host
        self.user, self.password = user, password
        self.auth = None

    def _once(self, method, url, data, headers):
        parsed = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=HTTP_TIMEOUT)
        try:
            path = parsed.path + ("?" + parsed.query if parsed.query else "")
            h = dict(headers)
            if self.auth:
                h["Authorization"] = self.auth
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            body = resp.read()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
        finally:
            conn.close()

    def reply(self, method, path, data=None, headers=None):
        url = path if path.startswith("http") else self.base + path
        headers = dict(headers or {})
        answer = self._once(method, url, data, headers)
        if answer.status == 401 and self.user is not None and "www-authenticate" in answer.headers:
            kind, fields = parse_challenge(answer.headers["www-authenticate"])
            basic = "Basic " + base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
            if kind == "basic":
                self.auth = basic
            elif kind == "bearer":
                query = [("service", fields.get("service", ""))]
                if fields.get("scope"):
                    query += [("scope", s) for s in fields["scope"].split(" ")]
                token_url = fields["realm"] + "?" + urllib.parse.urlencode(query)
                saved, self.auth = self.auth, basic
                got = self._once("GET", token_url, None, {})
                self.auth = saved
                if got.status != 200:
                    raise AssertionError("the token service refused the test client: %r" % got)
                self.auth = "Bearer " + got.json()["token"]
            answer = self._once(method, url, data, headers)
        return answer

    def request(self, method, path, data=None, headers=None):
        """oci_push.Registry's interface: (status, headers, body)."""
        r = self.reply(method, path, data, headers)
        return r.status, r.headers, r.body

    # --- manifests by hand

    def get_manifest(self, repo, ref, accept=ALL_TYPES, method="GET"):
        return self.reply(method, "/v2/%s/manifests/%s" % (repo, ref), headers={"Accept": accept})

    def manifest_bytes(self, repo, ref):
        r = self.get_manifest(repo, ref)
        assert r.status == 200, "GET %s/%s:%s: %r" % (self.host, repo, ref, r)
        return r.body

    def digest_of(self, repo, ref):
        """sha256 of the bytes served for ref (every type accepted), or None on 404."""
        r = self.get_manifest(repo, ref)
        if r.status == 404:
            return None
        assert r.status == 200, "GET %s/%s:%s: %r" % (self.host, repo, ref, r)
        return sha256(r.body)

    def put_manifest(self, repo, ref, data, media_type):
        r = self.reply("PUT", "/v2/%s/manifests/%s" % (repo, ref), data=data, headers={"Content-Type": media_type})
        assert r.status == 201, "PUT %s/%s:%s: %r" % (self.host, repo, ref, r)
        return sha256(data)

    def delete_manifest(self, repo, digest):
        r = self.reply("DELETE", "/v2/%s/manifests/%s" % (repo, digest))
        assert r.status == 202, "DELETE %s/%s@%s: %r" % (self.host, repo, digest, r)

    def has_blob(self, repo, digest):
        return self.reply("HEAD", "/v2/%s/blobs/%s" % (repo, digest)).status == 200

    # --- images

    def push(self, repo, tag, seed, index=False, docker=False):
        """Pushes a generated image (oci-push's layer, config and manifest), or an index over two platforms, and
        tags it. Returns a Pushed: digest, bytes, media type, children (for an index) and blobs."""
        if not index:
            data, media = oci_push.image(self, repo, seed, docker=docker)
            digest = self.put_manifest(repo, tag, data, media)
            return Pushed(repo, tag, digest, data, media, [], blobs_of(data))
        children = []
        for arch in ("amd64", "arm64"):
            data, media = oci_push.image(self, repo, seed, arch=arch, docker=docker)
            digest = self.put_manifest(repo, sha256(data), data, media)
            children.append(Pushed(repo, None, digest, data, media, [], blobs_of(data), arch))
        media = DOCKER_LIST if docker else OCI_INDEX
        body = json.dumps({"schemaVersion": 2, "mediaType": media, "manifests": [
            {"mediaType": c.media_type, "digest": c.digest, "size": len(c.data),
             "platform": {"architecture": c.arch, "os": "linux"}} for c in children]}, indent=2).encode()
        digest = self.put_manifest(repo, tag, body, media)
        return Pushed(repo, tag, digest, body, media, children, [b for c in children for b in c.blobs])


def blobs_of(manifest_bytes):
    m = json.loads(manifest_bytes)
    return [m["config"]["digest"]] + [layer["digest"] for layer in m["layers"]]


class Pushed:
    def __init__(self, repo, tag, digest, data, media_type, children, blobs, arch=None):
        self.repo, self.tag, self.digest, self.data, self.media_type = repo, tag, digest, data, media_type
        self.children, self.blobs, self.arch = children, blobs, arch


# ------------------------------------------------------------------------------------------------ token service


class TokenServer:
    """A Docker token service on 127.0.0.1 (a thread of the test process). GET /token with basic credentials
    (or none: a token with no access, as public registries give anonymous users) and POST /token with
    grant_type=refresh_token (the config.json `identitytoken`); the JWT is RS256 with an x5c chain of one
    self-signed certificate, which the registry trusts as its rootcertbundle."""

    def __init__(self, folder, users=None, refresh_tokens=None):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        from cryptography.x509.oid import NameOID

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.users = dict(users or {USER: PASSWORD})
        self.refresh_tokens = dict(refresh_tokens or {REFRESH_TOKEN: USER})
        self.requests = []  # dicts: method, user (None: anonymous), grant, service, scopes, status
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.now(timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self._key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self._key, hashes.SHA256()))
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.bundle = self.folder / "token-root.pem"
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._sign = lambda data: self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="docket-test-token"')
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                user, status = None, 200
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    try:
                        name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    except Exception:
                        name, password = None, None
                    if server.users.get(name) != password or name is None:
                        status = 401
                    user = name
                elif auth:
                    status = 401
                scopes = [s for v in query.get("scope", []) for s in v.split(" ") if s]
                server.requests.append({"method": "GET", "user": user, "grant": None,
                                        "service": (query.get("service") or [None])[0], "scopes": scopes,
                                        "status": status})
                if url.path != "/token":
                    return self.answer(404, {"error": "not found"})
                if status != 200:
                    return self.answer(401, {"error": "unauthorized", "details": "wrong user name or password"})
                token = server.issue(user, scopes if user else [])
                self.answer(200, {"token": token, "access_token": token, "expires_in": 300,
                                  "issued_at": datetime.now(timezone.utc).isoformat()})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                one = lambda k: (form.get(k) or [None])[0]
                scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
                user, status = None, 200
                if one("grant_type") == "refresh_token":
                    user = server.refresh_tokens.get(one("refresh_token"))
                elif one("grant_type") == "password":
                    user = one("username") if server.users.get(one("username")) == one("password") else None
                if user is None:
                    status = 401
                server.requests.append({"method": "POST", "user": user, "grant": one("grant_type"),
                                        "client_id": one("client_id"), "service": one("service"),
                                        "scopes": scopes, "status": status})
                if status != 200:
                    return self.answer(401, {"error": "invalid_grant"})
                token = server.issue(user, scopes)
                self.answer(200, {"access_token": token, "expires_in": 300, "scope": " ".join(scopes)})

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.realm = "http://127.0.0.1:%d/token" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="token-server", daemon=True)
        self.thread.start()

    def issue(self, user, scopes):
        """A JWT granting every action asked in `type:name:actions` scopes."""
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if name:
                access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": ISSUER, "sub": user or "", "aud": SERVICE, "exp": now + 300, "nbf": now - 30,
                  "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        return signing_input + "." + b64url(self._sign(signing_input.encode()))

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


# ------------------------------------------------------------------------------------------------ the registry


class StartError(Exception):
    pass


class RegistryProcess:
    """One `docker-registry serve CONFIG` on 127.0.0.1:PORT. mode: anonymous | basic | token."""

    def __init__(self, folder, mode="anonymous", tokens=None, name="registry"):
        self.folder = Path(folder)
        self.mode, self.tokens, self.name = mode, tokens, name
        self.proc = None
        self.port = None
        self.log = None
        self.user, self.password = (USER, PASSWORD) if mode != "anonymous" else (None, None)

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return "http://" + self.host

    def client(self, user=None, password=None, anonymous=False):
        """A test-side Client: with the registry's credentials unless anonymous (or others given)."""
        if anonymous:
            return Client(self.host)
        return Client(self.host, user or self.user, password or self.password)

    def _config(self, port):
        storage = self.folder / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        lines = [
            "version: 0.1",
            "log: {level: info, formatter: text}",
            "storage:",
            "  filesystem: {rootdirectory: %s}" % json.dumps(str(storage)),
            "  delete: {enabled: true}",
            "  cache: {blobdescriptor: inmemory}",
            "http: {addr: '127.0.0.1:%d', secret: %s}" % (port, secrets.token_hex(16)),
        ]
        if self.mode == "basic":
            out = subprocess.run([HTPASSWD, "-Bbn", USER, PASSWORD], capture_output=True, timeout=30, check=True)
            htpasswd = self.folder / "htpasswd"
            htpasswd.write_bytes(out.stdout)
            lines += ["auth:", "  htpasswd: {realm: docket-test-basic, path: %s}" % json.dumps(str(htpasswd))]
        elif self.mode == "token":
            lines += ["auth:", "  token:", "    realm: %s" % json.dumps(self.tokens.realm),
                      "    service: %s" % SERVICE, "    issuer: %s" % ISSUER,
                      "    rootcertbundle: %s" % json.dumps(str(self.tokens.bundle))]
        config = self.folder / "config.yml"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self, timeout=START_TIMEOUT):
        self.folder.mkdir(parents=True, exist_ok=True)
        problems = []
        for attempt in range(3):  # another process may take the free port between the probe and the bind
            port = free_port()
            config = self._config(port)
            self.log = self.folder / ("registry-%d.log" % attempt)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.folder)}  # no REGISTRY_*
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log, env=env, start_new_session=True)
            self.port = port
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/v2/")
                    status = conn.getresponse().status
                    conn.close()
                    if status in (200, 401):
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            problems.append("attempt %d (port %d): exit %s; log: %s" % (
                attempt, port, self.proc.poll(), self.logs(1500)))
            self.stop()
            if "address already in use" not in self.logs():
                break
        raise StartError("docker-registry (%s) did not answer /v2/ within %.0fs: %s" % (
            self.mode, timeout, "\n".join(problems)))

    def logs(self, limit=4000):
        text = self.log.read_text(errors="replace") if self.log and self.log.exists() else ""
        return text[-limit:]

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


@contextlib.contextmanager
def running_registry(folder, mode="anonymous", tokens=None):
    reg = RegistryProcess(folder, mode, tokens)
    try:
        reg.start()
    except StartError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield reg
    finally:
        reg.stop()


# ------------------------------------------------------------------------------------------------ a lying proxy

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
       "content-length"}


class Proxy:
    """Forwards every request to a registry (Host header kept, so the registry's upload Locations name the
    proxy) and, by `mode`, lies:
      pass          forwards faithfully
      digest        rewrites Docker-Content-Digest of every manifest answer to another digest
      put-digest    the same, only on answers to a manifest PUT whose reference is in `tags` (every PUT if empty)
      body          alters the manifest bytes of GET answers (one space added before the final brace), keeping
                    the registry's Docker-Content-Digest
      body-digest   alters them and sets Docker-Content-Digest to the altered bytes' digest (a consistent lie)
      nomount       drops `mount` and `from` from blob upload POSTs: the registry answers 202, not 201
    `budget` (None: no limit) is how many more answers may lie; `.requests` lists (method, path, status) of every
    request, and `.lies` the (method, path) of every answer that lied."""

    LIE = "sha256:" + hashlib.sha256(b"a digest the bytes do not have").hexdigest()

    def __init__(self, upstream_host, mode="pass"):
        self.upstream = upstream_host
        self.mode = mode
        self.tags = set()
        self.budget = None
        self.requests = []
        self.lies = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                body = None
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    body = b"".join(chunks)
                elif self.headers.get("Content-Length"):
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                path = self.path
                url = urllib.parse.urlsplit(path)
                is_manifest = "/manifests/" in url.path
                if proxy.mode == "nomount" and self.command == "POST" and "/blobs/uploads/" in url.path:
                    query = [(k, v) for k, v in urllib.parse.parse_qsl(url.query) if k not in ("mount", "from")]
                    path = url.path + ("?" + urllib.parse.urlencode(query) if query else "")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                host, port = proxy.upstream.rsplit(":", 1)
                conn = http.client.HTTPConnection(host, int(port), timeout=HTTP_TIMEOUT)
                try:
                    conn.request(self.command, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
                    status = resp.status
                finally:
                    conn.close()
                ref = url.path.rsplit("/manifests/", 1)[-1] if is_manifest else None
                if is_manifest and status < 300 and proxy.budget != 0:
                    told = (out_headers, data)
                    lie_here = proxy.mode == "digest" or (
                        proxy.mode == "put-digest" and self.command == "PUT" and (not proxy.tags or ref in proxy.tags))
                    if lie_here:
                        out_headers = [(k, proxy.LIE if k.lower() == "docker-content-digest" else v)
                                       for k, v in out_headers]
                    if proxy.mode in ("body", "body-digest") and self.command == "GET" and data.rstrip().endswith(b"}"):
                        stripped = data.rstrip()
                        data = stripped[:-1] + b" }" + data[len(stripped):]
                        if proxy.mode == "body-digest":
                            out_headers = [(k, sha256(data) if k.lower() == "docker-content-digest" else v)
                                           for k, v in out_headers]
                    if (out_headers, data) != told:
                        proxy.lies.append((self.command, self.path))
                        if proxy.budget is not None:
                            proxy.budget -= 1
                length = len(data)
                if self.command == "HEAD":
                    length = resp.getheader("Content-Length") or "0"
                proxy.requests.append((self.command, self.path, status))
                self.send_response(status)
                for k, v in out_headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = "127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="lying-proxy", daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


# ------------------------------------------------------------------------------------------------ skopeo


def skopeo_inspect(workspace, image, raw=False, fmt=None, creds=None, timeout=30):
    """`skopeo inspect [--raw|--format F] --tls-verify=false docker://IMAGE` in a private HOME (no user config):
    (exit code, stdout bytes, stderr text)."""
    home = Path(workspace) / "skopeo-home"
    home.mkdir(exist_ok=True)
    argv = [SKOPEO, "inspect", "--tls-verify=false"]
    if raw:
        argv.append("--raw")
    if fmt:
        argv += ["--format", fmt]
    if creds:
        argv += ["--creds", creds]
    argv.append("docker://" + image)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "XDG_RUNTIME_DIR": str(home)}
    p = subprocess.run(argv, capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


# ------------------------------------------------------------------------------------------------ fixtures


def _need(program, what):
    if not program or not os.access(program, os.X_OK):
        pytest.fail("%s is not installed (%s); tools/setup installs it" % (what, program), pytrace=False)


@pytest.fixture(scope="session")
def registry(workspace):
    """An anonymous registry on 127.0.0.1 for the whole run (tests use repositories of their own)."""
    _need(REGISTRY_BIN, "docker-registry")
    with running_registry(workspace / "registries" / "anonymous") as reg:
        yield reg


@pytest.fixture(scope="session")
def registry2(workspace):
    """A second anonymous registry, separate storage and port: a copy between the two cannot mount."""
    _need(REGISTRY_BIN, "docker-registry")
    with running_registry(workspace / "registries" / "second") as reg:
        yield reg


@pytest.fixture(scope="session")
def basic_registry(workspace):
    """A registry behind htpasswd basic auth (bcrypt): user USER, password PASSWORD."""
    _need(REGISTRY_BIN, "docker-registry")
    _need(HTPASSWD, "htpasswd (apache2-utils)")
    with running_registry(workspace / "registries" / "basic", "basic") as reg:
        yield reg


@pytest.fixture(scope="session")
def token_registry(workspace):
    """A registry behind bearer-token auth, its TokenServer as .tokens (USER/PASSWORD, REFRESH_TOKEN)."""
    _need(REGISTRY_BIN, "docker-registry")
    try:
        tokens = TokenServer(workspace / "registries" / "token-service")
    except ImportError as e:
        pytest.fail("the token service needs the `cryptography` package: %s" % e, pytrace=False)
    try:
        with running_registry(workspace / "registries" / "token", "token", tokens) as reg:
            yield reg
    finally:
        tokens.stop()


@pytest.fixture
def proxy(registry):
    """A Proxy in front of `registry` (mode "pass"; set .mode to lie), stopped after the test."""
    p = Proxy(registry.host)
    try:
        yield p
    finally:
        p.stop()
