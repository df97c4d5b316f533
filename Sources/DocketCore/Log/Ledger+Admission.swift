import Foundation

extension Ledger {
    /// Finds the enrolled key whose signature is on the envelope and checks it may sign this kind now.
    ///
    /// The envelope's keyid is only a hint: the signature must verify under the enrolled public key.
    ///
    /// `preverified` names a key a caller has already verified the signature under (the verifier checks
    /// signatures in parallel before replaying); its record is then trusted without verifying again.
    func authorize(_ envelope: Envelope, _ statement: Statement, index: Int, preverified: String? = nil) throws
        -> Signer
    {
        let kind = statement.kind
        if index == 0 {
            guard case .initialized(let p) = statement.predicate else {
                throw LedgerError.refused("the first entry of a ledger must be `initialized`")
            }
            for admin in p.admins {
                guard let raw = Data(anyBase64: admin.publicKey), let key = try? PublicKey(raw: raw) else { continue }
                if envelope.isSigned(by: key) {
                    return Signer(identity: admin.identity, keyID: key.keyID, roles: [.admin])
                }
            }
            throw LedgerError.refused("the genesis entry is not signed by one of the admins it enrols")
        }
        // The keyid is a hint: look it up first, then fall back to every enrolled key (a handful).
        let candidates: [KeyRecord]
        if let preverified, let record = try projector.key(id: preverified) {
            candidates = [record]
        } else {
            let hinted = try envelope.signatures.compactMap { try projector.key(id: $0.keyID.lowercased()) }
            candidates =
                hinted + (try projector.keys().filter { record in !hinted.contains { $0.keyID == record.keyID } })
        }
        for record in candidates {
            if record.keyID != preverified {
                guard let key = record.key, envelope.isSigned(by: key) else { continue }
            }
            if let revoked = record.revokedIndex, revoked < index {
                throw LedgerError.refused(
                    "the signing key of \(record.identity) (\(record.keyID.prefix(16))…) was revoked at entry \(revoked)"
                        + (record.revokeReason.map { " (\($0))" } ?? ""))
            }
            guard record.roles.contains(kind.requiredRole) else {
                throw LedgerError.refused(
                    "\(record.identity) holds \(record.roles.map(\.rawValue).joined(separator: ", ")) but `\(kind.rawValue)` "
                        + "events need the \(kind.requiredRole.rawValue) role; an admin can enrol a key with it (`docket key enroll … --role \(kind.requiredRole.rawValue)`)"
                )
            }
            return record.signer
        }
        let hint = envelope.signatures.first?.keyID ?? ""
        throw LedgerError.refused(
            "the envelope's signature does not verify under any key enrolled in this ledger (keyid hint \(hint.isEmpty ? "none" : String(hint.prefix(16)) + "…")); "
                + "if the key is new, an admin enrols it with `docket key enroll FILE.pub --role ROLE`")
    }

    /// Checks an authorised event against the ledger's state and the policy in force. Throws the refusal.
    func admit(_ event: LedgerEvent) throws {
        let statement = event.statement
        try statement.validateFields()
        guard statement.ledger == origin else {
            throw LedgerError.refused(
                "the event was signed for ledger `\(statement.ledger)`, not this ledger `\(origin)`")
        }
        let policy = try projector.policy(before: event.index)?.policy
        if let environment = statement.predicate.environment, let policy, policy.environment(environment) == nil {
            throw LedgerError.refused(
                "environment `\(environment)` is not in the policy in force; environments are "
                    + policy.environmentNames.joined(separator: ", "))
        }
        switch statement.predicate {
        case .initialized(let p):
            guard event.index == 0 else { throw LedgerError.refused("the ledger is already initialized") }
            guard let key = try? NoteVerifierKey(parsing: p.logKey),
                key.name == origin, SHA256.hash(key.publicKey.raw).hex == statement.subjectDigest
            else { throw LedgerError.refused("the genesis entry's log key does not match its subject") }
        case .keyEnrolled(let p):
            let raw = try publicKeyBytes(p.publicKey, identity: p.identity, subject: statement.subjectDigest)
            guard !p.roles.isEmpty else { throw LedgerError.refused("a key must be enrolled with at least one role") }
            if let existing = try projector.key(id: SHA256.hash(raw).hex) {
                throw LedgerError.refused(
                    existing.revokedIndex == nil
                        ? "this key is already enrolled for \(existing.identity) (entry \(existing.enrolledIndex))"
                        : "this key was revoked at entry \(existing.revokedIndex!) and cannot be enrolled again; generate a new key"
                )
            }
        case .keyRevoked(let p):
            let raw = try publicKeyBytes(p.publicKey, identity: p.identity, subject: statement.subjectDigest)
            guard let existing = try projector.key(id: SHA256.hash(raw).hex), existing.revokedIndex == nil else {
                throw LedgerError.refused("no enrolled, unrevoked key matches \(p.identity)'s public key")
            }
            guard existing.identity == p.identity else {
                throw LedgerError.refused("that key belongs to \(existing.identity), not \(p.identity)")
            }
        case .policy(let p):
            let parsed = try Policy(document: p.policy, source: "policy event")
            guard parsed.documentHash == statement.subjectDigest else {
                throw LedgerError.refused(
                    "the policy event's subject digest is not the SHA-256 of its canonical document")
            }
        case .built(let p):
            try checkTags(
                p.tags ?? [], repository: statement.subjectName, digest: statement.subjectDigest, policy: policy)
        case .promoted(let p):
            try admitPromotion(event, p, policy: policy)
        case .rolledBack(let p):
            try admitRollback(event, p)
        case .incident(let p):
            let state = try projector.incidentState(
                digest: statement.subjectDigest, environment: p.environment, incident: p.incident)
            if p.state == .resolved && state != .open {
                throw LedgerError.refused(
                    "incident \(p.incident) against this digest in \(p.environment) is not open; there is nothing to resolve"
                )
            }
            if p.state == .open && state == .open {
                throw LedgerError.refused(
                    "incident \(p.incident) against this digest in \(p.environment) is already open")
            }
        case .withdrawn(let p):
            guard
                try projector.hasStandingApproval(
                    digest: statement.subjectDigest, environment: p.environment, identity: event.signer.identity)
            else {
                throw LedgerError.refused(
                    "\(event.signer.identity) has no standing approval of this digest for \(p.environment) to withdraw")
            }
        case .deployed, .check, .approved:
            break
        }
    }

