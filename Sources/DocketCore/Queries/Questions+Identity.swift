import Foundation

/// An OIDC issuer as the ledger trusts it now (`docket trust oidc list`): its latest `oidc-issuer` entry.
public struct TrustedIssuer: Codable, Sendable, Equatable {
    public var issuer: String
    public var audience: String
    public var algorithms: [String]
    /// The `kid` of every key Docket can verify with, in the set's order.
    public var keyIDs: [String]
    /// SHA-256 of the key set's canonical JSON: the entry's subject digest (a refresh with the same keys is a no-op).
    public var jwksSHA256: String
    /// The entry that recorded it.
    public var index: Int
}

/// `docket trust oidc list` (and `refresh`, to compare the key set it would record with the one recorded).
public struct TrustedIssuersQuestion: LedgerQuestion {
    public static let name = "oidc-issuers"
    public init() {}
    public func answer(_ reader: QueryReader) throws -> [TrustedIssuer] { try reader.ledger.queries.trustedIssuers() }
}
