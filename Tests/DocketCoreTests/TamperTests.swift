import Foundation
import Testing

@testable import DocketCore

/// Every way of editing the SQLite file behind Docket's back must make `verify` fail and name the entry.
@Suite("Tampering with the database", TestStore.fileOnly)
struct TamperTests {
    /// A ledger with a short promotion story, and the index of a `built` entry in the middle.
    static func story() throws -> (Scenario, Int) {
        let s = try Scenario(
            policy:
                "environments:\n  - name: staging\n  - name: production\n    from: staging\n    approvals:\n      min: 1\n"
        )
        let a = digest("a")
        let built = try s.record("ci", a, .built(.init(tags: ["1.0"]))).index
        try s.record("ci", a, .deployed(.init(environment: "staging")))
        try s.record("alice", a, .approved(.init(environment: "production")))
        try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        try s.record("ci", a, .check(.init(check: "scan", result: .pass)))
        try s.record("ci", a, .incident(.init(environment: "production", incident: "INC-1", state: .open)))
        try s.record("ci", digest("b"), .built(.init(tags: ["1.0"])))  // moves tag 1.0
        try s.record("ci", digest("b"), .deployed(.init(environment: "production")))  // drift
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
        return (s, built)
    }

    /// Runs SQL against the ledger file through a separate connection, as an attacker with the sqlite3 shell would.
    static func edit(_ s: Scenario, _ sql: String, _ bindings: [SQLValue] = []) throws {
        let db = try Database(path: s.ledger.path, mode: .readWrite)
        try db.run(sql, bindings)
    }

    static func verify(_ s: Scenario) throws -> VerificationReport {
        try Verifier.verify(ledger: try Ledger(path: s.ledger.path, readOnly: true), options: .init())
    }

