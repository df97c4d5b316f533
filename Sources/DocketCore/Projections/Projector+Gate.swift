import Foundation

/// What a rollback would do: leave `current` (or, in drift, the digest observed running), restore `target`.
public struct RollbackChoice: Sendable, Codable, Equatable {
    public var current: TimelineEntry
    public var target: TimelineEntry
    /// The digest the rollback leaves: the current one, or in drift the one observed running.
    public var leaving: String
    /// The drift the rollback settles by restoring the promoted digest, if that is what it does.
    public var drift: DriftRecord?
    /// Incidents open against the target (a rollback to it needs `--break-glass`).
    public var openIncidents: [String]
}

extension Projector {
    /// The facts the gate reads for `digest` (of `repository`) → `environment`, before entry `bound`.
    func gateFacts(digest: Digest, repository: String, environment: String, policy: Policy?, before bound: Int)
        throws -> GateFacts
    {
        let source = (try? Repository(normalized: repository)).flatMap {
            policy?.environment(environment, repository: $0)?.from
        }
        let events = try gateEvents(digest: digest, before: bound)
        var voided: [String: Int] = [:]
        for event in events where event.kind == .approved && voided[event.signer.keyID] == nil {
            if let key = try key(id: event.signer.keyID), key.voidsApprovals, let at = key.revokedIndex, at < bound {
                voided[key.keyID] = at
            }
        }
        return GateFacts(
            digest: digest, repository: repository, events: events,
            sourceCurrent: try source.flatMap { try current(environment: $0, repository: repository, before: bound) },
            voidedKeys: voided,
            targetCurrent: try current(environment: environment, repository: repository, before: bound))
    }

    /// The gate verdict for `digest` → `environment` using entries before `bound`, at ledger time `time`: the
    /// facts read from the projections, decided by ``Gate/evaluate(environment:policy:policyIndex:facts:now:promoter:)``.
    /// `repository` is the digest's (``repository(of:before:)``), or for a digest the ledger does not know, the
    /// one the caller names.
    func gate(
        digest: Digest, repository: String, environment: String, before bound: Int = Int.max, at time: Timestamp,
        promoter: String? = nil
    ) throws -> GateVerdict {
        let policy = try policy(before: bound)
        let facts = try gateFacts(
            digest: digest, repository: repository, environment: environment, policy: policy?.policy, before: bound)
        return Gate.evaluate(
            environment: environment, policy: policy?.policy, policyIndex: policy?.index, facts: facts,
            now: time, promoter: promoter)
    }

    /// The one rule for what a rollback of `repository` in `environment` restores, before entry `bound`
    /// (docs/organisation.md "Rollback"): `requested` if given (it must have been current there before), else in
    /// drift the current (promoted) digest, else the previous digest, skipping those rolled back from.
    /// `claimedLeaving` is the digest a signed rollback says it leaves. Throws the refusal; `rollback` and
    /// admission both ask here.
    func rollbackChoice(
        environment: String, repository: String, requested: Digest?, before bound: Int = Int.max,
        claimedLeaving: String? = nil
    ) throws -> RollbackChoice {
        guard let current = try current(environment: environment, repository: repository, before: bound) else {
            throw LedgerError.refused(.nothingCurrent(environment: environment, repository: repository))
        }
        let drift = try standingDrift(environment: environment, repository: repository, before: bound, limit: 1).last
        func choice(_ target: TimelineEntry, leaving: String, drift: DriftRecord?) throws -> RollbackChoice {
            if let claimedLeaving, claimedLeaving != leaving {
                throw LedgerError.refused(
                    .rollbackFromMismatch(environment: environment, current: leaving, claimed: claimedLeaving))
            }
            let open = try openIncidents(digest: target.digest)
            return RollbackChoice(
                current: current, target: target, leaving: leaving, drift: drift, openIncidents: open)
        }
        // Out of drift: restore the digest the ledger says is current, leaving the one observed running.
        if let drift, requested == nil || requested == current.digest {
            return try choice(current, leaving: drift.digest, drift: drift)
        }
        guard let requested else {
            guard
                let first = try rollbackTargets(
                    environment: environment, repository: repository, before: bound, excludingRolledBack: true
                ).first
            else {
                let named = try rollbackTargets(
                    environment: environment, repository: repository, before: bound, excludingRolledBack: false)
                if named.isEmpty {
                    throw LedgerError.refused(.noEarlierDigest(environment: environment, repository: repository))
                }
                throw LedgerError.refused(
                    .noDefaultRollbackTarget(environment: environment, named: named.map(\.digest.description)))
            }
            return try choice(first, leaving: current.digest.description, drift: nil)
        }
        guard requested != current.digest else {
            throw LedgerError.refused(.alreadyCurrent(digest: requested.description, environment: environment))
        }
        guard let stint = try lastStint(of: requested, in: environment, before: bound),
            stint.repository == repository
        else {
            let all = try rollbackTargets(
                environment: environment, repository: repository, before: bound, excludingRolledBack: false)
            throw LedgerError.refused(
                .neverCurrent(
                    digest: requested.description, environment: environment,
                    validTargets: all.map { "\($0.digest) (since entry \($0.index))" }))
        }
        return try choice(stint, leaving: current.digest.description, drift: nil)
    }

