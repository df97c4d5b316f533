"""Several `docket serve` processes on one PostgreSQL database (DESIGN §11), against a real PostgreSQL from
Debian's packages started for these tests (tools/tests/postgres_support.py: `initdb` into the work folder as an
unprivileged user, 127.0.0.1 at a free port) and stopped at the end.

  1  migrate     a ledger file copied into PostgreSQL with its roots proved equal; a database already holding a
                 ledger is refused (exit 2) and left as it was; bad addresses are one-line errors (exit 2)
  2  three servers, 64 clients: one gapless log, every receipt's proof verifies against the signed checkpoint,
                 each server serves the newest checkpoint, the bundle verifies with both verifiers
  3  SIGKILL     one of two servers killed mid-load: every acknowledged envelope is in the log exactly once
  4  outage      the database stopped: 503 store-unavailable, and appends again once it is back; the admission
                 webhook denies (failure: closed) or allows with a warning (failure: open) while it is down
  5  gates       promotions racing a deploy on other servers: each promotion landed exactly when it was
                 eligible at its place in the log, and verify (which replays every gate) is clean
  6  webhooks    two servers, one receiver: each entry delivered once between them (a leased position row)
"""
import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from . import helpers
from . import server_support as ss
from .postgres_support import Postgres
from .test_seeing import SECRET, Receiver, ask, pod, review, write_config
from .test_server import Outbox, built_envelope, local_size, post_until_gone, serve, verify_clean  # noqa: F401

SERVE = ("--key-rate", "0", "--address-rate", "0")


@pytest.fixture(scope="module")
def pg(workspace):
    with Postgres(workspace / "postgres") as server:
        yield server


@pytest.fixture
def shared(docket, pg, ledger_factory):
    """shared(name) → (Ledger, url): a fresh ledger file migrated into a database of its own."""

    def make(name):
        ledger = ledger_factory(name)
        url = pg.create_database(name.replace("-", "_"))
        res = docket.run(["migrate", "--from", ledger.path, "--to", url, "--json"])
        assert res.rc == 0, res.describe()
        return ledger, url

    return make


def on_postgres(serve, ledger, url, n):
    """n servers on the database at url, sharing the ledger's log key (test_server's serve: each must exit 0 on
    SIGTERM at the end, a killed one is left alone)."""
    return [serve(url, "--log-key", "%s.logkey" % ledger.path, *SERVE) for _ in range(n)]


def export(docket, url, out):
    res = docket.run(["export", "--ledger", url, "--out", out], timeout=180)
    assert res.rc == 0, res.describe()
    return ss.read_bundle(out.read_bytes())


# ------------------------------------------------------------------------------------------------ 1 migrate


def test_migrate_proves_the_roots_and_the_copy_verifies(docket, shared, pg):
    ledger, url = shared("pg-migrate")
    for n in range(3):
        ledger.record_built(ss.hex_digest("migrate-%d" % n))
    # No such database: PostgreSQL's refusal, in one line, exit 2.
    missing = pg.url("pg_migrate_missing")
    res = docket.run(["migrate", "--from", ledger.path, "--to", missing])
    assert res.rc == 2, res.describe()
    err = res.stderr.decode()
    assert "pg_migrate_missing" in err and len(err.strip().splitlines()) == 1, res.describe()
    # The fixture's database already holds the ledger (as it was at migration): a second copy is refused.
    before = local_size(docket, url)
    again = docket.run(["migrate", "--from", ledger.path, "--to", url])
    assert again.rc == 2, again.describe()
    assert len(again.stderr.decode().strip().splitlines()) == 1, again.describe()
    assert local_size(docket, url) == before
    # A fresh database takes the grown ledger: the same root, the same entries, and verify is clean.
    grown = pg.create_database("pg_migrate_grown")
    res = docket.run(["migrate", "--from", ledger.path, "--to", grown, "--json"])
    assert res.rc == 0, res.describe()
    report = json.loads(res.stdout)
    assert report["entries"] == local_size(docket, ledger.path) == local_size(docket, grown)
    assert report["root"] == helpers.parse_checkpoint(ledger.checkpoint()).root.hex(), report
    verify_clean(docket, grown)
    _, from_pg = export(docket, grown, ledger.dir / "from-pg.jsonl")
    _, from_file = ss.read_bundle(ledger.export(ledger.dir / "from-file.jsonl"))
    assert from_pg == from_file, "the entries exported from PostgreSQL are not the file's"


