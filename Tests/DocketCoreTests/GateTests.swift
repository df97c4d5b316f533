import Foundation
import Testing

@testable import DocketCore

/// DESIGN.md §5, rule by rule, with the clock injected.
@Suite("Gate rules")
struct GateTests {
    static let policy = """
        environments:
          - name: staging
          - name: production
            from: staging
            soak: 1h
            approvals:
              min: 2
              roles: [approver]
              maxAge: 72h
              separationOfDuties: true
            checks: [security-scan]
            breakGlass: true
          - name: dr
            from: production
            approvals:
              min: 1
        """

    let a = digest("a")
    let b = digest("b")

    /// Built, deployed to staging, check passed, soaked: everything but approvals.
    func ready() throws -> Scenario {
        let s = try Scenario(policy: Self.policy)
        try s.record("ci", a, .built(.init()))
        try s.record("ci", a, .deployed(.init(environment: "staging")))
        try s.record("ci", a, .check(.init(check: "security-scan", result: .pass)))
        s.clock.advance(seconds: 3600)
        return s
    }

    func approve(_ s: Scenario, _ who: String..., env: String = "production", image: Digest? = nil) throws {
        for name in who { try s.record(name, image ?? a, .approved(.init(environment: env))) }
    }

    @Test("All rules pass: eligible, and promote appends")
    func eligible() throws {
        let s = try ready()
        try approve(s, "alice", "bob")
        let verdict = try s.gate(a, "production")
        #expect(verdict.eligible, "\(verdict.rules)")
        #expect(
            verdict.rules.map(\.rule) == [
                "built", "from", "incidents", "soak", "approvals", "checks", "freeze", "current",
            ])
        let receipt = try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        #expect(
            try s.ledger.queries.current(environment: "production", repository: Scenario.repository)?.index
                == receipt.index)
        // Now current there: the gate says so, as promote does (issue 30, item 14).
        let again = try s.gate(a, "production")
        #expect(!again.eligible && again.failedRules == ["current"], "\(again.rules)")
        #expect(again.rules.last?.reason.contains("already current in production since entry \(receipt.index)") == true)
        #expect(throws: LedgerError.self) {
            try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        }
    }

    @Test("Not built: the provenance rule fails")
    func notBuilt() throws {
        let s = try Scenario(policy: Self.policy)
        try s.record("ci", b, .deployed(.init(environment: "staging")))
        let verdict = try s.gate(b, "production")
        #expect(s.rule(verdict, "built")?.passed == false)
        #expect(s.rule(verdict, "built")?.reason.contains("docket record built") == true)
    }

    @Test("A digest no longer current in the from environment fails `from` and `soak`")
    func notCurrent() throws {
        let s = try ready()
        try approve(s, "alice", "bob")
        try s.record("ci", b, .built(.init()))
        try s.record("ci", b, .deployed(.init(environment: "staging")))
        let verdict = try s.gate(a, "production")
        #expect(s.rule(verdict, "from")?.passed == false)
        #expect(s.rule(verdict, "from")?.reason.contains("registry.example/app runs sha256:bbbbbbbbbbbb there") == true)
        #expect(s.rule(verdict, "soak")?.passed == false)
    }

    @Test("Soak: fails with the eligible time, passes after it")
    func soak() throws {
        let s = try Scenario(policy: Self.policy)
        try s.record("ci", a, .built(.init()))
        let arrival = try s.record("ci", a, .deployed(.init(environment: "staging")))
        try s.record("ci", a, .check(.init(check: "security-scan", result: .pass)))
        try approve(s, "alice", "bob")
        s.clock.advance(seconds: 1800)
        let early = try s.gate(a, "production")
        let expected = Timestamp(rfc3339: arrival.integratedTime)!.adding(seconds: 3600).rfc3339
        #expect(early.failedRules == ["soak"])
        #expect(early.eligibleAt == expected)
        #expect(s.rule(early, "soak")?.reason.contains("of 1h") == true)
        s.clock.advance(seconds: 1801)
        #expect(try s.gate(a, "production").eligible)
    }

    @Test("An incident blocks while open, voids earlier approvals, and restarts the soak when resolved")
    func incident() throws {
        let s = try ready()
        try approve(s, "alice", "bob")
        #expect(try s.gate(a, "production").eligible)
        try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-1", state: .open)))
        let open = try s.gate(a, "production")
        #expect(s.rule(open, "incidents")?.passed == false)
        #expect(s.rule(open, "approvals")?.passed == false)
        #expect(s.rule(open, "approvals")?.reason.contains("before the incident") == true)
        s.clock.advance(seconds: 600)
        try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-1", state: .resolved)))
        try approve(s, "alice", "bob")
        let resolved = try s.gate(a, "production")
        #expect(resolved.failedRules == ["soak"], "\(resolved.rules)")
        #expect(s.rule(resolved, "soak")?.reason.contains("counted from the incident resolved") == true)
        s.clock.advance(seconds: 3600)
        #expect(try s.gate(a, "production").eligible)
    }

    @Test("An incident in any environment blocks")
    func incidentElsewhere() throws {
        let s = try ready()
        try approve(s, "alice", "bob")
        try s.record("ci", a, .incident(.init(environment: "dr", incident: "INC-9", state: .open)))
        #expect(try s.gate(a, "production").failedRules.contains("incidents"))
    }

    @Test(
        "An incident is (digest, environment, id): one INC-1 against two digests, resolved for one, open for the other")
    func incidentIdentity() throws {
        let s = try ready()
        try s.record("ci", b, .built(.init()))
        for image in [a, b] {
            try s.record("ci", image, .incident(.init(environment: "production", incident: "INC-1", state: .open)))
        }
        try s.record("ci", a, .incident(.init(environment: "production", incident: "INC-1", state: .resolved)))
        #expect(try s.gate(a, "production").failedRules.contains("incidents") == false)
        let other = try s.gate(b, "production")
        #expect(s.rule(other, "incidents")?.passed == false)
        #expect(s.rule(other, "incidents")?.reason.contains("INC-1") == true, "\(other.rules)")
        // Resolving it again for a, where it is no longer open, is refused: its identity includes the digest.
        #expect(throws: LedgerError.self) {
            try s.record("ci", a, .incident(.init(environment: "production", incident: "INC-1", state: .resolved)))
        }
    }

    @Test("Approvals for another digest or another environment do not count")
    func approvalScope() throws {
        let s = try ready()
        try s.record("ci", b, .built(.init()))
        try approve(s, "alice", image: b)
        try approve(s, "bob", env: "dr")
        let verdict = try s.gate(a, "production")
        #expect(s.rule(verdict, "approvals")?.reason.contains("needs 2 more approvals") == true)
    }

    @Test("Separation of duties: the builder/deployer and the promoter do not count")
    func separationOfDuties() throws {
        let s = try Scenario(policy: Self.policy)
        try s.record("carol", a, .built(.init()))  // carol holds ci and approver
        try s.record("ci", a, .deployed(.init(environment: "staging")))
        try s.record("ci", a, .check(.init(check: "security-scan", result: .pass)))
        s.clock.advance(seconds: 3600)
        try approve(s, "carol", "alice")
        let verdict = try s.gate(a, "production")
        #expect(s.rule(verdict, "approvals")?.passed == false)
        #expect(s.rule(verdict, "approvals")?.reason.contains("carol@example.com: built or deployed") == true)
        try approve(s, "bob")
        #expect(try s.gate(a, "production").eligible)
        let asPromoter = try s.gate(a, "production", promoter: "bob@example.com")
        #expect(s.rule(asPromoter, "approvals")?.reason.contains("is the promoter") == true)
    }

    @Test("Expired, too old, and withdrawn approvals do not count")
    func approvalLifetime() throws {
        let s = try ready()
        let soon = s.clock.now().adding(seconds: 60).rfc3339
        try s.record("alice", a, .approved(.init(environment: "production", expiresAt: soon)))
        try approve(s, "bob")
        #expect(try s.gate(a, "production").eligible)
        s.clock.advance(seconds: 61)
        let expired = try s.gate(a, "production")
        #expect(s.rule(expired, "approvals")?.reason.contains("alice@example.com: expired") == true)
        try approve(s, "alice")
        try s.record("bob", a, .withdrawn(.init(environment: "production")))
        let withdrawn = try s.gate(a, "production")
        #expect(s.rule(withdrawn, "approvals")?.reason.contains("needs 1 more approval") == true)
        try approve(s, "bob")
        s.clock.advance(seconds: 72 * 3600)
        let old = try s.gate(a, "production")
        #expect(s.rule(old, "approvals")?.reason.contains("older than 3d") == true)
    }

    @Test("An approval signed with a revoked key is refused and never counts; roles outside the rule do not count")
    func revokedAndRoles() throws {
        let s = try ready()
        let bob = s.keys["bob"]!
        let late = try s.envelope(
            "bob", subject: Scenario.repository, digest: a.hex, .approved(.init(environment: "production")))
        try s.append(
            "admin", subject: bob.identity, digest: SHA256.hash(bob.key.publicKey.raw).hex,
            .keyRevoked(.init(identity: bob.identity, publicKey: bob.key.publicKey.base64, reason: "left")))
        #expect(throws: LedgerError.self) { try s.ledger.append(late, source: "late approval") }
        try approve(s, "alice")
        let verdict = try s.gate(a, "production")
        #expect(s.rule(verdict, "approvals")?.passed == false)
        // With `identities`, only the named people count, whatever their roles.
        let named = try Scenario(
            policy: Self.policy.replacingOccurrences(
                of: "roles: [approver]", with: "identities: [alice@example.com, carol@example.com]"))
        try named.record("ci", a, .built(.init()))
        try named.record("ci", a, .deployed(.init(environment: "staging")))
        try named.record("ci", a, .check(.init(check: "security-scan", result: .pass)))
        named.clock.advance(seconds: 3600)
        try approve(named, "alice", "bob")
        let byName = try named.gate(a, "production")
        #expect(
            named.rule(byName, "approvals")?.reason.contains(
                "bob@example.com: not identity alice@example.com or identity carol@example.com") == true)
        try approve(named, "carol")
        #expect(try named.gate(a, "production").eligible)
    }

    @Test("A failed required check followed by a passing one passes; the reverse fails")
    func checks() throws {
        let s = try ready()
        try approve(s, "alice", "bob")
        try s.record("ci", a, .check(.init(check: "security-scan", result: .fail)))
        let failed = try s.gate(a, "production")
        #expect(s.rule(failed, "checks")?.reason.contains("security-scan failed") == true)
        try s.record("ci", a, .check(.init(check: "security-scan", result: .pass)))
        #expect(try s.gate(a, "production").eligible)
    }

    @Test("Promotion is refused when the gate fails; break-glass only where the policy allows it")
    func promotionAndBreakGlass() throws {
        let s = try ready()
        let size = try s.ledger.treeSize()
        let refused = #expect(throws: LedgerError.self) {
            try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        }
        guard case .gateRefused(let verdict)? = refused else {
            Issue.record("expected a gate refusal")
            return
        }
        #expect(verdict.failedRules == ["approvals"])
        #expect(try s.ledger.treeSize() == size)
        let glass = try s.record(
            "rel", a,
            .promoted(
                .init(
                    from: "staging", to: "production",
                    breakGlass: .init(reason: "CVE fix", failedRules: ["approvals"]))))
        #expect(
            try s.ledger.queries.current(environment: "production", repository: Scenario.repository)?.index
                == glass.index)
        // dr does not allow break-glass.
        let error = #expect(throws: LedgerError.self) {
            try s.record(
                "rel", a,
                .promoted(.init(from: "production", to: "dr", breakGlass: .init(reason: "x", failedRules: []))))
        }
        _ = error
        let report = try Verifier.verify(ledger: s.ledger, options: .init())
        #expect(report.ok)
        #expect(report.breakGlass.map(\.reason) == ["CVE fix"])
    }

    @Test("Rollback restores the previous digest, lists valid targets, and voids earlier approvals of the digest left")
    func rollback() throws {
        let s = try ready()
        try approve(s, "alice", "bob")
        try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        try s.record("ci", b, .built(.init()))
        try s.record("ci", b, .deployed(.init(environment: "staging")))
        try s.record("ci", b, .check(.init(check: "security-scan", result: .pass)))
        s.clock.advance(seconds: 3600)
        try approve(s, "alice", "bob", image: b)
        try s.record("rel", b, .promoted(.init(from: "staging", to: "production")))
        #expect(
            try s.ledger.queries.rollbackTargets(
                environment: "production", repository: Scenario.repository, excludingRolledBack: true
            ).first?.digest == a)
        let c = digest("c")
        let bad = #expect(throws: LedgerError.self) {
            try s.record("rel", c, .rolledBack(.init(environment: "production", from: b.description, reason: "x")))
        }
        #expect("\(bad!)".contains("valid rollback targets: \(a.description)"))
        try s.record("rel", a, .rolledBack(.init(environment: "production", from: b.description, reason: "errors")))
        #expect(try s.ledger.queries.current(environment: "production", repository: Scenario.repository)?.digest == a)
        // Staging still runs b; its approvals for production were given before the rollback.
        let verdict = try s.gate(b, "production")
        #expect(s.rule(verdict, "approvals")?.reason.contains("before the rollback") == true)
        // The default target now skips b, which was rolled back from.
        #expect(
            try s.ledger.queries.rollbackTargets(
                environment: "production", repository: Scenario.repository, excludingRolledBack: true
            ).isEmpty)
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
    }

    @Test("A deploy to a gated environment of a digest never promoted there is drift")
    func drift() throws {
        let s = try ready()
        try s.record("ci", b, .built(.init()))
        try s.record("ci", b, .deployed(.init(environment: "production")))
        let status = try s.ledger.queries.status()
        let production = try #require(status.services.first { $0.environment == "production" })
        #expect(production.current == nil)
        #expect(production.drift.map(\.digest) == [b.description])
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).drift.count == 1)
    }

    @Test("gate --at: the verdict as of an earlier entry")
    func replayGate() throws {
        let s = try ready()
        try approve(s, "alice")
        let before = try s.ledger.treeSize() - 1
        try approve(s, "bob")
        // `--at N` (parsed by the CLI): the entries up to N, at N's ledger time.
        let time = try #require(try s.ledger.entry(at: before)).integratedTime
        let then = try s.ledger.queries.gate(
            digest: a, repository: Scenario.repository, environment: "production", before: before + 1, at: time)
        #expect(then.failedRules.contains("approvals"))
        #expect(try s.gate(a, "production").eligible)
        let status = try s.ledger.queries.status(before: 4)
        #expect(status.asOfIndex == 3)
        #expect(status.services.allSatisfy { $0.current == nil })
    }

    @Test("No policy, unknown environment, and an entry environment give actionable verdicts")
    func degenerate() throws {
        let none = try Scenario()
        #expect(try none.gate(a, "production").rules.first?.reason.contains("docket policy set") == true)
        let s = try ready()
        #expect(try s.gate(a, "qa").rules.first?.reason.contains("environments are staging, production, dr") == true)
        #expect(try s.gate(a, "staging").rules.first?.reason.contains("has no gate") == true)
    }
}

