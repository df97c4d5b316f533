import Foundation
import Testing

/// `docket pin` and `docket verify --lock` through the binary users run, with two services in one ledger.
@Suite("Pinning manifests with the docket command", .serialized)
struct PinCommandTests {
    let web = "registry.example/shop/web@sha256:" + String(repeating: "1", count: 64)
    let api = "registry.example/shop/api@sha256:" + String(repeating: "2", count: 64)
    let api2 = "registry.example/shop/api@sha256:" + String(repeating: "3", count: 64)
    let later = "registry.example/shop/later@sha256:" + String(repeating: "4", count: 64)

    /// web and api promoted to production; `later` built but only in staging.
    func setUp() throws -> CLI {
        let cli = try CLI()
        for name in ["admin", "ci", "alice", "rel"] {
            try cli.ok(["key", "generate", "--identity", "\(name)@example.com", "--out", cli.path("\(name).key")])
        }
        let admin = ["--key", cli.path("admin.key")]
        try cli.ok(["init", "--origin", "example.com/shop", "--key", cli.path("admin.key")])
        try cli.ok(["key", "enroll", cli.path("ci.key.pub"), "--role", "ci"] + admin)
        try cli.ok(["key", "enroll", cli.path("alice.key.pub"), "--role", "approver"] + admin)
        try cli.ok(["key", "enroll", cli.path("rel.key.pub"), "--role", "releaser"] + admin)
        try """
        pipelines:
          - name: shop
            repositories: ['registry.example/shop/*']
            environments:
              - name: staging
              - name: production
                from: staging
                approvals: {min: 1, roles: [approver]}
        """.write(toFile: cli.path("policy.yaml"), atomically: true, encoding: .utf8)
        try cli.ok(["policy", "set", cli.path("policy.yaml")] + admin)
        for image in [web, api, later] {
            try cli.ok(["record", "built", image, "--key", cli.path("ci.key")])
            try cli.ok(["record", "deployed", image, "--env", "staging", "--key", cli.path("ci.key")])
        }
        for image in [web, api] {
            try cli.ok(["approve", image, "--env", "production", "--key", cli.path("alice.key")])
            try cli.ok(["promote", image, "--to", "production", "--key", cli.path("rel.key")])
        }
        return cli
    }

    let manifest = """
        apiVersion: apps/v1\r
        kind: Deployment\r
        metadata: {name: shop}   # the storefront\r
        spec:\r
          template:\r
            spec:\r
              initContainers:\r
                - name: migrate\r
                  image: registry.example/shop/api:1.0   # migrations\r
              containers:\r
                - {name: web, image: "registry.example/shop/web:1.0"}\r
                - name: proxy\r
                  image: nginx:1.27\r
        ---\r
        apiVersion: batch/v1\r
        kind: CronJob\r
        spec:\r
          jobTemplate:\r
            spec:\r
              template:\r
                spec:\r
                  containers:\r
                    - name: report\r
                      image: 'registry.example/shop/api:1.0'\r

        """

