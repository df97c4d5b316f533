import ArgumentParser
import DocketCore
import Foundation

extension Docket.Key {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List enrolled keys with their roles, teams and state.")

        @OptionGroup var options: LedgerOptions

        func run() throws {
            let keys = try options.ask(KeysQuestion())
            try options.output(keys) {
                Terminal.table(
                    [["IDENTITY", "KEY ID", "ROLES", "TEAMS", "ENROLLED", "STATE"]]
                        + keys.map {
                            [
                                $0.identity.terminalSafe(keepNewlines: false, limit: 200), String($0.keyID.prefix(16)),
                                $0.roles.map(\.rawValue).joined(separator: ","),
                                $0.teams.isEmpty
                                    ? "-" : $0.teams.joined(separator: ",").terminalSafe(keepNewlines: false),
                                "entry \($0.enrolledIndex)",
                                $0.revokedIndex.map { "revoked at entry \($0)" } ?? "active",
                            ]
                        }, indent: "")
            }
        }
    }
}
