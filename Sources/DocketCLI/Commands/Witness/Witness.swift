import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Witness: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "witness",
            abstract: "Witness the ledger: cosign checkpoints after checking they extend the last one you cosigned.",
            subcommands: [Cosign.self, KeyCommand.self])
    }
}
