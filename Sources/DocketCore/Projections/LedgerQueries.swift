import Foundation

/// A digest the tag named, from an entry on.
public struct TagHistoryEntry: Sendable, Codable, Equatable {
    public var index: Int
    public var digest: String
}

/// A digest waiting for approval for an environment, with what its gate still needs.
public struct PendingApproval: Sendable, Codable, Equatable {
    public var repository: String
    public var digest: String
    public var environment: String
    public var verdict: GateVerdict
    /// For `pending --for ME`: the approval rules ME could still help meet.
    public var rulesYouCanMeet: [String]?
}

/// What the ledger answers (`ledger.queries`): where each digest runs, its gate, its history, keys, policy,
/// drift, incidents, what is pending. Each asks the ``Projector``, which owns every projection read.
public struct LedgerQueries {
    let ledger: Ledger
    var projector: Projector { ledger.projector }
    var log: LogStore { ledger.log }
}

extension LedgerQueries {
    /// The repository the digest belongs to, if it is in the ledger (one indexed read).
    public func repository(of digest: Digest) throws -> String? { try projector.repository(of: digest) }

    /// The digest and its repository from `REPO@DIGEST` or a bare digest: the repository normalised, and
    /// checked against the one the ledger has for the digest (a mismatch is refused, naming both).
    public func resolve(_ reference: ImageReference) throws -> (digest: Digest, repository: String) {
        let owner = try repository(of: reference.digest)
        guard let given = reference.repository else {
            guard let owner else { throw LedgerError.unknownDigest(reference.digest.description) }
            return (reference.digest, owner)
        }
        let name = try Repository(normalising: given).name
        if let owner, !owner.utf8.elementsEqual(name.utf8) {
            throw LedgerError.repositoryMismatch(digest: reference.digest.description, owner: owner, given: name)
        }
        return (reference.digest, name)
    }

    /// Every event naming `digest` before entry `bound`, in order, decoded and authenticated.
    public func events(digest: Digest, before bound: Int = Int.max) throws -> [LedgerEvent] {
        try projector.events(digest: digest, before: bound)
    }

    /// Up to `limit` events naming `digest` from entry `from` on, in order: a page of ``events(digest:before:)``.
    public func events(digest: Digest, from: Int, limit: Int) throws -> [LedgerEvent] {
        try projector.entryIndexes(digest: digest, from: from, limit: limit).map { try projector.event(at: $0) }
    }

    /// Events `[from, from+limit)`, decoded and authenticated.
    public func events(from: Int, limit: Int) throws -> [LedgerEvent] {
        try log.indexes(from: from, limit: limit).map { try projector.event(at: $0) }
    }

    /// The gate verdict for `digest` (of `repository`) → `environment` using entries before `bound`, at ledger
    /// time `time`.
    public func gate(
        digest: Digest, repository: String, environment: String, before bound: Int = Int.max, at time: Timestamp,
        promoter: String? = nil
    ) throws -> GateVerdict {
        try projector.gate(
            digest: digest, repository: repository, environment: environment, before: bound, at: time,
            promoter: promoter)
    }

    /// Why a check named `check` of `repository` would count for no gate (no environment of its pipeline requires
    /// it: often a misspelt name), or `nil`. Checks are facts any tool may record, so this is a warning.
    public func unusedCheckWarning(check: String, repository: String) throws -> String? {
        guard let pipeline = try? pipeline(for: repository) else { return nil }
        let required = pipeline.environments.flatMap(\.checks)
        guard !required.contains(where: { $0.utf8.elementsEqual(check.utf8) }) else { return nil }
        return "no environment of pipeline \(pipeline.name) requires check `\(check)`"
            + (required.isEmpty ? "" : " (it requires \(Array(Set(required)).sorted().joined(separator: ", ")))")
            + "; it is recorded, but no gate reads it"
    }

    /// The pipeline of the policy in force before `bound` that covers `repository`; throws when there is no
    /// policy or no pipeline covers it.
    public func pipeline(for repository: String, before bound: Int = Int.max) throws -> Pipeline {
        guard let policy = try policy(before: bound)?.policy else { throw LedgerError.noPolicy }
        guard let pipeline = policy.pipeline(for: try Repository(normalized: repository)) else {
            throw LedgerError.refused(.noPipeline(repository: repository, patterns: policy.patterns))
        }
        return pipeline
    }

    /// The verdict for every gated environment of the repository's pipeline, in pipeline order.
    public func gates(
        digest: Digest, repository: String, before bound: Int = Int.max, at time: Timestamp, promoter: String? = nil
    ) throws -> [GateVerdict] {
        return try pipeline(for: repository, before: bound).environments.filter(\.isGated).map {
            try gate(
                digest: digest, repository: repository, environment: $0.name, before: bound, at: time,
                promoter: promoter)
        }
    }

    /// Every service's state using entries before `bound` (`status` is the state before the end), for one
    /// repository or all. An earlier point is answered by folding the entries before it
    /// (``Projector/folded(before:)``).
    public func status(before bound: Int = Int.max, at time: Timestamp? = nil, repository: String? = nil) throws
        -> LedgerStatus
    {
        let size = try ledger.treeSize()
        let limit = min(bound, size)
        let projections = limit < size ? try projector.folded(before: limit) : projector
        return try projections.status(
            origin: ledger.origin, size: size, before: limit, at: time, repository: repository)
    }

    /// Tag moves involving `digest`.
    public func tagMoves(digest: Digest) throws -> [TagMove] { try projector.tagMoves(digest: digest) }

    /// The digests `tag` of `repository` has named, oldest first.
    public func tagHistory(repository: String, tag: String) throws -> [TagHistoryEntry] {
        try projector.tagHistory(repository: repository, tag: tag)
    }

