import Foundation

/// Workload identity's projection (DESIGN.md §14): the issuers the ledger trusts, as recorded, and the keys OIDC
/// tokens attested, with the token's issuer, `jti`, expiry and the claims that matched.
extension Projector {
    /// Folds an `oidc-issuer` or a `key-attested` (the attested key joins `keys` with its workload's identity and
    /// roles, as admission found them).
    func applyIdentity(_ event: LedgerEvent) throws {
        let index = Int64(event.index)
        switch event.statement.predicate {
        case .oidcIssuer(let p):
            // One admission refused (a verifier folds refused entries) and no reader could use: not recorded.
            guard (try? OIDCIssuer(p, index: event.index)) != nil else { return }
            try db.insert(
                [
                    .text(p.issuer), .integer(index), .text(p.audience), .text(p.algorithms.joined(separator: ",")),
                    .text(String(decoding: p.jwks.canonicalData, as: UTF8.self)),
                ], into: .oidcIssuer)
        case .keyAttested(let p):
            guard let raw = Data(anyBase64: p.publicKey), let token = try? WorkloadToken(parsing: p.token) else {
                return
            }
            try insertKey(raw: raw, identity: event.signer.identity, roles: event.signer.roles, teams: [], index: index)
            try db.insert(
                [.text(SHA256.hash(raw).hex), .null, .integer((try? token.expiry()) ?? 0), .text("oidc")],
                into: .keyLifetime)
            let iss = token.string("iss") ?? ""
            let rule = try policy(before: event.index)?.policy.workloads.first {
                $0.issuer == iss && $0.matches(token.claims)
            }
            var shown: [String: JSONValue] = [:]
            for name in Array(rule?.claims.keys ?? [:].keys) + Attestation.descriptive {
                if let value = token.claims[name]?.stringValue { shown[name] = .string(value) }
            }
            try db.insert(
                [
                    .text(SHA256.hash(raw).hex), .integer(index), .text(iss), .text(token.string("jti") ?? ""),
                    .integer((try? token.expiry()) ?? 0), .text(rule?.name ?? ""),
                    .text(String(decoding: JSONValue.object(shown).canonicalData, as: UTF8.self)),
                ], into: .attestedKey)
        default:
            return
        }
        lifetimeCache.removeAll()
    }

    /// A key enrolled with `validAfter` / `validBefore` signs only between them.
    func recordLifetime(_ raw: Data, after: String?, before: String?) throws {
        let (notBefore, notAfter) = (after.flatMap(Timestamp.init(lenient:)), before.flatMap(Timestamp.init(lenient:)))
        guard notBefore != nil || notAfter != nil else { return }
        try db.insert(
            [
                .text(SHA256.hash(raw).hex), notBefore.map { .integer($0.milliseconds) } ?? .null,
                notAfter.map { .integer($0.milliseconds) } ?? .null, .text("enrolment"),
            ], into: .keyLifetime)
        lifetimeCache.removeAll()
    }

    /// When the key `keyID` may sign, if its enrolment or its OIDC token bounds it. Asked only of enrolled keys,
    /// whose answer was fixed when they were enrolled, so it is kept (emptied with the key cache).
    func lifetime(keyID: String) throws -> KeyLifetime? {
        if let cached = lifetimeCache[keyID] { return cached }
        guard try hasIdentityTables() else { return nil }
        let found = try db.row(
            "SELECT not_before_ms, not_after_ms, source FROM key_lifetimes WHERE key_id = $1", [.text(keyID)]
        ).map {
            KeyLifetime(
                notBefore: $0.int64("not_before_ms"), notAfter: $0.int64("not_after_ms"),
                source: $0.text("source") ?? "")
        }
        lifetimeCache[keyID] = found
        return found
    }

