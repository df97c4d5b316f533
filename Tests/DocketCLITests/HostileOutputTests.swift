import Foundation
import Testing

/// Issue 10, item 5: every command's human output over a ledger full of hostile text (terminal escapes, a
/// carriage return, bidi overrides) carries no raw control or bidi character on stdout or stderr.
@Suite("Hostile text in human output", .serialized)
struct HostileOutputTests {
    /// What a signer may put in free text: erase the line, move up, reorder with right-to-left overrides.
    static let hostile = "\r\u{1B}[2K\u{1B}[1A\u{202E}evil\u{2066}\u{9B}31m\u{7F}"

    /// The scalars no human line may carry raw: C0 (but newline), DEL, C1, bidi formatting.
    static func forbidden(_ text: String) -> [String] {
        text.unicodeScalars.filter { s in
            let v = s.value
            return (v < 0x20 && v != 0x0A) || (0x7F..<0xA0).contains(v) || (0x202A...0x202E).contains(v)
                || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
        }.map { "U+" + String($0.value, radix: 16) }
    }

    @Test("status, gate, pending, history, log, verify, key list, receipts and errors escape hostile text")
    func everyCommand() throws {
        let cli = try CLI()
        // Identities take no whitespace (so no carriage return), but escapes and overrides are not whitespace.
        let evil = "mal\u{1B}[2K\u{1B}[1A\u{202E}evil\u{2066}ory@example.com"
        try cli.ok(["key", "generate", "--identity", "admin@example.com", "--out", cli.path("admin.key")])
        try cli.ok(["key", "generate", "--identity", evil, "--out", cli.path("evil.key")])
        for name in ["ci", "alice", "rel"] {
            try cli.ok(["key", "generate", "--identity", "\(name)@example.com", "--out", cli.path("\(name).key")])
        }
        var outputs: [(String, Run)] = []
        func record(_ arguments: [String], expecting code: Int32 = 0) throws {
            let result = try cli.run(arguments)
            if code >= 0 { #expect(result.code == code, "docket \(arguments): \(result.stderr)") }
            outputs.append((arguments.joined(separator: " "), result))
        }
        let admin = ["--key", cli.path("admin.key")]
        try record(["init", "--origin", "example.com/app"] + admin)
        try record(
            ["key", "enroll", cli.path("evil.key.pub"), "--role", "approver", "ci", "monitor", "checker"] + admin)
        try record(["key", "enroll", cli.path("ci.key.pub"), "--role", "ci", "checker", "monitor"] + admin)
        try record(["key", "enroll", cli.path("alice.key.pub"), "--role", "approver"] + admin)
        try record(["key", "enroll", cli.path("rel.key.pub"), "--role", "releaser"] + admin)
        try """
        environments:
          - name: staging
          - name: production
            from: staging
            approvals: {min: 1, roles: [approver]}
            breakGlass: true
            rollback: {plan: "page #oncall"}
        """.write(toFile: cli.path("policy.yaml"), atomically: true, encoding: .utf8)
        try record(["policy", "set", cli.path("policy.yaml")] + admin)
        let ci = ["--key", cli.path("ci.key")]
        let evilKey = ["--key", cli.path("evil.key")]
        try record(["record", "built", imageA, "--builder", Self.hostile, "--build-id", Self.hostile] + ci)
        try record(["record", "built", imageB] + evilKey)
        try record(["record", "deployed", imageA, "--env", "staging", "--deployment", Self.hostile] + ci)
        try record(["record", "check", imageA, "--check", "scan\(Self.hostile)", "--result", "pass"] + evilKey)
        try record(["approve", imageA, "--env", "production", "--comment", Self.hostile] + evilKey)
        try record(["approve", imageA, "--env", "production", "--out", cli.path("approval.json")] + evilKey)
        try record(["submit", cli.path("approval.json")])
        let rel = ["--key", cli.path("rel.key")]
        try record(["promote", imageA, "--to", "production"] + rel)
        try record(
            ["record", "incident", imageA, "--env", "production", "--id", "INC\(Self.hostile)", "--state", "open"]
                + evilKey)
        try record(["record", "deployed", imageB, "--env", "staging"] + ci)
        try record(["promote", imageB, "--to", "production", "--break-glass", Self.hostile] + rel)
        try record(["rollback", "--env", "production", "--reason", Self.hostile] + rel, expecting: 1)
        try record(["rollback", "--env", "production", "--reason", Self.hostile, "--break-glass", Self.hostile] + rel)
        try record(["record", "deployed", imageB, "--env", "production", "--deployment", Self.hostile] + ci)
        for command in [
            ["status"], ["status", "--repo", "registry.example/app", "--incidents"], ["gate", imageA],
            ["gate", imageB, "--env", "production"], ["pending"], ["history", imageA], ["history", imageB], ["log"],
            ["verify"], ["key", "list"], ["policy", "show"], ["rollback", "--env", "production", "--list"],
            ["replay", "--at", "12"],
        ] {
            try record(command, expecting: command[0] == "gate" || command[0] == "verify" ? -1 : 0)
        }
        try record(["key", "generate", "--identity", evil + ".two", "--out", cli.path("evil2.key")])
        try record(["key", "update", evil, "--add-team", "ops"] + admin)
        for command in [["ledger", "describe"], ["checkpoint"], ["prove", "12"]] {
            try record(command)
        }
        try record(["export", "--out", cli.path("bundle.jsonl")])
        try record(["verify", "--bundle", cli.path("bundle.jsonl")], expecting: -1)
        // Errors quote input: an unknown identity, a hostile environment.
        try record(["key", "revoke", evil + "x", "--reason", "r"] + admin, expecting: 2)
        try record(["gate", imageA, "--env", "prod\(Self.hostile)"], expecting: 2)
        try record(["status", "--frob\(Self.hostile)"], expecting: 2)
        var checked = 0
        for (command, result) in outputs {
            for (stream, text) in [("stdout", result.stdout), ("stderr", result.stderr)] {
                let bad = Self.forbidden(text)
                #expect(bad.isEmpty, "docket \(command): raw \(bad) on \(stream): \(text.debugDescription)")
                checked += text.isEmpty ? 0 : 1
            }
        }
        #expect(checked > 30)
        // The hostile text is shown, escaped, not dropped.
        let log = try #require(outputs.first { $0.0 == "log" }?.1.stdout)
        #expect(log.contains("\\u{1b}[2K") && log.contains("\\u{202e}evil"), "\(log)")
    }
}