    public func keys() throws -> [KeyRecord] { try projector.keys() }

    /// The key records of `identity`.
    public func keys(identity: String) throws -> [KeyRecord] {
        try projector.keys().filter { $0.identity.utf8.elementsEqual(identity.utf8) }
    }

    /// The policy in force before entry `bound`.
    public func policy(before bound: Int = Int.max) throws -> (index: Int, policy: Policy)? {
        try projector.policy(before: bound)
    }

    /// Rollback candidates for `repository` in `environment`, newest first (`excludingRolledBack`: the default
    /// choices).
    public func rollbackTargets(environment: String, repository: String, excludingRolledBack: Bool) throws
        -> [TimelineEntry]
    {
        try projector.rollbackTargets(
            environment: environment, repository: repository, excludingRolledBack: excludingRolledBack)
    }

    /// What `rollback` of `repository` in `environment` would restore now: `to`, or the default. Throws the
    /// refusal.
    public func rollbackChoice(environment: String, repository: String, to requested: Digest?) throws
        -> RollbackChoice
    {
        try projector.rollbackChoice(environment: environment, repository: repository, requested: requested)
    }

    public func current(environment: String, repository: String) throws -> TimelineEntry? {
        try projector.current(environment: environment, repository: repository)
    }

    /// Every repository (service) the ledger has an event for, in byte order.
    public func repositories() throws -> [String] { try projector.repositories() }

    /// The repositories that have something current in `environment`.
    public func repositories(in environment: String) throws -> [String] {
        try projector.servicesSeen().filter { $0.environment.utf8.elementsEqual(environment.utf8) }.map(\.repository)
    }

    /// The last steps of `repository`'s history in `environment`, newest first.
    public func timeline(environment: String, repository: String, limit: Int = 50) throws -> [TimelineEntry] {
        try projector.timeline(environment: environment, repository: repository, limit: limit)
    }

    /// Every drift observation, settled or not, in order.
    public func drift() throws -> [DriftRecord] { try projector.allDrift() }

    /// Every incident ever recorded, for one repository or all, latest state each.
    public func incidents(repository: String? = nil) throws -> [IncidentRecord] {
        try projector.incidents(repository: repository)
    }

    /// What waits for approval: for every repository and gated environment with approval rules, the digest
    /// current in its `from` environment and not yet current there, whose approval rules do not all pass. With
    /// `identity`, only what that person has not approved and whose approval would help: a rule it would make
    /// pass (the gate is asked with it added, so `distinct` is taken into account) or a failing rule it counts
    /// towards (`rulesYouCanMeet`).
    public func pending(for identity: String? = nil, environment only: String? = nil, at time: Timestamp? = nil)
        throws -> [PendingApproval]
    {
        guard let policy = try policy()?.policy else { return [] }
        let now = try time ?? ledger.ledgerTime()
        let signers = try identity.map { who in
            try keys(identity: who).filter { $0.revokedIndex == nil && $0.roles.contains(.approver) }.map(\.signer)
        }
        var out: [PendingApproval] = []
        for repository in try projector.repositories() {
            guard let name = try? Repository(normalized: repository), let pipeline = policy.pipeline(for: name) else {
                continue
            }
            for rules in pipeline.environments where rules.isGated && rules.approvals != nil {
                if let only, !only.utf8.elementsEqual(rules.name.utf8) { continue }
                guard let from = rules.from,
                    let candidate = try projector.current(environment: from, repository: repository),
                    try projector.current(environment: rules.name, repository: repository)?.digest != candidate.digest
                else { continue }
                let facts = try projector.gateFacts(
                    digest: candidate.digest, repository: repository, environment: rules.name, policy: policy,
                    before: Int.max)
                let policyIndex = try self.policy()?.index
                let verdict = Gate.evaluate(
                    environment: rules.name, policy: policy, policyIndex: policyIndex, facts: facts, now: now)
                let failing = verdict.rules.filter { $0.rule == "approvals" && !$0.passed }.compactMap(\.name)
                guard !failing.isEmpty else { continue }
                var mine: [String]? = nil
                if let identity, let signers {
                    guard
                        try !projector.hasStandingApproval(
                            digest: candidate.digest, environment: rules.name, identity: identity)
                    else { continue }
                    // What the gate would say with my approval added now: the rules it would make pass.
                    var helped: Swift.Set<String> = []
                    for signer in signers {
                        var withMine = facts
                        withMine.events.append(
                            LedgerEvent(
                                index: Int.max, time: now, signer: signer,
                                statement: Statement(
                                    subjectName: repository, subjectDigest: candidate.digest.hex, ledger: ledger.origin,
                                    time: now.rfc3339, nonce: "", predicate: .approved(.init(environment: rules.name))))
                        )
                        let after = Gate.evaluate(
                            environment: rules.name, policy: policy, policyIndex: policyIndex, facts: withMine,
                            now: now)
                        for rule in after.rules where rule.rule == "approvals" && rule.passed {
                            if let name = rule.name, failing.contains(name) { helped.insert(name) }
                        }
                        // A rule my approval counts towards but cannot complete alone.
                        for rule in rules.approvals?.rules ?? []
                        where failing.contains(rule.name) && rule.allows(signer) {
                            helped.insert(rule.name)
                        }
                    }
                    guard !helped.isEmpty else { continue }
                    mine = failing.filter(helped.contains)
                }
                out.append(
                    PendingApproval(
                        repository: repository, digest: candidate.digest.description, environment: rules.name,
                        verdict: verdict, rulesYouCanMeet: mine))
            }
        }
        return out
    }
}
