import Foundation
import Testing

@Suite("The docket command", .serialized)
struct CommandLineTests {
    @Test("The promotion story end to end: refused, approved, promoted, rolled back, verified")
    func story() throws {
        let cli = try CLI()
        try cli.setUpStory()
        try cli.ok(["record", "built", imageA, "--tag", "1.0.0", "--key", cli.path("ci.key")])
        try cli.ok(["record", "deployed", imageA, "--env", "staging", "--key", cli.path("ci.key")])

        let refused = try cli.run(["promote", imageA, "--to", "production", "--key", cli.path("rel.key")])
        #expect(refused.code == 1)
        #expect(refused.stdout.contains("NOT ELIGIBLE"))
        #expect(refused.stdout.contains("needs 2 more approvals from role approver"))
        #expect(refused.stderr.contains("nothing was appended"))

        try cli.ok([
            "record", "check", imageA, "--check", "security-scan", "--result", "pass", "--key", cli.path("ci.key"),
        ])
        try cli.ok(["approve", imageA, "--env", "production", "--key", cli.path("alice.key")])
        // Bob signs on his own machine: no ledger there, just its description.
        try cli.ok(["ledger", "describe", "--out", cli.path("ledger.json")])
        try cli.ok(
            [
                "approve", imageA, "--env", "production", "--key", cli.path("bob.key"), "--out", cli.path("bob.json"),
                "--ledger-id", cli.path("ledger.json"),
            ], env: ["DOCKET_LEDGER": cli.path("elsewhere.db")])
        #expect(try cli.ok(["submit", cli.path("bob.json")]).contains("appended entry"))
        #expect(try cli.ok(["submit", cli.path("bob.json")]).contains("already in the ledger"))
        Thread.sleep(forTimeInterval: 1.1)

        let gate = try cli.run(["gate", imageA, "--env", "production", "--json"])
        #expect(gate.code == 0, "\(gate.stdout)")
        let verdict = try #require(try JSONSerialization.jsonObject(with: Data(gate.stdout.utf8)) as? [String: Any])
        #expect(verdict["eligible"] as? Bool == true)

        try cli.ok(["promote", imageA, "--to", "production", "--key", cli.path("rel.key")])
        let status = try cli.json(["status"])
        let environments = try #require(status["services"] as? [[String: Any]])
        let production = try #require(environments.first { $0["environment"] as? String == "production" })
        #expect(
            (production["current"] as? [String: Any])?["digest"] as? String == "sha256:"
                + String(repeating: "a", count: 64))

        // A bad deploy, then the rollback.
        try cli.ok(["record", "built", imageB, "--key", cli.path("ci.key")])
        try cli.ok(["record", "deployed", imageB, "--env", "staging", "--key", cli.path("ci.key")])
        try cli.ok([
            "promote", imageB, "--to", "production", "--break-glass", "hotfix for CVE-2026-1", "--key",
            cli.path("rel.key"),
        ])
        try cli.ok(["rollback", "--env", "production", "--reason", "error rate", "--key", cli.path("rel.key")])
        let human = try cli.ok(["status", "--repo", "registry.example/app"])
        #expect(human.contains("production   sha256:aaaaaaaaaaaa"), "\(human)")

