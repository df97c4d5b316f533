"""Docket against real OCI registries (DESIGN §9), end to end: the binary from $DOCKET_BIN, Debian's
docker-registry (distribution 2.8) on 127.0.0.1, images made by tools/oci-push's generator, answers checked with
skopeo and raw HTTP. Support (registries, token service, lying proxy): registry_support.py.

  1  resolve           an image, an OCI index, a Docker list, a Docker manifest: the digest is the served bytes'
                       sha256 (skopeo agrees); what the registry does with a narrower Accept; 404, unreachable
  2  copy              mount (201) within a registry, upload when it will not mount (202, or another registry),
                       a missing child (exit 3, nothing tagged)
  3  the story         two services in one ledger: built --resolve, staging, check, approval, promote with
                       registry.tags; previous recorded; same bytes; registry check ok, drift, missing, --repo,
                       --json; verify and tools/verify-bundle
  4  putting back      a refused append puts the tags back; a gate refusal moves nothing; a registry failure in
                       the middle of a move
  5  --push-to, --push a second repository; tags from --tag recorded and checked
  6  auth              htpasswd basic, bearer tokens (GET with basic credentials, POST with an identity token)
  7  a lying proxy     Docker-Content-Digest rewritten, manifest bytes altered: exit 3, ledger unchanged

Every failing docket call must print one `docket: …` line (warnings before it allowed where a move is put back)
and exit with a documented code; the ledger is unchanged after every failure. Network: 127.0.0.1 only.
"""

import base64
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from . import registry_support as rs
from .conftest import CONTROL, FATAL_WORDS, REPO
from .registry_support import basic_registry, proxy, registry, registry2, token_registry  # noqa: F401 (fixtures)

TIMEOUT = 30  # seconds, one docket call here (every registry answer is local)


# ------------------------------------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def env_dir(workspace):
    """env_dir(name, config=None) → a DOCKER_CONFIG folder of its own (config.json written when given), as the
    extra environment for docket: no user config, no REGISTRY_AUTH_FILE."""
    made = {}

    def make(name, config=None, auth_file=None):
        made[name] = made.get(name, 0) + 1
        folder = workspace / "docker-config" / ("%s-%d" % (name, made[name]))
        folder.mkdir(parents=True)
        (folder / "home").mkdir()
        if config is not None:
            (folder / "config.json").write_text(json.dumps(config))
        return {"DOCKER_CONFIG": str(folder), "REGISTRY_AUTH_FILE": str(auth_file or ""),
                "HOME": str(folder / "home")}

    return make


@pytest.fixture(scope="module")
def anon(env_dir):
    return env_dir("anonymous")


@pytest.fixture(scope="module")
def run(docket, anon):
    """run(*args, ledger=None, env=None) → Result of `docket ARGS` (env: the extra environment, default an
    empty DOCKER_CONFIG)."""

    def call(*args, ledger=None, env=None, timeout=TIMEOUT):
        extra = dict(anon if env is None else env)
        return docket.run([str(a) for a in args] + (["--ledger", ledger] if ledger else []), env_extra=extra,
                          timeout=timeout)

    return call


def error_lines(res):
    return [line for line in res.err.rstrip("\n").split("\n") if line]


def assert_fails(res, rc, *words):
    """Exit rc (documented: 1, 2 or 3), exactly one `docket: …` line on stderr, no crash text, and words in it."""
    assert not res.timed_out and not res.signalled, res.describe()
    assert res.rc == rc, "expected exit %d: %s" % (rc, res.describe())
    assert res.one_line_error(), "stderr is not one `docket: …` line: %r" % res.err
    for word in words:
        assert word in res.err, "%r not in the error: %r" % (word, res.err)


