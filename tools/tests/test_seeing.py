"""Seeing it (DESIGN §12): the dashboard in headless Chromium, signed notifications across a restart, the
Kubernetes admission webhook with real AdmissionReview shapes, and the auditor's report (HTML, Markdown, PDF).

The story: two services under two pipelines. registry.seen.test/payments: v1 built, deployed to staging, checked,
approved and promoted; v2 built, deployed, promoted by break-glass with a hostile reason, then production rolled
back to v1 (so v2 waits for approval). registry.seen.test/tools/lint: t1 in staging, blocked from production by a
freeze in force."""
import base64
import datetime
import hashlib
import hmac
import html.parser
import http.server
import json
import os
import pty
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from . import helpers
from . import server_support as ss
from .conftest import digest_of, generate_keys

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAY = "registry.seen.test/payments"
LINT = "registry.seen.test/tools/lint"
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"> & \u202eevil"
SECRET = "s3cret-webhook-key-0123456789"


class Story:
    pass


def run_ok(docket, args, ledger):
    res = docket.run(args, ledger=ledger, timeout=60)
    assert res.rc == 0, "docket %s: %s" % (" ".join(map(str, args)), res.describe())
    return res


@pytest.fixture(scope="module")
def seen(docket, workspace):
    s = Story()
    s.work = work = workspace / "seen"
    keys = generate_keys(docket, work / "keys", ["admin", "ci", "alice", "rita"], "seen.test")
    s.ledger = led = work / "ledger.db"
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    policy = work / "policy.yaml"
    policy.write_text("""\
pipelines:
  - name: tools
    repositories: ['registry.seen.test/tools/*']
    environments:
      - name: staging
      - name: production
        from: staging
        freeze:
          - {from: '%s', to: '%s', reason: 'tools <b>freeze</b> & "quotes"'}
  - name: payments
    repositories: ['registry.seen.test/payments']
    environments:
      - name: staging
      - name: production
        from: staging
        approvals: {min: 1, roles: [approver]}
        checks: [security-scan]
        breakGlass: {allow: [approvals, checks]}
""" % (fmt(now - datetime.timedelta(hours=1)), fmt(now + datetime.timedelta(hours=2))))
    s.v1, s.v2, s.t1 = digest_of("seen payments v1"), digest_of("seen payments v2"), digest_of("seen lint t1")
    steps = [
        ["init", "--origin", "seen.test/releases", "--key", keys["admin"]],
        ["key", "enroll", str(keys["ci"]) + ".pub", "--role", "ci", "checker", "monitor", "--key", keys["admin"]],
        ["key", "enroll", str(keys["alice"]) + ".pub", "--role", "approver", "--key", keys["admin"]],
        ["key", "enroll", str(keys["rita"]) + ".pub", "--role", "releaser", "--key", keys["admin"]],
        ["policy", "set", policy, "--key", keys["admin"]],
        ["record", "built", "%s@%s" % (PAY, s.v1), "--tag", "1.0", "--key", keys["ci"]],
        ["record", "deployed", "%s@%s" % (PAY, s.v1), "--env", "staging", "--key", keys["ci"]],
        ["record", "check", "%s@%s" % (PAY, s.v1), "--check", "security-scan", "--result", "pass", "--key", keys["ci"]],
        ["approve", s.v1, "--env", "production", "--key", keys["alice"]],
        ["promote", s.v1, "--to", "production", "--key", keys["rita"]],
        ["record", "built", "%s@%s" % (PAY, s.v2), "--tag", "2.0", "--key", keys["ci"]],
        ["record", "deployed", "%s@%s" % (PAY, s.v2), "--env", "staging", "--key", keys["ci"]],
        ["promote", s.v2, "--to", "production", "--break-glass", HOSTILE, "--key", keys["rita"]],
        ["rollback", "--env", "production", "--repo", PAY, "--reason", "checkout errors", "--key", keys["rita"]],
        ["record", "built", "%s@%s" % (LINT, s.t1), "--key", keys["ci"]],
        ["record", "deployed", "%s@%s" % (LINT, s.t1), "--env", "staging", "--key", keys["ci"]],
    ]
    for args in steps:
        run_ok(docket, args, led)
    s.keys = keys
    s.size = len(steps)
    s.bundle = work / "bundle.jsonl"
    run_ok(docket, ["export", "--out", s.bundle], led)
    s.logkey = (work / "ledger.db.logkey.pub").read_text().strip()
    return s


