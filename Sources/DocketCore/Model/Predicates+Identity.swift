import Foundation

/// The predicates of workload identity (DESIGN.md §14): an issuer the ledger trusts, and a key a CI job attests
/// with that issuer's token.
extension Predicates {
    /// `oidc-issuer` (admin): from this entry on, tokens of `issuer` are checked against these keys. Subject:
    /// name = the issuer URL, sha256 = SHA-256 of the canonical JSON of `jwks`.
    public struct OIDCIssuerSet: Codable, Sendable, Equatable {
        public var issuer: String
        public var audience: String
        public var algorithms: [String]
        public var jwks: JSONValue
        public init(issuer: String, audience: String, algorithms: [String], jwks: JSONValue) {
            self.issuer = issuer
            self.audience = audience
            self.algorithms = algorithms
            self.jwks = jwks
        }
    }

    /// `key-attested` (signed by the key it attests, proving possession): `publicKey` (base64 of the raw 32 bytes)
    /// speaks for the workload `token` names until the token's `exp`. Subject: name = the token's issuer,
    /// sha256 = SHA-256 of the public key.
    public struct KeyAttested: Codable, Sendable, Equatable {
        public var token: String
        public var publicKey: String
        public init(token: String, publicKey: String) {
            self.token = token
            self.publicKey = publicKey
        }
    }
}
