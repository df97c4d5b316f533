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

/// A `deployed` event for a gated environment naming a digest that is not current there.
public struct DriftRecord: Sendable, Codable, Equatable {
    public var index: Int
    public var environment: String
    public var digest: String
    public var currentDigest: String?
}

/// A tag that moved from one digest to another.
public struct TagMove: Sendable, Codable, Equatable {
    public var index: Int
    public var repository: String
    public var tag: String
    public var from: String
    public var to: String
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

public struct OpenIncident: Sendable, Codable, Equatable {
    public var digest: String
    public var environment: String
    public var incident: String
    public var index: Int
}

extension Ledger {
    /// Decodes a stored entry into an event, re-checking its signature against the key recorded for it.
    func event(at index: Int) throws -> LedgerEvent {
        guard let row = try db.row("SELECT bytes, signer FROM entries WHERE idx = ?", [.int(index)]),
            let bytes = row.blob(0), let keyID = row.text(1)
        else { throw LedgerError.corrupt("entry \(index) is missing; run `docket verify`") }
        let entry = try Entry(bytes: bytes, source: "entry \(index)")
        let statement = try Statement(parsing: entry.envelope.payload, source: "entry \(index)")
        // A stored row is not trusted: its signature is checked again, except in the verifier's own scratch copy,
        // whose rows it wrote itself right after checking them.
        guard let record = try projector.key(id: keyID), let key = record.key,
            projector.exclusive || entry.envelope.isSigned(by: key)
        else { throw LedgerError.corrupt("entry \(index)'s signature does not verify; run `docket verify`") }
        return LedgerEvent(index: index, time: entry.integratedTime, signer: record.signer, statement: statement)
    }

    /// The repository the digest was first recorded under, if it is in the ledger (one indexed read).
    public func repository(of digest: Digest) throws -> String? {
        guard
            let first = try db.row(
                "SELECT idx FROM digest_entries WHERE digest = ? ORDER BY idx LIMIT 1", [.text(digest.description)])?
                .int(0)
        else { return nil }
        return try event(at: first).statement.subjectName
    }

    /// Every event naming `digest` before entry `bound`, in order.
    public func events(digest: Digest, before bound: Int = Int.max) throws -> [LedgerEvent] {
        try projector.entryIndexes(digest: digest, before: bound).map { try event(at: $0) }
    }

    /// The gate verdict for `digest` → `environment` using entries before `bound`, at ledger time `time`.
    public func gate(
        digest: Digest, environment: String, before bound: Int = Int.max, at time: Timestamp,
        promoter: String? = nil
    ) throws -> GateVerdict {
        let policy = try projector.policy(before: bound)
        let source = policy?.policy.environment(environment)?.from
        let facts = GateFacts(
            digest: digest, events: try events(digest: digest, before: bound),
            sourceCurrent: try source.flatMap { try projector.current(environment: $0, before: bound) })
        return Gate.evaluate(
            environment: environment, policy: policy?.policy, policyIndex: policy?.index, facts: facts,
            now: time, promoter: promoter)
    }

    /// Resolves `--at`: an entry index, or an RFC 3339 time (the last entry at or before it).
    public func resolvePoint(_ text: String?) throws -> (bound: Int, time: Timestamp) {
        let size = try treeSize()
        guard let text else { return (size, try ledgerTime()) }
        if let index = Int(text) {
            guard index >= 0, index < size else {
                throw LedgerError.badArgument("--at \(text): the ledger has entries 0 to \(size - 1)")
            }
            guard let entry = try entry(at: index) else {
                throw LedgerError.corrupt("entry \(index) is missing; run `docket verify`")
            }
            return (index + 1, entry.integratedTime)
        }
        guard let time = Timestamp(lenient: text) else {
            throw LedgerError.badArgument(
                "--at \(text): give an entry index or an RFC 3339 time such as 2026-11-29T12:00:00Z")
        }
        return ((try lastIndex(atOrBefore: time) ?? -1) + 1, time)
    }

