import ArgumentParser
import DocketClient
import DocketCore
import Foundation

/// `--out FILE` and `--origin`: sign without appending, for approvers on another machine.
struct EmitOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Write the signed envelope to FILE instead of appending it (append later with `docket submit FILE`).")
    var out: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger to sign for with --out away from it: the file `docket ledger describe --out FILE` wrote, or its ledger ID (then also --origin).",
            valueName: "FILE|ID"))
    var ledgerId: String?

    @Option(name: .long, help: "The ledger origin to sign for, with --ledger-id ID.")
    var origin: String?
}

/// The ledger an envelope is signed for: its origin and ID (DESIGN.md §2).
struct LedgerIdentity {
    var origin: String
    var ledgerID: String

    /// From `--ledger-id FILE|ID` and `--origin`.
    init(option: String, origin: String?) throws {
        if option.utf8.count == 64, option.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
            guard let origin else {
                throw CLIError.badInput("--ledger-id \(option): give the ledger's origin too, with --origin ORIGIN")
            }
            self.init(origin: origin, ledgerID: option)
            return
        }
        guard FileManager.default.fileExists(atPath: option) else {
            throw CLIError.badInput(
                "--ledger-id \(option): not a ledger ID (64 hex digits) or a file written by `docket ledger describe --out FILE`"
            )
        }
        let description = try LedgerDescription(parsing: try readLimited(option, limit: 65536), source: option)
        let (text, id) = (description.origin, description.ledgerID)
        if let origin, origin != text {
            throw CLIError.badInput("--origin \(origin) is not the origin \(text) that \(option) describes")
        }
        self.init(origin: text, ledgerID: id)
    }

    init(origin: String, ledgerID: String) {
        self.origin = origin
        self.ledgerID = ledgerID
    }

    init(_ description: LedgerDescription) { self.init(origin: description.origin, ledgerID: description.ledgerID) }
}

/// Signs an event and appends it (or writes it with `--out`), printing the receipt.
struct EventEmitter {
    let ledgerOptions: LedgerOptions
    let signing: SigningOptions
    /// Write the envelope here instead of appending.
    var out: String? = nil
    /// `--ledger-id` and `--origin`: the ledger to sign for when there is none at hand.
    var identityOption: (ledgerID: String, origin: String?)? = nil

    init(ledgerOptions: LedgerOptions, signing: SigningOptions, emit: EmitOptions? = nil) {
        self.ledgerOptions = ledgerOptions
        self.signing = signing
        out = emit?.out
        identityOption = emit?.ledgerId.map { ($0, emit?.origin) }
    }

    /// The ledger, when there is one to append to or read the identity from.
    func clientIfPresent() throws -> (any LedgerClient)? {
        if out != nil, identityOption != nil { return nil }
        if out != nil, !ledgerOptions.isRemote, !SharedStore.isPostgres(ledgerOptions.path),
            !FileManager.default.fileExists(atPath: ledgerOptions.path)
        {
            return nil
        }
        return try ledgerOptions.client()
    }

    /// The repository of a reference, normalised: a bare digest resolves through the ledger, and a
    /// `REPO@DIGEST` naming another repository than the digest's is refused (exit 2, naming both).
    func repository(for reference: ImageReference, client: (any LedgerClient)?) throws -> String {
        if let client { return try client.ask(ResolveQuestion(image: reference.description)).repository }
        if let repository = reference.repository { return try Repository(normalising: repository).name }
        throw CLIError.badInput(
            "\(reference.digest): with no ledger at hand, give it as REPOSITORY@\(reference.digest)")
    }

    /// The ledger's identity to sign for: `--ledger-id`, else the ledger's. Signing to a file for a server that
    /// cannot be reached uses the identity this client verified at its last contact.
    func identity(_ client: (any LedgerClient)?) throws -> LedgerIdentity {
        if let identityOption {
            return try LedgerIdentity(option: identityOption.ledgerID, origin: identityOption.origin)
        }
        guard let client else {
            throw CLIError.badInput(
                "no ledger at \(ledgerOptions.path) to sign for; with --out pass --ledger-id FILE (from `docket ledger describe --out FILE`)"
            )
        }
        do {
            return LedgerIdentity(try client.identity())
        } catch let error as RemoteError where error.unreachable && out != nil {
            guard let held = try ledgerOptions.server().heldIdentity() else { throw error }
            Terminal.warning(
                "\(ledgerOptions.path) cannot be reached now; signing for the ledger as verified at the last contact")
            return LedgerIdentity(held)
        }
    }

    func run(subject reference: ImageReference, predicate: EventPredicate) throws {
        let client = try clientIfPresent()
        let repository = try repository(for: reference, client: client)
        try run(subjectName: repository, subjectDigest: reference.digest.hex, predicate: predicate, client: client)
    }

    /// `key`: a key the caller already loaded (so an encrypted key file asks for its passphrase once).
    func run(
        subjectName: String, subjectDigest: String, predicate: EventPredicate,
        client preopened: (any LedgerClient)? = nil,
        key loaded: (any EnvelopeSigner)? = nil
    ) throws {
        let client = try preopened ?? clientIfPresent()
        let identity = try self.identity(client)
        let origin = identity.origin
        let key = try loaded ?? signing.load(for: out == nil ? client : nil, ledger: identity, json: ledgerOptions.json)
        let statement = try Statement.make(
            subjectName: subjectName, subjectDigest: subjectDigest, ledger: origin, ledgerID: identity.ledgerID,
            predicate: predicate)
        let envelope = try Envelope.sign(payload: statement.encoded(), with: key)
        if let out = out {
            do {
                try (envelope.compactJSON + Data("\n".utf8)).write(
                    to: URL(fileURLWithPath: out), options: .withoutOverwriting)
            } catch {
                throw CLIError.badInput(
                    "cannot write \(out): \(FileManager.default.fileExists(atPath: out) ? "it already exists" : error.localizedDescription)"
                )
            }
            try ledgerOptions.output(["out": out, "kind": statement.kind.rawValue, "keyid": key.publicKey.keyID]) {
                "signed \(statement.kind.rawValue) for \(origin) and wrote \(out); append it with `docket submit \(out)`"
            }
            return
        }
        guard let client else { throw LedgerError.noLedger(path: ledgerOptions.path) }
        let source = "\(statement.kind.rawValue) event"
        let receipt =
            try (client as? ServerClient)?.submit(
                envelope.compactJSON, statement: statement.encoded(), keyID: key.publicKey.keyID, source: source)
            ?? client.submit([(envelope.compactJSON, source)])[0]
        try printReceipt(receipt, options: ledgerOptions)
    }
}

func printReceipt(_ receipt: AppendReceipt, options: LedgerOptions) throws {
    try options.output(receipt) {
        // A policy's subject is the word `policy`: "policy policy" said nothing twice.
        let what =
            receipt.kind == EventKind.policy.rawValue
            ? "policy set"
            : receipt.kind + " " + (receipt.digest.map { "\(receipt.subject)@\($0)" } ?? receipt.subject)
        return receipt.duplicate
            ? "already in the ledger as entry \(receipt.index) (\(what)); nothing appended"
            : "appended entry \(receipt.index): \(what) at \(receipt.integratedTime)"
    }
}
