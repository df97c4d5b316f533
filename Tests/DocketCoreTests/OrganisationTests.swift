import Foundation
import Testing

@testable import DocketCore

/// One ledger for an organisation (issue 9, docs/organisation.md): services, pipelines, approval rules and
/// teams, freeze windows, break-glass limits, rollback and drift per service, the ledger's identity.
@Suite("One ledger for an organisation")
struct OrganisationTests {
    static let payments = "registry.example/payments"
    static let tool = "registry.example/tools/lint"

    /// The seed's two examples as two pipelines (DESIGN.md §5), with a soak kept short for tests.
    static let policy = """
        maxSubmitDelay: 4d  # the maxAge test submits an approval signed 71h earlier
        pipelines:
          - name: internal-tools
            repositories: ['registry.example/tools/*']
            environments:
              - name: staging
              - name: production
                from: staging
                approvals: {min: 1, roles: [approver]}
          - name: payments
            repositories: ['registry.example/payments', 'registry.example/payments-*']
            environments:
              - name: staging
              - name: production
                from: staging
                soak: 1h
                approvals:
                  rules:
                    - {name: engineering, min: 2, roles: [approver]}
                    - {name: security, min: 1, teams: [security]}
                  maxAge: 72h
                  separationOfDuties: true
                  distinct: true
                checks: [security-scan]
                breakGlass: {allow: [soak, approvals, checks, freeze], approvals: 1}
                rollback: {plan: 'page #payments-oncall'}
        """

    let a = digest("a"), b = digest("b"), c = digest("c"), t = digest("7")

    func organisation() throws -> Scenario {
        let s = try Scenario()
        try s.enroll("sec", roles: [.approver], teams: ["security"])
        try s.setPolicy(Self.policy)
        return s
    }

    /// Built, deployed to staging, scanned: the payments digest needs only soak and approvals.
    func staged(_ s: Scenario, _ image: Digest, repository: String = payments) throws {
        try s.record("ci", image, .built(.init()), repository: repository)
        try s.record("ci", image, .deployed(.init(environment: "staging")), repository: repository)
        try s.record("ci", image, .check(.init(check: "security-scan", result: .pass)), repository: repository)
    }

    func approve(_ s: Scenario, _ image: Digest, _ names: String..., breakGlass: Bool = false) throws {
        for name in names {
            try s.record(
                name, image, .approved(.init(environment: "production", breakGlass: breakGlass ? true : nil)),
                repository: Self.payments)
        }
    }

    func promote(_ s: Scenario, _ image: Digest, repository: String = payments, glass: [String]? = nil) throws {
        try s.record(
            "rel", image,
            .promoted(
                .init(
                    from: "staging", to: "production",
                    breakGlass: glass.map { .init(reason: "incident 42", failedRules: $0) })), repository: repository)
    }