@pytest.mark.parametrize("address,needle", [
    ("postgres://127.0.0.1/ledger", "name the user"),
    ("postgres://docket@127.0.0.1", "name the database"),
    ("postgres://docket@127.0.0.1:1/ledger?sslmode=sometimes", "sslmode"),
])
def test_bad_addresses_are_one_line_errors_exit_2(docket, address, needle):
    res = docket.run(["status", "--ledger", address])
    assert res.rc == 2, res.describe()
    assert needle in res.stderr.decode() and len(res.stderr.decode().strip().splitlines()) == 1, res.describe()


def test_serve_on_postgres_needs_the_log_key(docket, shared):
    _, url = shared("pg-nokey")
    res = docket.run(["serve", "--ledger", url, "--listen", "127.0.0.1:0"], timeout=30)
    assert res.rc == 2, res.describe()
    assert "--log-key" in res.stderr.decode(), res.describe()


def test_an_unreachable_database_is_exit_3(docket):
    port = ss.free_port()
    res = docket.run(["status", "--ledger", "postgres://docket@127.0.0.1:%d/nothing" % port], timeout=30)
    assert res.rc == 3, res.describe()
    assert len(res.stderr.decode().strip().splitlines()) == 1, res.describe()


# ------------------------------------------------------------------------------------------------ 2 three servers


def test_three_servers_64_clients_one_gapless_log_every_receipt_proves(docket, shared, serve, note):
    ledger, url = shared("pg-three")
    initial = local_size(docket, url)
    srvs = on_postgres(serve, ledger, url, 3)
    per_client = 12
    checker = ss.ReceiptChecker(ledger.verifier_key)
    results, lock = [], threading.Lock()

    def client(c):
        srv = srvs[c % 3]
        conn = ss.connection(srv.url, timeout=30)
        mine = []
        try:
            for n in range(per_client):
                payload, body = built_envelope(ledger, "three-%d-%d" % (c, n))
                for _ in range(20):  # 503 and 429 are retried, at most 20 times
                    reply = ss.exchange(conn, "POST", "/api/v1/entries", body)
                    if reply.status not in (429, 503):
                        break
                    time.sleep(0.05)
                mine.append((payload, reply.status, reply.json()))
        finally:
            conn.close()
        with lock:
            results.extend(mine)

    started = time.monotonic()
    with ThreadPoolExecutor(64) as pool:
        for f in [pool.submit(client, c) for c in range(64)]:
            f.result(timeout=240)
    seconds = time.monotonic() - started
    assert [s for _, s, _ in results if s != 201] == [], "answers other than 201"
    problems = [(r["index"], checker.problems(r, p)) for p, _, r in results if checker.problems(r, p)]
    assert problems == [], problems[:3]
    indexes = sorted(r["index"] for _, _, r in results)
    assert indexes == list(range(initial, initial + 64 * per_client)), "the log has gaps or repeats"
    # Each server hears the others' checkpoints and serves the newest.
    size = initial + 64 * per_client
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            helpers.parse_checkpoint(s.get("/checkpoint").text).size != size for s in srvs):
        time.sleep(0.1)
    assert [helpers.parse_checkpoint(s.get("/checkpoint").text).size for s in srvs] == [size] * 3
    note("postgres: 3 servers, 64 clients, %d appends in %.1fs (%.0f/s)" % (len(results), seconds,
                                                                            len(results) / seconds))
    verify_clean(docket, url)
    out = ledger.dir / "three.jsonl"
    _, entries = export(docket, url, out)
    assert len(entries) == size
    res = docket.run(["verify", "--bundle", out, "--json"], timeout=180)
    assert res.verified_clean()[0], res.describe()
    py = docket.verify_bundle([out, "--json"], timeout=180)
    assert py.rc == 0, py.describe()


