import DocketPostgres
import Foundation
import Testing

@testable import DocketCore

/// Issue 25: integration queues a write set, the store writes it one statement per shape; a batch reads its
/// facts in one query per kind. Run on the ledger file, and again on PostgreSQL by `tools/test`.
@Suite("The store")
struct StoreTests {
    static let policy = """
        environments:
          - name: staging
          - name: production
            from: staging
            approvals: {min: 1, roles: [approver]}
            checks: [scan]
        """

    static let shape = RowShape(
        table: "t", columns: [.text("k"), .integer("v")], key: ["k"], conflict: .replace)
    static let kept = RowShape(table: "t", columns: [.text("k"), .integer("v")], key: ["k"], conflict: .keep)
    static let other = RowShape(table: "u", columns: [.text("k")], key: ["k"], conflict: .keep)

    @Test("A write set merges rows of one shape by key as the database would, and keeps order per key")
    func writeSetMerges() {
        var set = WriteSet()
        set.insert([.text("a"), .integer(1)], Self.shape)
        set.insert([.text("b"), .integer(2)], Self.shape)
        set.insert([.text("a"), .integer(3)], Self.shape)  // replaces a's row: one statement never touches a row twice
        set.insert([.text("x")], Self.other)
        set.insert([.text("a"), .integer(9)], Self.kept)  // another shape on a written key: after it, in order
        set.insert([.text("c"), .integer(4)], Self.shape)  // a fresh key joins the first statement
        set.run("UPDATE u SET k = k", [], writing: ["u"])
        set.insert([.text("y")], Self.other)  // after a statement writing u: a new statement
        set.insert([.text("d"), .integer(5)], Self.shape)  // t was not written by the statement: joins the first
        let operations = set.operations
        #expect(operations.count == 5)
        guard case .rows(let first, let rows) = operations[0] else {
            Issue.record("first operation is not rows")
            return
        }
        #expect(first == Self.shape)
        #expect(
            rows == [
                [.text("a"), .integer(3)], [.text("b"), .integer(2)], [.text("c"), .integer(4)],
                [.text("d"), .integer(5)],
            ])
        guard case .rows(let keptShape, let keptRows) = operations[2], case .statement = operations[3],
            case .rows(_, let afterStatement) = operations[4]
        else {
            Issue.record("operations out of order: \(operations)")
            return
        }
        #expect(keptShape == Self.kept && keptRows == [[.text("a"), .integer(9)]])
        #expect(afterStatement == [[.text("y")]])
    }

    /// A mixed batch: images built with tags, checks, incidents, deployments, approvals, a repeated statement.
    func batch(_ s: Scenario, images: Int) throws -> [(data: Data, source: String)] {
        var items: [(data: Data, source: String)] = []
        for n in 0..<images {
            let image = try Digest(hex: SHA256.hash(Data("image \(n) \(UUID())".utf8)).hex)
            let repo = Scenario.repository
            items.append(
                (
                    try s.envelope(
                        "ci", subject: repo, digest: image.hex, .built(.init(tags: ["build-\(n)", "latest"]))), "b"
                ))
            items.append(
                (
                    try s.envelope("ci", subject: repo, digest: image.hex, .check(.init(check: "scan", result: .pass))),
                    "c"
                ))
            items.append(
                (
                    try s.envelope(
                        "ci", subject: repo, digest: image.hex,
                        .incident(.init(environment: "staging", incident: "INC-\(n % 4)", state: .open))), "i"
                ))
            items.append(
                (
                    try s.envelope("carol", subject: repo, digest: image.hex, .deployed(.init(environment: "staging"))),
                    "d"
                ))
            items.append(
                (
                    try s.envelope(
                        "alice", subject: repo, digest: image.hex, .approved(.init(environment: "production"))), "a"
                ))
        }
        items.append(items[0])  // the same statement twice in one batch: a duplicate, not a second entry
        return items
    }

    @Test("A batch written as a write set holds the rows a fold one event at a time holds (verify rebuilds them)")
    func batchMatchesFold() throws {
        let s = try Scenario(policy: Self.policy)
        let receipts = try s.ledger.appendBatch(try batch(s, images: 40))
        #expect(receipts.last?.duplicate == true)
        #expect(receipts.last?.index == receipts.first?.index)
        // And again with every statement already stored: all duplicates, nothing written.
        let report = try Verifier.verify(ledger: s.ledger, options: .init())
        #expect(report.ok, "\(report)")
        #expect(try s.ledger.queries.current(environment: "staging", repository: Scenario.repository) != nil)
    }

    @Test(
        "On PostgreSQL a batch costs a bounded number of statements, whatever its size",
        .enabled(if: TestStore.postgres != nil, "needs DOCKET_TEST_POSTGRES"))
    func statementsPerBatch() throws {
        let s = try Scenario(policy: Self.policy)
        let adapter = try #require(s.ledger.log.db as? PostgresConnectionAdapter)
        var counts: [Int: Int] = [:]
        for images in [10, 100] {
            let items = try batch(s, images: images)
            let before = adapter.statementCount
            _ = try s.ledger.appendBatch(items)
            counts[images] = adapter.statementCount - before
        }
        // 51 and 501 events: 16 statements each when this was written. Before the transaction: the enrolled keys,
        // the size, the ledger ID. In it: BEGIN, the head lock, the tip, the frontier, the batch's facts (stored
        // statements, digest owners, tags, what is current per service, standing drift, incidents, its signers'
        // keys), the policy, one statement of every insert and the checkpoint's NOTIFY, COMMIT. The bound leaves
        // room for a few more kinds of fact, never for one per event.
        let small = try #require(counts[10])
        let large = try #require(counts[100])
        #expect(large <= 24, "statements for a batch of 501 events: \(large) (of 51: \(small))")
        #expect(large <= small + 2, "statements grow with the batch: \(small) for 51 events, \(large) for 501")
    }
}