@Suite("Policy parsing")
struct PolicyTests {
    @Test(
        "Errors name the field and line",
        arguments: [
            (
                "environments:\n  - name: staging\n  - name: prod\n    from: staging\n    soak: 3 days\n",
                "environments[1].soak", 5
            ),
            ("environments:\n  - name: staging\n  - name: prod\n    from: qa\n", "unknown environment `qa`", 4),
            ("environments:\n  - name: staging\n    colour: blue\n", "unknown field `colour`", 3),
            ("environments:\n  - name: a\n    from: b\n  - name: b\n    from: a\n", "promotion cycle", 3),
            (
                "environments:\n  - name: s\n  - name: p\n    from: s\n    approvals:\n      min: 0\n", "approvals.min",
                6
            ),
            (
                "environments:\n  - name: s\n  - name: p\n    from: s\n    approvals:\n      min: 1\n      roles: [boss]\n",
                "unknown role `boss`", 7
            ),
            ("environments: [\n", "not valid YAML or JSON", nil),
        ] as [(String, String, Int?)])
    func errors(text: String, expected: String, line: Int?) throws {
        let error = #expect(throws: PolicyError.self) { try Policy(parsing: text, source: "p.yaml") }
        #expect("\(error!)".contains(expected), "\(error!)")
        if let line { #expect(error?.line == line, "\(error!)") }
    }

    @Test("JSON policies parse the same as YAML, and the document hash is stable")
    func json() throws {
        let yaml = try Policy(parsing: GateTests.policy, source: "y")
        let json = try Policy(parsing: String(decoding: yaml.document.canonicalData, as: UTF8.self), source: "j")
        #expect(json.pipelines == yaml.pipelines)
        #expect(json.document == yaml.document, "\(json.document) vs \(yaml.document)")
        #expect(json.documentHash == yaml.documentHash)
        let app = try Repository(normalized: Scenario.repository)
        #expect(yaml.environment("production", repository: app)?.approvals?.maxAge?.seconds == Int64(259_200))
        #expect(PolicyDuration(parsing: "1h30m")?.seconds == 5400)
        #expect(PolicyDuration(parsing: "h") == nil)
    }
}

@Suite("Review findings")
struct ReviewFindingTests {
    let a = digest("a"), b = digest("b"), c = digest("c")

