import Foundation
import Testing

/// Issue 10, item 8, on the binary the README builds: a misspelt environment is bad input (2) for every command,
/// a failure with `--json` is a JSON object on stdout too, colour follows `--color`, NO_COLOR and TERM, and a
/// check no gate reads is recorded with a warning.
@Suite("The front door", .serialized)
struct FrontDoorTests {
    @Test("A misspelt --env exits 2 for gate, approve, record, submit and promote, naming the environments")
    func misspeltEnvironment() throws {
        let cli = try CLI()
        try cli.setUpStory()
        try cli.ok(["record", "built", imageA, "--key", cli.path("ci.key")])
        try cli.ok(["record", "deployed", imageA, "--env", "staging", "--key", cli.path("ci.key")])
        let before = try cli.ok(["checkpoint"])
        try cli.ok([
            "record", "deployed", imageA, "--env", "prodution", "--out", cli.path("typo.json"), "--key",
            cli.path("ci.key"),
        ])
        for arguments in [
            ["gate", imageA, "--env", "prodution"],
            ["approve", imageA, "--env", "prodution", "--key", cli.path("alice.key")],
            ["record", "deployed", imageA, "--env", "prodution", "--key", cli.path("ci.key")],
            ["submit", cli.path("typo.json")],
            ["promote", imageA, "--to", "prodution", "--key", cli.path("rel.key")],
            ["rollback", "--env", "prodution", "--reason", "r", "--key", cli.path("rel.key")],
            ["rollback", "--env", "prodution", "--list"],
        ] {
            let r = try cli.run(arguments)
            #expect(r.code == 2, "docket \(arguments): exit \(r.code): \(r.stderr)")
            #expect(r.stderr.contains("prodution") && r.stderr.contains("production"), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            // Worded as every other bad input (gate's words), not as a refusal of the ledger's.
            #expect(r.stderr.hasPrefix("docket: `prodution` is not in the policy"), "\(arguments): \(r.stderr)")
        }
        for arguments in [["pending", "--env", "prodution"], ["pending", "--for", "nobody@example.com"]] {
            let r = try cli.run(arguments)
            #expect(r.code == 2, "docket \(arguments): exit \(r.code): \(r.stderr)")
        }
        #expect(try cli.ok(["checkpoint"]) == before)
    }

    @Test("A misspelt command names the nearest one; a DOCKET_COLOR that is not a choice is bad input")
    func misspeltCommandAndColour() throws {
        let cli = try CLI()
        try cli.setUpStory()
        let typo = try cli.run(["statsu"])
        #expect(typo.code == 2 && typo.stderr.contains("did you mean `docket status`?"), "\(typo.stderr)")
        let far = try cli.run(["frobnicate"])
        #expect(far.code == 2 && !far.stderr.contains("did you mean"), "\(far.stderr)")
        // A ledger address of a kind Docket does not speak, and a folder given as a policy: one line, exit 2.
        let ftp = try cli.run(["status", "--ledger", "ftp://x"])
        #expect(ftp.code == 2 && ftp.stderr.contains("no ftp:// ledgers") && !ftp.stderr.contains("docket init"))
        let folder = try cli.run(["policy", "set", cli.directory, "--key", cli.path("admin.key")])
        #expect(folder.code == 2 && folder.stderr.contains("it is a folder"), "\(folder.stderr)")
        #expect(!folder.stderr.contains("NSCocoaErrorDomain"), "\(folder.stderr)")
        let pin = try cli.run(["pin", "--env", "prod", cli.path("none.yaml")])
        #expect(
            pin.code == 2 && pin.stderr.contains("production"), "names the environments, as gate does: \(pin.stderr)")
        let colour = try cli.run(["status"], env: ["DOCKET_COLOR": "sometimes"])
        #expect(colour.code == 2 && colour.stderr.contains("DOCKET_COLOR=sometimes"), "\(colour.stderr)")
        #expect(colour.stderr.contains("auto, always, never"), "\(colour.stderr)")
    }

    @Test("With --json a failure is also a JSON object on stdout: refusals, bad input, usage errors")
    func jsonErrors() throws {
        let cli = try CLI()
        try cli.setUpStory()
        for (arguments, code, kind) in [
            (["gate", imageA, "--env", "nowhere", "--json"], Int32(2), "bad-input"),
            (
                ["record", "built", "registry.example/app:latest", "--key", cli.path("ci.key"), "--json"], 2,
                "bad-input"
            ),
            (["status", "--json", "--frobnicate"], 2, "bad-input"),
            (["record", "built", imageA, "--key", cli.path("alice.key"), "--json"], 1, "refused"),
            (["status", "--json", "--ledger", cli.path("missing.db")], 2, "bad-input"),
        ] {
            let r = try cli.run(arguments)
            #expect(r.code == code, "docket \(arguments): \(r.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let error = try #require(object?["error"] as? [String: Any], "docket \(arguments): stdout \(r.stdout)")
            #expect(error["exitCode"] as? Int == Int(code))
            #expect(error["kind"] as? String == kind)
            let message = try #require(error["message"] as? String)
            #expect(r.stderr.contains(message), "the same message on stderr: \(r.stderr)")
        }
    }

    @Test("Colour: --color always and never, NO_COLOR set and empty, TERM=dumb")
    func colour() throws {
        let cli = try CLI()
        try cli.setUpStory()
        let gate = ["gate", imageA, "--env", "production"]
        #expect(try cli.run(gate + ["--color", "always"]).stdout.contains("\u{1B}[31m"))
        #expect(try cli.run(["--color=always"] + gate).stdout.contains("\u{1B}[31m"))
        #expect(!(try cli.run(gate + ["--color", "never"]).stdout.contains("\u{1B}")))
        #expect(!(try cli.run(gate).stdout.contains("\u{1B}")), "a pipe is not a terminal")
        #expect(try cli.run(gate + ["--color", "sometimes"]).code == 2)
        // On a terminal (script(1) gives one): colour unless NO_COLOR is set and not empty, or TERM is dumb.
        let line = ([CLI.binary] + gate).map { "'\($0)'" }.joined(separator: " ")
        func onTerminal(_ env: [String: String]) throws -> String {
            try cli.run(["-qc", line, "/dev/null"], env: env, executable: "/usr/bin/script").stdout
        }
        #expect(try onTerminal(["NO_COLOR": "", "TERM": "xterm"]).contains("\u{1B}[31m"))
        #expect(!(try onTerminal(["NO_COLOR": "1", "TERM": "xterm"]).contains("\u{1B}[3")))
        #expect(!(try onTerminal(["NO_COLOR": "", "TERM": "dumb"]).contains("\u{1B}[3")))
    }

    @Test("A check no environment requires is recorded, with a warning naming the checks that count")
    func unusedCheck() throws {
        let cli = try CLI()
        try cli.setUpStory()
        try cli.ok(["record", "built", imageA, "--key", cli.path("ci.key")])
        let r = try cli.run([
            "record", "check", imageA, "--check", "security-scna", "--result", "pass", "--key", cli.path("ci.key"),
        ])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(
            r.stderr.contains("warning: no environment of pipeline default requires check `security-scna`")
                && r.stderr.contains("security-scan"), "\(r.stderr)")
        let known = try cli.run([
            "record", "check", imageA, "--check", "security-scan", "--result", "pass", "--key", cli.path("ci.key"),
        ])
        #expect(known.code == 0 && known.stderr.isEmpty, "\(known.stderr)")
    }
}
