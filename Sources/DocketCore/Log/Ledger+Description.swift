import Foundation

/// What an offline signer or an auditor needs to know about a ledger: its origin, ID and log verifier key
/// (`docket ledger describe`). Signers give it to `--ledger-id FILE`; auditors pin the log key.
public struct LedgerDescription: Sendable, Codable, Equatable {
    public var origin: String
    /// The hex RFC 6962 leaf hash of the genesis entry.
    public var ledgerID: String
    /// The log's verifier key text (`origin+keyid+base64`).
    public var logKey: String
    public var size: Int

    public init(origin: String, ledgerID: String, logKey: String, size: Int) {
        self.origin = origin
        self.ledgerID = ledgerID
        self.logKey = logKey
        self.size = size
    }

    /// Reads a description written by `docket ledger describe --out FILE` (untrusted: the ID must be 64 hex).
    public init(parsing data: Data, source: String) throws {
        let value: JSONValue
        do { value = try StrictJSON.parse(data) } catch {
            throw ModelError.badStatement(source: source, reason: "not a ledger description: \(error)")
        }
        let fields = try JSONFields(value, path: "")
        do {
            self.init(
                origin: try fields.string("origin"), ledgerID: try fields.string("ledgerID"),
                logKey: try fields.string("logKey"), size: 0)
        } catch let error as FieldError {
            throw ModelError.badField(field: "\(source): \(error.path)", reason: error.reason)
        }
        guard ledgerID.utf8.count == 64, Digest.isLowerHex(ledgerID) else {
            throw ModelError.badField(field: "\(source): ledgerID", reason: "expected 64 lower-case hex digits")
        }
    }
}

extension Ledger {
    public func describe() throws -> LedgerDescription {
        LedgerDescription(
            origin: origin, ledgerID: try ledgerID(), logKey: try logVerifierKey().text, size: try treeSize())
    }
}
