import Foundation
import Testing

/// The organisation's story through the binary users run: two services under two pipelines, every command's
/// answer checked per repository.
@Suite("Two services through the docket command", .serialized)
struct OrganisationCommandTests {
    let payments = "registry.example/payments"
    let tool = "registry.example/tools/lint"
    let p1 = "registry.example/payments@sha256:" + String(repeating: "1", count: 64)
    let p2 = "registry.example/payments@sha256:" + String(repeating: "2", count: 64)
    let t1 = "registry.example/tools/lint@sha256:" + String(repeating: "7", count: 64)

    func setUp() throws -> CLI {
        let cli = try CLI()
        for name in ["admin", "ci", "alice", "bob", "sam", "rel"] {
            try cli.ok(["key", "generate", "--identity", "\(name)@example.com", "--out", cli.path("\(name).key")])
        }
        try cli.ok(["init", "--origin", "example.com/org", "--key", cli.path("admin.key")])
        let admin = ["--key", cli.path("admin.key")]
        try cli.ok(["key", "enroll", cli.path("ci.key.pub"), "--role", "ci", "checker", "monitor"] + admin)
        try cli.ok(["key", "enroll", cli.path("alice.key.pub"), "--role", "approver"] + admin)
        try cli.ok(["key", "enroll", cli.path("bob.key.pub"), "--role", "approver"] + admin)
        try cli.ok(["key", "enroll", cli.path("sam.key.pub"), "--role", "approver"] + admin)
        try cli.ok(["key", "enroll", cli.path("rel.key.pub"), "--role", "releaser"] + admin)
        try """
        pipelines:
          - name: internal-tools
            repositories: ['registry.example/tools/*']
            environments:
              - name: staging
              - name: production
                from: staging
                approvals: {min: 1, roles: [approver]}
          - name: payments
            repositories: ['registry.example/payments']
            environments:
              - name: staging
              - name: production
                from: staging
                approvals:
                  rules:
                    - {name: engineering, min: 1, roles: [approver]}
                    - {name: security, min: 1, teams: [security]}
                  distinct: true
                  separationOfDuties: true
                rollback: {plan: 'page #payments'}
        """.write(toFile: cli.path("policy.yaml"), atomically: true, encoding: .utf8)
        // No key is in team security yet: recorded, with a warning.
        let set = try cli.run(["policy", "set", cli.path("policy.yaml")] + admin)
        #expect(set.code == 0)
        #expect(set.stderr.contains("warning:") && set.stderr.contains("no enrolled key is in team security"))
        try cli.ok(["key", "update", "sam@example.com", "--add-team", "security"] + admin)
        for image in [p1, t1] {
            try cli.ok(["record", "built", image, "--tag", "v1.0.0", "--key", cli.path("ci.key")])
            try cli.ok(["record", "deployed", image, "--env", "staging", "--key", cli.path("ci.key")])
        }
        return cli
    }

