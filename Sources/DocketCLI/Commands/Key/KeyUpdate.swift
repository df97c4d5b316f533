import ArgumentParser
import DocketCore
import Foundation

extension Docket.Key {
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change an enrolled key's roles or teams (signed by an admin).",
            discussion:
                "Roles and teams not given stay as they are. Approvals already given keep the roles and teams their key held when they were appended."
        )

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The identity whose key to change, or its FILE.pub.")
        var identity: String

        @Option(
            name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("The key's roles from now on.", valueName: Role.allValueStrings.joined(separator: "|")),
            transform: Role.argument)
        var role: [Role] = []

        @Option(name: .long, parsing: .upToNextOption, help: "Add the key to these teams.")
        var addTeam: [String] = []

        @Option(name: .long, parsing: .upToNextOption, help: "Remove the key from these teams.")
        var removeTeam: [String] = []

        func validate() throws {
            guard !role.isEmpty || !addTeam.isEmpty || !removeTeam.isEmpty else {
                throw ValidationError("nothing to change: give --role, --add-team or --remove-team")
            }
            try validateTeams(addTeam + removeTeam)
        }

        func run() throws {
            let client = try options.client()
            let target = try activeKey(identity, in: client)
            var teams = target.teams
            for team in removeTeam {
                guard teams.contains(team) else {
                    throw CLIError.badInput(
                        "--remove-team \(team): \(target.identity)'s key is not in that team; its teams are \(teams.isEmpty ? "none" : teams.joined(separator: ", "))"
                            .terminalSafe(keepNewlines: false))
                }
                teams.removeAll { $0 == team }
            }
            for team in addTeam where !teams.contains(team) { teams.append(team) }
            guard let raw = Data(base64Encoded: target.publicKey) else {
                throw LedgerError.corrupt(.unreadableKey(keyID: target.keyID))
            }
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: target.identity, subjectDigest: SHA256.hash(raw).hex,
                predicate: .keyUpdated(
                    .init(
                        identity: target.identity, publicKey: target.publicKey,
                        roles: role.isEmpty ? target.roles : Array(Swift.Set(role)).sorted(), teams: teams.sorted())),
                client: client)
        }
    }
}

/// The one active key named by an identity or a FILE.pub (`key revoke`, `key update`).
func activeKey(_ identity: String, in client: any LedgerClient) throws -> KeyRecord {
    if FileManager.default.fileExists(atPath: identity) {
        let line = try PublicKeyLine(
            parsing: String(decoding: try readLimited(identity, limit: 4096), as: UTF8.self), source: identity)
        return try client.ask(ActiveKeyQuestion(keyID: line.key.keyID, given: identity))
    }
    return try client.ask(ActiveKeyQuestion(identity: identity, given: identity))
}