    // MARK: Gate evidence

    /// The events of `digest` the gate reads, before entry `bound`. At the end of the log (every live gate and
    /// promotion, and each step of a verifier's replay) these are only the evidence rows (``recordGateEvidence(_:)``):
    /// as many as the digest has distinct checks, incidents, approvers and producers, however many events it has.
    /// Earlier (`gate --at`), every event of the digest before `bound`. ``Gate/History`` folds both to the same
    /// state: each slot keeps the one event a fold of all of them would end with.
    func gateEvents(digest: Digest, before bound: Int) throws -> [LedgerEvent] {
        guard bound >= (try log.treeSize()) else { return try events(digest: digest, before: bound) }
        let indexes = try db.rows(
            "SELECT DISTINCT idx FROM gate_evidence WHERE digest = $1 ORDER BY idx", [.text(digest.description)]
        ).compactMap { $0.int("idx") }
        return try indexes.map { try event(at: $0) }
    }

    /// Keeps, per digest, the entries the gate can need (docs/organisation.md "The gate"): the first `built`, the
    /// first `built` or `deployed` by each identity (separation of duties), the latest run of each check, the
    /// latest event of each incident, the last incident opened and the last resolved in each environment, each
    /// identity's latest approval, break-glass approval and withdrawal per environment, and the last rollback
    /// from each environment. Slots are `kind` and key fields joined by NUL; `first` keeps the earliest entry.
    func recordGateEvidence(_ event: LedgerEvent) throws {
        guard let digest = event.digest?.description else { return }
        let who = event.signer.identity
        func keep(_ parts: [String], for digest: String = digest, first: Bool = false) throws {
            try db.insert(
                [.text(digest), .text(parts.joined(separator: "\u{0}")), .integer(Int64(event.index))],
                into: first ? .firstEvidence : .latestEvidence)
        }
        switch event.statement.predicate {
        case .built:
            try keep(["built"], first: true)
            try keep(["producer", who], first: true)
        case .deployed: try keep(["producer", who], first: true)
        case .check(let p): try keep(["check", p.check])
        case .incident(let p):
            try keep(["incident", p.environment, p.incident])
            switch p.state {
            case .open: try keep(["opened"])
            case .resolved: try keep(["resolved", p.environment])
            }
        case .approved(let p): try keep(["approved", p.environment, who, p.isBreakGlass ? "break-glass" : "approval"])
        case .withdrawn(let p): try keep(["withdrawn", p.environment, who])
        case .rolledBack(let p):
            // The gate of the digest the rollback left (its `from`) reads it.
            if let from = try? Digest(parsing: p.from) {
                try keep(["rolled-back-from", p.environment], for: from.description)
            }
        default: break
        }
    }
}