    func promotedTwice() throws -> Scenario {
        let s = try Scenario(
            policy:
                "environments:\n  - name: staging\n  - name: production\n    from: staging\n    breakGlass: true\n    approvals:\n      min: 1\n"
        )
        for image in [a, b] {
            try s.record("ci", image, .built(.init()))
            try s.record("ci", image, .deployed(.init(environment: "staging")))
            try s.record("alice", image, .approved(.init(environment: "production")))
            try s.record("rel", image, .promoted(.init(from: "staging", to: "production")))
        }
        return s
    }

    @Test("A signed payload with a repeated key is refused: verifiers disagree on which one counts")
    func duplicateKeys() throws {
        let s = try Scenario()
        let statement = try Statement.make(
            subjectName: Scenario.repository, subjectDigest: a.hex, ledger: s.origin, ledgerID: try s.ledger.ledgerID(),
            predicate: .deployed(.init(environment: "staging")))
        var text = String(decoding: statement.encoded(), as: UTF8.self)
        text = text.replacingOccurrences(
            of: "\"environment\":\"staging\"", with: "\"environment\":\"staging\",\"environment\":\"production\"")
        let envelope = Envelope.sign(payload: Data(text.utf8), with: s.keys["ci"]!.key)
        let error = #expect(throws: ModelError.self) { try s.ledger.append(envelope.compactJSON, source: "dup") }
        #expect("\(error!)".contains("repeats a key"))
        #expect(throws: StrictJSON.Failure.self) { try StrictJSON.parse(Data(#"{"a":1,"\u0061":2}"#.utf8)) }
        #expect((try? StrictJSON.parse(Data(#"{"a":{"a":1},"b":["a","a"]}"#.utf8))) != nil)
    }

