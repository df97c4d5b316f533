import Foundation

/// One repository's state in one environment: a cell of `status`.
public struct ServiceStatus: Sendable, Codable, Equatable {
    public var environment: String
    public var repository: String
    /// The pipeline whose rules apply (`nil` without a policy, or for a repository no pipeline covers).
    public var pipeline: String?
    public var gated: Bool
    public var current: TimelineEntry?
    public var tags: [String]
    /// The digest `rollback` restores by default.
    public var rollbackTarget: String?
    /// Drift standing in this environment for this repository, oldest first.
    public var drift: [DriftRecord]
    public var rollbackPlan: String?
}

/// A freeze window in force at the status's time.
public struct ActiveFreeze: Sendable, Codable, Equatable {
    public var pipeline: String
    public var environment: String
    public var reason: String
    public var until: String
}

/// The whole ledger's state at a point: what `status` and `replay` print.
public struct LedgerStatus: Sendable, Codable, Equatable {
    public var origin: String
    public var size: Int
    /// The last entry the state includes.
    public var asOfIndex: Int
    public var asOfTime: String
    public var policyIndex: Int?
    /// The rows of the services × environments table, in byte order.
    public var repositories: [String]
    /// Its columns: every environment of the policy, in policy order, then any others seen.
    public var environments: [String]
    /// One cell per (repository, environment of its pipeline), row by row.
    public var services: [ServiceStatus]
    public var openIncidents: [OpenIncident]
    public var tagMoves: [TagMove]
    public var activeFreezes: [ActiveFreeze]
}

extension Projector {
    /// Every service's state as these tables hold it after entry `bound - 1`, for one repository or all. The
    /// tables are either the live ones (`bound` is the end of the ledger) or a fold of the entries before
    /// `bound` (``folded(before:)``), so the latest-state tables (tags, incidents) answer for `bound` too.
    func status(origin: String, size: Int, before bound: Int, at time: Timestamp?, repository only: String? = nil)
        throws -> LedgerStatus
    {
        let policy = try policy(before: bound)?.policy
        let lastTime = try log.lastTime(before: bound) ?? Timestamp(milliseconds: 0)
        let now = time ?? lastTime
        if let only, try !knows(repository: only, before: bound) {
            throw LedgerError.unknownRepository(only)
        }
        let repositories = try only.map { [$0] } ?? repositories(before: bound)
        var seen: [String: [String]] = [:]
        for (environment, repository) in try servicesSeen(repository: only, before: bound) {
            seen[repository, default: []].append(environment)
        }
        // All of the policy's environments as columns; for one service, its pipeline's only.
        var columns = only == nil ? policy?.environmentNames ?? [] : []
        var pipelinesShown: [String] = []
        var services: [ServiceStatus] = []
        for repository in repositories {
            let pipeline = (try? Repository(normalized: repository)).flatMap { policy?.pipeline(for: $0) }
            var names = pipeline?.environmentNames ?? []
            if let pipeline, !pipelinesShown.contains(pipeline.name) { pipelinesShown.append(pipeline.name) }
            for environment in seen[repository] ?? [] where !names.contains(environment) { names.append(environment) }
            for environment in names {
                if !columns.contains(environment) { columns.append(environment) }
                let rules = pipeline?.environment(environment)
                let current = try current(environment: environment, repository: repository, before: bound)
                let drift = try standingDrift(environment: environment, repository: repository, before: bound)
                let target =
                    drift.isEmpty
                    ? try rollbackTargets(
                        environment: environment, repository: repository, before: bound, excludingRolledBack: true,
                        limit: 1
                    ).first?.digest.description
                    : current?.digest.description
                services.append(
                    ServiceStatus(
                        environment: environment, repository: repository, pipeline: pipeline?.name,
                        gated: rules?.isGated ?? false, current: current,
                        tags: try current.map { try tags(digest: $0.digest) } ?? [], rollbackTarget: target,
                        drift: drift, rollbackPlan: rules?.rollbackPlan))
            }
        }
        var freezes: [ActiveFreeze] = []
        for pipeline in policy?.pipelines ?? [] where only == nil || pipelinesShown.contains(pipeline.name) {
            for environment in pipeline.environments {
                if let frozen = FreezeWindow.frozenUntil(now, windows: environment.freeze) {
                    freezes.append(
                        ActiveFreeze(
                            pipeline: pipeline.name, environment: environment.name, reason: frozen.window.reason,
                            until: frozen.until.rfc3339))
                }
            }
        }
        var incidents = try openIncidents()
        if let only {
            let digests = Set(
                try incidents.map(\.digest).filter { text in
                    guard let digest = try? Digest(parsing: text) else { return false }
                    return try repository(of: digest) == only
                })
            incidents = incidents.filter { digests.contains($0.digest) }
        }
        return LedgerStatus(
            origin: origin, size: size, asOfIndex: bound - 1, asOfTime: now.rfc3339,
            policyIndex: try self.policy(before: bound)?.index, repositories: repositories, environments: columns,
            services: services, openIncidents: incidents,
            tagMoves: try recentTagMoves(repository: only, before: bound),
            activeFreezes: freezes)
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
