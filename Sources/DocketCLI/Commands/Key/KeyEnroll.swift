import ArgumentParser
import DocketCore
import Foundation

extension Docket.Key {
    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enrol a public key with roles (signed by an admin).")

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The public key file (FILE.pub) written by `docket key generate`.")
        var publicKeyFile: String

        @Option(
            name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("One or more roles.", valueName: Role.allValueStrings.joined(separator: "|")),
            transform: Role.argument)
        var role: [Role] = []

        func validate() throws {
            guard !role.isEmpty else {
                throw ValidationError("give at least one --role (\(Role.allValueStrings.joined(separator: ", ")))")
            }
        }

        func run() throws {
            let roles = role
            let text = String(decoding: try readLimited(publicKeyFile, limit: 4096), as: UTF8.self)
            let line = try PublicKeyLine(parsing: text, source: publicKeyFile)
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: line.identity, subjectDigest: SHA256.hash(line.key.raw).hex,
                predicate: .keyEnrolled(
                    .init(identity: line.identity, publicKey: line.key.base64, roles: Array(Set(roles)).sorted())))
        }
    }
}
