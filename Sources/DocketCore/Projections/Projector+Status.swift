import Foundation

/// One environment's state, as `status` shows it.
public struct EnvironmentStatus: Sendable, Codable, Equatable {
    public var environment: String
    public var gated: Bool
    public var current: TimelineEntry?
    public var tags: [String]
    /// The digest `rollback` restores by default.
    public var rollbackTarget: String?
    public var drift: [DriftRecord]
}

/// The whole ledger's state at a point: what `status` and `replay` print.
public struct LedgerStatus: Sendable, Codable, Equatable {
    public var origin: String
    public var size: Int
    /// The last entry the state includes.
    public var asOfIndex: Int
    public var asOfTime: String
    public var policyIndex: Int?
    public var environments: [EnvironmentStatus]
    public var openIncidents: [OpenIncident]
    public var tagMoves: [TagMove]
}

extension Projector {
    /// Every environment's state as these tables hold it after entry `bound - 1`. The tables are either the
    /// live ones (`bound` is the end of the ledger) or a fold of the entries before `bound`
    /// (``folded(before:)``), so the latest-state tables (tags, incidents) answer for `bound` too.
    func status(origin: String, size: Int, before bound: Int, at time: Timestamp?) throws -> LedgerStatus {
        let policy = try policy(before: bound)
        var names = policy?.policy.environmentNames ?? []
        for seen in try environmentsSeen(before: bound) where !names.contains(seen) { names.append(seen) }
        let environments = try names.map { name in
            let current = try current(environment: name, before: bound)
            return EnvironmentStatus(
                environment: name, gated: policy?.policy.environment(name)?.isGated ?? false, current: current,
                tags: try current.map { try tags(digest: $0.digest) } ?? [],
                rollbackTarget: try rollbackTargets(
                    environment: name, before: bound, excludingRolledBack: true, limit: 1
                ).first?.digest.description,
                drift: try standingDrift(environment: name, before: bound))
        }
        let lastTime = try log.lastTime(before: bound) ?? Timestamp(milliseconds: 0)
        return LedgerStatus(
            origin: origin, size: size, asOfIndex: bound - 1, asOfTime: (time ?? lastTime).rfc3339,
            policyIndex: policy?.index, environments: environments, openIncidents: try openIncidents(),
            tagMoves: try recentTagMoves(before: bound))
    }

    /// The projection tables as they stood before entry `bound`: the entries before it folded, with the same
    /// ``apply(_:)`` as every append, into a private copy in memory. Each entry's signature is checked again.
    func folded(before bound: Int) throws -> Projector {
        let scratch = try Projector.scratch(reading: log)
        var next = 0
        while next < bound {
            let indexes = try log.indexes(from: next, limit: min(1024, bound - next))
            guard let last = indexes.last else { break }
            // Decoded with the live key records: the genesis entry's own key is not in the copy before it is folded.
            for index in indexes { try scratch.apply(try event(at: index)) }
            next = last + 1
        }
        return scratch
    }
}
