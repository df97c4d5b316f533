import ArgumentParser
import DocketCore
import Foundation

extension Docket.Key {
    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enroll",
            abstract: "Enrol a public key with roles and teams (signed by an admin).")

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The public key file (FILE.pub) written by `docket key generate`.")
        var publicKeyFile: String

        @Option(
            name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("One or more roles.", valueName: Role.allValueStrings.joined(separator: "|")),
            transform: Role.argument)
        var role: [Role] = []

        @Option(name: .long, parsing: .upToNextOption, help: "Teams, for approval rules that name them (security).")
        var team: [String] = []

        func validate() throws {
            guard !role.isEmpty else {
                throw ValidationError("give at least one --role (\(Role.allValueStrings.joined(separator: ", ")))")
            }
            try validateTeams(team)
        }

        func run() throws {
            let text = String(decoding: try readLimited(publicKeyFile, limit: 4096), as: UTF8.self)
            let line = try PublicKeyLine(parsing: text, source: publicKeyFile)
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: line.identity, subjectDigest: SHA256.hash(line.key.raw).hex,
                predicate: .keyEnrolled(
                    .init(
                        identity: line.identity, publicKey: line.key.base64, roles: Array(Swift.Set(role)).sorted(),
                        teams: team.isEmpty ? nil : team)))
        }
    }
}

/// Team names as admission checks them (``Identifier/isTeam(_:)``), refused before anything is signed.
func validateTeams(_ teams: [String]) throws {
    for team in teams where !Identifier.isTeam(team) {
        throw ValidationError(
            "--team \(team.terminalSafe(keepNewlines: false)): team names use letters, digits, - _ and . (at most 64 bytes)"
        )
    }
}
