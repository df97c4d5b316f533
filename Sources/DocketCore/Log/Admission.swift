import Foundation

/// Decides whether an event may join the ledger: who signed it (``authorize(_:_:index:preverified:)``) and
/// whether the ledger's state and the policy in force allow it (``admit(_:)``). Reads only projections; writes
/// nothing. The append pipeline calls it for every entry, live or replayed.
struct Admission {
    let projector: Projector
    /// The ledger's origin; `nil` until the genesis entry names it (a verifier replaying a bundle).
    var origin: String?
    /// The ledger's ID (the genesis entry's leaf hash, hex); `nil` until the genesis entry is integrated.
    var ledgerID: String?
    /// The appender's own clock for a live append (`nil` when replaying stored entries).
    var appenderClock: Timestamp?

    /// Finds the enrolled key whose signature is on the envelope and checks it may sign this kind now.
    ///
    /// The envelope's keyid is only a hint: the signature must verify under the enrolled public key.
    /// `preverified` names a key a caller has already verified the signature under (signatures are checked in
    /// parallel before the transaction); its record is then trusted without verifying again.
    func authorize(_ envelope: Envelope, _ statement: Statement, index: Int, preverified: String? = nil) throws
        -> Signer
    {
        let kind = statement.kind
        if index == 0 {
            guard case .initialized(let p) = statement.predicate else {
                throw LedgerError.refused(.genesisNotInitialized)
            }
            for admin in p.admins {
                guard let raw = Data(anyBase64: admin.publicKey), let key = try? PublicKey(raw: raw) else { continue }
                if envelope.isSigned(by: key) {
                    return Signer(identity: admin.identity, keyID: key.keyID, roles: [.admin])
                }
            }
            throw LedgerError.refused(.genesisNotSignedByAdmin)
        }
        if case .keyAttested(let p) = statement.predicate {
            return try attestedSigner(envelope, statement, p, index: index)
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
                    .keyRevoked(
                        identity: record.identity, keyID: record.keyID, at: revoked, reason: record.revokeReason))
            }
            guard let role = kind.requiredRole, record.roles.contains(role) else {
                throw LedgerError.refused(.missingRole(identity: record.identity, holds: record.roles, kind: kind))
            }
            return record.signer
        }
        let hint = envelope.signatures.first?.keyID ?? ""
        throw LedgerError.refused(.unknownSigner(keyIDHint: hint.isEmpty ? nil : hint))
    }

    /// Checks an authorised event against the ledger's state and the policy in force. Throws the refusal.
    /// For a promotion, returns the gate's verdict it was admitted on.
    @discardableResult
    func admit(_ event: LedgerEvent) throws -> GateVerdict? {
        let statement = event.statement
        try statement.validateFields()
        // Compared as bytes: Swift's `==` would take a canonically equivalent spelling for the same origin.
        guard let origin, statement.ledger.utf8.elementsEqual(origin.utf8) else {
            throw LedgerError.refused(.foreignLedger(signedFor: statement.ledger, this: origin ?? ""))
        }
        if event.index > 0 {
            guard let ledgerID else { throw LedgerError.corrupt(.noGenesis) }
            guard let signed = statement.ledgerID else { throw LedgerError.refused(.ledgerIDMissing(this: ledgerID)) }
            guard signed.utf8.elementsEqual(ledgerID.utf8) else {
                throw LedgerError.refused(.foreignLedgerID(signedFor: signed, this: ledgerID))
            }
        }
        let policy = try projector.policy(before: event.index)?.policy
        try checkSignedTime(event, policy: policy)
        if !statement.kind.isGovernance { try admitSubject(event, policy: policy) }
        try admitWorkload(event)
        switch statement.predicate {
        case .initialized(let p):
            guard event.index == 0 else { throw LedgerError.refused(.alreadyInitialized) }
            guard let key = try? NoteVerifierKey(parsing: p.logKey),
                key.name == origin, SHA256.hash(key.publicKey.raw).hex == statement.subjectDigest
            else { throw LedgerError.refused(.genesisLogKeyMismatch) }
        case .keyEnrolled(let p):
            let raw = try publicKeyBytes(p.publicKey, identity: p.identity, subject: statement.subjectDigest)
            guard !p.roles.isEmpty else { throw LedgerError.refused(.noRoles) }
            if let existing = try projector.key(id: SHA256.hash(raw).hex) {
                if let revoked = existing.revokedIndex { throw LedgerError.refused(.keyRevokedForever(at: revoked)) }
                throw LedgerError.refused(.keyAlreadyEnrolled(identity: existing.identity, at: existing.enrolledIndex))
            }
            try admitWindow(p, at: event.time)
        case .keyUpdated(let p):
            let raw = try publicKeyBytes(p.publicKey, identity: p.identity, subject: statement.subjectDigest)
            guard !p.roles.isEmpty else { throw LedgerError.refused(.noRoles) }
            guard let existing = try projector.key(id: SHA256.hash(raw).hex), existing.revokedIndex == nil else {
                throw LedgerError.refused(.noSuchKey(identity: p.identity))
            }
            guard existing.identity.utf8.elementsEqual(p.identity.utf8) else {
                throw LedgerError.refused(.keyOfAnotherIdentity(owner: existing.identity, claimed: p.identity))
            }
            if !p.roles.contains(.admin) { try keepAnAdmin(besides: existing) }
        case .keyRevoked(let p):
            let raw = try publicKeyBytes(p.publicKey, identity: p.identity, subject: statement.subjectDigest)
            guard let existing = try projector.key(id: SHA256.hash(raw).hex), existing.revokedIndex == nil else {
                throw LedgerError.refused(.noSuchKey(identity: p.identity))
            }
            guard existing.identity.utf8.elementsEqual(p.identity.utf8) else {
                throw LedgerError.refused(.keyOfAnotherIdentity(owner: existing.identity, claimed: p.identity))
            }
            try keepAnAdmin(besides: existing)
        case .policy(let p):
            let parsed = try Policy(document: p.policy, source: "policy event")
            guard parsed.documentHash == statement.subjectDigest else {
                throw LedgerError.refused(.policyHashMismatch)
            }
        case .oidcIssuer(let p): try admitIssuer(p, statement, index: event.index)
        case .keyAttested: break
        case .built(let p):
            try checkTags(p.tags ?? [], repository: statement.subjectName, digest: event.digest, policy: policy)
        case .promoted(let p):
            return try admitPromotion(event, p, policy: policy)
        case .rolledBack(let p):
            try admitRollback(event, p)
        case .incident(let p):
            guard let digest = event.digest else { throw LedgerError.refused(.notAnImageEvent(event.kind)) }
            let state = try projector.incidentState(digest: digest, environment: p.environment, incident: p.incident)
            if p.state == .resolved && state != .open {
                throw LedgerError.refused(.incidentNotOpen(incident: p.incident, environment: p.environment))
            }
            if p.state == .open && state == .open {
                throw LedgerError.refused(.incidentAlreadyOpen(incident: p.incident, environment: p.environment))
            }
        case .withdrawn(let p):
            guard let digest = event.digest,
                try projector.hasStandingApproval(
                    digest: digest, environment: p.environment, identity: event.signer.identity)
            else {
                throw LedgerError.refused(
                    .nothingToWithdraw(identity: event.signer.identity, environment: p.environment))
            }
        case .deployed, .check, .approved:
            break
        }
        return nil
    }

    /// The signer's clock bounded by the ledger's (DESIGN.md §5): signed no more than `maxClockSkew` after the
    /// entry's ledger time, and no more than `maxSubmitDelay` before it. The defaults hold before any policy.
    ///
    /// A live append measures the delay from the appender's own clock, not from ledger time: ledger time never
    /// goes back, so after one appender with a clock far ahead wrote an entry (which `verify` reports), honest
    /// signers would otherwise be refused until the real time caught up, for ever after a clock past year 9999.
    /// A replay has only the ledger time, so `verify` reports entries signed long before it, too.
    private func checkSignedTime(_ event: LedgerEvent, policy: Policy?) throws {
        guard let signed = Timestamp(lenient: event.statement.time) else {
            throw ModelError.badField(
                field: "predicate.time", reason: "`\(event.statement.time)` is not an RFC 3339 time")
        }
        let skew = policy?.maxClockSkew ?? Policy.defaultClockSkew
        let delay = policy?.maxSubmitDelay ?? Policy.defaultSubmitDelay
        if signed > event.time.adding(seconds: skew.seconds) {
            throw LedgerError.refused(
                .signedInTheFuture(signed: signed.rfc3339, ledgerTime: event.time.rfc3339, skew: skew.description))
        }
        if signed.adding(seconds: delay.seconds) < appenderClock ?? event.time {
            throw LedgerError.refused(
                .signedTooLongAgo(
                    signed: signed.rfc3339, ledgerTime: (appenderClock ?? event.time).rfc3339,
                    delay: delay.description))
        }
    }

    /// Refuses taking the admin role from `key` (revoking it, or updating it without admin) when it is the last
    /// unrevoked admin key: no one could then revoke a leaked key or change the policy.
    private func keepAnAdmin(besides key: KeyRecord) throws {
        guard key.roles.contains(.admin) else { return }
        let others = try projector.keys().filter {
            $0.revokedIndex == nil && $0.roles.contains(.admin) && $0.keyID != key.keyID
        }
        if others.isEmpty { throw LedgerError.refused(.lastAdmin(identity: key.identity)) }
    }

    private func publicKeyBytes(_ text: String, identity: String, subject: String) throws -> Data {
        guard let raw = Data(anyBase64: text), raw.count == 32 else {
            throw LedgerError.refused(.badPublicKey(identity: identity))
        }
        guard SHA256.hash(raw).hex == subject else {
            throw LedgerError.refused(.publicKeySubjectMismatch(identity: identity))
        }
        return raw
    }

    private func checkTags(_ tags: [String], repository: String, digest: Digest?, policy: Policy?) throws {
        guard let policy, let digest, !tags.isEmpty, let name = try? Repository(normalized: repository) else { return }
        for tag in tags where policy.isProtected(tag: tag, repository: name) {
            if let current = try projector.digest(tagged: tag, in: repository), current != digest {
                throw LedgerError.refused(
                    .protectedTag(tag: tag, repository: repository, current: current.description))
            }
        }
    }

    /// An image event's subject: a repository in normal form, the digest's own repository, a pipeline that
    /// covers it, and an environment of that pipeline.
    private func admitSubject(_ event: LedgerEvent, policy: Policy?) throws {
        let repository = try Repository(normalized: event.repository)
        for digest in [event.digest] + [event.statement.predicate.leftDigest] {
            guard let digest, let owner = try projector.repository(of: digest, before: event.index) else { continue }
            guard owner.utf8.elementsEqual(repository.name.utf8) else {
                throw LedgerError.refused(
                    .repositoryMismatch(digest: digest.description, owner: owner, given: repository.name))
            }
        }
        guard let policy else { return }
        guard let pipeline = policy.pipeline(for: repository) else {
            throw LedgerError.refused(.noPipeline(repository: repository.name, patterns: policy.patterns))
        }
        if let environment = event.statement.predicate.environment, pipeline.environment(environment) == nil {
            throw LedgerError.refused(
                .unknownEnvironment(environment, pipeline: pipeline.name, known: pipeline.environmentNames))
        }
    }

    private func admitPromotion(_ event: LedgerEvent, _ p: Predicates.Promoted, policy: Policy?) throws -> GateVerdict {
        guard let digest = event.digest else { throw LedgerError.refused(.notAnImageEvent(.promoted)) }
        let repository = event.repository
        try checkTags(p.tags ?? [], repository: repository, digest: digest, policy: policy)
        let rules = (try? Repository(normalized: repository)).flatMap { policy?.environment(p.to, repository: $0) }
        if let from = rules?.from, from != p.from {
            throw LedgerError.refused(.wrongSource(environment: p.to, required: from, given: p.from))
        }
        if try projector.current(environment: p.to, repository: repository, before: event.index)?.digest == digest {
            throw LedgerError.refused(.alreadyCurrent(digest: digest.short, environment: p.to))
        }
        let facts = try projector.gateFacts(
            digest: digest, repository: repository, environment: p.to, policy: policy, before: event.index)
        let policyIndex = try projector.policy(before: event.index)?.index
        let verdict = Gate.evaluate(
            environment: p.to, policy: policy, policyIndex: policyIndex, facts: facts, now: event.time,
            promoter: event.signer.identity)
        if verdict.eligible {
            guard p.breakGlass == nil else { throw LedgerError.refused(.breakGlassNotNeeded) }
            return verdict
        }
        guard let glass = p.breakGlass else { throw LedgerError.gateRefused(verdict) }
        guard let rules, let allowed = rules.breakGlass else {
            throw LedgerError.refused(.breakGlassNotAllowed(environment: p.to, failedRules: verdict.failedRules))
        }
        let overriding = verdict.failedRules.filter { !allowed.allow.contains($0) }
        guard overriding.isEmpty else {
            throw LedgerError.refused(
                .breakGlassRulesNotAllowed(environment: p.to, rules: overriding, allow: allowed.allow))
        }
        guard Set(glass.failedRules) == Set(verdict.failedRules), glass.failedRules.count == verdict.failedRules.count
        else {
            throw LedgerError.refused(.breakGlassRulesMismatch(listed: glass.failedRules, failing: verdict.failedRules))
        }
        if allowed.approvals > 0 {
            let approvals = Gate.breakGlassApprovals(
                environment: p.to, rules: rules, facts: facts, now: event.time, promoter: event.signer.identity)
            guard approvals.counted.count >= allowed.approvals else {
                throw LedgerError.refused(.breakGlassApprovalsMissing(approvals.reason))
            }
        }
        return verdict
    }

    private func admitRollback(_ event: LedgerEvent, _ p: Predicates.RolledBack) throws {
        guard let target = event.digest else { throw LedgerError.refused(.notAnImageEvent(.rolledBack)) }
        let choice = try projector.rollbackChoice(
            environment: p.environment, repository: event.repository, requested: target, before: event.index,
            claimedLeaving: p.from)
        if !choice.openIncidents.isEmpty && p.breakGlass == nil {
            throw LedgerError.refused(
                .rollbackTargetIncident(digest: target.description, incidents: choice.openIncidents))
        }
        if choice.openIncidents.isEmpty && p.breakGlass != nil {
            throw LedgerError.refused(.rollbackBreakGlassNotNeeded(digest: target.description))
        }
    }
}
