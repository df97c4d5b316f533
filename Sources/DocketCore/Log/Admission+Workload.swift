import Foundation

/// Workload identity's admission (DESIGN.md §14): an issuer's record, a key attested by an OIDC token, and the
/// lifetime of every attested key's events. Tokens are checked against the issuer as recorded before the entry,
/// and against ledger time, so a verifier replaying the log years later decides exactly as the appender did.
extension Admission {
    /// The signer of a `key-attested`: the key it attests, which must have signed it (proof of possession),
    /// speaking for the workload its token names (the one workload rule its claims match).
    func attestedSigner(_ envelope: Envelope, _ statement: Statement, _ p: Predicates.KeyAttested, index: Int) throws
        -> Signer
    {
        guard let raw = Data(anyBase64: p.publicKey), raw.count == 32, let key = try? PublicKey(raw: raw) else {
            throw LedgerError.refused(.workload("predicate.publicKey is not the base64 of a 32-byte Ed25519 key"))
        }
        guard SHA256.hash(raw).hex == statement.subjectDigest else {
            throw LedgerError.refused(.workload("subject digest is not the SHA-256 of the attested key"))
        }
        guard envelope.isSigned(by: key) else {
            throw LedgerError.refused(
                .workload("the envelope is not signed by the key it attests (a key-attested proves possession)"))
        }
        let workload = try self.workload(p, statement: statement, before: index)
        return Signer(identity: workload.identity, keyID: key.keyID, roles: workload.rule.roles)
    }

    /// The token verified under the issuer recorded before entry `index`, and the one rule of the policy then in
    /// force that its claims match.
    func workload(_ p: Predicates.KeyAttested, statement: Statement, before index: Int) throws
        -> (token: WorkloadToken, rule: WorkloadRule, identity: String)
    {
        do {
            let token = try WorkloadToken(parsing: p.token)
            guard let iss = token.string("iss") else { throw TokenProblem("the token has no `iss` claim") }
            guard statement.subjectName.utf8.elementsEqual(iss.utf8) else {
                throw TokenProblem("subject.name `\(statement.subjectName)` is not the token's issuer `\(iss)`")
            }
            guard let issuer = try projector.issuer(iss, before: index) else {
                throw TokenProblem(
                    "issuer `\(iss)` (claim `iss`) is not trusted by this ledger; an admin adds it with `docket trust oidc add --issuer \(iss) --jwks-file FILE`"
                )
            }
            try token.verify(issuer: issuer)
            let workloads = try projector.policy(before: index)?.policy.workloads ?? []
            let rules = workloads.filter { $0.issuer.utf8.elementsEqual(iss.utf8) && $0.matches(token.claims) }
            guard rules.count == 1 else {
                let shown = Array(Set(workloads.filter { $0.issuer == iss }.flatMap(\.claims.keys))).sorted()
                    .map { "\($0)=\(token.string($0) ?? "(none)")" }.joined(separator: ", ")
                throw TokenProblem(
                    rules.isEmpty
                        ? "the token's claims (\(shown.isEmpty ? "no rule names this issuer" : shown)) match no workload rule of the policy; an admin adds one under `workloads:`"
                        : "the token's claims match \(rules.count) workload rules (\(rules.map(\.name).joined(separator: ", "))); a token must match exactly one"
                )
            }
            let identity = rules[0].identity(for: token.claims)
            guard !identity.isEmpty, Identifier.isNFC(identity) else {
                throw TokenProblem(
                    "workload rule `\(rules[0].name)` gives the identity `\(identity)`, which is not a name")
            }
            return (token, rules[0], identity)
        } catch let problem as TokenProblem {
            throw LedgerError.refused(.workload(problem.reason))
        }
    }

    /// A `key-attested` at its ledger time: the token's lifetime, its `jti` never used before, its key new. Any
    /// other event: signed by an attested key only before the token's `exp`.
    func admitWorkload(_ event: LedgerEvent) throws {
        let now = event.time.milliseconds
        guard case .keyAttested(let p) = event.statement.predicate else { return try admitLifetime(event) }
        // `authorize` verified the token and matched its rule moments ago: read it again, check only what needs time.
        let token: WorkloadToken
        do {
            token = try WorkloadToken(parsing: p.token)
            try token.checkTimes(at: now)
        } catch {
            throw LedgerError.refused(.workload(error.reason))
        }
        let (iss, jti) = (token.string("iss") ?? "", token.string("jti") ?? "")
        if let earlier = try projector.attestation(issuer: iss, jti: jti) {
            throw LedgerError.refused(
                .workload(
                    "the token's jti `\(jti)` already attested a key at entry \(earlier.index); a token attests one key (its job keeps that key until exp)"
                ))
        }
        if let existing = try projector.key(id: event.signer.keyID) {
            throw LedgerError.refused(.keyAlreadyEnrolled(identity: existing.identity, at: existing.enrolledIndex))
        }
    }

    /// An event signed by a key whose enrolment or OIDC token bounds when it signs: inside those bounds.
    private func admitLifetime(_ event: LedgerEvent) throws {
        guard let lifetime = try projector.lifetime(keyID: event.signer.keyID) else { return }
        let now = event.time.milliseconds
        let who = event.signer.identity
        if let notAfter = lifetime.notAfter, now >= notAfter {
            let until = Timestamp(milliseconds: notAfter).rfc3339
            throw LedgerError.refused(
                .workload(
                    lifetime.source == "oidc"
                        ? "the key of \(who) was attested by an OIDC token that expired at \(until); events it signs after that do not count: the job needs a fresh token"
                        : "the key of \(who) is valid before \(until) only (its enrolment's validBefore); an admin enrols it again with a later one"
                ))
        }
        if let notBefore = lifetime.notBefore, now < notBefore {
            throw LedgerError.refused(
                .workload(
                    "the key of \(who) is valid from \(Timestamp(milliseconds: notBefore).rfc3339) only (its enrolment's validAfter)"
                ))
        }
    }

    /// A `key-enrolled` with a validity window: one that ends after it begins and after the enrolment.
    func admitWindow(_ p: Predicates.KeyEnrolled, at time: Timestamp) throws {
        guard let before = p.validBefore.flatMap(Timestamp.init(lenient:)) else { return }
        if let after = p.validAfter.flatMap(Timestamp.init(lenient:)), after >= before {
            throw LedgerError.refused(.workload("the key's validAfter \(after.rfc3339) is not before its validBefore"))
        }
        if before <= time {
            throw LedgerError.refused(
                .workload(
                    "the key of \(p.identity) was valid before \(before.rfc3339) only (validBefore), which has passed"))
        }
    }

    /// An `oidc-issuer`: a usable issuer record whose subject names its key set.
    func admitIssuer(_ p: Predicates.OIDCIssuerSet, _ statement: Statement, index: Int) throws {
        do {
            _ = try OIDCIssuer(p, index: index)
        } catch {
            throw LedgerError.refused(.workload("issuer \(p.issuer): \(error.reason)"))
        }
        guard OIDCIssuer.keySetHash(p.jwks) == statement.subjectDigest else {
            throw LedgerError.refused(.workload("subject digest is not the SHA-256 of the canonical key set"))
        }
    }
}
