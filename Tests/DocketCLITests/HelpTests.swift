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

    @Test("A bare `docket` prints the overview and the command list")
    func bare() throws {
        let r = try CLI().run([])
        #expect(r.code == 0)
        #expect(r.stdout.contains("SUBCOMMANDS:") && r.stdout.contains("promote"))
    }
}
