import Foundation
import Testing

@testable import DocketCore

/// Issue 10, item 1: ledger time. With a local file every appender keeps the clock; what the ledger can do is
/// bound signers' clocks against it, never store a time no reader can parse, and let verify see a clock that
/// ran ahead (against its own clock, and against witnesses' cosignature times).
@Suite("Ledger time")
struct LedgerTimeTests {
    let a = digest("a")

    /// Built, deployed and scanned at the clock's time, approved by two people: waits only for the 1h soak.
    func staged() throws -> Scenario {
        let s = try Scenario(policy: GateTests.policy)
        try s.record("ci", a, .built(.init()))
        try s.record("ci", a, .deployed(.init(environment: "staging")))
        try s.record("ci", a, .check(.init(check: "security-scan", result: .pass)))
        try s.record("alice", a, .approved(.init(environment: "production")))
        try s.record("bob", a, .approved(.init(environment: "production")))
        return s
    }

    @Test("An appender whose clock runs 25h ahead skips the soak, and verify reports it against its own clock")
    func clockAhead() throws {
        let s = try staged()
        let honest = s.clock.now()
        s.clock.advance(seconds: 25 * 3600)
        try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        try s.record("ci", a, .deployed(.init(environment: "production")))
        let report = try Verifier.verify(ledger: s.ledger, options: .init(now: honest))
        let problem = try #require(report.problems.first { $0.kind == "time" }, "\(report.problems)")
        #expect(problem.message.contains("after this verifier's clock"), "\(problem.message)")
        #expect(problem.message.contains("(and 1 later entry)"), "\(problem.message)")
        // Verified when the clock is right, the same ledger is clean.
        #expect(try Verifier.verify(ledger: s.ledger, options: .init(now: s.clock.now())).ok)
        // Honest appenders are not locked out while ledger time stands still at the jumped clock: the delay is
        // measured from the appender's own clock.
        s.clock.set(honest.adding(seconds: 60))
        try s.record("ci", digest("b"), .built(.init()))
    }

    @Test("Signers' clocks: more than maxClockSkew ahead of ledger time, or maxSubmitDelay behind it, is refused")
    func signersClocks() throws {
        let s = try staged()
        let size = try s.ledger.treeSize()
        let late = try s.envelope(
            "alice", subject: Scenario.repository, digest: a.hex, .approved(.init(environment: "production")))
        s.clock.advance(seconds: 24 * 3600 + 60)
        var error = #expect(throws: LedgerError.self) { try s.ledger.append(late, source: "late.json") }
        #expect("\(error!)".contains("more than 1d (maxSubmitDelay) before the ledger time"), "\(error!)")
        // A signer 10 minutes ahead of the appender.
        let now = s.clock.now()
        s.clock.advance(seconds: 600)
        let early = try s.envelope("ci", subject: Scenario.repository, digest: digest("b").hex, .built(.init()))
        s.clock.set(now)
        error = #expect(throws: LedgerError.self) { try s.ledger.append(early, source: "early.json") }
        #expect("\(error!)".contains("more than 5m (maxClockSkew) after the ledger time"), "\(error!)")
        #expect(try s.ledger.treeSize() == size)
        // The policy may allow more.
        try s.setPolicy(GateTests.policy + "\nmaxClockSkew: 15m\nmaxSubmitDelay: 3d\n")
        try s.ledger.append(early, source: "early.json")
        try s.ledger.append(late, source: "late.json")
    }

    @Test("A clock past year 9999 (or before 1970) appends nothing, and the ledger reads on")
    func clockOutOfRange() throws {
        let s = try staged()
        let size = try s.ledger.treeSize()
        let envelope = try s.envelope("ci", subject: Scenario.repository, digest: digest("c").hex, .built(.init()))
        s.clock.set(Timestamp(milliseconds: 253_402_300_800_000 + 86_400_000 * 366 * 20))
        let error = #expect(throws: LedgerError.self) { try s.ledger.append(envelope, source: "far.json") }
        #expect("\(error!)".contains("outside what an entry can record"), "\(error!)")
        #expect(try s.ledger.treeSize() == size)
        #expect(try Verifier.verify(ledger: s.ledger, options: .init(now: s.clock.now())).ok)
    }

    @Test("An entry later than a witness's cosignature of a checkpoint that covers it is reported")
    func witnessTime() throws {
        let s = try staged()
        let witness = try SigningKey.generate()
        let witnessKey = NoteVerifierKey(
            name: "witness.example", type: NoteVerifierKey.cosignatureV1, publicKey: witness.publicKey)
        // The appender's clock jumps ahead; then a witness cosigns, at the true time, a checkpoint covering the
        // promotion signed "25h later".
        let honest = s.clock.now()
        s.clock.advance(seconds: 25 * 3600)
        try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        var note = try SignedNote(parsing: try s.ledger.checkpointNote(), source: "checkpoint")
        Cosignature.add(
            to: &note, name: witnessKey.name, key: witness, timestamp: UInt64(honest.milliseconds / 1000 + 60))
        try s.ledger.recordCosigned(witness: witnessKey.name, note: note.text)
        let report = try Verifier.verify(
            ledger: s.ledger, options: .init(witnesses: [witnessKey], now: s.clock.now()))
        let problem = try #require(report.problems.first { $0.kind == "time" }, "\(report.problems)")
        #expect(problem.message.contains("after witness witness.example's cosignature"), "\(problem.message)")
    }
}
