import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key",
            abstract: "Generate, enrol, update, revoke and list signing keys.",
            subcommands: [Generate.self, Enroll.self, ImportAllowedSigners.self, Update.self, Revoke.self, List.self])
    }
}