extension StoreTests {
    @Test("Text holding U+0000 and U+0001 is stored whole, and ordered as bytes, on both stores")
    func textIsStoredAsBytes() throws {
        let s = try Scenario(policy: Self.policy)
        let db = s.ledger.log.db
        let keys = ["t\u{1}", "t", "t\u{0}", "t\u{0}\u{1}", "té", "tz"]
        for (n, key) in keys.enumerated() {
            try db.run("INSERT INTO meta(key, value) VALUES ($1, $2)", [.text(key), .text("v\u{0}\(n)\u{1}")])
        }
        let rows = try db.rows("SELECT key, value FROM meta WHERE key >= $1 ORDER BY key", [.text("t")])
        #expect(rows.compactMap { $0.text("key") } == keys.sorted { Array($0.utf8).lexicographicallyPrecedes($1.utf8) })
        for (n, key) in keys.enumerated() {
            #expect(
                try db.row("SELECT value FROM meta WHERE key = $1", [.text(key)])?.text("value") == "v\u{0}\(n)\u{1}")
        }
    }

    @Test(
        "A PostgreSQL ledger made by the earlier layout (escaped TEXT) is migrated to bytes when opened, and verifies",
        .enabled(if: TestStore.postgres != nil, "needs DOCKET_TEST_POSTGRES"))
    func earlierLayoutIsMigrated() throws {
        let s = try Scenario(policy: Self.policy)
        _ = try s.ledger.appendBatch(try batch(s, images: 3))
        let adapter = try #require(s.ledger.log.db as? PostgresConnectionAdapter)
        let slots = try adapter.rows("SELECT digest, slot FROM gate_evidence ORDER BY digest, slot", [])
        #expect(slots.contains { $0.text("slot")?.contains("\u{0}") == true })
        // Back to the earlier layout: escape, then TEXT COLLATE "C", as versions before this one stored it.
        let binary: Set = ["payload_hash", "bytes", "hash", "public_key"]
        let columns = try adapter.rows(
            """
            SELECT table_name AS name, column_name AS column FROM information_schema.columns
            WHERE table_schema = current_schema() AND data_type = 'bytea'
            """, [])
        for index in ["timeline_rollbacks", "incidents_open"] { try adapter.run("DROP INDEX \(index)", []) }
        for row in columns {
            guard let table = row.text("name"), let column = row.text("column"), !binary.contains(column) else {
                continue
            }
            for stored in try adapter.rows("SELECT ctid::text AS id, \(column) AS v FROM \(table)", []) {
                guard let value = stored.blob("v"), value.contains(where: { $0 <= 1 }), let id = stored.text("id")
                else { continue }
                let escaped = Data(value.flatMap { $0 == 0 ? [1, 1] : $0 == 1 ? [1, 2] : [$0] })
                try adapter.run("UPDATE \(table) SET \(column) = $1 WHERE ctid = '\(id)'", [.blob(escaped)])
            }
            try adapter.run(
                "ALTER TABLE \(table) ALTER COLUMN \(column) TYPE text COLLATE \"C\" USING convert_from(\(column), 'UTF8')",
                [])
        }
        // A role that may read the tables but not alter them is told what to do, and nothing changes.
        let reader = "docket_reader_\(getpid())"
        try adapter.run(
            "DO $$ BEGIN CREATE ROLE \(reader) LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$", [])
        try adapter.run("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(reader)", [])
        let address = adapter.name.replacingOccurrences(of: "://docket@", with: "://\(reader)@")
        let readOnly = PostgresStore(location: try PostgresLocation(parsing: address))
        #expect {
            _ = try readOnly.ledger(logKeyPath: s.ledger.logKeyPath)
        } throws: { error in
            "\(error)".contains("must be converted once") && "\(error)".contains("as the tables' owner")
        }
        let store = PostgresStore(location: adapter.store.location)
        let reopened = try store.ledger(logKeyPath: s.ledger.logKeyPath)
        let migrated = try reopened.log.db.rows("SELECT digest, slot FROM gate_evidence ORDER BY digest, slot", [])
        #expect(migrated.map { $0.text("slot") } == slots.map { $0.text("slot") })
        let report = try Verifier.verify(ledger: reopened, options: .init())
        #expect(report.ok, "\(report)")
    }
}