# ------------------------------------------------------------------------------------------------ the DOM


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], ""

    def all(self, tag=None, **attrs):
        for child in self.children:
            if (tag is None or child.tag == tag) and all(child.attrs.get(k.replace("_", "-")) == v
                                                         for k, v in attrs.items()):
                yield child
            yield from child.all(tag, **attrs)

    def one(self, tag=None, **attrs):
        found = list(self.all(tag, **attrs))
        assert len(found) == 1, "expected one <%s %s>, found %d" % (tag, attrs, len(found))
        return found[0]

    @property
    def content(self):
        return self.text + "".join(c.content for c in self.children)


class DOM(html.parser.HTMLParser):
    VOID = {"meta", "link", "br", "img", "input", "hr", "source"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.at = Node("#document", {}, None)
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.at)
        self.at.children.append(node)
        if tag not in self.VOID:
            self.at = node

    def handle_endtag(self, tag):
        n = self.at
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.at = n.parent

    def handle_data(self, data):
        self.at.children.append(Node("#text", {}, self.at))
        self.at.children[-1].text = data


def chromium(*args, timeout=90):
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: tools/setup installs Debian's chromium", pytrace=False)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--user-data-dir=" + str(Path(os.environ.get("TMPDIR", "/tmp")) / ("chromium-%d" % os.getpid())), *args]
    res = subprocess.run(argv, capture_output=True, timeout=timeout)
    assert res.returncode == 0, "chromium exited %s: %s" % (res.returncode, res.stderr[-1500:])
    return res.stdout.decode()


