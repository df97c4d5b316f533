import Foundation
import Testing

@testable import DocketCore

/// The one append pipeline: what `promote` decided live is what `verify` decides when it replays the entries.
@Suite("Append pipeline")
struct PipelineTests {
    let a = digest("a")
    let b = digest("b")
    let c = digest("c")

    /// A promotion's live verdict (the gate at that index, at that ledger time, for that promoter), then the
    /// promotion itself: plain when the gate passes, break-glass naming the failed rules when it does not.
    @discardableResult
    static func promote(
        _ s: Scenario, _ image: Digest, to env: String = "production", repository: String = Scenario.repository
    ) throws -> (Int, GateVerdict) {
        let index = try s.ledger.treeSize()
        let live = try s.ledger.queries.gate(
            digest: image, repository: repository, environment: env, before: index,
            at: try s.ledger.ledgerTime(),
            promoter: "rel@example.com")
        let glass = live.eligible ? nil : Predicates.BreakGlass(reason: "hotfix", failedRules: live.failedRules)
        let receipt = try s.record(
            "rel", image, .promoted(.init(from: "staging", to: env, breakGlass: glass)), repository: repository)
        #expect(receipt.index == index)
        return (index, live)
    }

    /// The live verdict alone, without promoting.
    static func promote(_ s: Scenario, _ image: Digest, to env: String, dryRun: Bool) throws -> GateVerdict {
        try s.ledger.queries.gate(
            digest: image, repository: Scenario.repository, environment: env, before: try s.ledger.treeSize(),
            at: try s.ledger.ledgerTime(),
            promoter: "rel@example.com")
    }

    /// Approvals of `image` for production.
    static func approve(_ s: Scenario, _ image: Digest, by names: String...) throws {
        for name in names { try s.record(name, image, .approved(.init(environment: "production"))) }
    }

    /// Built, deployed to staging, check passed, soaked.
    static func ready(_ s: Scenario, _ image: Digest) throws {
        try s.record("ci", image, .built(.init()))
        try s.record("ci", image, .deployed(.init(environment: "staging")))
        try s.record("ci", image, .check(.init(check: "security-scan", result: .pass)))
        s.clock.advance(seconds: 3600)
    }

    /// Two services under two pipelines: approval rules with teams (changed by a `key-updated` in between), a
    /// freeze that blocks and then lets through, and a break-glass approved by someone else.
    static func organisation(_ t: PipelineTests) throws -> (Scenario, [(Int, GateVerdict)]) {
        let (payments, tool) = (OrganisationTests.payments, OrganisationTests.tool)
        let s = try Scenario()
        s.clock.set(Timestamp(lenient: "2026-03-27T12:00:00Z")!)  // a Friday, before the weekend freeze
        try s.enroll("sec", roles: [.approver], teams: ["security"])
        try s.setPolicy(
            OrganisationTests.policy.replacingOccurrences(
                of: "        checks: [security-scan]\n",
                with:
                    "        checks: [security-scan]\n        freeze:\n          - {weekly: {from: 'Fri 16:00', to: 'Mon 08:00'}, timeZone: Europe/Berlin, reason: weekend}\n"
            ))
        func stage(_ image: Digest, _ repository: String) throws {
            try s.record("ci", image, .built(.init()), repository: repository)
            try s.record("ci", image, .deployed(.init(environment: "staging")), repository: repository)
            try s.record("ci", image, .check(.init(check: "security-scan", result: .pass)), repository: repository)
        }
        try stage(t.a, payments)
        try stage(t.c, tool)
        s.clock.advance(seconds: 3601)
        for name in ["alice", "bob", "sec"] {
            try s.record(name, t.a, .approved(.init(environment: "production")), repository: payments)
        }
        try s.update("sec", roles: [.approver], teams: [])  // after approving: the approval keeps its team
        let first = try promote(s, t.a, repository: payments)
        #expect(first.1.eligible, "\(first.1.rules)")
        try s.record("alice", t.c, .approved(.init(environment: "production")), repository: tool)
        let toolPromotion = try promote(s, t.c, repository: tool)
        try stage(t.b, payments)
        s.clock.set(Timestamp(lenient: "2026-03-27T15:30:00Z")!)  // 16:30 in Berlin: frozen
        try s.record("sec", t.b, .approved(.init(environment: "production", breakGlass: true)), repository: payments)
        let glass = try promote(s, t.b, repository: payments)
        #expect(glass.1.failedRules == ["approvals", "freeze"])
        return (s, [first, toolPromotion, glass])
    }

