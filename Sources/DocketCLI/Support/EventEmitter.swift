import ArgumentParser
import DocketCore
import Foundation

/// `--out FILE` and `--origin`: sign without appending, for approvers on another machine.
struct EmitOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Write the signed envelope to FILE instead of appending it (append later with `docket submit FILE`).")
    var out: String?

    @Option(name: .long, help: "The ledger origin to sign for, when signing with --out away from the ledger.")
    var origin: String?
}

/// Signs an event and appends it (or writes it with `--out`), printing the receipt.
struct EventEmitter {
    let ledgerOptions: LedgerOptions
    let signing: SigningOptions
    /// Write the envelope here instead of appending.
    var out: String? = nil
    /// The origin to sign for when there is no ledger at hand.
    var origin: String? = nil

    init(ledgerOptions: LedgerOptions, signing: SigningOptions, emit: EmitOptions? = nil) {
        self.ledgerOptions = ledgerOptions
        self.signing = signing
        out = emit?.out
        origin = emit?.origin
    }

    /// The ledger, when there is one to append to or read the origin from.
    func ledgerIfPresent() throws -> Ledger? {
        if out != nil, origin != nil { return nil }
        if out != nil, !FileManager.default.fileExists(atPath: ledgerOptions.path) { return nil }
        return try ledgerOptions.open()
    }

    /// Resolves the repository of a reference given as a bare digest, from the ledger's history.
    func repository(for reference: ImageReference, ledger: Ledger?) throws -> String {
        if let repository = reference.repository { return repository }
        if let ledger, let repository = try ledger.repository(of: reference.digest) { return repository }
        throw CLIError.badInput(
            "\(reference.digest) is not in the ledger yet; give it as REPOSITORY@\(reference.digest)")
    }

    func run(subject reference: ImageReference, predicate: EventPredicate) throws {
        let ledger = try ledgerIfPresent()
        let repository = try repository(for: reference, ledger: ledger)
        try run(subjectName: repository, subjectDigest: reference.digest.hex, predicate: predicate, ledger: ledger)
    }

    /// `key`: a key the caller already loaded (so an encrypted key file asks for its passphrase once).
    func run(
        subjectName: String, subjectDigest: String, predicate: EventPredicate, ledger preopened: Ledger? = nil,
        key loaded: SigningKey? = nil
    ) throws {
        let ledger = try preopened ?? ledgerIfPresent()
        guard let origin = origin ?? ledger?.origin else {
            throw CLIError.badInput(
                "no ledger at \(ledgerOptions.path) to read the origin from; pass --origin ORIGIN with --out")
        }
        let key = try loaded ?? signing.load()
        let statement = try Statement.make(
            subjectName: subjectName, subjectDigest: subjectDigest, ledger: origin, predicate: predicate)
        let envelope = Envelope.sign(payload: statement.encoded(), with: key)
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
        guard let ledger else { throw LedgerError.noLedger(path: ledgerOptions.path) }
        let receipt = try ledger.append(envelope.compactJSON, source: "\(statement.kind.rawValue) event")
        try printReceipt(receipt, options: ledgerOptions)
    }
}

func printReceipt(_ receipt: AppendReceipt, options: LedgerOptions) throws {
    try options.output(receipt) {
        let what = receipt.kind + " " + (receipt.digest.map { "\(receipt.subject)@\($0)" } ?? receipt.subject)
        return receipt.duplicate
            ? "already in the ledger as entry \(receipt.index) (\(what)); nothing appended"
            : "appended entry \(receipt.index): \(what) at \(receipt.integratedTime)"
    }
}
