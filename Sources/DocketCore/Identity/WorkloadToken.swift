import Foundation

/// An OIDC ID token as a CI system issues it (a compact JWS, RFC 7515/7519), read strictly: three base64url parts,
/// a header naming `alg` and `kid`, and a claims object. Reading it checks nothing but its shape; ``verify(issuer:)``
/// checks the signature and the issuer's claims, ``checkTimes(at:)`` the token's lifetime against ledger time.
public struct WorkloadToken: Sendable {
    /// How far the issuer's clock may run ahead of the ledger's for `iat` and `nbf`. Never applied to `exp`: a key
    /// attested by the token signs nothing after it.
    public static let leeway: Int64 = 60_000
    /// The longest token Docket reads (CI tokens are 1-2 KB).
    public static let maximumLength = 16_384

    public let text: String
    public let algorithm: String
    public let kid: String?
    public let claims: [String: JSONValue]
    let signingInput: Data
    let signature: Data

    public init(parsing text: String) throws(TokenProblem) {
        guard text.utf8.count <= Self.maximumLength else {
            throw TokenProblem("the token is over \(Self.maximumLength) bytes")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw TokenProblem("not a signed JWT (expected three base64url parts separated by dots)")
        }
        func object(_ part: String, _ what: String) throws(TokenProblem) -> [String: JSONValue] {
            guard let bytes = Data(base64URL: part), case .object(let fields)? = try? StrictJSON.parse(bytes) else {
                throw TokenProblem("the token's \(what) is not a base64url JSON object")
            }
            return fields
        }
        let header = try object(parts[0], "header")
        guard case .string(let alg)? = header["alg"] else { throw TokenProblem("the token's header names no `alg`") }
        if header["crit"] != nil { throw TokenProblem("the token's header has `crit` extensions Docket does not read") }
        guard let signature = Data(base64URL: parts[2]) else {
            throw TokenProblem("the token's signature is not base64url")
        }
        self.text = text
        self.algorithm = alg
        self.kid = header["kid"]?.stringValue
        self.claims = try object(parts[1], "claims")
        self.signingInput = Data((parts[0] + "." + parts[1]).utf8)
        self.signature = signature
    }

    /// A string claim, `nil` when absent or not a string.
    public func string(_ name: String) -> String? { claims[name]?.stringValue }

    /// A NumericDate claim (seconds since the epoch) in milliseconds; `nil` when absent, an error when malformed.
    func time(_ name: String) throws(TokenProblem) -> Int64? {
        guard let value = claims[name] else { return nil }
        guard case .number(let seconds) = value, seconds.isFinite, seconds >= 0, seconds < 253_402_300_800 else {
            throw TokenProblem("claim `\(name)` is not a time in seconds since 1970")
        }
        return Int64((seconds * 1000).rounded(.down))
    }

    /// When the token stops being valid, in milliseconds (`exp` is required).
    public func expiry() throws(TokenProblem) -> Int64 {
        guard let exp = try time("exp") else { throw TokenProblem("the token has no `exp` claim") }
        return exp
    }

    /// The signature under the issuer's recorded key set, the algorithm it is pinned to, and `iss`, `aud` and `jti`.
    public func verify(issuer: OIDCIssuer) throws(TokenProblem) {
        let algorithm = try TokenAlgorithm(parsing: self.algorithm)
        guard issuer.algorithms.contains(algorithm) else {
            throw TokenProblem(
                "the token is signed with \(algorithm.rawValue), but \(issuer.issuer) is trusted for \(issuer.algorithms.map(\.rawValue).joined(separator: ", ")) only"
            )
        }
        guard let kid, !kid.isEmpty else { throw TokenProblem("the token's header names no `kid`") }
        try issuer.keys.verify(signature: signature, over: signingInput, kid: kid, algorithm: algorithm)
        guard let iss = string("iss") else { throw TokenProblem("the token has no `iss` claim") }
        guard iss.utf8.elementsEqual(issuer.issuer.utf8) else {
            throw TokenProblem("claim `iss` is `\(iss)`, not the trusted issuer `\(issuer.issuer)`")
        }
        let audiences: [JSONValue] =
            switch claims["aud"] {
            case .array(let list)?: list
            case let single?: [single]
            case nil: []
            }
        guard audiences.count == 1, let aud = audiences[0].stringValue, aud.utf8.elementsEqual(issuer.audience.utf8)
        else {
            throw TokenProblem(
                "claim `aud` is \(claims["aud"].map { String(decoding: $0.canonicalData, as: UTF8.self) } ?? "missing"), not exactly `\(issuer.audience)` (the audience trusted for \(issuer.issuer))"
            )
        }
        guard let jti = string("jti"), !jti.isEmpty else {
            throw TokenProblem("the token has no `jti` claim, so its reuse could not be refused")
        }
    }

    /// `exp`, `nbf` and `iat` against ledger time `now` (milliseconds): `iat` and `nbf` with ``leeway``, `exp` exact.
    public func checkTimes(at now: Int64) throws(TokenProblem) {
        let exp = try expiry()
        guard now < exp else {
            throw TokenProblem(
                "the token expired at \(Self.rfc3339(exp)) (claim `exp`), before ledger time \(Self.rfc3339(now)); run the job's step again for a fresh token"
            )
        }
        if let nbf = try time("nbf"), nbf > now + Self.leeway {
            throw TokenProblem(
                "the token is not valid before \(Self.rfc3339(nbf)) (claim `nbf`); ledger time is \(Self.rfc3339(now))")
        }
        guard let iat = try time("iat") else { throw TokenProblem("the token has no `iat` claim") }
        if iat > now + Self.leeway {
            throw TokenProblem(
                "the token was issued at \(Self.rfc3339(iat)) (claim `iat`), after ledger time \(Self.rfc3339(now))")
        }
    }

    static func rfc3339(_ milliseconds: Int64) -> String { Timestamp(milliseconds: milliseconds).rfc3339 }
}
