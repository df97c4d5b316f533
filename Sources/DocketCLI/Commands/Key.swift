import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate, enrol, revoke and list signing keys.",
            subcommands: [Generate.self, Enroll.self, Revoke.self, List.self])
    }
}

extension Docket.Key {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 key pair: FILE (secret, mode 0600) and FILE.pub.")

        @Option(name: .long, help: "Who the key belongs to (for example alice@example.com).")
        var identity: String

        @Option(name: .long, help: "The secret key file to write; the public key goes to FILE.pub.")
        var out: String

        @Flag(name: .long, help: "Encrypt the secret key with a passphrase (Argon2id + XSalsa20-Poly1305).")
        var encrypt = false

        @Option(name: .long, help: "Name of an environment variable holding the passphrase (implies --encrypt).")
        var passphraseEnv: String?

        @Flag(name: .long, help: "JSON output.")
        var json = false

        func validate() throws {
            guard !identity.isEmpty, !identity.contains(where: \.isWhitespace) else {
                throw ValidationError("--identity must be non-empty with no spaces, for example alice@example.com")
            }
        }

        func run() throws {
            var passphrase: String? = nil
            if encrypt || passphraseEnv != nil {
                passphrase = try Terminal.passphrase(env: passphraseEnv, prompt: "New passphrase for \(out): ")
                if passphraseEnv == nil {
                    let again = try Terminal.passphrase(env: nil, prompt: "Again: ")
                    guard again == passphrase else {
                        throw CLIError.badInput("the passphrases differ; nothing was written")
                    }
                }
            }
            let keyFile = KeyFile(identity: identity, key: try SigningKey.generate())
            try KeyFileFormat.write(keyFile, to: out, passphrase: passphrase)
            let result = [
                "secretKeyFile": out, "publicKeyFile": out + ".pub", "identity": identity,
                "keyid": keyFile.key.publicKey.keyID,
                "publicKey": keyFile.key.publicKey.base64,
            ]
            if json {
                print(try Terminal.json(result))
            } else {
                print("wrote \(out) (secret, mode 0600\(passphrase == nil ? "" : ", encrypted")) and \(out).pub")
                print("  \(keyFile.publicLine)")
            }
        }
    }

    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enrol a public key with roles (signed by an admin).")

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The public key file (FILE.pub) written by `docket key generate`.")
        var publicKeyFile: String

        @Option(
            name: .long, parsing: .upToNextOption,
            help: "Roles: admin, ci, checker, monitor, approver, releaser (repeatable).")
        var role: [String] = []

        func run() throws {
            guard !role.isEmpty else {
                throw ValidationError(
                    "give at least one --role (\(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let roles = try role.flatMap { $0.split(separator: ",") }.map { try Role(parsing: String($0)) }
            let text = String(decoding: try readLimited(publicKeyFile, limit: 4096), as: UTF8.self)
            let line = try PublicKeyLine(parsing: text, source: publicKeyFile)
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: line.identity, subjectDigest: SHA256.hash(line.key.raw).hex,
                predicate: .keyEnrolled(
                    .init(identity: line.identity, publicKey: line.key.base64, roles: Array(Set(roles)).sorted())))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an identity's key (signed by an admin).")

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The identity whose key to revoke, or its FILE.pub.")
        var identity: String

        @Option(name: .long, help: "Why (recorded in the ledger).")
        var reason: String

        func run() throws {
            let ledger = try options.open()
            var target: KeyRecord
            if FileManager.default.fileExists(atPath: identity) {
                let line = try PublicKeyLine(
                    parsing: String(decoding: try readLimited(identity, limit: 4096), as: UTF8.self), source: identity)
                guard
                    let record = try ledger.keys().first(where: { $0.keyID == line.key.keyID && $0.revokedIndex == nil }
                    )
                else {
                    throw CLIError.no(
                        "the key in \(identity) is not enrolled (or already revoked); see `docket key list`")
                }
                target = record
            } else {
                let active = try ledger.keys(identity: identity).filter { $0.revokedIndex == nil }
                guard active.count == 1 else {
                    throw CLIError.no(
                        active.isEmpty
                            ? "\(identity) has no active key; see `docket key list`"
                            : "\(identity) has \(active.count) active keys; name the one to revoke by its FILE.pub")
                }
                target = active[0]
            }
            guard let raw = Data(base64Encoded: target.publicKey) else {
                throw LedgerError.corrupt(.unreadableKey(keyID: target.keyID))
            }
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: target.identity, subjectDigest: SHA256.hash(raw).hex,
                predicate: .keyRevoked(.init(identity: target.identity, publicKey: target.publicKey, reason: reason)),
                ledger: ledger)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrolled keys with their roles and state.")

        @OptionGroup var options: LedgerOptions

        func run() throws {
            let keys = try options.open(readOnly: true).keys()
            try options.output(keys) {
                Terminal.table(
                    [["IDENTITY", "KEY ID", "ROLES", "ENROLLED", "STATE"]]
                        + keys.map {
                            [
                                $0.identity.terminalSafe(keepNewlines: false, limit: 200), String($0.keyID.prefix(16)),
                                $0.roles.map(\.rawValue).joined(separator: ","), "entry \($0.enrolledIndex)",
                                $0.revokedIndex.map { "revoked at entry \($0)" } ?? "active",
                            ]
                        }, indent: "")
            }
        }
    }
}

/// Reads a small input file, refusing a huge one before loading it.
func readLimited(_ path: String, limit: Int) throws -> Data {
    if path == "-" {
        let data = FileHandle.standardInput.readData(ofLength: limit + 1)
        guard data.count <= limit else { throw CLIError.badInput("standard input is larger than \(limit) bytes") }
        return data
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw CLIError.badInput(
            "cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")"
        )
    }
    defer { try? handle.close() }
    let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
    guard data.count <= limit else { throw CLIError.badInput("\(path) is larger than the \(limit)-byte limit") }
    return data
}