def artefact(workspace, name):
    folder = Path(os.environ.get("DOCKET_ARTEFACTS", workspace / "artefacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@pytest.fixture(scope="module")
def dashboard(docket, workspace, seen):
    srv = ss.start(docket, seen.ledger, workspace / "seen-servers")
    yield srv
    srv.terminate()


def test_dashboard_grid_pending_and_freezes_in_chromium(dashboard, seen, workspace):
    dom = DOM(chromium("--virtual-time-budget=2000", "--dump-dom", dashboard.url + "/")).root
    pay = dom.one("tr", data_repo=PAY)
    assert pay.one("td", data_env="production").attrs["data-digest"] == seen.v1
    assert pay.one("td", data_env="staging").attrs["data-digest"] == seen.v2
    assert "1.0" in pay.one("td", data_env="production").content
    # v2 waits in staging for production: the cell says what its gate still needs.
    candidate = pay.one("td", data_env="production").content
    assert "blocked" in candidate and "approval" in candidate, candidate
    lint = dom.one("tr", data_repo=LINT)
    assert lint.one("td", data_env="staging").attrs["data-digest"] == seen.t1
    frozen = lint.one("td", data_env="production")
    assert frozen.attrs["data-digest"] == "" and "freeze" in frozen.content, frozen.content
    pending = dom.one("section", id="pending")
    assert [li.attrs.get("data-digest") for li in pending.all("li") if "data-digest" in li.attrs] == [seen.v2]
    freezes = dom.one("section", id="freezes").content
    assert 'tools <b>freeze</b> & "quotes"' in freezes, freezes
    assert not list(dom.one("section", id="freezes").all("b", )) or all(
        b.content != "freeze" for b in dom.one("section", id="freezes").all("b")), "the reason's <b> became markup"
    shot = artefact(workspace, "dashboard.png")
    chromium("--window-size=1280,900", "--screenshot=" + str(shot), dashboard.url + "/")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    print("dashboard screenshot:", shot)


def test_a_hostile_reason_is_shown_as_text(dashboard, seen):
    dom = DOM(chromium("--virtual-time-budget=2000", "--dump-dom", dashboard.url + "/digest/" + seen.v2)).root
    title = dom.one("title").content
    assert "pwned" not in title, title
    assert len(list(dom.all("script"))) == 1, "only the page's own script"
    assert not list(dom.all("img")), "the reason's <img> became an element"
    text = dom.content
    assert "<script>document.title='pwned'</script>" in text
    assert "\u202e" not in text and "\\u{202e}evil" in text, "the bidi override is shown, not applied"
    reply = dashboard.get("/digest/" + seen.v2)
    csp = reply.headers.get("content-security-policy", "")
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp, csp


def test_environment_and_service_pages(dashboard, seen, workspace):
    page = dashboard.get("/env/production")
    assert page.status == 200
    dom = DOM(page.text).root
    section = dom.one("section", data_repo=PAY)
    text = section.content
    assert "rolled-back" in text and "promoted" in text
    assert seen.v2[:19] in text, "the break-glass promotion is in the history"
    # Rollback targets are a list of links, not markup printed as text (issue 30): staging ran v1 before v2.
    assert "<li>" not in section.content and "<ol" not in section.content, section.content[-600:]
    staging = DOM(dashboard.get("/env/staging").text).root.one("section", data_repo=PAY)
    targets = [li for ol in staging.all("ol") for li in ol.all("li")]
    assert targets and all(li.all("a") for li in targets), staging.content[-600:]
    assert "<li>" not in staging.content and "<ol" not in staging.content, staging.content[-600:]
    shot = artefact(workspace, "env-staging.png")
    chromium("--window-size=1280,1000", "--screenshot=" + str(shot), dashboard.url + "/env/staging")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert dashboard.get("/service/" + PAY).status == 200
    head = ss.request(dashboard.url, "HEAD", "/")
    assert head.status == 200 and head.body == b"" and head.headers["content-type"].startswith("text/html"), head
    assert dashboard.get("/env/nowhere").status == 404
    assert dashboard.get("/digest/sha256:" + "0" * 64).status == 404


def test_the_page_reloads_when_the_checkpoint_grows(docket, workspace, seen):
    """The refresh script: a page rendered before an append reloads itself once /checkpoint shows it. A proxy on
    127.0.0.1 hands Chromium the page as it was before the append, then passes everything on to the server."""
    led = workspace / "seen-refresh.db"
    for suffix in ("", ".logkey", ".logkey.pub"):
        shutil.copy(str(seen.ledger) + suffix, str(led) + suffix)
    srv = ss.start(docket, led, workspace / "seen-servers")
    try:
        stale = ss.get(srv.url, "/")
        assert 'data-size="%d"' % seen.size in stale.text
        client = ss.Client(docket, srv.url, workspace / "seen-refresh-cache",
                           env={"DOCKET_LOG_KEY": str(led) + ".logkey.pub"})
        client("record", "built", "%s@%s" % (LINT, digest_of("lint t2")), "--key", seen.keys["ci"], ok=0)
        served = []

        class Proxy(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/" and not served:
                    reply = stale
                else:
                    reply = ss.get(srv.url, self.path)
                served.append(self.path)
                self.send_response(reply.status)
                for name in ("content-type", "content-security-policy"):
                    if name in reply.headers:
                        self.send_header(name, reply.headers[name])
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args):
                pass

        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            url = "http://127.0.0.1:%d/" % proxy.server_address[1]
            dom = DOM(chromium("--virtual-time-budget=10000", "--dump-dom", url)).root
        finally:
            proxy.shutdown()
        assert served[:3] == ["/", "/checkpoint", "/"], served
        assert dom.one("body").attrs["data-size"] == str(seen.size + 1)
    finally:
        srv.terminate()


# ------------------------------------------------------------------------------------------------ notifications


class Receiver:
    """An HTTP receiver on 127.0.0.1 that checks every notification's signature and records what arrived."""

    def __init__(self, secret, fail_first=0, status=204):
        self.secret, self.fail_left, self.status = secret.encode(), fail_first, status
        self.events, self.bad, self.lock = [], [], threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                problem = receiver.check(self.headers, body)
                with receiver.lock:
                    if receiver.fail_left > 0:
                        receiver.fail_left -= 1
                        self.send_response(500)
                        self.end_headers()
                        return
                    if problem:
                        receiver.bad.append(problem)
                    else:
                        receiver.events.append(json.loads(body))
                self.send_response(401 if problem else receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(self, headers, body):
        if headers.get("Content-Type") != "application/cloudevents+json; charset=utf-8":
            return "content type %r" % headers.get("Content-Type")
        fields = dict(part.split("=", 1) for part in headers.get("Docket-Signature", "").split(",") if "=" in part)
        if "t" not in fields or "v1" not in fields:
            return "no signature"
        if abs(time.time() - int(fields["t"])) > 300:
            return "an old signature time"
        expected = hmac.new(self.secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, fields["v1"]) else "a wrong signature"

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.events) >= count:
                    return list(self.events)
            time.sleep(0.05)
        with self.lock:
            pytest.fail("the receiver got %d of %d notifications (bad: %s)" % (len(self.events), count, self.bad[:3]),
                        pytrace=False)

    def close(self):
        self.server.shutdown()


def write_config(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hook.secret").write_text(SECRET + "\n")
    path = folder / "docket.yaml"
    path.write_text(text)
    return path


def test_every_entry_is_notified_once_across_a_restart(docket, workspace, seen):
    led = workspace / "seen-notify.db"
    for suffix in ("", ".logkey", ".logkey.pub"):
        shutil.copy(str(seen.ledger) + suffix, str(led) + suffix)
    everything, promotions = Receiver(SECRET, fail_first=2), Receiver(SECRET)
    config = write_config(workspace / "seen-notify", """\
notifications:
  state: state
  webhooks:
    - {name: all, url: '%s', secret-file: hook.secret, start: beginning}
    - {name: promotions, url: '%s', secret-file: hook.secret, kinds: [promoted, rolled-back], start: beginning}
""" % (everything.url, promotions.url))
    checker = ss.ReceiptChecker(seen.logkey)
    try:
        srv = ss.start(docket, led, workspace / "seen-servers", ["--config", config])
        first = everything.wait_for(seen.size)  # the first two attempts failed (500) and were retried
        srv.terminate()
        # While the server is down, two more entries are appended to the file.
        for label in ("after restart 1", "after restart 2"):
            run_ok(docket, ["record", "built", "%s@%s" % (LINT, digest_of(label)), "--key", seen.keys["ci"]], led)
        srv = ss.start(docket, led, workspace / "seen-servers", ["--config", config])
        events = everything.wait_for(seen.size + 2)
        time.sleep(1.0)  # anything sent twice would arrive now
        events = everything.wait_for(seen.size + 2)
        srv.terminate()
        assert len(first) >= seen.size
        indexes = [e["data"]["index"] for e in events]
        assert indexes == list(range(seen.size + 2)), indexes
        assert len({e["id"] for e in events}) == len(events)
        assert not everything.bad and not promotions.bad
        for e in events:
            assert e["specversion"] == "1.0" and e["source"] == "seen.test/releases"
            assert e["type"] == "dev.docket." + e["data"]["kind"]
            assert e["id"] == e["data"]["leafHash"]
            assert not checker.problems(e["data"]), checker.problems(e["data"])
        kinds = [e["data"]["kind"] for e in promotions.wait_for(3)]
        assert kinds == ["promoted", "promoted", "rolled-back"], kinds
        # The position is a row of the store (leased by one server at a time), not a file.
        with sqlite3.connect("file:%s?mode=ro" % led, uri=True) as db:
            stored = db.execute("SELECT next_index FROM webhook_positions WHERE name = 'all'").fetchone()
        assert stored == (seen.size + 2,)
        assert not (workspace / "seen-notify" / "state" / "all.position").exists()
    finally:
        everything.close()
        promotions.close()


def test_notify_test_and_bad_configuration(docket, workspace):
    receiver = Receiver(SECRET)
    secret = workspace / "seen-notify-test.secret"
    secret.write_text(SECRET)
    try:
        res = docket.run(["notify", "test", receiver.url, "--secret-file", secret])
        assert res.rc == 0, res.describe()
        [event] = receiver.wait_for(1)
        assert event["type"] == "dev.docket.test"
        wrong = workspace / "seen-wrong.secret"
        wrong.write_text("another-secret-entirely-000")
        res = docket.run(["notify", "test", receiver.url, "--secret-file", wrong])
        assert res.rc == 1 and "401" in res.err, res.describe()
        res = docket.run(["notify", "test", "http://127.0.0.1:%d/" % ss.free_port(), "--secret-file", secret])
        assert res.rc == 3 and res.one_line_error(), res.describe()
        # In words, not SwiftNIO's description ("connection reset (error set): Connection refused) (errno: 111)").
        assert "could not be reached: connection refused" in res.err and "errno" not in res.err, res.describe()
    finally:
        receiver.close()
    for text, needle in [("notifications:\n  webhooks:\n    - {name: a, url: 'http://127.0.0.1:9/', secert-file: x}\n",
                          "secert-file"),
                         ("admission:\n  namespaces: {prod: production}\n  failure: sometimes\n", "failure"),
                         ("notifications:\n  webhooks:\n    - {name: a, url: 'ftp://x/', secret-env: NOPE}\n", "url")]:
        config = write_config(workspace / "seen-bad-config", text)
        res = docket.run(["serve", "--ledger", workspace / "missing.db", "--config", config], timeout=30)
        assert res.rc == 2 and needle in res.err and res.one_line_error(), res.describe()


# ------------------------------------------------------------------------------------------------ admission


def review(obj, namespace, kind, operation="CREATE"):
    """An admission.k8s.io/v1 AdmissionReview request, shaped as the Kubernetes API reference gives it."""
    group, _, version = obj["apiVersion"].rpartition("/")
    return {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": kind.lower() + "s"},
            "name": obj["metadata"]["name"], "namespace": namespace, "operation": operation,
            "userInfo": {"username": "system:serviceaccount:ci:deployer", "uid": "014fbff9", "groups": ["system:authenticated"]},
            "object": obj, "oldObject": None, "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


def pod_spec(*images, init=()):
    return {"containers": [{"name": "c%d" % i, "image": image} for i, image in enumerate(images)],
            "initContainers": [{"name": "init%d" % i, "image": image} for i, image in enumerate(init)]}


def pod(*images, init=()):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "x"},
            "spec": pod_spec(*images, init=init)}


def deployment(*images, init=()):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec(*images, init=init)}}}


