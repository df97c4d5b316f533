import Foundation

/// A policy's workload rule (DESIGN.md §14): the OIDC tokens of `issuer` whose claims all match `claims` attest a
/// key for `identity` (with `{claim}` filled in from the token) holding `roles`.
///
/// Claims match exactly, as bytes. A value may use `*` (any run of characters but `/`) and `**` (any run) only
/// on the ref-like claims in ``globClaims``. A rule never names `sub` (issuers change its format: GitHub did for
/// repositories created after 2026-07-15) nor the claims Docket checks itself (`iss`, `aud`, `exp`, `nbf`,
/// `iat`, `jti`), and never gives the admin role.
public struct WorkloadRule: Sendable, Equatable {
    public var name: String
    public var issuer: String
    public var claims: [String: String]
    public var identity: String
    public var roles: [Role]

    /// Claims whose values are git refs or paths of them, where a glob (`refs/heads/release/*`) is meaningful.
    public static let globClaims: Set<String> = [
        "ref", "ref_path", "base_ref", "head_ref", "workflow_ref", "job_workflow_ref", "ci_config_ref_uri",
    ]
    /// Claims a rule may not name: `sub`, whose format issuers change, and those checked for every token.
    public static let reservedClaims: Set<String> = ["sub", "iss", "aud", "exp", "nbf", "iat", "jti"]

    /// Whether every claim of the rule matches the token's (string) claim of that name.
    public func matches(_ token: [String: JSONValue]) -> Bool {
        claims.allSatisfy { name, pattern in
            guard let value = token[name]?.stringValue else { return false }
            return Self.globClaims.contains(name)
                ? Self.glob(Array(pattern.utf8), matches: Array(value.utf8))
                : pattern.utf8.elementsEqual(value.utf8)
        }
    }

    /// The identity this rule gives a token: `{claim}` replaced by the token's value of that claim (the parser
    /// allows only claims the rule matches on, so the identity says no more than was checked).
    public func identity(for token: [String: JSONValue]) -> String {
        var result = identity
        for name in claims.keys.sorted() {
            result = result.replacingOccurrences(of: "{\(name)}", with: token[name]?.stringValue ?? "")
        }
        return result
    }

    /// `*` matches any run of bytes but `/`; `**` any run; every other byte itself.
    static func glob(_ pattern: [UInt8], matches value: [UInt8]) -> Bool {
        func match(_ p: Int, _ v: Int) -> Bool {
            if p == pattern.count { return v == value.count }
            if pattern[p] == UInt8(ascii: "*") {
                let double = p + 1 < pattern.count && pattern[p + 1] == UInt8(ascii: "*")
                let rest = p + (double ? 2 : 1)
                var end = v
                while true {
                    if match(rest, end) { return true }
                    guard end < value.count, double || value[end] != UInt8(ascii: "/") else { return false }
                    end += 1
                }
            }
            return v < value.count && pattern[p] == value[v] && match(p + 1, v + 1)
        }
        return match(0, 0)
    }
}
