import ArgumentParser
import Foundation
import Testing

@testable import DocketCLI

/// The front door, through the binary users run: `--help`, `-h` and `help SUB` for every command.
@Suite("Help through the binary")
struct HelpTests {
    static let paths: [[String]] = {
        func walk(_ command: ParsableCommand.Type, _ path: [String]) -> [[String]] {
            [path] + command.configuration.subcommands.flatMap { walk($0, path + [$0._commandName]) }
        }
        return walk(Docket.self, [])
    }()

    @Test("Every command's help prints its usage and exits 0", arguments: paths)
    func help(_ path: [String]) throws {
        let cli = try CLI()
        for arguments in [path + ["--help"], path + ["-h"], ["help"] + path] {
            let r = try cli.run(arguments)
            #expect(r.code == 0, "\(arguments): exit \(r.code), stderr \(r.stderr)")
            #expect(r.stdout.contains("USAGE: docket"), "\(arguments): \(r.stdout.prefix(200))")
            #expect(!r.stdout.contains("CommandError") && !r.stderr.contains("CommandError"), "\(arguments)")
        }
    }

    /// Without a `commandName`, ArgumentParser derives each name from `String(describing:)` of the type, which
    /// costs the runtime a scan of every protocol conformance in the binary per command, on every start: about
    /// three quarters of `docket status` before names were given (README: Performance).
    @Test("Every command gives its name, so start-up never derives one from its type")
    func namesGiven() {
        func unnamed(_ command: ParsableCommand.Type) -> [String] {
            (command.configuration.commandName == nil ? ["\(command)"] : [])
                + command.configuration.subcommands.flatMap(unnamed)
        }
        #expect(unnamed(Docket.self).isEmpty)
    }

    @Test("--color is in the help and in every completion script, with its choices")
    func colorOption() throws {
        let cli = try CLI()
        let help = try cli.run(["--help"])
        #expect(help.code == 0 && help.stdout.contains("--color <when>"), "\(help.stdout)")
        for shell in ["bash", "zsh", "fish"] {
            let r = try cli.run(["--generate-completion-script", shell])
            #expect(r.code == 0 && r.stdout.contains("color") && r.stdout.contains("always"), "\(shell)")
        }
    }

    @Test("A bare `docket` prints the overview and the command list")
    func bare() throws {
        let r = try CLI().run([])
        #expect(r.code == 0)
        #expect(r.stdout.contains("SUBCOMMANDS:") && r.stdout.contains("promote"))
    }
}
