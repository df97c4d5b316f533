import Foundation

/// What a rollback would do: leave `current`, restore `target`.
public struct RollbackChoice: Sendable, Equatable {
    public var current: TimelineEntry
    public var target: TimelineEntry
}

extension Projector {
    /// The gate verdict for `digest` → `environment` using entries before `bound`, at ledger time `time`: the
    /// facts read from the projections, decided by ``Gate/evaluate(environment:policy:policyIndex:facts:now:promoter:)``.
    func gate(
        digest: Digest, environment: String, before bound: Int = Int.max, at time: Timestamp, promoter: String? = nil
    ) throws -> GateVerdict {
        let policy = try policy(before: bound)
        let source = policy?.policy.environment(environment)?.from
        let facts = GateFacts(
            digest: digest, events: try events(digest: digest, before: bound),
            sourceCurrent: try source.flatMap { try current(environment: $0, before: bound) })
        return Gate.evaluate(
            environment: environment, policy: policy?.policy, policyIndex: policy?.index, facts: facts,
            now: time, promoter: promoter)
    }

    /// The one rule for what a rollback of `environment` restores, before entry `bound`: `requested` if given
    /// (it must have been current there before), else the previous digest, skipping those rolled back from.
    /// `claimedCurrent` is the digest a signed rollback says it leaves; it must be the current one.
    /// Throws the refusal; `rollback` and admission both ask here.
    func rollbackChoice(
        environment: String, requested: Digest?, before bound: Int = Int.max, claimedCurrent: String? = nil
    ) throws -> RollbackChoice {
        guard let current = try current(environment: environment, before: bound) else {
            throw LedgerError.refused(.nothingCurrent(environment: environment))
        }
        if let claimedCurrent, claimedCurrent != current.digest.description {
            throw LedgerError.refused(
                .rollbackFromMismatch(
                    environment: environment, current: current.digest.description, claimed: claimedCurrent))
        }
        guard let requested else {
            guard
                let first = try rollbackTargets(environment: environment, before: bound, excludingRolledBack: true)
                    .first
            else {
                let named = try rollbackTargets(environment: environment, before: bound, excludingRolledBack: false)
                if named.isEmpty { throw LedgerError.refused(.noEarlierDigest(environment: environment)) }
                throw LedgerError.refused(
                    .noDefaultRollbackTarget(environment: environment, named: named.map(\.digest.description)))
            }
            return RollbackChoice(current: current, target: first)
        }
        guard requested != current.digest else {
            throw LedgerError.refused(.alreadyCurrent(digest: requested.description, environment: environment))
        }
        guard let stint = try lastStint(of: requested, in: environment, before: bound) else {
            let all = try rollbackTargets(environment: environment, before: bound, excludingRolledBack: false)
            throw LedgerError.refused(
                .neverCurrent(
                    digest: requested.description, environment: environment,
                    validTargets: all.map { "\($0.digest) (since entry \($0.index))" }))
        }
        return RollbackChoice(current: current, target: stint)
    }
}