        let verify = try cli.run(["verify"])
        #expect(verify.code == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("hotfix for CVE-2026-1"))
        let history = try cli.ok(["history", imageB])
        #expect(history.contains("BREAK-GLASS"))
        #expect(history.contains("rolled back from sha256:bbbbbbbbbbbb"))
    }

    @Test("Bad input: exit 2 with a message naming the input; refusals exit 1; the ledger is unchanged")
    func badInput() throws {
        let cli = try CLI()
        try cli.setUpStory()
        let before = try cli.ok(["checkpoint"])

        var r = try cli.run(["record", "built", "registry.example/app:latest", "--key", cli.path("ci.key")])
        #expect(r.code == 2 && r.stderr.contains("is a tag, and tags move"))
        r = try cli.run(["record", "built", "registry.example/app@sha256:ABC", "--key", cli.path("ci.key")])
        #expect(r.code == 2 && r.stderr.contains("not 64"))
        r = try cli.run(["key", "enroll", cli.path("alice.key.pub"), "--role", "boss", "--key", cli.path("admin.key")])
        #expect(r.code == 2 && r.stderr.contains("unknown role `boss`"))
        r = try cli.run(["status", "--ledger", cli.path("nothing.db")])
        #expect(r.code == 2 && r.stderr.contains("no ledger at"))
        try "hello".write(toFile: cli.path("text.db"), atomically: true, encoding: .utf8)
        r = try cli.run(["status", "--ledger", cli.path("text.db")])
        #expect(r.code == 2 && r.stderr.contains("not a Docket ledger"))

        chmod(cli.path("ci.key"), 0o644)
        r = try cli.run(["record", "built", imageA, "--key", cli.path("ci.key")])
        #expect(r.code == 2 && r.stderr.contains("chmod 600"))
        chmod(cli.path("ci.key"), 0o600)

        try cli.ok(
            [
                "key", "generate", "--identity", "eve@example.com", "--out", cli.path("eve.key"), "--passphrase-env",
                "PW",
            ], env: ["PW": "right"])
        r = try cli.run(
            ["record", "built", imageA, "--key", cli.path("eve.key"), "--passphrase-env", "PW"], env: ["PW": "wrong"])
        #expect(r.code == 2 && r.stderr.contains("wrong passphrase"))
        r = try cli.run(
            ["record", "built", imageA, "--key", cli.path("eve.key"), "--passphrase-env", "PW"], env: ["PW": "right"])
        #expect(r.code == 1 && r.stderr.contains("does not verify under any key enrolled"))

        let id = try #require(try cli.json(["ledger", "describe", "--json"])["ledgerID"] as? String)
        try cli.ok([
            "record", "built", imageA, "--key", cli.path("ci.key"), "--out", cli.path("other.json"), "--ledger-id", id,
            "--origin", "other.example/x",
        ])
        r = try cli.run(["submit", cli.path("other.json")])
        #expect(r.code == 1 && r.stderr.contains("signed for ledger `other.example/x`"), "\(r.stderr)")
        // Another ledger with the same origin is another ledger: its envelopes are refused here.
        try cli.ok([
            "init", "--origin", "example.com/app", "--key", cli.path("admin.key"), "--ledger", cli.path("twin.db"),
        ])
        try cli.ok([
            "key", "enroll", cli.path("ci.key.pub"), "--role", "ci", "--key", cli.path("admin.key"), "--ledger",
            cli.path("twin.db"),
        ])
        try cli.ok([
            "record", "built", imageA, "--key", cli.path("ci.key"), "--out", cli.path("twin.json"), "--ledger",
            cli.path("twin.db"),
        ])
        r = try cli.run(["submit", cli.path("twin.json")])
        #expect(r.code == 1 && r.stderr.contains("not this ledger's"), "\(r.stderr)")
        // A REPO@DIGEST naming another repository than the digest's is bad input, naming both.
        try cli.ok(["record", "built", imageA, "--key", cli.path("ci.key")])
        r = try cli.run(["gate", "other.example/thing@" + imageA.split(separator: "@")[1], "--env", "production"])
        #expect(
            r.code == 2 && r.stderr.contains("belongs to registry.example/app, not other.example/thing"), "\(r.stderr)")
        let afterBuilt = try cli.ok(["checkpoint"])

        try cli.ok(["record", "built", imageA, "--key", cli.path("ci.key"), "--out", cli.path("good.json")])
        let good = try Data(contentsOf: URL(fileURLWithPath: cli.path("good.json")))
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: cli.path("truncated.json")))
        r = try cli.run(["submit", cli.path("truncated.json")])
        #expect(r.code == 2 && r.stderr.contains("truncated.json") && r.stderr.contains("invalid or truncated JSON"))

        // 100 MB is refused after reading the limit, never parsed.
        #expect(FileManager.default.createFile(atPath: cli.path("huge.json"), contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: cli.path("huge.json")))
        try handle.truncate(atOffset: 100 << 20)
        try handle.close()
        let start = Date()
        r = try cli.run(["submit", cli.path("huge.json")])
        #expect(r.code == 2 && r.stderr.contains("larger than"))
        #expect(Date().timeIntervalSince(start) < 10)

        // Input quoted in an error cannot add lines or reach the terminal as escape sequences.
        let hostile = "{\"payloadType\":\"text/plain\\n\\u001b[2Jsecond line\",\"payload\":\"e30=\",\"signatures\":[]}"
        try hostile.write(toFile: cli.path("hostile.json"), atomically: true, encoding: .utf8)
        r = try cli.run(["submit", cli.path("hostile.json")])
        #expect(r.code == 2)
        #expect(!r.stderr.contains("\u{1B}"))
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")

        r = try cli.run(["frobnicate"])
        #expect(r.code == 2)
        #expect(try cli.ok(["checkpoint"]) == afterBuilt)
        #expect(before != afterBuilt)
    }

    @Test("Eight processes appending at once: every event present once, gapless, verify clean")
    func concurrentAppends() throws {
        let cli = try CLI()
        try cli.setUpStory()
        let start = Int(try #require(try cli.json(["status"])["size"] as? Int))
        let workers = 8
        let perWorker = 15
        var processes: [Process] = []
        for w in 0..<workers {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            var script = ""
            for i in 0..<perWorker {
                let hex = String(format: "%02x%02x", w, i) + String(repeating: "0", count: 60)
                script +=
                    "\"\(CLI.binary)\" record built registry.example/app@sha256:\(hex) --key \(cli.path("ci.key")) >/dev/null || exit 1\n"
            }
            process.arguments = ["-c", script]
            process.environment = cli.environment
            try process.run()
            processes.append(process)
        }
        // Verifying while others append reads one snapshot: it must never report the appends as tampering.
        var verifies = 0
        while processes.contains(where: \.isRunning), verifies < 20 {
            let during = try cli.run(["verify"])
            #expect(during.code == 0, "verify during appends: \(during.stdout)")
            verifies += 1
        }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let log =
            try JSONSerialization.jsonObject(with: Data(try cli.ok(["log", "--json", "--limit", "10000"]).utf8))
            as? [[String: Any]] ?? []
        #expect(log.count == start + workers * perWorker)
        #expect(log.enumerated().allSatisfy { $0.offset == $0.element["index"] as? Int })
        let built = log.filter { $0["kind"] as? String == "built" }.compactMap { $0["digest"] as? String }
        #expect(Set(built).count == workers * perWorker)
        #expect(try cli.run(["verify"]).code == 0)
    }

    @Test("Auditor kit: export, verify --bundle, proofs, consistency, witness")
    func auditorKit() throws {
        let cli = try CLI()
        try cli.setUpStory()
        try cli.ok(["record", "built", imageA, "--key", cli.path("ci.key")])
        try cli.ok(["checkpoint"]).write(toFile: cli.path("old.checkpoint"), atomically: true, encoding: .utf8)
        let logKey = try #require(try cli.json(["verify"])["logKey"] as? String)
        try cli.ok(["record", "deployed", imageA, "--env", "staging", "--key", cli.path("ci.key")])

        try cli.ok(["export", "--out", cli.path("bundle.jsonl")])
        let verified = try cli.run(["verify", "--bundle", cli.path("bundle.jsonl"), "--log-key", logKey])
        #expect(verified.code == 0, "\(verified.stdout)")
        #expect(verified.stdout.contains("pinned"))

        // Proofs: inclusion of every entry about the digest, checked offline.
        try cli.ok(["prove", imageA, "--out-dir", cli.path("proofs")])
        let files = try FileManager.default.contentsOfDirectory(atPath: cli.path("proofs")).filter {
            $0.hasSuffix(".tlog-proof")
        }
        #expect(files.count == 2)
        for file in files {
            let index = file.dropLast(".tlog-proof".count)
            try cli.ok([
                "verify-proof", cli.path("proofs/\(file)"), cli.path("proofs/\(index).entry"), "--log-key", logKey,
            ])
        }
        var proof = try String(contentsOfFile: cli.path("proofs/" + files[0]), encoding: .utf8)
        let lines = proof.split(separator: "\n", omittingEmptySubsequences: false)
        var hash = Data(base64Encoded: String(lines[2]))!
        hash[0] ^= 1
        proof = proof.replacingOccurrences(of: String(lines[2]), with: hash.base64EncodedString())
        try proof.write(toFile: cli.path("bad.tlog-proof"), atomically: true, encoding: .utf8)
        let index = files[0].dropLast(".tlog-proof".count)
        #expect(
            try cli.run([
                "verify-proof", cli.path("bad.tlog-proof"), cli.path("proofs/\(index).entry"), "--log-key", logKey,
            ]).code == 1)

        // Consistency with the checkpoint saved earlier.
        try cli.ok(["consistency", cli.path("old.checkpoint")]).write(
            toFile: cli.path("consistency.txt"), atomically: true, encoding: .utf8)
        try cli.ok(["verify-proof", cli.path("consistency.txt"), cli.path("old.checkpoint"), "--log-key", logKey])
        #expect(try cli.run(["verify", "--since", cli.path("old.checkpoint")]).code == 0)

        // Witnessing.
        try cli.ok(["key", "generate", "--identity", "witness@example.com", "--out", cli.path("w.key")])
        let wkey = try cli.ok(["witness", "key", cli.path("w.key.pub"), "--name", "witness.example/w1"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cli.run(["verify", "--witness", wkey]).code == 1)
        try cli.ok([
            "witness", "cosign", "--key", cli.path("w.key"), "--name", "witness.example/w1", "--state",
            cli.path("w.state"),
        ])
        try cli.ok([
            "record", "check", imageA, "--check", "security-scan", "--result", "pass", "--key", cli.path("ci.key"),
        ])
        try cli.ok([
            "witness", "cosign", "--key", cli.path("w.key"), "--name", "witness.example/w1", "--state",
            cli.path("w.state"),
        ])
        let witnessed = try cli.run(["verify", "--witness", wkey])
        #expect(witnessed.code == 0, "\(witnessed.stdout)")
        try cli.ok(["export", "--out", cli.path("bundle2.jsonl")])
        #expect(try cli.run(["verify", "--bundle", cli.path("bundle2.jsonl"), "--witness", wkey]).code == 0)
    }
}
