import Foundation

/// One event as `history` and `log` print it in JSON (and the server answers): `summary` is the one-line
/// description the CLI renders.
public struct EventRecord: Codable, Sendable, Equatable {
    public var index: Int
    public var integratedTime: String
    public var kind: String
    public var signer: String
    /// For a key an OIDC token attested: the workload, with the run (``Signer/workload``).
    public var workload: String?
    public var keyid: String
    public var subject: String
    public var digest: String?
    public var summary: String
    public var predicate: JSONValue?

    public init(_ event: LedgerEvent, summary: String) throws {
        index = event.index
        integratedTime = event.time.rfc3339
        kind = event.kind.rawValue
        signer = event.signer.identity
        workload = event.signer.workload
        keyid = event.signer.keyID
        subject = event.statement.subjectName
        digest = event.digest?.description
        self.summary = summary
        predicate = try JSONDecoder().decode([String: JSONValue].self, from: event.statement.encoded())["predicate"]
    }
}