# ------------------------------------------------------------------------------------------------ 3 SIGKILL


def test_sigkill_of_one_server_loses_nothing_acknowledged(docket, shared, serve, note):
    ledger, url = shared("pg-kill")
    initial = local_size(docket, url)
    victim, survivor = on_postgres(serve, ledger, url, 2)
    boxes = [Outbox(ledger, "pgkill-%d" % c) for c in range(8)]
    until = time.monotonic() + 6
    with ThreadPoolExecutor(len(boxes)) as pool:
        futures = [pool.submit(post_until_gone, (victim if c % 2 == 0 else survivor).url, box, until)
                   for c, box in enumerate(boxes)]
        time.sleep(1.5)
        assert victim.kill() == -signal.SIGKILL
        in_flight = sum(f.result(timeout=30) for f in futures)
    for box in boxes:  # the victim's clients resend to the survivor
        for _ in range(len(box.waiting) + 10):
            if not box.waiting:
                break
            box.answered(survivor.post(box.waiting[0][1]))
        assert not box.waiting, "envelopes still unacknowledged"
    assert [r for box in boxes for r in box.unexpected] == []
    acked = [a for box in boxes for a in box.acked]
    note("postgres SIGKILL: %d acknowledged, %d requests in flight at the kill" % (len(acked), in_flight))
    _, entries = export(docket, url, ledger.dir / "kill.jsonl")
    payloads = [ss.entry_payload(e) for e in entries]
    assert len(payloads) == len(set(payloads)), "a payload was appended twice"
    for payload, _, index in acked:
        assert ss.entry_payload(entries[index]) == payload, "entry %d is not the acknowledged envelope" % index
    assert len(entries) == initial + len(acked), "entries nobody acknowledged"
    verify_clean(docket, url)


# ------------------------------------------------------------------------------------------------ 4 outage


def test_postgres_restarted_mid_load_loses_nothing_acknowledged(docket, shared, serve, pg, note):
    """Two servers, 8 clients posting; the database is stopped (fast) and started again in the middle. Clients
    resend what got 503 or no answer. Every acknowledged envelope is in the log once, at its receipt's index."""
    ledger, url = shared("pg-restart")
    initial = local_size(docket, url)
    srvs = on_postgres(serve, ledger, url, 2)
    boxes = [Outbox(ledger, "pgrestart-%d" % c) for c in range(8)]
    until = time.monotonic() + 8

    def client(c):
        while time.monotonic() < until:  # a connection that broke is opened again
            post_until_gone(srvs[c % 2].url, boxes[c], until)

    with ThreadPoolExecutor(len(boxes)) as pool:
        futures = [pool.submit(client, c) for c in range(len(boxes))]
        time.sleep(2.5)
        pg.stop("fast")
        time.sleep(1.0)
        pg.start()
        for f in futures:
            f.result(timeout=90)
    deadline = time.monotonic() + 60
    for c, box in enumerate(boxes):
        while box.waiting and time.monotonic() < deadline:
            box.answered(srvs[c % 2].post(box.waiting[0][1], timeout=30))
        assert not box.waiting, "envelopes still unacknowledged a minute after the restart"
    assert [r for box in boxes for r in box.unexpected] == []
    acked = [a for box in boxes for a in box.acked]
    note("postgres restarted mid-load: %d acknowledged" % len(acked))
    _, entries = export(docket, url, ledger.dir / "restart.jsonl")
    payloads = [ss.entry_payload(e) for e in entries]
    assert len(payloads) == len(set(payloads)), "a payload was appended twice"
    for payload, _, index in acked:
        assert ss.entry_payload(entries[index]) == payload, "entry %d is not the acknowledged envelope" % index
    assert len(entries) == initial + len(set(i for _, _, i in acked)), "entries nobody acknowledged"
    verify_clean(docket, url)