    @Test("Dry run, --check, --write, a second run, a lock and its proof, for two services")
    func pinsTwoServices() throws {
        let cli = try setUp()
        let file = cli.path("deploy.yaml")
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: file))
        let webDigest = String(web.split(separator: "@")[1])
        let apiDigest = String(api.split(separator: "@")[1])

        let dry = try cli.run(["pin", "--env", "production", file])
        #expect(dry.code == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("+          image: registry.example/shop/api@\(apiDigest)   # migrations\r"))
        #expect(dry.stdout.contains("\"registry.example/shop/web@\(webDigest)\""))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data(manifest.utf8), "a dry run writes nothing")
        #expect(try cli.run(["pin", "--env", "production", file, "--check"]).code == 1)

        try cli.ok(["pin", "--env", "production", file, "--write", "--lock", cli.path("deploy.lock")])
        let expected = manifest.replacingOccurrences(
            of: "registry.example/shop/api:1.0", with: "registry.example/shop/api@\(apiDigest)"
        )
        .replacingOccurrences(of: "registry.example/shop/web:1.0", with: "registry.example/shop/web@\(webDigest)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data(expected.utf8), "only the image bytes change")
        let again = try cli.run(["pin", "--env", "production", file, "--check"])
        #expect(again.code == 0 && again.stdout.isEmpty, "a second run changes nothing: \(again.stdout)")

        let proved = try cli.json(["verify", "--lock", cli.path("deploy.lock")])
        #expect(proved["ok"] as? Bool == true)
        let pins = try #require(proved["pins"] as? [[String: Any]])
        #expect(pins.map { $0["repository"] as? String } == ["registry.example/shop/api", "registry.example/shop/web"])
        #expect(pins.allSatisfy { $0["proved"] as? Bool == true && $0["current"] as? Bool == true })

        // A newer api reaches production: the lock still proves, and says the pin is no longer current.
        try cli.ok(["record", "built", api2, "--key", cli.path("ci.key")])
        try cli.ok(["record", "deployed", api2, "--env", "staging", "--key", cli.path("ci.key")])
        try cli.ok(["approve", api2, "--env", "production", "--key", cli.path("alice.key")])
        try cli.ok(["promote", api2, "--to", "production", "--key", cli.path("rel.key")])
        let stale = try cli.run(["verify", "--lock", cli.path("deploy.lock")])
        #expect(stale.code == 0 && stale.stdout.contains("no longer current in production"), "\(stale.stdout)")
        let drift = try cli.run(["pin", "--env", "production", file, "--check"])
        #expect(
            drift.code == 1 && drift.stdout.contains("image: 'registry.example/shop/api@sha256:3333")
        )

        // A lock whose pin was edited does not prove.
        let lockText = try String(contentsOfFile: cli.path("deploy.lock"), encoding: .utf8)
        try lockText.replacingOccurrences(of: webDigest, with: String(api2.split(separator: "@")[1]))
            .write(toFile: cli.path("forged.lock"), atomically: true, encoding: .utf8)
        let forged = try cli.run(["verify", "--lock", cli.path("forged.lock")])
        #expect(forged.code == 1 && forged.stdout.contains("✗"), "\(forged.stdout) \(forged.stderr)")
    }

    @Test("An image with no digest in the environment lists every one, writes nothing, exits 1")
    func refusesUnpromoted() throws {
        let cli = try setUp()
        let text = "containers:\n  - image: registry.example/shop/later:2\n  - image: registry.example/shop/web:1\n"
        try text.write(toFile: cli.path("m.yaml"), atomically: true, encoding: .utf8)
        let result = try cli.run(["pin", "--env", "production", cli.path("m.yaml"), "--write"])
        #expect(result.code == 1)
        #expect(result.stderr.contains("m.yaml:2: registry.example/shop/later:2"), "\(result.stderr)")
        #expect(try String(contentsOfFile: cli.path("m.yaml"), encoding: .utf8) == text)
        let anchors =
            "a: &x\n  image: registry.example/shop/web:1\nb: *x\ncontainers:\n  - image: registry.example/shop/web:1\n"
        try anchors.write(toFile: cli.path("a.yaml"), atomically: true, encoding: .utf8)
        let refused = try cli.run(["pin", "--env", "production", cli.path("a.yaml")])
        #expect(refused.code == 2 && refused.stderr.contains("a.yaml"), "\(refused.stderr)")
        #expect(try cli.run(["pin", "--env", "nowhere", cli.path("a.yaml")]).code == 2)
    }

    @Test("--write on a symbolic link writes through to its target, keeping the target's mode (issue 30, item 7)")
    func writesThroughSymlinks() throws {
        let cli = try setUp()
        let target = cli.path("real.yaml")
        let link = cli.path("link.yaml")
        try "containers:\n  - image: registry.example/shop/web:1.0\n".write(
            toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.yaml")
        try cli.ok(["pin", "--env", "production", link, "--write"])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real.yaml", "still a link")
        #expect(try String(contentsOfFile: target, encoding: .utf8).contains(web), "the target is pinned")
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }
}