def cronjob(*images):
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                "spec": dict(pod_spec(*images), restartPolicy="OnFailure")}}}}}


@pytest.fixture(scope="module")
def admission(docket, workspace, seen):
    config = write_config(workspace / "seen-admission", """\
admission:
  namespaces: {shop-prod: production, shop-stage: staging}
  failure: closed
""")
    srv = ss.start(docket, seen.ledger, workspace / "seen-servers", ["--config", config])
    yield srv
    srv.terminate()


def ask(srv, body, timeout=10.0):
    reply = ss.request(srv.url, "POST", "/k8s/admission", json.dumps(body).encode(),
                       {"Content-Type": "application/json"}, timeout=timeout)
    assert reply.status == 200, (reply.status, reply.body[:500])
    answer = reply.json()
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    assert answer["response"]["uid"] == body["request"]["uid"]
    return answer["response"]


def test_admission_allows_the_promoted_digest_and_denies_the_rest(admission, seen):
    v1, v2 = "%s@%s" % (PAY, seen.v1), "%s@%s" % (PAY, seen.v2)
    assert ask(admission, review(pod(v1), "shop-prod", "Pod"))["allowed"] is True
    denied = ask(admission, review(pod(v2), "shop-prod", "Pod"))
    assert denied["allowed"] is False and denied["status"]["code"] == 403
    message = denied["status"]["message"]
    assert v2 in message and seen.v1 in message and "production" in message, message
    tag = ask(admission, review(deployment(PAY + ":2.0"), "shop-prod", "Deployment"))
    assert tag["allowed"] is False and "not pinned to a digest" in tag["status"]["message"]
    # An init container of a service with nothing in production, beside an allowed image.
    lint = ask(admission, review(deployment(v1, init=["%s@%s" % (LINT, seen.t1)]), "shop-prod", "Deployment"))
    assert lint["allowed"] is False and "nothing current for %s in production" % LINT in lint["status"]["message"]
    unknown = ask(admission, review(pod("docker.io/library/busybox@sha256:" + "1" * 64), "shop-prod", "Pod"))
    assert unknown["allowed"] is False and "never seen docker.io/library/busybox" in unknown["status"]["message"]
    # A CronJob's job template in staging, where v2 is current.
    assert ask(admission, review(cronjob(v2), "shop-stage", "CronJob"))["allowed"] is True
    assert ask(admission, review(cronjob(v1), "shop-stage", "CronJob"))["allowed"] is False
    # Namespaces the configuration does not map are not governed; deletions always pass.
    assert ask(admission, review(pod(v2), "kube-system", "Pod"))["allowed"] is True
    assert ask(admission, review(pod(v2), "shop-prod", "Pod", operation="DELETE"))["allowed"] is True


