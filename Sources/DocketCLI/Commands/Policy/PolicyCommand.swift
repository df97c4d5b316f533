import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy", abstract: "Set or show the gate policy.", subcommands: [Set.self, Show.self])
    }
}