    /// Every environment's state using entries before `bound` (`status` is the state before the end).
    public func status(before bound: Int = Int.max, at time: Timestamp? = nil) throws -> LedgerStatus {
        let size = try treeSize()
        let limit = min(bound, size)
        let policy = try projector.policy(before: limit)
        // The latest-state tables (tags, incidents) answer for the end of the ledger; an earlier point is
        // answered by folding the events before it (`replay` is a historical query and may cost more).
        let historical = limit < size ? try historicalState(before: limit) : nil
        var names = policy?.policy.environmentNames ?? []
        for seen in try projector.environmentsSeen(before: limit) where !names.contains(seen) { names.append(seen) }
        var environments: [EnvironmentStatus] = []
        for name in names {
            let current = try projector.current(environment: name, before: limit)
            // The most recent drift still standing: not since promoted there (the full history is in `verify`).
            let drift = try db.rows(
                """
                SELECT d.idx, d.environment, d.digest, d.current_digest FROM drift d
                WHERE d.environment = ?1 AND d.idx < ?2 AND NOT EXISTS (SELECT 1 FROM env_timeline t
                    WHERE t.environment = d.environment AND t.digest = d.digest AND t.kind = 'promoted' AND t.idx > d.idx AND t.idx < ?2)
                ORDER BY d.idx DESC LIMIT 20
                """,
                [.text(name), .int(limit)]
            ).map(Self.driftRecord).reversed()
            environments.append(
                EnvironmentStatus(
                    environment: name, gated: policy?.policy.environment(name)?.isGated ?? false, current: current,
                    tags: try current.map { current in
                        try historical.map { $0.tags(of: current.digest, in: current.repository) }
                            ?? projector.tags(digest: current.digest)
                    } ?? [],
                    rollbackTarget: try projector.rollbackTargets(
                        environment: name, before: limit, excludingRolledBack: true, limit: 1
                    ).first?.digest,
                    drift: Array(drift)))
        }
        let open =
            try historical?.openIncidents
            ?? db.rows("SELECT digest, environment, incident, idx FROM incidents WHERE state = 'open' ORDER BY idx").map
        {
            OpenIncident(
                digest: $0.text(0) ?? "", environment: $0.text(1) ?? "", incident: $0.text(2) ?? "",
                index: $0.int(3) ?? 0)
        }
        let moves = try db.rows(
            "SELECT idx, repository, tag, from_digest, to_digest FROM tag_moves WHERE idx < ? ORDER BY idx DESC LIMIT 50",
            [.int(limit)]
        ).map(Self.tagMove).reversed()
        let lastTime =
            try db.row("SELECT integrated_ms FROM entries WHERE idx < ? ORDER BY idx DESC LIMIT 1", [.int(limit)])?
            .int64(0) ?? 0
        return LedgerStatus(
            origin: origin, size: size, asOfIndex: limit - 1,
            asOfTime: (time ?? Timestamp(milliseconds: lastTime)).rfc3339, policyIndex: policy?.index,
            environments: environments, openIncidents: open, tagMoves: Array(moves))
    }

    /// A `drift` row: idx, environment, digest, current_digest.
    static func driftRecord(_ row: Row) -> DriftRecord {
        DriftRecord(
            index: row.int(0) ?? 0, environment: row.text(1) ?? "", digest: row.text(2) ?? "",
            currentDigest: row.text(3))
    }

    static func tagMove(_ row: Row) -> TagMove {
        TagMove(
            index: row.int(0) ?? 0, repository: row.text(1) ?? "", tag: row.text(2) ?? "", from: row.text(3) ?? "",
            to: row.text(4) ?? "")
    }

    /// Tag moves involving `digest`.
    public func tagMoves(digest: Digest) throws -> [TagMove] {
        try db.rows(
            "SELECT idx, repository, tag, from_digest, to_digest FROM tag_moves WHERE from_digest = ?1 OR to_digest = ?1 ORDER BY idx",
            [.text(digest.description)]
        ).map(Self.tagMove)
    }

    public func keys() throws -> [KeyRecord] { try projector.keys() }

    /// The policy in force before entry `bound`.
    public func policy(before bound: Int = Int.max) throws -> (index: Int, policy: Policy)? {
        try projector.policy(before: bound)
    }

    /// Rollback candidates for `environment`, newest first (`excludingRolledBack`: the default choices).
    public func rollbackTargets(environment: String, excludingRolledBack: Bool) throws -> [TimelineEntry] {
        try projector.rollbackTargets(environment: environment, excludingRolledBack: excludingRolledBack)
    }

    public func current(environment: String) throws -> TimelineEntry? {
        try projector.current(environment: environment)
    }

    /// The last time `digest` became current in `environment`, if it ever did.
    public func lastStint(of digest: Digest, in environment: String) throws -> TimelineEntry? {
        try projector.lastStint(of: digest.description, in: environment)
    }

    /// The key record for `identity`'s active key(s).
    public func keys(identity: String) throws -> [KeyRecord] { try projector.keys().filter { $0.identity == identity } }
}

extension Ledger {
    /// Events `[from, from+limit)`, decoded and authenticated.
    public func events(from: Int, limit: Int) throws -> [LedgerEvent] {
        try db.rows("SELECT idx FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?", [.int(from), .int(limit)]).compactMap
        { $0.int(0) }
        .map { try event(at: $0) }
    }
}

/// Tags and incidents as they stood at an earlier point, folded from the events before it.
struct HistoricalState {
    var tagsByRepository: [String: [String: String]] = [:]
    var incidents: [String: OpenIncident] = [:]

    func tags(of digest: String, in repository: String) -> [String] {
        (tagsByRepository[repository] ?? [:]).filter { $0.value == digest }.keys.sorted()
    }

    var openIncidents: [OpenIncident] { incidents.values.sorted { $0.index < $1.index } }
}

extension Ledger {
    func historicalState(before bound: Int) throws -> HistoricalState {
        var state = HistoricalState()
        let rows = try db.rows(
            "SELECT idx FROM entries WHERE idx < ? AND kind IN ('built', 'promoted', 'incident') ORDER BY idx",
            [.int(bound)])
        for row in rows {
            let event = try event(at: row.int(0) ?? 0)
            let digest = event.statement.digest?.description ?? ""
            switch event.statement.predicate {
            case .built(let p):
                for tag in p.tags ?? [] {
                    state.tagsByRepository[event.statement.subjectName, default: [:]][tag] = digest
                }
            case .promoted(let p):
                for tag in p.tags ?? [] {
                    state.tagsByRepository[event.statement.subjectName, default: [:]][tag] = digest
                }
            case .incident(let p):
                let key = "\(digest)/\(p.environment)/\(p.incident)"
                state.incidents[key] =
                    p.state == .open
                    ? OpenIncident(digest: digest, environment: p.environment, incident: p.incident, index: event.index)
                    : nil
            default: break
            }
        }
        return state
    }
}