    @Test("status, gate, pending, promote, rollback, history and verify answer per repository")
    func story() throws {
        let cli = try setUp()
        // pending: both services wait; for sam, only payments' security rule.
        let pending = try cli.run(["pending", "--json"])
        let all = try #require(try JSONSerialization.jsonObject(with: Data(pending.stdout.utf8)) as? [[String: Any]])
        #expect(Set(all.compactMap { $0["repository"] as? String }) == [payments, tool])
        let sam = try cli.ok(["pending", "--for", "sam@example.com"])
        #expect(sam.contains(payments) && sam.contains("you can help meet: engineering, security"), "\(sam)")

        // The tool's one approval and promotion leave payments where it was.
        try cli.ok(["approve", t1, "--env", "production", "--key", cli.path("alice.key")])
        try cli.ok(["promote", t1, "--to", "production", "--key", cli.path("rel.key")])
        var status = try cli.json(["status"])
        let services = try #require(status["services"] as? [[String: Any]])
        func current(_ repository: String, _ environment: String, in services: [[String: Any]]) -> String? {
            let cell = services.first {
                $0["repository"] as? String == repository && $0["environment"] as? String == environment
            }
            return (cell?["current"] as? [String: Any])?["digest"] as? String
        }
        #expect(current(tool, "production", in: services) == String(t1.split(separator: "@")[1]))
        #expect(current(payments, "production", in: services) == nil)
        #expect(status["repositories"] as? [String] == [payments, tool])

        // Gate without --env: every gated environment of the pipeline; rule by rule.
        let gate = try cli.run(["gate", p1, "--json"])
        #expect(gate.code == 1)
        let verdicts = try #require(try JSONSerialization.jsonObject(with: Data(gate.stdout.utf8)) as? [[String: Any]])
        #expect(verdicts.map { $0["environment"] as? String } == ["production"])
        #expect(verdicts.first?["pipeline"] as? String == "payments")
        #expect(verdicts.first?["rollbackPlan"] as? String == "page #payments")

        // An approval that cannot count warns but succeeds; the ledger has it.
        let ci = try cli.run(["approve", p1, "--env", "staging", "--key", cli.path("alice.key")])
        #expect(ci.code == 0 && ci.stderr.contains("staging has no gate in pipeline payments"), "\(ci.stderr)")
        try cli.ok(["approve", p1, "--env", "production", "--key", cli.path("alice.key")])
        try cli.ok(["approve", p1, "--env", "production", "--key", cli.path("sam.key")])
        try cli.ok(["gate", p1, "--env", "production"])
        try cli.ok(["promote", p1, "--to", "production", "--key", cli.path("rel.key")])

        // A second payments digest, promoted, then rolled back: the tool is untouched.
        try cli.ok(["record", "built", p2, "--key", cli.path("ci.key")])
        try cli.ok(["record", "deployed", p2, "--env", "staging", "--key", cli.path("ci.key")])
        try cli.ok(["approve", p2, "--env", "production", "--key", cli.path("bob.key")])
        try cli.ok(["approve", p2, "--env", "production", "--key", cli.path("sam.key")])
        try cli.ok(["promote", p2, "--to", "production", "--key", cli.path("rel.key")])
        // Two services run in production: rollback must be told which.
        let ambiguous = try cli.run(["rollback", "--env", "production", "--reason", "x", "--key", cli.path("rel.key")])
        #expect(ambiguous.code == 2 && ambiguous.stderr.contains("name one with --repo"), "\(ambiguous.stderr)")
        let list = try cli.json(["rollback", "--env", "production", "--repo", payments, "--list"])
        #expect(list["defaultTarget"] as? String == String(p1.split(separator: "@")[1]))
        // An open incident against the target: refused without break-glass, listed by verify with it.
        try cli.ok([
            "record", "incident", p1, "--env", "staging", "--id", "INC-1", "--state", "open", "--key",
            cli.path("ci.key"),
        ])
        let blocked = try cli.run([
            "rollback", "--env", "production", "--repo", payments, "--reason", "errors", "--key", cli.path("rel.key"),
        ])
        #expect(blocked.code == 1 && blocked.stderr.contains("open incident(s) staging/INC-1"), "\(blocked.stderr)")
        try cli.ok([
            "rollback", "--env", "production", "--repo", payments, "--reason", "errors", "--break-glass",
            "p2 is worse", "--key", cli.path("rel.key"),
        ])
        status = try cli.json(["status"])
        let after = try #require(status["services"] as? [[String: Any]])
        #expect(current(payments, "production", in: after) == String(p1.split(separator: "@")[1]))
        #expect(current(tool, "production", in: after) == String(t1.split(separator: "@")[1]))
        let table = try cli.ok(["status"])
        #expect(table.contains("SERVICE") && table.contains("PRODUCTION"))
        let one = try cli.json(["status", "--repo", payments])
        #expect((one["services"] as? [[String: Any]])?.allSatisfy { $0["repository"] as? String == payments } == true)

        // History per digest and per tag; drift per repository.
        #expect(try cli.ok(["history", p2]).contains("rolled back from"))
        let tag = try cli.json(["history", "\(tool):v1.0.0"])
        #expect((tag["digests"] as? [[String: Any]])?.count == 1)
        try cli.ok(["record", "deployed", p2, "--env", "production", "--key", cli.path("ci.key")])
        let drifted = try cli.ok(["status"])
        #expect(drifted.contains("observed sha256:222222222222 of \(payments) in production"), "\(drifted)")
        let verify = try cli.run(["verify"])
        #expect(verify.code == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("p2 is worse"))
        #expect(verify.stdout.contains("still standing"))
    }

    @Test("Bad input is named, exits 2 (or 1 for a refusal), and changes nothing")
    func badInput() throws {
        let cli = try setUp()
        let before = try cli.ok(["checkpoint"])
        var r = try cli.run([
            "gate", "other.example/thing@sha256:" + String(repeating: "1", count: 64), "--env", "production",
        ])
        #expect(r.code == 2 && r.stderr.contains("belongs to registry.example/payments"), "\(r.stderr)")
        r = try cli.run([
            "record", "built", "other.example/checkout@sha256:" + String(repeating: "9", count: 64), "--key",
            cli.path("ci.key"),
        ])
        #expect(
            r.code == 1 && r.stderr.contains("no pipeline of the policy in force covers other.example/checkout"),
            "\(r.stderr)")
        r = try cli.run([
            "record", "built", "registry.example/Payments@sha256:" + String(repeating: "9", count: 64), "--key",
            cli.path("ci.key"),
        ])
        #expect(r.code == 2 && r.stderr.contains("lower case"), "\(r.stderr)")
        r = try cli.run(["key", "update", "sam@example.com", "--remove-team", "ops", "--key", cli.path("admin.key")])
        #expect(r.code == 2 && r.stderr.contains("not in that team"), "\(r.stderr)")
        r = try cli.run([
            "key", "enroll", cli.path("bob.key.pub"), "--role", "approver", "--team", "a b", "--key",
            cli.path("admin.key"),
        ])
        #expect(r.code == 2 && r.stderr.contains("team names use"), "\(r.stderr)")
        try "pipelines:\n  - name: p\n    repositories: ['Registry.Example/App']\n    environments:\n      - name: s\n"
            .write(toFile: cli.path("bad.yaml"), atomically: true, encoding: .utf8)
        r = try cli.run(["policy", "set", cli.path("bad.yaml"), "--key", cli.path("admin.key")])
        #expect(r.code == 2 && r.stderr.contains("can match no repository name"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        r = try cli.run(["gate", p1, "--env", "nowhere"])
        #expect(r.code == 2 && r.stderr.contains("`nowhere` is not in the policy"), "\(r.stderr)")
        r = try cli.run(["status", "--repo", "registry.example/nothing"])
        #expect(r.code == 2 && r.stderr.contains("names the repository registry.example/nothing"), "\(r.stderr)")
        r = try cli.run(["key", "update", "nobody@example.com", "--role", "approver", "--key", cli.path("admin.key")])
        #expect(r.code == 2 && r.stderr.contains("no key of this ledger belongs to nobody@example.com"), "\(r.stderr)")
        #expect(try cli.ok(["checkpoint"]) == before)
    }
}
