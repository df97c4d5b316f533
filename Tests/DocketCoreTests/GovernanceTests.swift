import Foundation
import Testing

@testable import DocketCore

/// Issue 10, item 4: the ledger can always revoke a leaked key, and a stolen key's approvals can be voided.
@Suite("Governance")
struct GovernanceTests {
    let a = digest("a")

    @Test("The last unrevoked admin key cannot be revoked or lose the admin role; with a second admin it can")
    func lastAdmin() throws {
        let s = try Scenario()
        let before = try s.ledger.treeSize()
        var error = #expect(throws: LedgerError.self) { try s.revoke("admin") }
        #expect("\(error!)".contains("last unrevoked admin key"), "\(error!)")
        error = #expect(throws: LedgerError.self) { try s.update("admin", roles: [.approver], teams: []) }
        #expect("\(error!)".contains("last unrevoked admin key"), "\(error!)")
        #expect(try s.ledger.treeSize() == before)
        try s.enroll("root", roles: [.admin])
        try s.update("admin", roles: [.approver], teams: [])
        // Now root is the last admin: it cannot revoke itself.
        error = #expect(throws: LedgerError.self) { try s.revoke("root", by: "root") }
        #expect("\(error!)".contains("root@example.com is the last unrevoked admin key"), "\(error!)")
        try s.enroll("second", roles: [.admin], by: "root")
        try s.revoke("root", by: "second")
        #expect(try s.ledger.queries.keys().filter { $0.revokedIndex == nil && $0.roles.contains(.admin) }.count == 1)
    }

    @Test("`--void-approvals`: a revoked key's standing approvals stop counting from the revocation on")
    func voidApprovals() throws {
        for void in [false, true] {
            let s = try Scenario(policy: GateTests.policy)
            try s.record("ci", a, .built(.init()))
            try s.record("ci", a, .deployed(.init(environment: "staging")))
            try s.record("ci", a, .check(.init(check: "security-scan", result: .pass)))
            s.clock.advance(seconds: 3600)
            try s.record("alice", a, .approved(.init(environment: "production")))
            try s.record("bob", a, .approved(.init(environment: "production")))
            let approvedAt = try s.ledger.treeSize()
            #expect(try s.gate(a, "production").eligible)
            try s.revoke("bob", reason: "laptop stolen", voidApprovals: void)
            let verdict = try s.gate(a, "production")
            #expect(verdict.eligible == !void, "\(verdict)")
            if void {
                #expect(s.rule(verdict, "approvals")?.reason.contains("with its approvals voided") == true)
                // As of before the revocation, the approval still counted.
                let earlier = try s.ledger.queries.gate(
                    digest: a, repository: Scenario.repository, environment: "production", before: approvedAt,
                    at: s.clock.now())
                #expect(earlier.eligible)
                let error = #expect(throws: LedgerError.self) {
                    try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
                }
                #expect("\(error!)".contains("not eligible"), "\(error!)")
            } else {
                try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
            }
            let report = try Verifier.verify(ledger: s.ledger, options: .init())
            #expect(report.ok, "\(report.problems)")
        }
    }
}