    /// Stories, each returning its promotions with the verdicts the live gate gave.
    static let stories: [(String, @Sendable (PipelineTests) throws -> (Scenario, [(Int, GateVerdict)]))] = [
        (
            "plain",
            { t in
                let s = try Scenario(policy: GateTests.policy)
                try ready(s, t.a)
                try approve(s, t.a, by: "alice", "bob")
                return (s, [try promote(s, t.a)])
            }
        ),
        (
            "break-glass",
            { t in
                let s = try Scenario(policy: GateTests.policy)
                try ready(s, t.a)
                try approve(s, t.a, by: "alice")
                let promotion = try promote(s, t.a)
                #expect(promotion.1.failedRules == ["approvals"])
                return (s, [promotion])
            }
        ),
        (
            "policy changed in between",
            { t in
                let s = try Scenario(policy: GateTests.policy)
                try ready(s, t.a)
                try approve(s, t.a, by: "alice", "bob")
                let first = try promote(s, t.a)
                try s.setPolicy(
                    GateTests.policy.replacingOccurrences(of: "min: 2", with: "min: 1").replacingOccurrences(
                        of: "soak: 1h", with: "soak: 2h"))
                try ready(s, t.b)
                try s.record("carol", t.b, .approved(.init(environment: "production")))
                let second = try promote(s, t.b)  // under the new policy: soak 1h of 2h, break-glass
                s.clock.advance(seconds: 3600)
                try s.record("ci", t.a, .deployed(.init(environment: "staging")))
                try approve(s, t.a, by: "alice")
                #expect(first.1.policyIndex != second.1.policyIndex)
                return (s, [first, second])
            }
        ),
        (
            "approvals expired",
            { t in
                let s = try Scenario(policy: GateTests.policy)
                try ready(s, t.a)
                try approve(s, t.a, by: "alice", "bob")
                s.clock.advance(seconds: 73 * 3600)
                let promotion = try promote(s, t.a)
                #expect(promotion.1.rules.first { $0.rule == "approvals" }?.reason.contains("older than") == true)
                return (s, [promotion])
            }
        ),
        (
            "incident then resolution",
            { t in
                let s = try Scenario(policy: GateTests.policy)
                try ready(s, t.a)
                try approve(s, t.a, by: "alice", "bob")
                try s.record("ci", t.a, .incident(.init(environment: "staging", incident: "INC-1", state: .open)))
                try s.record("ci", t.a, .incident(.init(environment: "staging", incident: "INC-1", state: .resolved)))
                let resolved = try promote(s, t.a, to: "production", dryRun: true)
                #expect(resolved.failedRules.contains("soak") && resolved.failedRules.contains("approvals"))
                s.clock.advance(seconds: 3600)
                try approve(s, t.a, by: "alice", "bob")
                let after = try promote(s, t.a)
                #expect(after.1.eligible)
                return (s, [after])
            }
        ),
        ("organisation", { t in try organisation(t) }),
    ]

    /// Each story twice: with the replay's window of recent events, and with a window of one event, so the gate's
    /// facts are read back from the ledger file (the scratch copy keeps no entry bytes).
    @Test(
        "Replay reaches the verdict the live gate gave, for every promotion",
        arguments: 0..<stories.count, [4096, 1])
    func replayMatchesLive(_ story: Int, window: Int) throws {
        let (name, tell) = Self.stories[story]
        let (s, promotions) = try tell(self)
        let replay = try Verifier.replay(
            ledger: s.ledger, options: .init(), keepingVerdicts: true, eventWindow: window)
        #expect(replay.report.ok, "\(name): \(replay.report.problems)")
        #expect(replay.report.promotionsChecked == promotions.count)
        for (index, live) in promotions {
            #expect(replay.verdicts[index] == live, "\(name): entry \(index)")
        }
    }
}