def test_admission_refuses_what_is_not_a_review(admission):
    for body in [b"not json", b"[]", json.dumps({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1beta1",
                                                  "request": {"uid": "x"}}).encode(),
                 json.dumps({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {}}).encode()]:
        reply = ss.request(admission.url, "POST", "/k8s/admission", body, {"Content-Type": "application/json"})
        assert reply.status == 400, (body, reply.status)
        assert reply.json()["error"]["message"]


# ------------------------------------------------------------------------------------------------ the report


def promotions_of(docket, ledger):
    res = run_ok(docket, ["log", "--json", "--limit", "1000"], ledger)
    return [e["index"] for e in json.loads(res.out) if e["kind"] == "promoted"]


def test_report_html_markdown_and_pdf(docket, workspace, seen):
    out = workspace / "seen-report.html"
    res = docket.run(["report", "--bundle", seen.bundle, "--out", out, "--log-key", seen.logkey])
    assert res.rc == 0 and "verification passed" in res.out, res.describe()
    page = out.read_text()
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script" not in page, "self-contained"
    dom = DOM(page).root
    assert "passed" in dom.one("p", id="verification").content
    promoted = promotions_of(docket, seen.ledger)
    assert len(promoted) == 2
    moves = {int(s.attrs["data-index"]): s for s in dom.all("section") if "data-index" in s.attrs}
    for index in promoted:
        assert index in moves and "promoted" in moves[index].attrs["class"]
    glass = [s for s in moves.values() if "breakglass" in s.attrs["class"]]
    assert len(glass) == 1 and glass[0].attrs["data-digest"] == seen.v2
    assert "<script>document.title='pwned'</script>" in glass[0].content and not list(glass[0].all("img"))
    first = moves[promoted[0]].content
    assert "alice@seen.test" in first and "security-scan" in first and "policy of entry 4" in first, first
    histories = {(s.attrs["data-env"], s.attrs["data-repo"]): s for s in dom.all("section") if "data-env" in s.attrs}
    assert {("staging", PAY), ("production", PAY), ("staging", LINT), ("production", LINT)} <= set(histories)
    # What a person sees: each environment's history is a table of rows, not markup printed as text (issue 30).
    for key, section in histories.items():
        rows = [tr for table in section.all("table") for tr in table.all("tr")]
        if "Nothing has been current here." not in section.content:
            assert len(rows) >= 2 and all(tr.all("td") for tr in rows[1:]), (key, section.content[:300])
        assert "<t" not in section.content and "[" not in section.content, (key, section.content[:300])
    assert len([s for s in histories.values() if s.all("table")]) >= 3, "the histories with steps are tables"
    assert "&lt;" not in dom.content and "<table" not in dom.content, "escaped markup shows as text"
    shot = artefact(workspace, "report.png")
    chromium("--window-size=1280,2400", "--screenshot=" + str(shot), out.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    md = workspace / "seen-report.md"
    res = docket.run(["report", "--bundle", seen.bundle, "--out", md, "--format", "markdown"])
    assert res.rc == 0, res.describe()
    text = md.read_text()
    assert "**Verification passed**" in text and "**BREAK-GLASS**" in text
    for index in promoted:
        assert "### Entry %d: promoted" % index in text
    assert "<script>" not in text, "ledger text is escaped in Markdown too"

    pdf = artefact(workspace, "report.pdf")
    chromium("--no-pdf-header-footer", "--print-to-pdf=" + str(pdf), out.as_uri())
    import pypdf
    extracted = " ".join(p.extract_text() for p in pypdf.PdfReader(str(pdf)).pages)
    flat = " ".join(extracted.split())
    for index in promoted:
        assert "Entry %d: promoted" % index in flat, flat[:2000]
    assert "BREAK-GLASS" in flat


def test_report_reads_as_an_auditor_needs(docket, workspace):
    """Issue 30, item 13: one summary line per promotion and rollback at the top (an ordered list), the incidents
    still open, who approved a break-glass, a rollback out of drift worded as `docket rollback` words it, and the
    Markdown report's drift and tag-move sections."""
    work = workspace / "auditor"
    keys = generate_keys(docket, work / "keys", ["admin", "ci", "bob", "rita"], "auditor.test")
    led = work / "ledger.db"
    policy = work / "policy.yaml"
    policy.write_text("""\
environments:
  - name: staging
  - name: production
    from: staging
    approvals: {min: 1, roles: [approver]}
    breakGlass: {allow: [approvals], approvals: 1}
""")
    v1, v2, rogue = digest_of("auditor v1"), digest_of("auditor v2"), digest_of("auditor rogue")
    for args in [
        ["init", "--origin", "auditor.test/releases", "--key", keys["admin"]],
        ["key", "enroll", str(keys["ci"]) + ".pub", "--role", "ci", "monitor", "--key", keys["admin"]],
        ["key", "enroll", str(keys["bob"]) + ".pub", "--role", "approver", "--key", keys["admin"]],
        ["key", "enroll", str(keys["rita"]) + ".pub", "--role", "releaser", "--key", keys["admin"]],
        ["policy", "set", policy, "--key", keys["admin"]],
        ["record", "built", "%s@%s" % (PAY, v1), "--tag", "1.0", "--key", keys["ci"]],
        ["record", "deployed", "%s@%s" % (PAY, v1), "--env", "staging", "--key", keys["ci"]],
        ["approve", v1, "--env", "production", "--key", keys["bob"]],
        ["promote", v1, "--to", "production", "--key", keys["rita"]],
        ["record", "built", "%s@%s" % (PAY, v2), "--tag", "2.0", "--key", keys["ci"]],
        ["record", "deployed", "%s@%s" % (PAY, v2), "--env", "staging", "--key", keys["ci"]],
        ["approve", v2, "--env", "production", "--break-glass", "--key", keys["bob"]],
        ["promote", v2, "--to", "production", "--break-glass", "hotfix for checkout", "--key", keys["rita"]],
        ["record", "built", "%s@%s" % (PAY, rogue), "--tag", "2.0", "--key", keys["ci"]],  # moves tag 2.0
        ["record", "deployed", "%s@%s" % (PAY, rogue), "--env", "production", "--key", keys["ci"]],  # drift
        ["rollback", "--env", "production", "--repo", PAY, "--reason", "unpromoted image running", "--key",
         keys["rita"]],
        ["record", "incident", "%s@%s" % (PAY, v1), "--env", "staging", "--id", "INC-7", "--state", "open", "--key",
         keys["ci"]],
    ]:
        run_ok(docket, args, led)
    bundle = work / "bundle.jsonl"
    run_ok(docket, ["export", "--out", bundle], led)
    out = work / "report.html"
    res = docket.run(["report", "--bundle", bundle, "--out", out])
    assert res.rc == 0, res.describe()
    dom = DOM(out.read_text()).root
    [summary] = [ol for ol in dom.all("ol") if ol.attrs.get("class") == "summary"] or [None]
    assert summary is not None, "a summary list at the top"
    lines = [li.content for li in summary.all("li")]
    assert len(lines) == 3, lines
    assert "promoted" in lines[0] and "eligible" in lines[0] and "by rita@auditor.test" in lines[0], lines
    assert "BREAK-GLASS (hotfix for checkout)" in lines[1], lines
    assert "rolled back production" in lines[2] and "unpromoted image running" in lines[2], lines
    [incidents] = [ul for ul in dom.all("ul") if ul.attrs.get("class") == "incidents"] or [None]
    assert incidents is not None and "staging/INC-7 open against " + v1 in incidents.content, dom.content[:3000]
    moves = {s.attrs["data-digest"]: s for s in dom.all("section") if "data-index" in s.attrs}
    glass = [s for s in dom.all("section") if "breakglass" in s.attrs.get("class", "")]
    assert len(glass) == 1 and "Break-glass approved by bob@auditor.test." in glass[0].content, glass
    rollback = [s for s in dom.all("section") if "rolled-back" in s.attrs.get("class", "")]
    assert len(rollback) == 1, moves.keys()
    assert "Out of drift: %s was observed at entry 14; the promoted digest is restored." % rogue in rollback[0].content
    assert "&lt;" not in dom.content
    shot = artefact(workspace, "report-auditor.png")
    chromium("--window-size=1280,2000", "--screenshot=" + str(shot), out.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    md = work / "report.md"
    assert docket.run(["report", "--bundle", bundle, "--out", md, "--format", "markdown"]).rc == 0
    text = md.read_text()
    for heading in ("## Summary", "## Open incidents", "## Drift", "## Tag moves"):
        assert "\n%s\n" % heading in text, heading
    assert text.index("## Summary") < text.index("## Environments"), "the summary comes first"
    assert "Break\\-glass approved by bob@auditor.test." in text or "Break-glass approved by bob@auditor.test." in text
    assert "Out of drift: %s was observed at entry 14" % rogue in text, text


def test_report_of_a_tampered_bundle_says_it_failed(docket, workspace, seen):
    lines = seen.bundle.read_bytes().split(b"\n")
    entry = json.loads(lines[6])
    entry["integratedTime"] = "2020-01-01T00:00:00.000Z"
    lines[6] = json.dumps(entry, separators=(",", ":")).encode()
    bad = workspace / "seen-tampered.jsonl"
    bad.write_bytes(b"\n".join(lines))
    out = workspace / "seen-tampered.html"
    res = docket.run(["report", "--bundle", bad, "--out", out])
    assert res.rc == 1 and "FAILED" in res.out, res.describe()
    assert "Verification FAILED" in out.read_text()
    again = docket.run(["report", "--bundle", bad, "--out", out])
    assert again.rc == 2 and "already exists" in again.err and again.one_line_error(), again.describe()
    missing = docket.run(["report", "--bundle", workspace / "nope.jsonl", "--out", workspace / "x.html"])
    assert missing.rc == 2 and missing.one_line_error(), missing.describe()


# ------------------------------------------------------------------------------------------------ progress


def test_verify_shows_throttled_progress_on_a_terminal(docket, seen):
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([docket.binary, "verify", "--bundle", str(seen.bundle)], stdout=subprocess.PIPE,
                              stderr=slave, env=docket.env(None, None), timeout=60)
        os.close(slave)
        slave = None
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        err = b"".join(chunks).decode(errors="replace")
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert "verifying %d/%d (100%%" % (seen.size, seen.size) in err, repr(err)
    assert err.count("\r") <= 3, "throttled: a handful of redraws for a small bundle"
    # Not a terminal: nothing on stderr.
    plain = docket.run(["verify", "--bundle", seen.bundle])
    assert plain.rc == 0 and b"verifying" not in plain.stderr
