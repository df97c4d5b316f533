import ArgumentParser
import DocketCore
import Foundation

extension Docket.Key {
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
}