    @Test("Two services keep their own state in every environment, and a digest is bound to its repository")
    func twoServices() throws {
        let s = try organisation()
        try staged(s, a)
        try staged(s, t, repository: Self.tool)
        s.clock.advance(seconds: 3601)
        try approve(s, a, "alice", "bob", "sec")
        try promote(s, a)
        try s.record("alice", t, .approved(.init(environment: "production")), repository: Self.tool)
        try promote(s, t, repository: Self.tool)
        // Promoting the tool did not replace payments in production.
        #expect(try s.ledger.queries.current(environment: "production", repository: Self.payments)?.digest == a)
        #expect(try s.ledger.queries.current(environment: "production", repository: Self.tool)?.digest == t)
        let status = try s.ledger.queries.status()
        #expect(status.repositories == [Self.payments, Self.tool])
        #expect(status.environments == ["staging", "production"])
        #expect(status.services.count == 4)
        #expect(try s.ledger.queries.status(repository: Self.tool).services.map(\.current?.digest) == [t, t])
        // The gate of a digest under another repository is refused, naming both; so is an event.
        let wrong = #expect(throws: LedgerError.self) {
            try s.ledger.queries.resolve(ImageReference(repository: "other.example/thing", digest: a))
        }
        #expect("\(wrong!)".contains("belongs to registry.example/payments, not other.example/thing"))
        let event = #expect(throws: LedgerError.self) {
            try s.record("ci", a, .check(.init(check: "x", result: .pass)), repository: Self.tool)
        }
        #expect(event == .refused(.repositoryMismatch(digest: a.description, owner: Self.payments, given: Self.tool)))
        // Each service's rollback acts on its own history only.
        let nothing = #expect(throws: LedgerError.self) {
            try s.ledger.queries.rollbackChoice(environment: "production", repository: Self.tool, to: nil)
        }
        #expect(nothing == .refused(.noEarlierDigest(environment: "production", repository: Self.tool)))
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
    }

    @Test("Normalising is idempotent and the normal forms are exactly what a statement may carry, over generated names")
    func normalFormProperties() throws {
        let pieces = [
            "", "a", "App", "docker.io", "index.docker.io", "Index.Docker.IO", "registry-1.docker.io", "localhost",
            "LocalHost", "registry.example", "Registry.Example", "\u{212A}.example", "host:5000", "host:", "h:123456",
            "h:1:2", ":80", "library", "9", "a--b", "a__b", "a___b", "a.", "-a", "x_y", "a._b", "a.b.c", "a-_b", "a_-b",
            "é", "a b", String(repeating: "z", count: 250),
        ]
        var names: [String] = []
        for a in pieces {
            names.append(a)
            for b in pieces {
                names.append(a + "/" + b)
                for c in ["app", "", "Team", "t.e-a_m", "a__", "a..b", "a---b"] { names.append(a + "/" + b + "/" + c) }
            }
        }
        var normal = 0
        for name in names {
            let accepted = try? Repository(normalized: name)
            guard let normalised = try? Repository(normalising: name) else {
                #expect(accepted == nil, "\(name)")
                continue
            }
            #expect(try Repository(normalising: normalised.name) == normalised, "\(name)")
            #expect(try Repository(normalized: normalised.name) == normalised, "\(name)")
            #expect((accepted != nil) == (normalised.name == name), "\(name)")
            if accepted != nil { normal += 1 }
        }
        #expect(normal > 100)
    }

    @Test("Repository names are normalised once; a statement must carry the normal form")
    func repositoryNames() throws {
        #expect(try Repository(normalising: "nginx").name == "docker.io/library/nginx")
        #expect(try Repository(normalising: "Registry.Example:5000/team/app").name == "registry.example:5000/team/app")
        #expect(try Repository(normalising: "index.docker.io/acme/app").name == "docker.io/acme/app")
        #expect(try Repository(normalising: "localhost/app").name == "localhost/app")
        #expect(try Repository(normalising: "docker.io/nginx").name == "docker.io/library/nginx")
        #expect(try Repository(normalising: "Index.Docker.IO/acme/app").name == "docker.io/acme/app")
        #expect(try Repository(normalising: "\u{212A}.example/app").name == "k.example/app")
        #expect(throws: ModelError.self) { try Repository(normalising: "registry.example/App") }
        #expect(throws: ModelError.self) { try Repository(normalising: "registry.example//app") }
        #expect(throws: ModelError.self) { try Repository(normalising: "registry.example/a--") }
        let error = #expect(throws: ModelError.self) { try Repository(normalized: "Registry.Example/app") }
        #expect("\(error!)".contains("write `registry.example/app`"))
        let s = try organisation()
        #expect(throws: ModelError.self) {
            try s.record("ci", a, .built(.init()), repository: "Registry.Example/payments")
        }
        #expect(RepositoryPattern("registry.example/tools/*").matches(try Repository(normalized: Self.tool)))
        #expect(
            !RepositoryPattern("registry.example/tools/*").matches(
                try Repository(normalized: "registry.example/tools/a/b")))
        #expect(
            RepositoryPattern("registry.example/**").matches(try Repository(normalized: "registry.example/tools/a/b")))
        #expect(
            RepositoryPattern("registry.example/app-?").matches(try Repository(normalized: "registry.example/app-1")))
        // Leading wildcards stand for a registry host too; only a pattern no normal name fits is refused.
        for pattern in ["**", "*/app", "**/app", "*.example/**", "docker.io/library/*", "registry.example/*/*"] {
            #expect(RepositoryPattern(pattern).canMatchSomeRepository, "\(pattern)")
        }
        for pattern in ["Registry.Example/app", "app", "*/App", "registry.example//app", "?/app"] {
            #expect(!RepositoryPattern(pattern).canMatchSomeRepository, "\(pattern)")
        }
        #expect(RepositoryPattern("**").matches(try Repository(normalized: "docker.io/library/nginx")))
        #expect(RepositoryPattern("*/app").matches(try Repository(normalized: "registry.example/app")))
    }

    @Test("A repository no pipeline matches is refused at `built`, naming the patterns")
    func unmatchedRepository() throws {
        let s = try organisation()
        let error = #expect(throws: LedgerError.self) {
            try s.record("ci", a, .built(.init()), repository: "other.example/checkout")
        }
        #expect("\(error!)".contains("no pipeline of the policy in force covers other.example/checkout"))
        #expect("\(error!)".contains("registry.example/tools/*"))
    }

    @Test("Every approval rule must hold; distinct counts one person once; teams as held when they approved")
    func approvalRules() throws {
        let s = try organisation()
        try staged(s, a)
        s.clock.advance(seconds: 3601)
        try approve(s, a, "alice", "sec")
        var verdict = try s.gate(a, "production", repository: Self.payments)
        #expect(verdict.failedRules == ["approvals"])
        // Two people, two rules needing three: sec counts for one rule only.
        #expect(s.approvalRule(verdict, "engineering")?.passed == true)
        #expect(s.approvalRule(verdict, "security")?.passed == false)
        #expect(s.approvalRule(verdict, "security")?.reason.contains("counted for another rule (distinct)") == true)
        try approve(s, a, "bob")
        verdict = try s.gate(a, "production", repository: Self.payments)
        #expect(verdict.eligible, "\(verdict.rules)")
        // Bob joins the security team later: his earlier approval keeps the teams he had (none).
        try s.update("bob", roles: [.approver], teams: ["security"])
        try s.update("sec", roles: [.approver], teams: [])
        verdict = try s.gate(a, "production", repository: Self.payments)
        #expect(verdict.eligible, "sec approved while in team security: \(verdict.rules)")
        // Without `distinct`, one person may count for both rules.
        let loose = Self.policy.replacingOccurrences(of: "distinct: true", with: "distinct: false")
        try s.setPolicy(loose)
        try staged(s, b)
        s.clock.advance(seconds: 3601)
        try approve(s, b, "alice", "bob")
        verdict = try s.gate(b, "production", repository: Self.payments)
        #expect(verdict.eligible, "bob is in security now and counts for both: \(verdict.rules)")
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
    }

    @Test("An approval signed before an incident and submitted after it does not count")
    func approvalFreshness() throws {
        let s = try organisation()
        try staged(s, a)
        s.clock.advance(seconds: 3601)
        try approve(s, a, "alice", "bob")
        // Sec signs now, on another machine; the file reaches the ledger after an incident is opened.
        let early = try s.envelope(
            "sec", subject: Self.payments, digest: a.hex, .approved(.init(environment: "production")))
        s.clock.advance(seconds: 10)
        try s.record(
            "ci", a, .incident(.init(environment: "staging", incident: "INC-1", state: .open)),
            repository: Self.payments)
        s.clock.advance(seconds: 10)
        try s.ledger.append(early, source: "sec's file")
        try s.record(
            "ci", a, .incident(.init(environment: "staging", incident: "INC-1", state: .resolved)),
            repository: Self.payments)
        s.clock.advance(seconds: 3601)
        let verdict = try s.gate(a, "production", repository: Self.payments)
        let security = try #require(s.approvalRule(verdict, "security"))
        #expect(!security.passed)
        #expect(security.reason.contains("sec@example.com: signed at"), "\(security.reason)")
        #expect(security.reason.contains("before the incident opened"))
        // alice and bob approved before the incident too.
        #expect(s.approvalRule(verdict, "engineering")?.passed == false)
    }

    @Test("maxAge counts from the earlier of the signed and the ledger time")
    func maxAge() throws {
        let s = try organisation()
        try staged(s, a)
        let early = try s.envelope(
            "sec", subject: Self.payments, digest: a.hex, .approved(.init(environment: "production")))
        s.clock.advance(seconds: 71 * 3600)
        try s.ledger.append(early, source: "late")
        try approve(s, a, "alice", "bob")
        s.clock.advance(seconds: 2 * 3600)
        let verdict = try s.gate(a, "production", repository: Self.payments)
        #expect(s.approvalRule(verdict, "security")?.reason.contains("older than 3d") == true, "\(verdict.rules)")
        #expect(s.approvalRule(verdict, "engineering")?.passed == true)
    }

    @Test("Weekly freeze windows follow the wall clock of their zone across daylight-saving changes")
    func weeklyFreeze() throws {
        let policy = try Policy(
            parsing: """
                environments:
                  - name: staging
                  - name: production
                    from: staging
                    freeze:
                      - {weekly: {from: 'Fri 16:00', to: 'Mon 08:00'}, timeZone: Europe/Berlin, reason: weekend}
                      - {from: '2026-12-20T00:00:00Z', to: '2027-01-04T00:00:00Z', reason: year-end freeze}
                """, source: "t")
        let rules = try #require(policy.environment("production", repository: Repository(normalized: "a.example/b")))
        func t(_ text: String) -> Timestamp { Timestamp(lenient: text)! }
        func until(_ text: String) -> String? {
            FreezeWindow.frozenUntil(t(text), windows: rules.freeze)?.until.rfc3339
        }
        // Winter time (UTC+1), the Friday before summer time starts on Sunday 29 March.
        #expect(until("2026-03-27T14:59:59Z") == nil)
        #expect(until("2026-03-27T15:00:00Z") == "2026-03-30T06:00:00.000Z")  // Monday 08:00 summer time
        // Summer time (UTC+2), the Friday before it ends on Sunday 25 October.
        #expect(until("2026-10-23T13:59:00Z") == nil)
        #expect(until("2026-10-23T14:00:00Z") == "2026-10-26T07:00:00.000Z")  // Monday 08:00 winter time
        #expect(until("2026-10-26T06:59:59Z") == "2026-10-26T07:00:00.000Z")
        #expect(until("2026-10-26T07:00:00Z") == nil)
        // The absolute range ends at Monday 01:00 Berlin, inside the weekend window: the freeze lasts until 08:00.
        #expect(until("2026-12-22T12:00:00Z") == "2027-01-04T07:00:00.000Z", "year-end, then the weekend's Monday")
        #expect(until("2027-01-01T18:00:00Z") == "2027-01-04T07:00:00.000Z")
        // A window ending in the hour skipped on 29 March ends when the clocks jump.
        let gap = FreezeWindow(
            span: .weekly(
                from: try #require(WeekTime(parsing: "Sat 12:00")), to: try #require(WeekTime(parsing: "Sun 02:30")),
                timeZone: "Europe/Berlin"), reason: "gap")
        #expect(gap.end(after: t("2026-03-28T12:00:00Z")).rfc3339 == "2026-03-29T01:00:00.000Z")
    }

    @Test("The gate says frozen until when, and eligible at the end of the freeze")
    func freezeGate() throws {
        let s = try Scenario(
            policy: """
                environments:
                  - name: staging
                  - name: production
                    from: staging
                    freeze:
                      - {weekly: {from: 'Fri 16:00', to: 'Mon 08:00'}, timeZone: Europe/Berlin, reason: weekend}
                """)
        s.clock.set(Timestamp(lenient: "2026-03-27T15:30:00Z")!)
        try s.record("ci", a, .built(.init()))
        try s.record("ci", a, .deployed(.init(environment: "staging")))
        let frozen = try s.gate(a, "production")
        #expect(frozen.failedRules == ["freeze"])
        #expect(
            s.rule(frozen, "freeze")?.reason
                == "frozen until Mon 08:00 Europe/Berlin, 2026-03-30T06:00:00.000Z (weekend)")
        #expect(frozen.eligibleAt == "2026-03-30T06:00:00.000Z")
        #expect(try s.ledger.queries.status().activeFreezes.map(\.reason) == ["weekend"])
        #expect(throws: LedgerError.self) {
            try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        }
        s.clock.set(Timestamp(lenient: "2026-03-30T06:00:00Z")!)
        try s.record("rel", a, .promoted(.init(from: "staging", to: "production")))
        #expect(try s.ledger.queries.status().activeFreezes.isEmpty)
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
    }

    @Test("Break-glass overrides only the rules it allows, and needs approvals of the break-glass by others")
    func breakGlass() throws {
        let s = try organisation()
        try s.record("ci", a, .built(.init()), repository: Self.payments)
        try s.record("ci", a, .deployed(.init(environment: "staging")), repository: Self.payments)
        // Soak, approvals and checks fail: all allowed, but one approval of the break-glass is needed.
        let verdict = try s.gate(a, "production", repository: Self.payments)
        #expect(verdict.failedRules == ["soak", "approvals", "checks"])
        let unapproved = #expect(throws: LedgerError.self) { try promote(s, a, glass: verdict.failedRules) }
        #expect("\(unapproved!)".contains("break-glass needs 1 more approval"), "\(unapproved!)")
        try approve(s, a, "alice", breakGlass: true)
        // A break-glass approval does not count as an ordinary one.
        #expect(try s.gate(a, "production", repository: Self.payments).failedRules == ["soak", "approvals", "checks"])
        try promote(s, a, glass: verdict.failedRules)
        #expect(try s.ledger.queries.current(environment: "production", repository: Self.payments)?.digest == a)
        // A never-built digest: `built` is not in `allow`, so no break-glass gets it through.
        try s.record("ci", b, .deployed(.init(environment: "staging")), repository: Self.payments)
        try approve(s, b, "alice", breakGlass: true)
        let unbuilt = try s.gate(b, "production", repository: Self.payments)
        #expect(unbuilt.failedRules.first == "built")
        let refused = #expect(throws: LedgerError.self) { try promote(s, b, glass: unbuilt.failedRules) }
        #expect(
            "\(refused!)".contains(
                "may override only soak, approvals, checks, freeze; failing and not overridable: built"))
        let report = try Verifier.verify(ledger: s.ledger, options: .init())
        #expect(report.ok)
        #expect(report.breakGlass.map(\.digest) == [a.description])
    }

    @Test("Rollback out of drift restores the promoted digest; a target with an open incident needs break-glass")
    func rollbackAndDrift() throws {
        let s = try Scenario(
            policy: "environments:\n  - name: staging\n  - name: production\n    from: staging\n")
        for image in [a, b] {
            try s.record("ci", image, .built(.init()))
            try s.record("ci", image, .deployed(.init(environment: "staging")))
            try s.record("rel", image, .promoted(.init(from: "staging", to: "production")))
        }
        let repository = Scenario.repository
        // Someone ran c in production by hand: a fact, recorded as drift, with b still current.
        try s.record("ci", c, .built(.init()))
        let observed = try s.record("ci", c, .deployed(.init(environment: "production")))
        var choice = try s.ledger.queries.rollbackChoice(environment: "production", repository: repository, to: nil)
        #expect(choice.target.digest == b)
        #expect(choice.leaving == c.description)
        #expect(choice.drift?.index == observed.index)
        let back = try s.record(
            "rel", b, .rolledBack(.init(environment: "production", from: c.description, reason: "drift")))
        #expect(try s.ledger.queries.drift().map(\.settledIndex) == [back.index])
        #expect(try s.ledger.queries.current(environment: "production", repository: repository)?.digest == b)
        // Now a is the target; an open incident against it refuses the rollback unless break-glass.
        try s.record("ci", a, .incident(.init(environment: "production", incident: "INC-7", state: .open)))
        choice = try s.ledger.queries.rollbackChoice(environment: "production", repository: repository, to: nil)
        #expect(choice.target.digest == a)
        #expect(choice.openIncidents == ["production/INC-7"])
        let refused = #expect(throws: LedgerError.self) {
            try s.record("rel", a, .rolledBack(.init(environment: "production", from: b.description, reason: "bad b")))
        }
        #expect(refused == .refused(.rollbackTargetIncident(digest: a.description, incidents: ["production/INC-7"])))
        try s.record(
            "rel", a,
            .rolledBack(
                .init(
                    environment: "production", from: b.description, reason: "bad b",
                    breakGlass: .init(reason: "b is worse"))))
        let report = try Verifier.verify(ledger: s.ledger, options: .init())
        #expect(report.ok)
        #expect(report.breakGlass.map(\.kind) == ["rolled-back"])
    }

    @Test("Two ledgers with the same origin refuse each other's envelopes; every event names the ledger ID")
    func ledgerIdentity() throws {
        let one = try Scenario()
        let two = try Scenario()
        #expect(one.origin == two.origin)
        #expect(try one.ledger.ledgerID() != two.ledger.ledgerID())
        #expect(try one.ledger.ledgerID() == one.ledger.entry(at: 0)?.leafHash.hex)
        two.keys["ci"] = one.keys["ci"]  // signed by a key enrolled in `one`, for `two`
        let foreign = try two.envelope("ci", subject: Scenario.repository, digest: a.hex, .built(.init()))
        let error = #expect(throws: LedgerError.self) { try one.ledger.append(foreign, source: "twin") }
        #expect(
            error == .refused(.foreignLedgerID(signedFor: try two.ledger.ledgerID(), this: try one.ledger.ledgerID())))
        let missing = #expect(throws: LedgerError.self) {
            let statement = Statement(
                subjectName: Scenario.repository, subjectDigest: a.hex, ledger: one.origin, ledgerID: nil,
                time: Timestamp.now().rfc3339, nonce: "00112233445566778899aabbccddeeff", predicate: .built(.init()))
            try one.ledger.append(
                Envelope.sign(payload: statement.encoded(), with: one.keys["ci"]!.key).compactJSON, source: "old")
        }
        #expect(missing == .refused(.ledgerIDMissing(this: try one.ledger.ledgerID())))
    }

    @Test("Policy lint: refusals name the field; warnings name what no key can meet")
    func lint() throws {
        func refused(_ yaml: String, _ expected: String) {
            let error = #expect(throws: PolicyError.self) { try Policy(parsing: yaml, source: "p.yaml") }
            #expect(error.map { "\($0)".contains(expected) } == true, "\(String(describing: error))")
        }
        let head =
            "pipelines:\n  - name: p\n    repositories: ['registry.example/*']\n    environments:\n      - name: s\n      - name: prod\n        from: s\n"
        refused(head + "        checks: [scan, scan]\n", "check `scan` is listed twice")
        refused(head + "        approvals: {min: 0}\n", "min: 0")
        refused(
            head.replacingOccurrences(of: "registry.example/*", with: "Registry.Example/App"), "can match no repository"
        )
        refused(
            head
                + "        freeze:\n          - {weekly: {from: 'Fri 16:00', to: 'Mon 08:00'}, timeZone: Mars/Olympus, reason: x}\n",
            "not an IANA time zone")
        refused(
            head
                + "        freeze:\n          - {from: '2027-01-04T00:00:00Z', to: '2026-12-20T00:00:00Z', reason: x}\n",
            "ends before it starts")
        refused(head + "        breakGlass: {allow: [everything]}\n", "unknown rule `everything`")
        let policy = try Policy(
            parsing: head
                + "        approvals:\n          rules:\n            - {name: sec, min: 1, teams: [security]}\n            - {name: many, min: 3, identities: [sam@example.com]}\n"
                + "  - name: q\n    repositories: ['registry.example/app']\n    environments:\n      - name: s\n",
            source: "p.yaml")
        let signers = [Signer(identity: "alice@example.com", keyID: "k", roles: [.approver])]
        let warnings = policy.warnings(
            signers: signers, running: [(environment: "old", repository: "registry.example/app")])
        #expect(warnings.contains { $0.contains("no enrolled key is in team security") })
        #expect(warnings.contains { $0.contains("no enrolled key has identity sam@example.com") })
        #expect(warnings.contains { $0.contains("needs 3 approvals from identity sam@example.com, but only 0") })
        #expect(warnings.contains { $0.contains("pipelines p and q overlap") })
        #expect(warnings.contains { $0.contains("registry.example/app runs in old, which pipeline p no longer has") })
    }

    @Test("pending lists what waits for approval, and for one person what they can still help with")
    func pending() throws {
        let s = try organisation()
        try staged(s, a)
        try staged(s, t, repository: Self.tool)
        try approve(s, a, "alice", "sec")
        let all = try s.ledger.queries.pending()
        #expect(Set(all.map(\.repository)) == [Self.payments, Self.tool])
        // Bob's approval would let sec count for security: with `distinct`, it helps that rule.
        let bob = try s.ledger.queries.pending(for: "bob@example.com")
        #expect(bob.first { $0.repository == Self.payments }?.rulesYouCanMeet == ["security"])
        // Alice has approved payments already; the tool still waits for her.
        let alice = try s.ledger.queries.pending(for: "alice@example.com")
        #expect(alice.map(\.repository) == [Self.tool])
        #expect(try s.ledger.queries.pending(environment: "staging").isEmpty)
    }
}
