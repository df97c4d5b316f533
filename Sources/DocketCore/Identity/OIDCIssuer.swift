import Foundation

/// An OIDC issuer the ledger trusts (an `oidc-issuer` event): its URL, the one audience its tokens must name, the
/// algorithms it may sign with and its key set, all as recorded. A later event for the same issuer replaces it.
public struct OIDCIssuer: Sendable {
    public let issuer: String
    public let audience: String
    public let algorithms: [TokenAlgorithm]
    public let keys: JSONWebKeySet
    /// The entry that recorded it.
    public var index: Int

    public init(_ predicate: Predicates.OIDCIssuerSet, index: Int) throws(TokenProblem) {
        try Self.check(url: predicate.issuer)
        guard !predicate.audience.isEmpty else { throw TokenProblem("the audience is empty") }
        guard !predicate.algorithms.isEmpty else { throw TokenProblem("no algorithm is allowed") }
        var algorithms: [TokenAlgorithm] = []
        for name in predicate.algorithms {
            let algorithm = try TokenAlgorithm(parsing: name)
            guard !algorithms.contains(algorithm) else { throw TokenProblem("algorithm \(name) is listed twice") }
            algorithms.append(algorithm)
        }
        self.issuer = predicate.issuer
        self.audience = predicate.audience
        self.algorithms = algorithms
        self.keys = try JSONWebKeySet(document: predicate.jwks)
        self.index = index
    }

    /// An issuer is an `https://` URL (an `http://` one only on a loopback host, for tests), as the tokens'
    /// `iss` spells it, with no query or fragment.
    public static func check(url text: String) throws(TokenProblem) {
        guard let url = URL(string: text), let scheme = url.scheme, let host = url.host, !host.isEmpty,
            url.query == nil, url.fragment == nil
        else { throw TokenProblem("issuer `\(text)` is not a URL such as https://token.actions.githubusercontent.com") }
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw TokenProblem("issuer `\(text)` must be an https:// URL")
        }
    }

    /// The subject digest of an `oidc-issuer` event: SHA-256 of the canonical JSON of its key set, so two events
    /// for one issuer with the same keys name the same subject.
    public static func keySetHash(_ jwks: JSONValue) -> String { SHA256.hash(jwks.canonicalData).hex }
}

/// What a `key-attested` event proved, as the projection keeps it: the workload its key speaks for, until when.
public struct Attestation: Sendable, Equatable, Codable {
    public var keyID: String
    public var index: Int
    public var issuer: String
    public var jti: String
    /// The token's `exp` (milliseconds): the key signs nothing from then on.
    public var expiresMs: Int64
    /// The workload rule's name in the policy, and the claims it matched on (by name), plus the token's
    /// descriptive claims (workflow, run) where it has them.
    public var rule: String
    public var claims: [String: String]

    public var expiresAt: String { Timestamp(milliseconds: expiresMs).rfc3339 }

    /// "github:acme/payments@refs/heads/main, workflow release.yml, run 1234": what history and the report show.
    public func describe(identity: String) -> String {
        var parts = [identity]
        if let workflow = claims["workflow"] ?? claims["job_workflow_ref"] { parts.append("workflow \(workflow)") }
        if let run = claims["run_id"] ?? claims["pipeline_id"] { parts.append("run \(run)") }
        return parts.joined(separator: ", ")
    }

    /// Claims worth showing besides those a rule matched: which run of which workflow it was.
    static let descriptive = ["workflow", "run_id", "run_attempt", "pipeline_id", "job_id", "sha", "actor"]
}