    @Test("Break-glass must name exactly the failing rules, and is refused when the gate passes")
    func breakGlassClaims() throws {
        let s = try promotedTwice()
        try s.record("ci", c, .built(.init()))
        try s.record("ci", c, .deployed(.init(environment: "staging")))
        let lying = #expect(throws: LedgerError.self) {
            try s.record(
                "rel", c,
                .promoted(.init(from: "staging", to: "production", breakGlass: .init(reason: "x", failedRules: []))))
        }
        #expect("\(lying!)".contains("rules failing now are [approvals]"))
        try s.record("alice", c, .approved(.init(environment: "production")))
        let needless = #expect(throws: LedgerError.self) {
            try s.record(
                "rel", c,
                .promoted(
                    .init(from: "staging", to: "production", breakGlass: .init(reason: "x", failedRules: ["approvals"]))
                ))
        }
        #expect("\(needless!)".contains("the gate passes"))
    }

    @Test("The default rollback target is the previous digest, even one rolled back from and promoted again since")
    func rollbackAfterRepromotion() throws {
        let s = try promotedTwice()  // production: a, then b
        try s.record("rel", a, .rolledBack(.init(environment: "production", from: b.description, reason: "bad")))
        s.clock.advance(seconds: 1)  // an approval counts only if signed after the rollback
        try s.record("alice", b, .approved(.init(environment: "production")))
        try s.record("rel", b, .promoted(.init(from: "staging", to: "production")))  // b fixed and promoted again
        #expect(
            try s.ledger.queries.rollbackTargets(
                environment: "production", repository: Scenario.repository, excludingRolledBack: true
            ).first?.digest == a)
        try s.record("ci", c, .built(.init()))
        try s.record("ci", c, .deployed(.init(environment: "staging")))
        try s.record("alice", c, .approved(.init(environment: "production")))
        try s.record("rel", c, .promoted(.init(from: "staging", to: "production")))
        #expect(
            try s.ledger.queries.rollbackTargets(
                environment: "production", repository: Scenario.repository, excludingRolledBack: true
            ).first?.digest == b)
        let current = #expect(throws: LedgerError.self) {
            try s.record("rel", c, .rolledBack(.init(environment: "production", from: c.description, reason: "x")))
        }
        #expect("\(current!)".contains("already current"))
    }

    @Test("Drift is an observation of anything but the current digest; it stands until settled")
    func driftRule() throws {
        let s = try promotedTwice()  // production: a, then b
        try s.record("ci", a, .deployed(.init(environment: "production")))  // promoted there before, not current
        try s.record("ci", c, .built(.init()))
        try s.record("ci", c, .deployed(.init(environment: "production")))  // never promoted there
        let drift = try s.ledger.queries.status().services.flatMap(\.drift)
        #expect(drift.map(\.digest) == [a.description, c.description])
        #expect(drift.allSatisfy { $0.currentDigest == b.description })
        // An observation of the current digest settles it; the fact stays in the history.
        let settled = try s.record("ci", b, .deployed(.init(environment: "production")))
        #expect(try s.ledger.queries.status().services.flatMap(\.drift).isEmpty)
        #expect(try s.ledger.queries.drift().map(\.settledIndex) == [settled.index, settled.index])
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
    }

    @Test("Huge durations and far-future times are refused instead of overflowing")
    func overflow() throws {
        #expect(PolicyDuration(parsing: String(repeating: "12725829d", count: 8400)) == nil)
        #expect(PolicyDuration(parsing: "36500d") != nil)
        #expect(Timestamp(lenient: "10240-08-19T00:00:00Z") == nil)
        // Signed times are read as the independent verifier reads them: 1970 to 9999, `T`/`Z` upper case, ±HH:MM.
        for refused in [
            "0000-12-06T15:29:07.051Z", "1969-12-31T23:59:59Z", "2026-01-01t00:00:00z", "2026-01-01T00:00:00+0100",
            "2026-01-01T00:00:00", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z",
        ] {
            #expect(Timestamp(lenient: refused) == nil, "\(refused)")
        }
        #expect(Timestamp(lenient: "2026-01-01T01:00:00.1234+01:00") == Timestamp(lenient: "2026-01-01T00:00:00.123Z"))
        #expect(Timestamp(lenient: "9999-12-31T23:59:59.999Z") != nil)
        #expect(Timestamp(milliseconds: Int64.max - 5).adding(seconds: 1000).milliseconds > 0)
        #expect(throws: PolicyError.self) {
            try Policy(
                parsing: "environments:\n  - name: s\n  - name: p\n    from: s\n    soak: 99999999999d\n", source: "p")
        }
    }
}

@Suite("Events must refer to something")
struct ReferenceTests {
    @Test("Resolving an incident that is not open, opening one twice, or withdrawing nothing is refused")
    func references() throws {
        let s = try Scenario(policy: "environments:\n  - name: staging\n  - name: production\n    from: staging\n")
        let a = digest("a")
        try s.record("ci", a, .built(.init()))
        let resolveNothing = #expect(throws: LedgerError.self) {
            try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-9", state: .resolved)))
        }
        #expect("\(resolveNothing!)".contains("not open"))
        try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-9", state: .open)))
        #expect(throws: LedgerError.self) {
            try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-9", state: .open)))
        }
        try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-9", state: .resolved)))
        let withdrawNothing = #expect(throws: LedgerError.self) {
            try s.record("alice", a, .withdrawn(.init(environment: "production")))
        }
        #expect("\(withdrawNothing!)".contains("no standing approval"))
        try s.record("alice", a, .approved(.init(environment: "production")))
        try s.record("alice", a, .withdrawn(.init(environment: "production")))
        #expect(throws: LedgerError.self) { try s.record("alice", a, .withdrawn(.init(environment: "production"))) }
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
    }
}
