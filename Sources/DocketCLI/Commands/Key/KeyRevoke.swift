import ArgumentParser
import DocketCore
import Foundation

extension Docket.Key {
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke", abstract: "Revoke an identity's key (signed by an admin).")

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The identity whose key to revoke, or its FILE.pub.")
        var identity: String

        @Option(name: .long, help: "Why (recorded in the ledger).")
        var reason: String

        @Flag(
            name: .long,
            help: "The key was stolen: its approvals that still stand stop counting from this revocation on.")
        var voidApprovals = false

        func run() throws {
            let client = try options.client()
            let target = try activeKey(identity, in: client)
            guard let raw = Data(base64Encoded: target.publicKey) else {
                throw LedgerError.corrupt(.unreadableKey(keyID: target.keyID))
            }
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: target.identity, subjectDigest: SHA256.hash(raw).hex,
                predicate: .keyRevoked(
                    .init(
                        identity: target.identity, publicKey: target.publicKey, reason: reason,
                        voidApprovals: voidApprovals ? true : nil)),
                client: client)
        }
    }
}