    private func publicKeyBytes(_ text: String, identity: String, subject: String) throws -> Data {
        guard let raw = Data(anyBase64: text), raw.count == 32 else {
            throw LedgerError.refused("the public key of \(identity) is not base64 of 32 bytes")
        }
        guard SHA256.hash(raw).hex == subject else {
            throw LedgerError.refused("the subject digest is not the SHA-256 of \(identity)'s public key")
        }
        return raw
    }

    private func checkTags(_ tags: [String], repository: String, digest: String, policy: Policy?) throws {
        guard let policy, !tags.isEmpty else { return }
        for tag in tags where policy.isProtected(tag: tag) {
            if let current = try projector.digest(tagged: tag, in: repository), current != "sha256:" + digest {
                throw LedgerError.refused(
                    "tag \(tag) of \(repository) is protected and already names \(current); "
                        + "release tags never move: use a new tag")
            }
        }
    }

    private func admitPromotion(_ event: LedgerEvent, _ p: Predicates.Promoted, policy: Policy?) throws {
        guard let digest = event.statement.digest else {
            throw LedgerError.refused("a promotion needs an image digest")
        }
        try checkTags(p.tags ?? [], repository: event.statement.subjectName, digest: digest.hex, policy: policy)
        if let rules = policy?.environment(p.to), let from = rules.from, from != p.from {
            throw LedgerError.refused("\(p.to) is promoted to from \(from), not from \(p.from)")
        }
        if try projector.current(environment: p.to, before: event.index)?.digest == digest.description {
            throw LedgerError.refused("\(digest.short) is already current in \(p.to)")
        }
        let verdict = try gate(
            digest: digest, environment: p.to, before: event.index, at: event.time, promoter: event.signer.identity)
        if verdict.eligible {
            guard p.breakGlass == nil else {
                throw LedgerError.refused(
                    "the gate passes, so this is not a break-glass promotion; promote without --break-glass")
            }
            return
        }
        guard let glass = p.breakGlass else { throw LedgerError.gateRefused(verdict) }
        guard policy?.environment(p.to)?.breakGlass == true else {
            throw LedgerError.refused(
                "the policy does not allow break-glass promotions to \(p.to); the gate failed: "
                    + verdict.failedRules.joined(separator: ", "))
        }
        guard Set(glass.failedRules) == Set(verdict.failedRules) else {
            throw LedgerError.refused(
                "the break-glass promotion lists failed rules [\(glass.failedRules.joined(separator: ", "))] but the rules failing now are [\(verdict.failedRules.joined(separator: ", "))]; sign it again"
            )
        }
    }

    private func admitRollback(_ event: LedgerEvent, _ p: Predicates.RolledBack) throws {
        guard let target = event.statement.digest?.description else {
            throw LedgerError.refused("a rollback needs the image digest to restore")
        }
        guard let current = try projector.current(environment: p.environment, before: event.index) else {
            throw LedgerError.refused("nothing is current in \(p.environment); there is nothing to roll back")
        }
        guard current.digest == p.from else {
            throw LedgerError.refused(
                "\(p.environment) runs \(current.digest), not \(p.from); a rollback leaves the current digest")
        }
        guard target != current.digest else {
            throw LedgerError.refused("\(target) is already current in \(p.environment)")
        }
        guard try projector.lastStint(of: target, in: p.environment, before: event.index) != nil else {
            let candidates = try projector.rollbackTargets(
                environment: p.environment, before: event.index, excludingRolledBack: false)
            let list = candidates.map(\.digest).joined(separator: ", ")
            throw LedgerError.refused(
                "\(target) was never current in \(p.environment) before; valid rollback targets: "
                    + (list.isEmpty ? "none" : list))
        }
    }
}
