import Foundation

/// The ledger's public reads. Each asks the ``Projector``, which owns every projection read.
extension Ledger {
    /// The repository the digest was first recorded under, if it is in the ledger (one indexed read).
    public func repository(of digest: Digest) throws -> String? {
        guard let first = try projector.firstEntry(digest: digest) else { return nil }
        return try projector.event(at: first).statement.subjectName
    }

    /// Every event naming `digest` before entry `bound`, in order, decoded and authenticated.
    public func events(digest: Digest, before bound: Int = Int.max) throws -> [LedgerEvent] {
        try projector.events(digest: digest, before: bound)
    }

    /// Events `[from, from+limit)`, decoded and authenticated.
    public func events(from: Int, limit: Int) throws -> [LedgerEvent] {
        try log.indexes(from: from, limit: limit).map { try projector.event(at: $0) }
    }

    /// The gate verdict for `digest` → `environment` using entries before `bound`, at ledger time `time`.
    public func gate(
        digest: Digest, environment: String, before bound: Int = Int.max, at time: Timestamp,
        promoter: String? = nil
    ) throws -> GateVerdict {
        try projector.gate(digest: digest, environment: environment, before: bound, at: time, promoter: promoter)
    }

    /// Every environment's state using entries before `bound` (`status` is the state before the end). An
    /// earlier point is answered by folding the entries before it (``Projector/folded(before:)``).
    public func status(before bound: Int = Int.max, at time: Timestamp? = nil) throws -> LedgerStatus {
        let size = try treeSize()
        let limit = min(bound, size)
        let projections = limit < size ? try projector.folded(before: limit) : projector
        return try projections.status(origin: origin, size: size, before: limit, at: time)
    }

    /// Tag moves involving `digest`.
    public func tagMoves(digest: Digest) throws -> [TagMove] { try projector.tagMoves(digest: digest) }

    public func keys() throws -> [KeyRecord] { try projector.keys() }

    /// The key records of `identity`.
    public func keys(identity: String) throws -> [KeyRecord] { try projector.keys().filter { $0.identity == identity } }

    /// The policy in force before entry `bound`.
    public func policy(before bound: Int = Int.max) throws -> (index: Int, policy: Policy)? {
        try projector.policy(before: bound)
    }

    /// Rollback candidates for `environment`, newest first (`excludingRolledBack`: the default choices).
    public func rollbackTargets(environment: String, excludingRolledBack: Bool) throws -> [TimelineEntry] {
        try projector.rollbackTargets(environment: environment, excludingRolledBack: excludingRolledBack)
    }

    /// What `rollback` of `environment` would restore now: `to`, or the default. Throws the refusal.
    public func rollbackChoice(environment: String, to requested: Digest?) throws -> RollbackChoice {
        try projector.rollbackChoice(environment: environment, requested: requested)
    }

    public func current(environment: String) throws -> TimelineEntry? {
        try projector.current(environment: environment)
    }
}

extension Ledger {
    /// The `promoted` predicate for `digest` → `environment` under the policy in force: its source environment,
    /// and with a break-glass `reason`, the rules that fail now for `promoterKeyID`'s identity (admission checks
    /// them again inside the append transaction). Throws when the environment cannot be promoted to at all.
    public func promotion(
        of digest: Digest, to environment: String, tags: [String], breakGlass reason: String?, promoterKeyID: String?
    ) throws -> Predicates.Promoted {
        guard let (_, policy) = try policy() else { throw LedgerError.noPolicy }
        guard let rules = policy.environment(environment) else {
            throw LedgerError.notInPolicy(environment: environment, known: policy.environmentNames)
        }
        guard let from = rules.from else { throw LedgerError.notGated(environment: environment) }
        var glass: Predicates.BreakGlass? = nil
        if let reason {
            let promoter = try promoterKeyID.flatMap { id in try projector.key(id: id)?.identity }
            let verdict = try gate(digest: digest, environment: environment, at: try ledgerTime(), promoter: promoter)
            glass = Predicates.BreakGlass(reason: reason, failedRules: verdict.failedRules)
        }
        return Predicates.Promoted(from: from, to: environment, tags: tags.isEmpty ? nil : tags, breakGlass: glass)
    }
}