def test_a_server_that_loses_the_database_answers_503_and_recovers(docket, shared, serve, pg):
    ledger, url = shared("pg-outage")
    (srv,) = on_postgres(serve, ledger, url, 1)
    _, body = built_envelope(ledger, "outage-before")
    assert srv.post(body).status == 201
    pg.stop("fast")
    try:
        _, body = built_envelope(ledger, "outage-during")
        reply = srv.post(body, timeout=30)
        assert reply.status == 503, reply
        assert reply.json()["error"]["code"] == "store-unavailable", reply
        assert reply.headers.get("retry-after"), reply
        assert srv.get("/checkpoint", timeout=30).status == 503
    finally:
        pg.start()
    deadline = time.monotonic() + 30
    while True:
        reply = srv.post(body, timeout=30)
        if reply.status == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert reply.status == 201, reply
    assert srv.get("/checkpoint").status == 200
    verify_clean(docket, url)


def test_admission_fails_closed_or_open_as_configured_while_the_database_is_down(docket, shared, serve, pg, workspace):
    ledger, url = shared("pg-admission")
    image = "registry.example/app@sha256:" + ss.hex_digest("admission-built")
    servers = {}
    for failure in ("closed", "open"):
        config = write_config(workspace / ("pg-admission-" + failure),
                              "admission:\n  namespaces: {prod: production}\n  failure: %s\n" % failure)
        servers[failure] = serve(url, "--log-key", "%s.logkey" % ledger.path, "--config", config, *SERVE)
    _, body = built_envelope(ledger, "admission-built")
    assert servers["closed"].post(body).status == 201

    pod_review = review(pod(image), "prod", "Pod")

    def from_the_ledger(answer):
        return answer["allowed"] is False and "nothing current" in answer["status"]["message"]

    for failure, srv in servers.items():  # the database up: both answer from the ledger (built, never deployed)
        answer = ask(srv, pod_review, timeout=30)
        assert from_the_ledger(answer), (failure, answer)
    pg.stop("fast")
    try:
        closed, opened = [ask(servers[f], pod_review, timeout=30) for f in ("closed", "open")]
    finally:
        pg.start()
    assert closed["allowed"] is False, closed
    assert "could not be read" in closed["status"]["message"] and "failure: closed" in closed["status"]["message"]
    assert opened["allowed"] is True and "status" not in opened, opened
    assert any("could not be read" in w and "failure: open" in w for w in opened["warnings"]), opened
    for failure, srv in servers.items():
        metrics = srv.get("/metrics").text
        assert 'decision="failed-%s"' % failure in metrics, metrics
    # Back up: both answer from the ledger again (each server's pool reconnects on its own).
    for failure, srv in servers.items():
        deadline = time.monotonic() + 30
        while not from_the_ledger(answer := ask(srv, pod_review, timeout=30)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert from_the_ledger(answer), (failure, answer)


# ------------------------------------------------------------------------------------------------ 5 gates

GATE_POLICY = """\
environments:
  - name: staging
  - name: production
    from: staging
"""


def test_promotions_racing_deploys_on_other_servers_land_exactly_when_eligible(docket, shared, serve, note):
    """Each round: A is in staging; at once, server 1 records B deployed to staging, server 2 promotes A and
    server 3 promotes B to production. A's promotion is eligible only if it is sequenced before B's deploy, B's
    only after; the log must agree with that for every promotion that landed and every one refused."""
    ledger, url = shared("pg-gates")
    releaser = ledger.dir / "rel.key"
    ledger.must(["key", "generate", "--identity", "rel@example.com", "--out", releaser])
    srvs = on_postgres(serve, ledger, url, 3)
    mirror = ss.Client(docket, srvs[0].url, ledger.dir / "m0")
    mirror("key", "enroll", str(releaser) + ".pub", "--role", "releaser", "--key", ledger.admin_key, ok=0)
    policy = ledger.dir / "policy.yaml"
    policy.write_text(GATE_POLICY)
    mirror("policy", "set", policy, "--key", ledger.admin_key, ok=0)
    clients = [ss.Client(docket, s.url, ledger.dir / ("m%d" % i)) for i, s in enumerate(srvs)]
    ci, rel = ("--key", ledger.ci_key), ("--key", releaser)
    outcomes = []
    for n in range(4):
        a = "registry.example/app@sha256:" + ss.hex_digest("gate-a-%d" % n)
        b = "registry.example/app@sha256:" + ss.hex_digest("gate-b-%d" % n)
        for image in (a, b):
            clients[0]("record", "built", image, *ci, ok=0)
        clients[0]("record", "deployed", a, "--env", "staging", *ci, ok=0)
        jobs = [(clients[0], ("record", "deployed", b, "--env", "staging", *ci)),
                (clients[1], ("promote", a, "--to", "production", "--no-push", *rel)),
                (clients[2], ("promote", b, "--to", "production", "--no-push", *rel))]
        barrier = threading.Barrier(len(jobs))

        def go(job):
            barrier.wait(timeout=30)
            return job[0](*job[1])

        with ThreadPoolExecutor(len(jobs)) as pool:
            deploy_b, promote_a, promote_b = pool.map(go, jobs)
        assert deploy_b.rc == 0, deploy_b.text()
        assert promote_a.rc in (0, 1) and promote_b.rc in (0, 1), (promote_a.text(), promote_b.text())
        outcomes.append((a, b, promote_a.rc == 0, promote_b.rc == 0))
    # The order the log holds decides who was eligible.
    events = json.loads(docket.run(["log", "--json", "--ledger", url], timeout=60).stdout)
    where = {}
    for e in events:
        env = e["predicate"].get("environment") or e["predicate"].get("to")
        where.setdefault((e["kind"], e.get("digest", "").rsplit(":", 1)[-1], env), e["index"])
    for a, b, a_landed, b_landed in outcomes:
        ha, hb = a.rsplit(":", 1)[1], b.rsplit(":", 1)[1]
        assert ("deployed", hb, "staging") in where, sorted(where)[-8:]
        deploy_b = where[("deployed", hb, "staging")]
        pa, pb = where.get(("promoted", ha, "production")), where.get(("promoted", hb, "production"))
        assert (pa is not None) == a_landed and (pb is not None) == b_landed, (outcomes, where)
        if pa is not None:
            assert pa < deploy_b, "A was promoted after B replaced it in staging"
        if pb is not None:
            assert pb > deploy_b, "B was promoted before it ran in staging"
    note("postgres gate races: %s" % ["A" * a_ + "B" * b_ or "-" for _, _, a_, b_ in outcomes])
    verify_clean(docket, url)


# ------------------------------------------------------------------------------------------------ 6 webhooks


def test_two_servers_deliver_each_entry_to_a_webhook_once(docket, shared, serve, workspace):
    ledger, url = shared("pg-hooks")
    receiver = Receiver(SECRET)
    config = write_config(workspace / "pg-hooks", """\
notifications:
  state: state
  webhooks:
    - {name: all, url: '%s', secret-file: hook.secret, start: beginning}
""" % receiver.url)
    try:
        srvs = [serve(url, "--log-key", "%s.logkey" % ledger.path, "--config", config, *SERVE) for _ in range(2)]
        initial = local_size(docket, url)
        for n in range(40):  # appended through both servers, while both deliver
            _, body = built_envelope(ledger, "hooks-%d" % n)
            assert srvs[n % 2].post(body).status == 201
        events = receiver.wait_for(initial + 40)
        time.sleep(2.0)  # a second delivery of anything would arrive now
        with receiver.lock:
            indexes = sorted(e["data"]["index"] for e in receiver.events)
        assert indexes == list(range(initial + 40)), "entries delivered twice or not at all: %s" % [
            i for i in set(indexes) if indexes.count(i) != 1][:10]
        assert len(events) >= initial + 40 and not receiver.bad
    finally:
        receiver.close()
