import Foundation
import Testing

@testable import DocketCore

/// Issue 10, item 6: at the end of the log the gate reads only its evidence rows; `gate --at` reads every event.
/// Both must reach the same verdict, on random histories.
@Suite("Gate evidence")
struct GateEvidenceTests {
    static let policy = """
        environments:
          - name: staging
          - name: production
            from: staging
            soak: 1h
            approvals:
              rules:
                - {name: engineering, min: 2, roles: [approver]}
              separationOfDuties: true
            checks: [security-scan, perf]
            breakGlass: {allow: [soak, approvals, checks], approvals: 1}
        """

    @Test("The evidence rows and the full history give the same verdict", arguments: 1...6)
    func sameVerdict(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let s = try Scenario(policy: Self.policy)
        let a = digest("a")
        let b = digest("b")
        try s.record("ci", a, .built(.init()))
        try s.record("carol", a, .deployed(.init(environment: "staging")))
        try s.record("ci", b, .built(.init()))
        for step in 0..<60 {
            s.clock.advance(seconds: Int64.random(in: 1...900, using: &rng))
            let who = ["alice", "bob", "carol"].randomElement(using: &rng)!
            let choice = Int.random(in: 0..<9, using: &rng)
            do {
                switch choice {
                case 0, 1:
                    let name = ["security-scan", "perf"].randomElement(using: &rng)!
                    try s.record(
                        "ci", a, .check(.init(check: name, result: Bool.random(using: &rng) ? .pass : .fail)))
                case 2:
                    try s.record(
                        "ci", a, .incident(.init(environment: "staging", incident: "INC-\(step % 3)", state: .open)))
                case 3:
                    try s.record(
                        "ci", a, .incident(.init(environment: "staging", incident: "INC-\(step % 3)", state: .resolved))
                    )
                case 4, 5:
                    try s.record(
                        who, a,
                        .approved(.init(environment: "production", breakGlass: Bool.random(using: &rng) ? true : nil)))
                case 6: try s.record(who, a, .withdrawn(.init(environment: "production")))
                case 7: try s.record("ci", a, .deployed(.init(environment: "staging")))
                default: try s.record("ci", b, .check(.init(check: "perf", result: .pass)))
                }
            } catch is LedgerError {
                continue  // refused (nothing to withdraw, incident not open…): the history is unchanged
            }
            let size = try s.ledger.treeSize()
            let now = try s.ledger.ledgerTime()
            let live = try s.ledger.queries.gate(
                digest: a, repository: Scenario.repository, environment: "production", at: now)
            // An unrelated entry, so that `before: size` reads the full history of `a`.
            try s.enroll("monitor\(step)", roles: [.monitor])
            let full = try s.ledger.queries.gate(
                digest: a, repository: Scenario.repository, environment: "production", before: size, at: now)
            #expect(live == full, "seed \(seed), step \(step)")
            let glassLive = try s.ledger.queries.gate(
                digest: a, repository: Scenario.repository, environment: "production", at: now, promoter: who)
            let glassFull = try s.ledger.queries.gate(
                digest: a, repository: Scenario.repository, environment: "production", before: size, at: now,
                promoter: who)
            #expect(glassLive == glassFull, "seed \(seed), step \(step)")
        }
    }
}