    static func bytes(_ s: Scenario, _ index: Int) throws -> Data { try #require(try s.ledger.entry(at: index)).bytes }

    @Test("An edited payload byte: the signature check names the entry")
    func editedPayload() throws {
        let (s, k) = try Self.story()
        var text = String(decoding: try Self.bytes(s, k), as: UTF8.self)
        let payloadStart = try #require(text.range(of: "\"payload\":\"e"))
        text.replaceSubrange(payloadStart.upperBound..<text.index(after: payloadStart.upperBound), with: "f")
        try Self.edit(s, "UPDATE entries SET bytes = ? WHERE idx = ?", [.blob(Data(text.utf8)), .int(k)])
        let report = try Self.verify(s)
        #expect(!report.ok)
        #expect(report.problems.contains { $0.index == k })
    }

    @Test("An edited integratedTime inside the entry: the stored leaf and time column disagree")
    func editedTime() throws {
        let (s, k) = try Self.story()
        let entry = try Entry(bytes: try Self.bytes(s, k), source: "t")
        let moved = Entry(index: k, integratedTime: entry.integratedTime.adding(seconds: -1), envelope: entry.envelope)
        try Self.edit(s, "UPDATE entries SET bytes = ? WHERE idx = ?", [.blob(moved.bytes), .int(k)])
        let report = try Self.verify(s)
        #expect(!report.ok)
        #expect(report.problems.contains { $0.index == k && $0.kind == "time" })
        #expect(report.problems.contains { $0.index == k && $0.kind == "merkle" })
    }

    @Test("A changed time column", arguments: [-1, 1])
    func changedTimeColumn(delta: Int) throws {
        let (s, k) = try Self.story()
        try Self.edit(s, "UPDATE entries SET integrated_ms = integrated_ms + ? WHERE idx = ?", [.int(delta), .int(k)])
        let report = try Self.verify(s)
        #expect(report.problems.contains { $0.index == k && $0.kind == "time" })
    }

    @Test("A deleted row: the gap is named")
    func deleted() throws {
        let (s, k) = try Self.story()
        try Self.edit(s, "DELETE FROM entries WHERE idx = ?", [.int(k)])
        let report = try Self.verify(s)
        #expect(report.problems.contains { $0.index == k && $0.message.contains("missing") })
    }

    @Test("Two rows swapped: each holds the other's bytes")
    func reordered() throws {
        let (s, k) = try Self.story()
        let a = try Self.bytes(s, k)
        let b = try Self.bytes(s, k + 1)
        try Self.edit(s, "UPDATE entries SET bytes = ? WHERE idx = ?", [.blob(b), .int(k)])
        try Self.edit(s, "UPDATE entries SET bytes = ? WHERE idx = ?", [.blob(a), .int(k + 1)])
        let report = try Self.verify(s)
        #expect(report.problems.contains { $0.index == k && $0.message.contains("holds the bytes of entry \(k + 1)") })
    }

    @Test("An inserted row, validly signed but outside the ledger: not covered by the checkpoint")
    func inserted() throws {
        let (s, _) = try Self.story()
        let size = try s.ledger.treeSize()
        let envelope = try Envelope(
            parsing: try s.envelope("ci", subject: Scenario.repository, digest: digest("c").hex, .built(.init())),
            source: "t")
        let entry = Entry(index: size, integratedTime: try s.ledger.ledgerTime(), envelope: envelope)
        try Self.edit(
            s,
            "INSERT INTO entries(idx, integrated_ms, payload_hash, kind, signer, bytes) VALUES (?, ?, ?, 'built', ?, ?)",
            [
                .int(size), .integer(entry.integratedTime.milliseconds), .blob(SHA256.hash(envelope.payload)),
                .text(s.keys["ci"]!.key.publicKey.keyID), .blob(entry.bytes),
            ])
        let report = try Self.verify(s)
        #expect(report.problems.contains { $0.index == size && $0.kind == "checkpoint" })
    }

    @Test("A checkpoint re-signed with a foreign key")
    func resignedCheckpoint() throws {
        let (s, _) = try Self.story()
        let note = try SignedNote(parsing: try s.ledger.checkpointNote(), source: "t")
        let forged = try Checkpoint(note: note, source: "t").signed(with: try SigningKey.generate())
        try Self.edit(s, "UPDATE checkpoint SET note = ?", [.text(forged.text)])
        let report = try Self.verify(s)
        #expect(report.problems.contains { $0.kind == "checkpoint" && $0.message.contains("no valid signature") })
    }

    @Test(
        "Edited projection tables are rebuilt from the entries and the difference reported",
        arguments: [
            // Every projection table, and the Merkle nodes: an update, a delete or an insert in each.
            "UPDATE env_timeline SET digest = 'sha256:" + String(repeating: "f", count: 64)
                + "' WHERE environment = 'production'",
            "DELETE FROM environments WHERE name = 'staging'",
            "DELETE FROM approvals", "UPDATE keys SET roles = 'admin,approver,ci' WHERE identity = 'ci@example.com'",
            "INSERT INTO keys(key_id, public_key, identity, roles, teams, enrolled_idx, changed_idx) VALUES ('00', x'00', 'eve', 'admin', '', 1, 1)",
            "UPDATE policies SET document = '{\"environments\":[{\"name\":\"staging\"}]}'",
            "DELETE FROM digest_entries WHERE idx = 8", "UPDATE checks SET result = 'fail'",
            "UPDATE incidents SET state = 'resolved'", "UPDATE tags SET digest = 'sha256:x' WHERE tag = '1.0'",
            "DELETE FROM tag_moves", "DELETE FROM drift",
            "INSERT INTO break_glass(idx, kind, digest, repository, environment, reason, failed_rules) VALUES (9, 'promoted', 'd', 'r', 'production', 'r', '')",
            "DELETE FROM merkle WHERE level = 1 AND pos = 0", "UPDATE merkle SET hash = zeroblob(32) WHERE level = 2",
        ])
    func projections(sql: String) throws {
        let (s, _) = try Self.story()
        try Self.edit(s, sql)
        let report = try Self.verify(s)
        #expect(!report.ok)
        #expect(report.problems.contains { $0.kind == "projection" || $0.kind == "merkle" })
        #expect(report.problems.allSatisfy { !$0.message.isEmpty })
    }

    @Test("One deleted projection row is reported once, as that row, not as a shift of every row after it")
    func oneRowOneProblem() throws {
        let (s, _) = try Self.story()
        try Self.edit(s, "DELETE FROM digest_entries WHERE idx = 8")
        let report = try Self.verify(s)
        #expect(report.problems.count == 1, "\(report.problems)")
        #expect(report.problems.first?.index == 8)
        #expect(report.problems.first?.message.contains("missing a row the entries imply") == true)
    }

    @Test("An edited origin in the meta table is caught")
    func origin() throws {
        let (s, _) = try Self.story()
        try Self.edit(s, "UPDATE meta SET value = 'evil.example/ledger' WHERE key = 'origin'")
        let report = try Self.verify(s)
        #expect(report.problems.contains { $0.index == 0 && $0.message.contains("evil.example/ledger") })
    }

    @Test("A changed signer or kind column is caught")
    func columns() throws {
        let (s, k) = try Self.story()
        try Self.edit(
            s, "UPDATE entries SET kind = 'check', signer = ? WHERE idx = ?",
            [.text(s.keys["alice"]!.key.publicKey.keyID), .int(k)])
        let report = try Self.verify(s)
        #expect(report.problems.filter { $0.index == k }.count >= 2)
    }
}
