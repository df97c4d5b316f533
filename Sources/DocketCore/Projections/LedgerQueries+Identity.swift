import Foundation

extension LedgerQueries {
    /// Every trusted OIDC issuer as recorded last, by URL.
    public func trustedIssuers() throws -> [TrustedIssuer] {
        try projector.issuers().map { issuer in
            let jwks = try projector.event(at: issuer.index).statement
            return TrustedIssuer(
                issuer: issuer.issuer, audience: issuer.audience, algorithms: issuer.algorithms.map(\.rawValue),
                keyIDs: issuer.keys.keyIDs, jwksSHA256: jwks.subjectDigest, index: issuer.index)
        }
    }

    /// How `keyID` was attested by an OIDC token, if it was.
    public func attestation(keyID: String) throws -> Attestation? { try projector.attestation(keyID: keyID) }
}