def assert_fails_after_moves(res, rcs, *words):
    """A failed promote that had moved tags: notes (`moved …`) and `docket: warning: …` lines allowed, then
    exactly one `docket: …` error line, last; no crash text or control characters."""
    assert not res.timed_out and not res.signalled, res.describe()
    assert res.rc in rcs, "expected exit %s: %s" % (rcs, res.describe())
    lines = error_lines(res)
    errors = [line for line in lines if line.startswith("docket: ") and not line.startswith("docket: warning: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], "not one final `docket:` error line: %r" % res.err
    assert not CONTROL.search(res.err) and not any(w in res.err for w in FATAL_WORDS), res.err
    for word in words:
        assert word in res.err, "%r not in stderr: %r" % (word, res.err)


def ok(res):
    assert res.rc == 0, res.describe() + "\n" + res.text()
    return res


def resolved(run, image, env=None):
    res = ok(run("resolve", image, "--json", env=env))
    return json.loads(res.out)


_validators = {}


def validate(schema_name, value):
    """value against schemas/<schema_name> (JSON Schema 2020-12, $refs by $id)."""
    if schema_name not in _validators:
        jsonschema = pytest.importorskip("jsonschema")
        referencing = pytest.importorskip("referencing")
        resources = []
        for path in (REPO / "schemas").rglob("*.json"):
            doc = json.loads(path.read_text())
            if "$id" in doc:
                resources.append((doc["$id"], referencing.Resource.from_contents(doc)))
        schema = json.loads((REPO / "schemas" / schema_name).read_text())
        _validators[schema_name] = jsonschema.Draft202012Validator(
            schema, registry=referencing.Registry().with_resources(resources))
    problems = [e.message for e in _validators[schema_name].iter_errors(value)]
    assert not problems, "%s: %s\n%s" % (schema_name, problems[:5], json.dumps(value)[:1500])


def compact(data):
    """The same JSON re-serialised compactly: equal as JSON, different bytes, so another digest."""
    return json.dumps(json.loads(data), separators=(",", ":")).encode()


# ------------------------------------------------------------------------------------------------ ledgers


def policy(repositories, tags=("production",), checks=True):
    production = {"name": "production", "from": "staging", "approvals": {"min": 1, "roles": ["approver"]}}
    if checks:
        production["checks"] = ["security-scan"]
    if tags:
        production["registry"] = {"tags": list(tags)}
    return {"pipelines": [{"name": "services", "repositories": list(repositories),
                           "environments": [{"name": "staging"}, production]}]}


class Pipeline:
    """A conftest Ledger with an approver (alice) and a releaser (rita) enrolled and a policy set; every call
    runs with the given extra environment (DOCKER_CONFIG)."""

    def __init__(self, run, ledger, doc, env=None):
        self.run, self.ledger, self.env = run, ledger, env
        self.alice, self.rita = ledger.dir / "alice.key", ledger.dir / "rita.key"
        for key, who, role in ((self.alice, "alice", "approver"), (self.rita, "rita", "releaser")):
            ledger.must(["key", "generate", "--identity", who + "@example.com", "--out", key])
            ledger.must(["key", "enroll", str(key) + ".pub", "--role", role, "--key", ledger.admin_key])
        (ledger.dir / "policy.json").write_text(json.dumps(doc, indent=2))
        ledger.must(["policy", "set", ledger.dir / "policy.json", "--key", ledger.admin_key])

    def __call__(self, *args, env=None):
        return self.run(*args, ledger=self.ledger.path, env=env or self.env)

    def must(self, *args, env=None):
        return ok(self(*args, env=env))

    def size(self):
        return json.loads(ok(self("ledger", "describe", "--json")).out)["size"]

    def log(self):
        return json.loads(ok(self("log", "--json", "--limit", "1000")).out)

    def promoted(self):
        return [e for e in self.log() if e["kind"] == "promoted"]

    def built(self, image):
        """record built IMAGE(:TAG) --resolve; returns the digest recorded."""
        self.must("record", "built", image, "--resolve", "--key", self.ledger.ci_key)
        return self.log()[-1]

    def eligible(self, repository, digest):
        """deployed to staging, security-scan passed, approved by alice: production's gate passes."""
        image = "%s@%s" % (repository, digest)
        ci = ["--key", self.ledger.ci_key]
        self.must("record", "deployed", image, "--env", "staging", *ci)
        self.must("record", "check", image, "--check", "security-scan", "--result", "pass", *ci)
        self.must("approve", digest, "--env", "production", "--key", self.alice)

    def promote(self, digest, *extra, key=None):
        return self("promote", digest, "--to", "production", "--key", key or self.rita, *extra)

    def verify_clean(self):
        ok_, detail = self("verify", "--json").verified_clean()
        assert ok_, detail


@pytest.fixture(scope="module")
def pipeline(run, ledger_factory):
    """pipeline(name, repositories, tags=…, env=…) → a Pipeline on a fresh ledger."""

    def make(name, repositories, tags=("production",), env=None, checks=True):
        return Pipeline(run, ledger_factory(name), policy(repositories, tags, checks), env)

    return make


# ------------------------------------------------------------------------------------------------ 1 resolve


def test_resolve_image_pushed_by_oci_push_is_the_bytes_digest(run, registry, workspace):
    """tools/oci-push run as a program prints the digest it pushed; `docket resolve` prints the same, which is
    the sha256 of the bytes `skopeo inspect --raw` gets and skopeo's own Digest; --json has the documented
    fields (resolve.schema.json)."""
    image = registry.host + "/resolve/image:1.0"
    push = subprocess.run([sys.executable, str(rs.OCI_PUSH), image, "--seed", "resolve image"], capture_output=True,
                          timeout=60, text=True, env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*"})
    assert push.returncode == 0, push.stderr
    pushed = push.stdout.strip()
    res = ok(run("resolve", image))
    assert res.out.strip() == pushed
    rc, raw, err = rs.skopeo_inspect(workspace, image, raw=True)
    assert rc == 0, err
    assert rs.sha256(raw) == pushed
    rc, digest, err = rs.skopeo_inspect(workspace, image, fmt="{{.Digest}}")
    assert rc == 0, err
    assert digest.decode().strip() == pushed
    answer = resolved(run, image)
    validate("resolve.schema.json", answer)
    assert answer == {"image": image, "repository": registry.host + "/resolve/image", "tag": "1.0",
                      "digest": pushed, "mediaType": rs.OCI_MANIFEST}


def test_resolve_oci_index_where_a_narrower_accept_gets_404(run, registry, workspace):
    """An OCI index: the registry answers 404 to an Accept without the OCI index type (shown with raw HTTP);
    docket asks with every type and prints the index's digest, skopeo's raw bytes hash to it."""
    c = registry.client()
    pushed = c.push("resolve/index", "multi", "resolve index", index=True)
    narrow = c.get_manifest("resolve/index", "multi", accept=", ".join([rs.OCI_MANIFEST, rs.DOCKER_MANIFEST,
                                                                         rs.DOCKER_LIST]))
    assert narrow.status == 404, narrow
    assert b"OCI index" in narrow.body, narrow
    answer = resolved(run, registry.host + "/resolve/index:multi")
    assert (answer["digest"], answer["mediaType"]) == (pushed.digest, rs.OCI_INDEX)
    rc, raw, err = rs.skopeo_inspect(workspace, registry.host + "/resolve/index:multi", raw=True)
    assert rc == 0, err
    assert raw == pushed.data and rs.sha256(raw) == pushed.digest
    rc, digest, err = rs.skopeo_inspect(workspace, registry.host + "/resolve/index:multi", fmt="{{.Digest}}")
    assert rc == 0, err
    assert digest.decode().strip() == pushed.digest


def test_resolve_docker_list_where_a_narrower_accept_gets_a_child(run, registry, workspace):
    """A Docker manifest list: asked without the list type, the registry answers with the linux/amd64 child
    (another digest); docket prints the list's own digest."""
    c = registry.client()
    pushed = c.push("resolve/list", "multi", "resolve list", index=True, docker=True)
    narrow = c.get_manifest("resolve/list", "multi", accept=rs.DOCKER_MANIFEST)
    assert narrow.status == 200, narrow
    amd64 = [ch for ch in pushed.children if ch.arch == "amd64"][0]
    assert rs.sha256(narrow.body) == amd64.digest != pushed.digest
    answer = resolved(run, registry.host + "/resolve/list:multi")
    assert (answer["digest"], answer["mediaType"]) == (pushed.digest, rs.DOCKER_LIST)
    rc, raw, err = rs.skopeo_inspect(workspace, registry.host + "/resolve/list:multi", raw=True)
    assert rc == 0, err
    assert rs.sha256(raw) == pushed.digest
    rc, digest, err = rs.skopeo_inspect(workspace, registry.host + "/resolve/list:multi", fmt="{{.Digest}}")
    assert rc == 0, err
    assert digest.decode().strip() == pushed.digest


def test_resolve_docker_manifest_and_by_digest(run, registry, workspace):
    """A Docker v2 manifest by tag, then REPOSITORY@DIGEST (checked against the bytes): the same digest."""
    pushed = registry.client().push("resolve/docker", "v2", "resolve docker", docker=True)
    answer = resolved(run, registry.host + "/resolve/docker:v2")
    assert (answer["digest"], answer["mediaType"]) == (pushed.digest, rs.DOCKER_MANIFEST)
    rc, digest, err = rs.skopeo_inspect(workspace, registry.host + "/resolve/docker:v2", fmt="{{.Digest}}")
    assert rc == 0, err
    assert digest.decode().strip() == pushed.digest
    by_digest = ok(run("resolve", "%s/resolve/docker@%s" % (registry.host, pushed.digest)))
    assert by_digest.out.strip() == pushed.digest


def test_resolve_missing_names_exit_2_and_unreachable_exit_3(run, registry):
    """A tag or repository the registry does not have: exit 2; nothing listening: exit 3; one line each."""
    registry.client().push("resolve/present", "v1", "resolve present")
    assert_fails(run("resolve", registry.host + "/resolve/present:nope"), 2, "404")
    assert_fails(run("resolve", registry.host + "/resolve/absent:v1"), 2)
    assert_fails(run("resolve", "%s/resolve/present@sha256:%s" % (registry.host, "ab" * 32)), 2)
    port = rs.free_port()
    assert_fails(run("resolve", "127.0.0.1:%d/app:v1" % port), 3, "127.0.0.1:%d" % port)


def test_a_registry_that_trickles_its_answer_is_cut_off_at_the_deadline(run, anon):
    """A registry that sends its answer one byte every half second (each byte resets a read timeout) is cut off at
    the overall deadline (DOCKET_REGISTRY_TIMEOUT): exit 3 in one line naming it, well before the answer ends
    (issue 30, item 9)."""
    import socket
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def trickle():
        listener.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100
                    for byte in answer:
                        if stop.is_set():
                            break
                        conn.sendall(bytes([byte]))
                        time.sleep(0.5)
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        res = run("resolve", "127.0.0.1:%d/slow/app:v1" % listener.getsockname()[1],
                  env=dict(anon, DOCKET_REGISTRY_TIMEOUT="3"), timeout=60)
        took = time.monotonic() - started
        assert_fails(res, 3, "did not answer within 3 s", "DOCKET_REGISTRY_TIMEOUT")
        assert took < 20, "cut off at the deadline, not when the answer ends (%.1f s)" % took
        bad = run("resolve", "127.0.0.1:1/slow/app:v1", env=dict(anon, DOCKET_REGISTRY_TIMEOUT="soon"))
        assert_fails(bad, 2, "DOCKET_REGISTRY_TIMEOUT=soon")
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=10)


def test_resolve_localhost_is_plain_http_too(run, registry):
    """`localhost:PORT` is a loopback host: plain HTTP, same digest as 127.0.0.1:PORT."""
    pushed = registry.client().push("resolve/localhost", "v1", "resolve localhost")
    assert resolved(run, "localhost:%d/resolve/localhost:v1" % registry.port)["digest"] == pushed.digest


# ------------------------------------------------------------------------------------------------ 2 copy


def test_copy_index_within_a_registry_mounts_every_blob(run, registry, proxy, workspace):
    """An OCI index copied to another repository of the same registry (through a faithful proxy, to see the
    answers): every blob mounted (POST ?mount=&from= answered 201), children before the index, then the tag;
    the copy has the same digest and bytes. Copied again: every blob already there."""
    c = registry.client()
    pushed = c.push("copy/src", "v1", "copy index", index=True)
    source, target = "%s/copy/src@%s" % (proxy.host, pushed.digest), proxy.host + "/copy/dst:v1"
    report = json.loads(ok(run("registry", "copy", source, target, "--json")).out)
    validate("registry-copy.schema.json", report)
    assert report == {"manifests": 3, "blobsMounted": 4, "blobsUploaded": 0, "blobsPresent": 0}, report
    mounts = [(m, p, s) for m, p, s in proxy.requests if m == "POST" and "mount=" in p]
    assert len(mounts) == 4 and all(s == 201 for _, _, s in mounts), mounts
    puts = [p for m, p, s in proxy.requests if m == "PUT" and "/manifests/" in p]
    children = [ch.digest for ch in pushed.children]
    assert [p.rsplit("/", 1)[1] for p in puts] == children + [pushed.digest, "v1"], puts
    assert c.manifest_bytes("copy/dst", "v1") == pushed.data
    for child in pushed.children:
        assert c.manifest_bytes("copy/dst", child.digest) == child.data
    assert all(c.has_blob("copy/dst", b) for b in pushed.blobs)
    assert resolved(run, registry.host + "/copy/dst:v1")["digest"] == pushed.digest
    again = json.loads(ok(run("registry", "copy", source, target, "--json")).out)
    assert again == {"manifests": 3, "blobsMounted": 0, "blobsUploaded": 0, "blobsPresent": 4}, again


def test_copy_between_two_registries_uploads_through_this_machine(run, registry, registry2):
    """A copy to another registry cannot mount: every blob uploaded, same digest and bytes there."""
    pushed = registry.client().push("copy/cross", "v1", "copy cross", index=True, docker=True)
    report = json.loads(ok(run("registry", "copy", "%s/copy/cross@%s" % (registry.host, pushed.digest),
                               registry2.host + "/elsewhere/cross:v1", "--json")).out)
    assert report == {"manifests": 3, "blobsMounted": 0, "blobsUploaded": 4, "blobsPresent": 0}, report
    c2 = registry2.client()
    assert c2.manifest_bytes("elsewhere/cross", "v1") == pushed.data
    assert all(c2.has_blob("elsewhere/cross", b) for b in pushed.blobs)
    assert resolved(run, registry2.host + "/elsewhere/cross:v1")["digest"] == pushed.digest


def test_copy_when_the_registry_will_not_mount_uploads(run, registry, proxy):
    """The same registry, but the mount is not honoured (the proxy drops mount/from, so the POST is answered
    202): docket uploads the blobs instead."""
    pushed = registry.client().push("copy/nomount", "v1", "copy nomount")
    proxy.mode = "nomount"
    report = json.loads(ok(run("registry", "copy", "%s/copy/nomount@%s" % (proxy.host, pushed.digest),
                               proxy.host + "/copy/nomount-dst:v1", "--json")).out)
    assert report == {"manifests": 1, "blobsMounted": 0, "blobsUploaded": 2, "blobsPresent": 0}, report
    starts = [s for m, p, s in proxy.requests if m == "POST" and "/blobs/uploads/" in p]
    assert starts == [202, 202], proxy.requests
    assert registry.client().manifest_bytes("copy/nomount-dst", "v1") == pushed.data


def test_copy_of_an_index_with_a_missing_child_fails_and_tags_nothing(run, registry):
    """An index whose linux/amd64 child was deleted from the registry: the copy fails (exit 3) naming the missing
    digest, and the target has neither the index nor the tag."""
    c = registry.client()
    pushed = c.push("copy/broken", "v1", "copy broken", index=True)
    amd64 = [ch for ch in pushed.children if ch.arch == "amd64"][0]
    c.delete_manifest("copy/broken", amd64.digest)
    assert c.get_manifest("copy/broken", amd64.digest).status == 404
    assert c.digest_of("copy/broken", pushed.digest) == pushed.digest  # the index is still served
    res = run("registry", "copy", "%s/copy/broken@%s" % (registry.host, pushed.digest),
              registry.host + "/copy/broken-dst:v1")
    assert_fails(res, 3, amd64.digest)
    assert c.get_manifest("copy/broken-dst", "v1").status == 404
    assert c.get_manifest("copy/broken-dst", pushed.digest).status == 404


def test_copy_refuses_a_missing_or_tag_source(run, registry):
    """A source the registry does not have, or one named by tag: exit 2, one line."""
    registry.client().push("copy/tagonly", "v1", "copy tag only")
    assert_fails(run("registry", "copy", "%s/copy/none@sha256:%s" % (registry.host, "cd" * 32),
                     registry.host + "/copy/none-dst"), 2)
    assert_fails(run("registry", "copy", registry.host + "/copy/tagonly:v1", registry.host + "/copy/t-dst"), 2,
                 "digest")


# ------------------------------------------------------------------------------------------------ 3 the story


@pytest.fixture(scope="module")
def story(registry, pipeline, run):
    """Two services in one ledger, policy production registry.tags [production, stable]:
    payments v1 (OCI image) promoted (no tag existed), ledger v1 (OCI index) promoted (its production tag
    existed), payments v2 (Docker manifest) promoted over v1. Each step's Result kept."""
    c = registry.client()
    s = SimpleNamespace(c=c, pay=registry.host + "/story/payments", led=registry.host + "/story/ledger", steps=[])
    s.pay_v1 = c.push("story/payments", "build-1", "payments v1")
    s.pay_v2 = c.push("story/payments", "build-2", "payments v2", docker=True)
    s.led_old = c.push("story/ledger", "production", "ledger, before docket")
    s.led_v1 = c.push("story/ledger", "build-1", "ledger v1", index=True)
    p = s.p = pipeline("registry-story", [s.pay, s.led], tags=["production", "stable"])

    def step(name, expected, res):
        s.steps.append((name, expected, res))
        return res

    s.built = {}
    for repo, tag in ((s.pay, "build-1"), (s.led, "build-1")):
        step("built %s:%s --resolve" % (repo, tag), 0, p("record", "built", "%s:%s" % (repo, tag), "--resolve",
                                                         "--key", p.ledger.ci_key))
        s.built[repo, tag] = p.log()[-1]
    p.eligible(s.pay, s.pay_v1.digest)
    p.eligible(s.led, s.led_v1.digest)
    s.check_before = step("check before", 1, p("registry", "check", "--env", "production", "--json"))
    s.promote_pay1 = step("promote payments v1", 0, p.promote(s.pay_v1.digest))
    s.promote_led1 = step("promote ledger v1", 0, p.promote(s.led_v1.digest))
    step("built payments build-2 --resolve", 0, p("record", "built", s.pay + ":build-2", "--resolve",
                                                  "--key", p.ledger.ci_key))
    s.built[s.pay, "build-2"] = p.log()[-1]
    p.eligible(s.pay, s.pay_v2.digest)
    s.promote_pay2 = step("promote payments v2", 0, p.promote(s.pay_v2.digest))
    s.check_after = step("check after", 0, p("registry", "check", "--env", "production", "--json"))
    return s


def test_story_steps_exit_as_expected(story):
    wrong = ["%s: expected exit %d, got %s\n%s" % (name, expected, res.rc, res.text(800))
             for name, expected, res in story.steps if res.rc != expected]
    assert not wrong, "\n".join(wrong)


def test_story_built_resolve_records_the_served_digest_and_the_tag(story):
    """`record built REPO:TAG --resolve` records the digest the registry serves, with the tag in built.tags."""
    for (repo, tag), pushed in (((story.pay, "build-1"), story.pay_v1), ((story.led, "build-1"), story.led_v1),
                                ((story.pay, "build-2"), story.pay_v2)):
        entry = story.built[repo, tag]
        assert entry["kind"] == "built", entry
        assert (entry["subject"], entry["digest"]) == (repo, pushed.digest), entry
        assert tag in entry["predicate"].get("tags", []), entry


def test_story_tags_moved_per_service(story):
    """After the promotions each service's production and stable tags name its promoted digest; the build tags
    did not move."""
    c = story.c
    assert c.digest_of("story/payments", "production") == story.pay_v2.digest
    assert c.digest_of("story/payments", "stable") == story.pay_v2.digest
    assert c.digest_of("story/ledger", "production") == story.led_v1.digest
    assert c.digest_of("story/ledger", "stable") == story.led_v1.digest
    assert c.digest_of("story/payments", "build-1") == story.pay_v1.digest
    assert c.digest_of("story/payments", "build-2") == story.pay_v2.digest


def test_story_retag_puts_the_same_bytes_and_type(story, registry, workspace):
    """`skopeo inspect --raw` of each moved tag is byte for byte the manifest pushed (oci-push's unusual
    indentation would show any re-serialisation), hashes to the promoted digest, and the registry serves it with
    the media type it was pushed with."""
    for repo, pushed in (("story/payments", story.pay_v2), ("story/ledger", story.led_v1)):
        for tag in ("production", "stable"):
            rc, raw, err = rs.skopeo_inspect(workspace, "%s/%s:%s" % (registry.host, repo, tag), raw=True)
            assert rc == 0, err
            assert raw == pushed.data, "%s:%s is not the bytes pushed" % (repo, tag)
            assert rs.sha256(raw) == pushed.digest
            served = story.c.get_manifest(repo, tag)
            assert served.headers["content-type"] == pushed.media_type, served.headers


def test_story_promotions_record_registry_previous(story):
    """predicate.registry of each promotion (read with `docket log --json`): the repository, the tags, and what
    each tag named before; a tag that did not exist is absent from previous."""
    promoted = story.p.promoted()
    got = [("%s@%s" % (e["subject"], e["digest"]), e["predicate"].get("registry")) for e in promoted]
    assert got == [
        ("%s@%s" % (story.pay, story.pay_v1.digest),
         {"repository": story.pay, "tags": ["production", "stable"], "previous": {}}),
        ("%s@%s" % (story.led, story.led_v1.digest),
         {"repository": story.led, "tags": ["production", "stable"],
          "previous": {"production": story.led_old.digest}}),
        ("%s@%s" % (story.pay, story.pay_v2.digest),
         {"repository": story.pay, "tags": ["production", "stable"],
          "previous": {"production": story.pay_v1.digest, "stable": story.pay_v1.digest}}),
    ], json.dumps(got, indent=1)


def test_story_promote_says_what_it_moved(story):
    """A promotion that moves tags says so on stderr, one note per tag."""
    err = story.promote_pay2.err
    for tag in ("production", "stable"):
        assert "%s:%s" % (story.pay, tag) in err, err


def test_story_check_before_promotion(story):
    """Before any promotion: payments' tags are absent and nothing runs (absent, fine); the ledger service's
    production tag exists although nothing of it runs in production (drift: exit 1)."""
    report = json.loads(story.check_before.out)
    validate("registry-check.schema.json", report)
    states = {(r["repository"], r["tag"]): r["state"] for r in report["tags"]}
    assert states == {(story.pay, "production"): "absent", (story.pay, "stable"): "absent",
                      (story.led, "production"): "drift", (story.led, "stable"): "absent"}, report
    assert report["ok"] is False


def test_story_check_after_promotions_agrees(story):
    """`registry check --env production --json` after the promotions: exit 0, every tag ok with the ledger's
    digest and the promoting entry; the text form says every tag agrees."""
    report = json.loads(story.check_after.out)
    validate("registry-check.schema.json", report)
    assert report["ok"] is True and report["environment"] == "production", report
    promoted = {e["subject"]: e for e in story.p.promoted()}
    rows = {(r["repository"], r["tag"]): r for r in report["tags"]}
    assert set(rows) == {(story.pay, "production"), (story.pay, "stable"), (story.led, "production"),
                         (story.led, "stable")}, report
    for (repo, tag), row in rows.items():
        digest = (story.pay_v2 if repo == story.pay else story.led_v1).digest
        assert row == {"repository": repo, "registryRepository": repo, "tag": tag, "registry": digest,
                       "ledger": digest, "ledgerIndex": promoted[repo]["index"], "state": "ok"}, row
    text = ok(story.p("registry", "check", "--env", "production"))
    assert "every tag agrees" in text.out, text.out


def test_story_tag_pushed_over_by_hand_is_drift_then_missing(story):
    """The payments manifest re-serialised compactly (same JSON) and pushed under production by hand: another
    digest, so check exits 1 naming the tag (drift); --repo limits the check; the hand-pushed manifest deleted
    (which removes the tag): missing, exit 1; the original bytes put back: exit 0. The ledger never changes."""
    p, c, pay = story.p, story.c, story.pay
    size = p.size()
    hand = compact(story.pay_v2.data)
    assert json.loads(hand) == json.loads(story.pay_v2.data)
    hand_digest = c.put_manifest("story/payments", "production", hand, story.pay_v2.media_type)
    try:
        assert hand_digest != story.pay_v2.digest
        res = p("registry", "check", "--env", "production")
        assert res.rc == 1, res.describe()
        assert "%s:production" % pay in res.out and "drift" in res.out, res.out
        assert "%s:stable" % pay not in [line.split()[1] for line in res.out.splitlines()
                                          if line.startswith("drift")], res.out
        assert ok(p("registry", "check", "--env", "production", "--repo", story.led)).rc == 0
        assert p("registry", "check", "--env", "production", "--repo", pay).rc == 1
        report = json.loads(p("registry", "check", "--env", "production", "--json", "--repo", pay).out)
        validate("registry-check.schema.json", report)
        rows = {r["tag"]: r for r in report["tags"]}
        assert report["ok"] is False and set(rows) == {"production", "stable"}, report
        assert (rows["production"]["state"], rows["production"]["registry"], rows["production"]["ledger"]) == (
            "drift", hand_digest, story.pay_v2.digest), rows
        assert rows["stable"]["state"] == "ok", rows
        c.delete_manifest("story/payments", hand_digest)
        assert c.get_manifest("story/payments", "production").status == 404
        res = p("registry", "check", "--env", "production", "--json", "--repo", pay)
        assert res.rc == 1, res.describe()
        rows = {r["tag"]: r for r in json.loads(res.out)["tags"]}
        assert rows["production"]["state"] == "missing" and "registry" not in rows["production"], rows
        text = p("registry", "check", "--env", "production", "--repo", pay)
        assert "missing" in text.out and "%s:production" % pay in text.out, text.out
    finally:
        c.put_manifest("story/payments", "production", story.pay_v2.data, story.pay_v2.media_type)
    assert ok(p("registry", "check", "--env", "production")).rc == 0
    assert p.size() == size


def test_story_registry_sync_puts_drifted_tags_back(story):
    """A tag pushed over by hand: `registry check` advises `registry sync` (not `promote`, which refuses a digest
    already current); `registry sync --dry-run` moves nothing; `registry sync` puts the tag back on the ledger's
    current digest with the same bytes, says what moved, and check agrees afterwards. The ledger never changes."""
    p, c, pay = story.p, story.c, story.pay
    size = p.size()
    hand_digest = c.put_manifest("story/payments", "production", compact(story.pay_v2.data), story.pay_v2.media_type)
    try:
        res = p("registry", "check", "--env", "production", "--repo", pay)
        assert res.rc == 1 and "docket registry sync --env production" in res.out, res.describe()
        dry = json.loads(ok(p("registry", "sync", "--env", "production", "--repo", pay, "--dry-run", "--json")).out)
        validate("registry-sync.schema.json", dry)
        assert dry["dryRun"] is True and [(m["tag"], m["from"], m["to"]) for m in dry["moved"]] == [
            ("production", hand_digest, story.pay_v2.digest)], dry
        assert p("registry", "check", "--env", "production", "--repo", pay).rc == 1
        res = ok(p("registry", "sync", "--env", "production"))
        assert "moved %s:production from %s to %s" % (pay, hand_digest, story.pay_v2.digest) in res.out, res.out
        assert c.manifest_bytes("story/payments", "production") == story.pay_v2.data
        assert ok(p("registry", "check", "--env", "production")).rc == 0
        again = ok(p("registry", "sync", "--env", "production"))
        assert "already agrees" in again.out, again.out
    finally:
        c.put_manifest("story/payments", "production", story.pay_v2.data, story.pay_v2.media_type)
        c.delete_manifest("story/payments", hand_digest)
    assert p.size() == size


def test_story_verify_is_clean_and_the_bundle_verifies(story, docket, workspace):
    """`docket verify` is clean, and the independent verifier passes the exported bundle, whose promoted
    entries carry the registry field."""
    story.p.verify_clean()
    bundle = workspace / "registry-story.jsonl"
    story.p.ledger.export(bundle)
    lines = bundle.read_bytes().rstrip(b"\n").split(b"\n")[1:]
    payloads = [json.loads(base64.b64decode(json.loads(line)["envelope"]["payload"])) for line in lines]
    moves = [pl["predicate"]["registry"] for pl in payloads if pl["predicateType"].endswith("/promoted/v1")]
    assert len(moves) == 3 and moves[2]["previous"] == {"production": story.pay_v1.digest,
                                                        "stable": story.pay_v1.digest}, moves
    res = docket.verify_bundle([bundle, "--log-key", story.p.ledger.verifier_key])
    assert res.rc == 0, res.describe() + "\n" + res.text()


# ------------------------------------------------------------------------------------------------ 4 putting back


def test_refused_append_puts_the_tags_back(registry, pipeline, note):
    """A promotion signed by the ci key (no releaser role) passes the gate pre-check, moves the tags, and the
    ledger refuses the append: production (which existed) points at its previous digest again, a warning says
    so; fresh (which did not exist) cannot be deleted and a warning names it. Nothing appended."""
    c = registry.client()
    repo = registry.host + "/refusal/app"
    old = c.push("refusal/app", "production", "refusal old")
    v1 = c.push("refusal/app", "build-1", "refusal v1")
    p = pipeline("registry-refusal", [repo], tags=["production", "fresh"])
    p.built(repo + ":build-1")
    p.eligible(repo, v1.digest)
    assert p("gate", v1.digest, "--env", "production").rc == 0
    size = p.size()
    res = p.promote(v1.digest, key=p.ledger.ci_key)
    assert_fails_after_moves(res, (1, 2), "%s:production" % repo, "%s:fresh" % repo)
    note("registry: a promotion signed without the releaser role exits %d; stderr: %s" % (
        res.rc, res.err.strip().replace("\n", " | ")))
    warnings = [line for line in error_lines(res) if line.startswith("docket: warning: ")]
    assert any("%s:production" % repo in w and "back" in w for w in warnings), res.err
    assert any("%s:fresh" % repo in w for w in warnings), res.err
    assert c.digest_of("refusal/app", "production") == old.digest
    assert c.digest_of("refusal/app", "fresh") == v1.digest  # documented: a new tag cannot be deleted
    assert p.size() == size
    p.verify_clean()
    done = ok(p.promote(v1.digest))
    assert c.digest_of("refusal/app", "production") == v1.digest, done.err
    assert p.promoted()[-1]["predicate"]["registry"]["previous"] == {"production": old.digest,
                                                                     "fresh": v1.digest}


def test_gate_refusal_moves_nothing(registry, pipeline, proxy):
    """A promotion the gate refuses (no approval) touches no tag: no manifest PUT reaches the registry, exit 1,
    nothing appended."""
    c = registry.client()
    repo = proxy.host + "/gated/app"
    old = c.push("gated/app", "production", "gated old")
    v1 = c.push("gated/app", "build-1", "gated v1")
    p = pipeline("registry-gated", [repo])
    p.built(repo + ":build-1")
    image = "%s@%s" % (repo, v1.digest)
    p.must("record", "deployed", image, "--env", "staging", "--key", p.ledger.ci_key)
    size = p.size()
    before = len(proxy.requests)
    res = p.promote(v1.digest)
    assert_fails(res, 1, "not promoted")
    assert not [r for r in proxy.requests[before:] if r[0] == "PUT"], proxy.requests[before:]
    assert c.digest_of("gated/app", "production") == old.digest
    assert p.size() == size


def test_registry_failure_in_the_middle_of_a_move_puts_every_tag_back(registry, pipeline, proxy):
    """Tags [production, canary], both existing. production moves; the PUT of canary is answered with a
    Docker-Content-Digest that is not the bytes' (once): the promotion fails (exit 3, nothing appended) and the
    registry must not disagree with the ledger silently: both tags point where they did before (or a warning
    names the one that could not be put back)."""
    c = registry.client()
    repo = proxy.host + "/midmove/app"
    old = c.push("midmove/app", "production", "midmove old")
    c.put_manifest("midmove/app", "canary", old.data, old.media_type)
    v1 = c.push("midmove/app", "build-1", "midmove v1")
    p = pipeline("registry-midmove", [repo], tags=["production", "canary"])
    p.built(repo + ":build-1")
    p.eligible(repo, v1.digest)
    size = p.size()
    proxy.mode, proxy.tags, proxy.budget = "put-digest", {"canary"}, 1
    res = p.promote(v1.digest)
    proxy.mode = "pass"
    assert proxy.lies, "the proxy never lied: %r" % proxy.requests
    assert_fails_after_moves(res, (3,), "Docker-Content-Digest")
    assert p.size() == size
    assert c.digest_of("midmove/app", "production") == old.digest, res.err
    warned = any("%s:canary" % repo in line for line in error_lines(res) if line.startswith("docket: warning: "))
    assert c.digest_of("midmove/app", "canary") == old.digest or warned, (
        "canary names %s (the promoted digest) though the ledger did not take the promotion, and no warning "
        "says so; stderr: %r" % (c.digest_of("midmove/app", "canary"), res.err))


def test_unreachable_registry_check_and_promote_exit_3(pipeline):
    """The registry of a service is down: `registry check` exits 3 and `promote` (policy registry.tags) exits 3
    with nothing appended; one line each."""
    port = rs.free_port()
    repo = "127.0.0.1:%d/down/app" % port
    digest = rs.sha256(b"down v1")
    p = pipeline("registry-down", [repo])
    p.must("record", "built", "%s@%s" % (repo, digest), "--key", p.ledger.ci_key)
    p.eligible(repo, digest)
    assert_fails(p("registry", "check", "--env", "production"), 3, "127.0.0.1:%d" % port)
    size = p.size()
    # It says what to do: record the promotion without touching the registry.
    assert_fails(p.promote(digest), 3, "--no-push")
    assert p.size() == size
    ok(p.promote(digest, "--no-push"))
    assert p.size() == size + 1
    p.verify_clean()


# ------------------------------------------------------------------------------------------------ 5 --push-to, --push


def test_push_to_a_second_repository(registry, pipeline):
    """`promote --push-to REPO2`: the image is copied there (same digest and bytes), the tags move there and
    not in the source; predicate.registry names REPO2; registry check looks there (a tag pushed over in the
    source does not matter, one pushed over in REPO2 is drift)."""
    c = registry.client()
    src, dst = registry.host + "/build/app", registry.host + "/prod/app"
    v1 = c.push("build/app", "build-1", "push-to v1", index=True)
    other = c.push("build/app", "other", "push-to other")
    p = pipeline("registry-push-to", [src])
    p.built(src + ":build-1")
    p.eligible(src, v1.digest)
    res = ok(p.promote(v1.digest, "--push-to", dst))
    assert "copied" in res.err, res.err
    assert c.manifest_bytes("prod/app", "production") == v1.data
    assert c.digest_of("prod/app", v1.digest) == v1.digest
    assert c.get_manifest("build/app", "production").status == 404
    assert p.promoted()[-1]["predicate"]["registry"] == {"repository": dst, "tags": ["production"],
                                                         "previous": {}}
    report = json.loads(ok(p("registry", "check", "--env", "production", "--json")).out)
    validate("registry-check.schema.json", report)
    assert [(r["repository"], r["registryRepository"], r["tag"], r["state"]) for r in report["tags"]] == [
        (src, dst, "production", "ok")], report
    c.put_manifest("build/app", "production", other.data, other.media_type)
    assert ok(p("registry", "check", "--env", "production")).rc == 0
    hand = c.push("prod/app", "production", "pushed over by hand")
    res = p("registry", "check", "--env", "production", "--json")
    assert res.rc == 1, res.describe()
    row = json.loads(res.out)["tags"][0]
    assert (row["registryRepository"], row["state"], row["registry"]) == (dst, "drift", hand.digest), row


def test_push_with_tag_and_no_policy_tags(registry, pipeline):
    """No registry.tags in the policy: `promote --push --tag release-7` moves that tag, records it, and
    registry check then checks the tag the promotion recorded."""
    c = registry.client()
    repo = registry.host + "/pushflag/app"
    v1 = c.push("pushflag/app", "build-1", "push flag v1")
    p = pipeline("registry-push-flag", [repo], tags=())
    p.built(repo + ":build-1")
    p.eligible(repo, v1.digest)
    ok(p.promote(v1.digest, "--push", "--tag", "release-7"))
    assert c.digest_of("pushflag/app", "release-7") == v1.digest
    assert p.promoted()[-1]["predicate"]["registry"] == {"repository": repo, "tags": ["release-7"],
                                                         "previous": {}}
    report = json.loads(ok(p("registry", "check", "--env", "production", "--json")).out)
    assert [(r["tag"], r["state"]) for r in report["tags"]] == [("release-7", "ok")], report


# ------------------------------------------------------------------------------------------------ 6 auth


def basic_auth(user, password):
    return base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def test_basic_auth_anonymous_is_refused_naming_docker_login(run, basic_registry):
    """Anonymous against an htpasswd registry: exit 3, one line naming the host and `docker login`."""
    basic_registry.client().push("basic/app", "v1", "basic v1")
    res = run("resolve", basic_registry.host + "/basic/app:v1")
    assert_fails(res, 3, basic_registry.host, "docker login")


@pytest.mark.parametrize("form", ["auth", "username-password", "url-key", "registry-auth-file"])
def test_basic_auth_from_config_json(run, basic_registry, env_dir, workspace, form):
    """Credentials from config.json: auths.<host>.auth, username/password, a key written as a URL, and
    $REGISTRY_AUTH_FILE; each resolves the tag, and a copy within the registry mounts."""
    pushed = basic_registry.client().push("basic/app", "v1", "basic v1")
    host = basic_registry.host
    entry = {"auth": basic_auth(rs.USER, rs.PASSWORD)}
    if form == "username-password":
        entry = {"username": rs.USER, "password": rs.PASSWORD}
    key = "http://%s/" % host if form == "url-key" else host
    if form == "registry-auth-file":
        auth_file = workspace / "docker-config" / "registry-auth.json"
        auth_file.parent.mkdir(parents=True, exist_ok=True)
        auth_file.write_text(json.dumps({"auths": {key: entry}}))
        env = env_dir("basic-" + form, auth_file=auth_file)
    else:
        env = env_dir("basic-" + form, {"auths": {key: entry}})
    assert resolved(run, host + "/basic/app:v1", env=env)["digest"] == pushed.digest
    if form == "auth":
        report = json.loads(ok(run("registry", "copy", "%s/basic/app@%s" % (host, pushed.digest),
                                   host + "/basic/copy:v1", "--json", env=env)).out)
        assert report["blobsMounted"] == 2 and report["blobsUploaded"] == 0, report
        assert basic_registry.client().digest_of("basic/copy", "v1") == pushed.digest


def test_basic_auth_wrong_password_and_credential_helper(run, basic_registry, env_dir):
    """A wrong password: exit 3, one line naming the host; a config that keeps the secret in a credential
    helper: the error says Docket does not run helpers."""
    basic_registry.client().push("basic/app", "v1", "basic v1")
    host = basic_registry.host
    env = env_dir("basic-wrong", {"auths": {host: {"auth": basic_auth(rs.USER, "wrong")}}})
    assert_fails(run("resolve", host + "/basic/app:v1", env=env), 3, host)
    env = env_dir("basic-helper", {"credsStore": "desktop"})
    res = run("resolve", host + "/basic/app:v1", env=env)
    assert res.rc in (2, 3) and res.one_line_error(), res.describe()
    assert "helper" in res.err, res.err


def test_bearer_anonymous_gets_a_token_without_access(run, token_registry):
    """Anonymous: the token service gives a token with no access, the registry refuses: exit 3, one line
    naming the host and `docker login`."""
    token_registry.client().push("tok/app", "v1", "token v1")
    before = len(token_registry.tokens.requests)
    assert_fails(run("resolve", token_registry.host + "/tok/app:v1"), 3, token_registry.host, "docker login")
    asked = token_registry.tokens.requests[before:]
    assert asked and asked[0]["user"] is None, asked


def test_bearer_token_with_basic_credentials(run, token_registry, env_dir):
    """auths.<host>.auth: the token is asked by GET with basic credentials, for the challenge's service and
    the repository's pull scope; resolve then works."""
    pushed = token_registry.client().push("tok/app", "v1", "token v1")
    env = env_dir("token-basic", {"auths": {token_registry.host: {"auth": basic_auth(rs.USER, rs.PASSWORD)}}})
    before = len(token_registry.tokens.requests)
    assert resolved(run, token_registry.host + "/tok/app:v1", env=env)["digest"] == pushed.digest
    asked = token_registry.tokens.requests[before:]
    assert [(a["method"], a["user"], a["service"], a["scopes"], a["status"]) for a in asked] == [
        ("GET", rs.USER, rs.SERVICE, ["repository:tok/app:pull"], 200)], asked


def test_bearer_token_with_an_identity_token(run, token_registry, env_dir):
    """auths.<host>.identitytoken: the token is asked by POST, grant_type=refresh_token (OAuth2)."""
    pushed = token_registry.client().push("tok/app", "v1", "token v1")
    env = env_dir("token-identity", {"auths": {token_registry.host: {"identitytoken": rs.REFRESH_TOKEN}}})
    before = len(token_registry.tokens.requests)
    assert resolved(run, token_registry.host + "/tok/app:v1", env=env)["digest"] == pushed.digest
    asked = token_registry.tokens.requests[before:]
    assert [(a["method"], a["grant"], a["user"], a["service"], a["scopes"]) for a in asked] == [
        ("POST", "refresh_token", rs.USER, rs.SERVICE, ["repository:tok/app:pull"])], asked
    assert asked[0]["client_id"], asked


def test_bearer_wrong_password_is_refused(run, token_registry, env_dir):
    """A wrong password: the token service answers 401: exit 3, one line naming the host."""
    token_registry.client().push("tok/app", "v1", "token v1")
    env = env_dir("token-wrong", {"auths": {token_registry.host: {"auth": basic_auth(rs.USER, "nope")}}})
    assert_fails(run("resolve", token_registry.host + "/tok/app:v1", env=env), 3, token_registry.host)
    env = env_dir("token-wrong-id", {"auths": {token_registry.host: {"identitytoken": "not-a-refresh-token"}}})
    assert_fails(run("resolve", token_registry.host + "/tok/app:v1", env=env), 3, token_registry.host)


def test_bearer_copy_mounts_and_tags(run, token_registry, env_dir):
    """A copy within the token registry: push scope on the target with pull on the source for the mount;
    every blob mounted, the tag set."""
    c = token_registry.client()
    pushed = c.push("tok/src", "v1", "token copy", index=True)
    env = env_dir("token-copy", {"auths": {token_registry.host: {"auth": basic_auth(rs.USER, rs.PASSWORD)}}})
    before = len(token_registry.tokens.requests)
    report = json.loads(ok(run("registry", "copy", "%s/tok/src@%s" % (token_registry.host, pushed.digest),
                               token_registry.host + "/tok/dst:prod", "--json", env=env)).out)
    assert report == {"manifests": 3, "blobsMounted": 4, "blobsUploaded": 0, "blobsPresent": 0}, report
    assert c.digest_of("tok/dst", "prod") == pushed.digest
    scopes = [tuple(a["scopes"]) for a in token_registry.tokens.requests[before:]]
    assert ("repository:tok/dst:pull,push", "repository:tok/src:pull") in scopes, scopes


# ------------------------------------------------------------------------------------------------ 7 a lying proxy


def test_proxy_faithful_resolves_the_same(run, registry, proxy):
    pushed = registry.client().push("lies/app", "v1", "lies v1")
    assert resolved(run, proxy.host + "/lies/app:v1")["digest"] == pushed.digest


def test_proxy_rewritten_digest_header_is_refused(run, registry, proxy, pipeline):
    """Docker-Content-Digest rewritten: resolve exits 3 with a message about the header; `record built
    --resolve` through it appends nothing."""
    pushed = registry.client().push("lies/app", "v1", "lies v1")
    repo = proxy.host + "/lies/app"
    p = pipeline("registry-lies", [repo])
    size = p.size()
    proxy.mode = "digest"
    assert_fails(run("resolve", repo + ":v1"), 3, "Docker-Content-Digest")
    assert_fails(run("resolve", "%s@%s" % (repo, pushed.digest)), 3, "Docker-Content-Digest")
    assert_fails(p("record", "built", repo + ":v1", "--resolve", "--key", p.ledger.ci_key), 3,
                 "Docker-Content-Digest")
    assert p.size() == size
    assert resolved(run, registry.host + "/lies/app:v1")["digest"] == pushed.digest  # the registry itself is fine


def test_proxy_altered_manifest_bytes_are_refused(run, registry, proxy):
    """Manifest bytes altered: fetched by digest, exit 3 (the bytes do not hash to it), also when the proxy
    sets a matching Docker-Content-Digest; by tag with the registry's header, exit 3 (header and bytes disagree);
    a copy from it fails and tags nothing."""
    c = registry.client()
    pushed = c.push("lies/body", "v1", "lies body")
    repo = proxy.host + "/lies/body"
    proxy.mode = "body"
    assert_fails(run("resolve", "%s@%s" % (repo, pushed.digest)), 3, pushed.digest)
    assert_fails(run("resolve", repo + ":v1"), 3, "Docker-Content-Digest")
    proxy.mode = "body-digest"
    assert_fails(run("resolve", "%s@%s" % (repo, pushed.digest)), 3, pushed.digest)
    res = run("registry", "copy", "%s@%s" % (repo, pushed.digest), proxy.host + "/lies/body-copy:v1")
    assert_fails(res, 3)
    assert c.get_manifest("lies/body-copy", "v1").status == 404
