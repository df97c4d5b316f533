import ArgumentParser
import DocketCore
import Testing

@testable import DocketCLI

/// The command line parsed in process: flags map to the right commands and typed values, and bad values are
/// usage errors (exit 2) before anything runs.
@Suite("Argument parsing")
struct ParsingTests {
    func parse<T: ParsableCommand>(_ arguments: [String], as type: T.Type = T.self) throws -> T {
        try #require(try Docket.parseAsRoot(arguments) as? T, "\(arguments) did not parse as \(T.self)")
    }

    @Test("gate: digest, environment, --at and --promoter")
    func gate() throws {
        let gate = try parse(
            ["gate", "sha256:" + String(repeating: "a", count: 64), "--env", "production", "--at", "12", "--json"],
            as: Docket.Gate.self)
        #expect(gate.env == "production")
        #expect(gate.at == "12")
        #expect(gate.options.json)
        #expect(gate.promoter == nil)
    }

    @Test("record check and incident take their closed sets of values as types")
    func typedValues() throws {
        let check = try parse(
            [
                "record", "check", "r.example/app@sha256:" + String(repeating: "b", count: 64), "--check", "scan",
                "--result", "fail",
            ], as: Docket.Record.Check.self)
        #expect(check.result == .fail)
        let incident = try parse(
            [
                "record", "incident", "r.example/app@sha256:" + String(repeating: "b", count: 64), "--env", "prod",
                "--id", "INC-1", "--state", "resolved",
            ], as: Docket.Record.Incident.self)
        #expect(incident.state == .resolved)
        let enroll = try parse(["key", "enroll", "a.pub", "--role", "approver", "ci"], as: Docket.Key.Enroll.self)
        #expect(enroll.role == [.approver, .ci])
    }

    @Test(
        "A value outside its set is a usage error naming the valid ones",
        arguments: [
            (["record", "check", "x", "--check", "c", "--result", "maybe"], "'pass' and 'fail'"),
            (["record", "incident", "x", "--env", "e", "--id", "i", "--state", "closed"], "'open' and 'resolved'"),
            (["key", "enroll", "a.pub", "--role", "boss"], "unknown role `boss`"),
        ])
    func badValues(_ arguments: [String], _ named: String) {
        #expect(throws: (any Error).self) { try Docket.parseAsRoot(arguments) }
        do {
            _ = try Docket.parseAsRoot(arguments)
        } catch {
            #expect(Docket.exitCode(for: error) == .validationFailure)
            #expect(Docket.fullMessage(for: error).contains(named), "\(Docket.fullMessage(for: error))")
        }
    }

    @Test("init signs with the shared signing options; rollback and promote take their environment")
    func signingAndTargets() throws {
        let initialise = try parse(["init", "--origin", "o.example/l", "--key", "admin.key"], as: Docket.Init.self)
        #expect(initialise.signing.key == "admin.key")
        let rollback = try parse(["rollback", "--env", "production", "--reason", "errors"], as: Docket.Rollback.self)
        #expect(rollback.env == "production" && rollback.to == nil)
        let promote = try parse(
            [
                "promote", "sha256:" + String(repeating: "c", count: 64), "--to", "production", "--tag", "v1", "--tag",
                "v1.0",
            ], as: Docket.Promote.self)
        #expect(promote.tag == ["v1", "v1.0"] && promote.breakGlass == nil)
    }

    @Test("Every command and subcommand has help that renders")
    func help() throws {
        func walk(_ command: ParsableCommand.Type, _ path: [String]) -> [[String]] {
            [path] + command.configuration.subcommands.flatMap { walk($0, path + [$0._commandName]) }
        }
        let paths = walk(Docket.self, [])
        #expect(paths.count > 30)
        for path in paths {
            let text = Docket.helpMessage(for: try #require(Self.command(at: path)))
            #expect(text.contains("USAGE: docket"), "\(path)")
        }
    }

    static func command(at path: [String]) -> ParsableCommand.Type? {
        var command: ParsableCommand.Type = Docket.self
        for name in path {
            guard let next = command.configuration.subcommands.first(where: { $0._commandName == name }) else {
                return nil
            }
            command = next
        }
        return command
    }
}
