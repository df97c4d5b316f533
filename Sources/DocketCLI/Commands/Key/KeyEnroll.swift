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

        @Argument(
            help:
                "The public key file: FILE.pub written by `docket key generate`, or an SSH public key (ssh-ed25519, sk-ssh-ed25519@openssh.com) with --identity."
        )
        var publicKeyFile: String

        @Option(name: .long, help: "Whose SSH key it is (an SSH key's comment is not trusted as an identity).")
        var identity: String?

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
            let text = String(decoding: try readLimited(publicKeyFile, limit: 16384), as: UTF8.self)
            let line = try enrolledKey(text, identity: identity, source: publicKeyFile)
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

/// A key to enrol: a Docket `.pub` line, or an SSH public key line for `identity` (`--identity` is required
/// for SSH keys and must agree with a Docket line's).
func enrolledKey(_ text: String, identity: String?, source: String) throws -> PublicKeyLine {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix(PublicKeyLine.prefix) {
        let line = try PublicKeyLine(parsing: trimmed, source: source)
        if let identity, identity != line.identity {
            throw CLIError.badInput("--identity \(identity): \(source) is the key of \(line.identity)")
        }
        return line
    }
    let ssh: SSHPublicKey
    do {
        ssh = try SSHPublicKey(line: trimmed)
    } catch {
        throw CLIError.badInput(
            "\(source): not a Docket public key (`docket-ed25519 …`) nor an ssh-ed25519 or sk-ssh-ed25519@openssh.com key"
        )
    }
    guard let identity, !identity.isEmpty else {
        throw CLIError.badInput(
            "\(source) is an SSH key: say whose it is with --identity (its comment is not trusted as one)")
    }
    return PublicKeyLine(identity: identity, key: ssh.key)
}