    /// The issuer `url` as recorded last before entry `bound`; nil when the ledger does not trust it.
    func issuer(_ url: String, before bound: Int = Int.max) throws -> OIDCIssuer? {
        guard try hasIdentityTables() else { return nil }
        let row = try db.row(
            "SELECT idx, audience, algorithms, jwks FROM oidc_issuers WHERE issuer = $1 AND idx < $2 ORDER BY idx DESC LIMIT 1",
            [.text(url), .int(bound)])
        return try row.map { try Self.issuer(url, $0) }
    }

    /// Every trusted issuer as recorded last, by URL.
    func issuers() throws -> [OIDCIssuer] {
        guard try hasIdentityTables() else { return [] }
        return try db.rows(
            "SELECT issuer, idx, audience, algorithms, jwks FROM oidc_issuers o WHERE idx = (SELECT MAX(idx) FROM oidc_issuers WHERE issuer = o.issuer) ORDER BY issuer",
            []
        ).map { try Self.issuer($0.text("issuer") ?? "", $0) }
    }

    private static func issuer(_ url: String, _ row: Row) throws -> OIDCIssuer {
        let index = row.int("idx") ?? 0
        guard let text = row.text("jwks"), let jwks = try? StrictJSON.parse(Data(text.utf8)) else {
            throw LedgerError.corrupt(.unreadableRow(table: "oidc_issuers", index: index))
        }
        let predicate = Predicates.OIDCIssuerSet(
            issuer: url, audience: row.text("audience") ?? "",
            algorithms: (row.text("algorithms") ?? "").split(separator: ",").map(String.init), jwks: jwks)
        do {
            return try OIDCIssuer(predicate, index: index)
        } catch {
            throw LedgerError.corrupt(.unreadableRow(table: "oidc_issuers", index: index))
        }
    }

    /// How the key `keyID` was attested, if an OIDC token attested it (one indexed read, only for keys that have a
    /// lifetime: most keys answer from ``lifetime(keyID:)``'s cache).
    func attestation(keyID: String) throws -> Attestation? {
        guard try lifetime(keyID: keyID)?.source == "oidc" else { return nil }
        return try db.row(
            "SELECT key_id, idx, issuer, jti, expires_ms, rule, claims FROM attested_keys WHERE key_id = $1",
            [.text(keyID)]
        ).map(Self.attestation)
    }

    /// The entry whose token had this `jti` from this issuer, if any.
    func attestation(issuer: String, jti: String) throws -> Attestation? {
        guard try hasIdentityTables() else { return nil }
        return try db.row(
            "SELECT key_id, idx, issuer, jti, expires_ms, rule, claims FROM attested_keys WHERE issuer = $1 AND jti = $2",
            [.text(issuer), .text(jti)]
        ).map(Self.attestation)
    }

    private static func attestation(_ row: Row) -> Attestation {
        var claims: [String: String] = [:]
        if let text = row.text("claims"), case .object(let fields)? = try? StrictJSON.parse(Data(text.utf8)) {
            for (name, value) in fields { if let s = value.stringValue { claims[name] = s } }
        }
        return Attestation(
            keyID: row.text("key_id") ?? "", index: row.int("idx") ?? 0, issuer: row.text("issuer") ?? "",
            jti: row.text("jti") ?? "", expiresMs: row.int64("expires_ms") ?? 0, rule: row.text("rule") ?? "",
            claims: claims)
    }
}

extension Projector {
    /// Whether the store has workload identity's tables (asked once per projector).
    func hasIdentityTables() throws -> Bool {
        if let known = identityTables { return known }
        let present = try db.hasTable("key_lifetimes")
        identityTables = present
        return present
    }
}

/// When a key may sign (ledger time, milliseconds): from `notBefore`, until before `notAfter`; `source` says
/// what bounds it (`oidc`: its token's `exp`; `enrolment`: `validAfter` / `validBefore`).
struct KeyLifetime: Sendable, Equatable {
    var notBefore: Int64?
    var notAfter: Int64?
    var source: String
}
