import Foundation

/// A `deployed` event for a gated environment naming a digest that is not current there.
public struct DriftRecord: Sendable, Codable, Equatable {
    public var index: Int
    public var environment: String
    public var repository: String
    /// The digest observed running.
    public var digest: String
    /// What the ledger said was current then.
    public var currentDigest: String?
    /// The entry that settled it (a matching observation, a promotion or a rollback), if one has.
    public var settledIndex: Int?
}

/// A tag that moved from one digest to another.
public struct TagMove: Sendable, Codable, Equatable {
    public var index: Int
    public var repository: String
    public var tag: String
    public var from: String
    public var to: String
}

/// A break-glass promotion, as verify lists it.
public struct BreakGlassRecord: Sendable, Codable, Equatable {
    public var index: Int
    /// `promoted`, or `rolled-back` (to a digest with an open incident).
    public var kind: String
    public var digest: String
    public var repository: String
    public var environment: String
    public var reason: String
    public var failedRules: [String]
}

/// An incident's latest state.
public struct IncidentRecord: Sendable, Codable, Equatable {
    public var repository: String
    public var digest: String
    public var environment: String
    public var incident: String
    public var state: String
    /// The entry of its latest state.
    public var index: Int
}

public struct OpenIncident: Sendable, Codable, Equatable {
    public var digest: String
    public var environment: String
    public var incident: String
    public var index: Int
}

extension Projector {
    // MARK: Keys and policy

    static let keyColumns =
        "key_id, public_key, identity, roles, teams, enrolled_idx, changed_idx, revoked_idx, revoke_reason, voids_approvals"

    func key(id: String) throws -> KeyRecord? {
        if caches, let cached = keyCache[id] { return cached }
        let record = try db.row("SELECT \(Self.keyColumns) FROM keys WHERE key_id = $1", [.text(id)])
            .map(Self.keyRecord)
        if caches { keyCache[id] = record }
        return record
    }

    func keys() throws -> [KeyRecord] {
        try db.rows("SELECT \(Self.keyColumns) FROM keys ORDER BY enrolled_idx").map(Self.keyRecord)
    }

    static func keyRecord(_ row: Row) -> KeyRecord {
        KeyRecord(
            keyID: row.text("key_id") ?? "", publicKey: row.blob("public_key")?.base64EncodedString() ?? "",
            identity: row.text("identity") ?? "", roles: roles(row.text("roles")), teams: teams(row.text("teams")),
            enrolledIndex: row.int("enrolled_idx") ?? 0, changedIndex: row.int("changed_idx") ?? 0,
            revokedIndex: row.int("revoked_idx"), revokeReason: row.text("revoke_reason"),
            voidsApprovals: row.int("voids_approvals") == 1)
    }

    static func roles(_ text: String?) -> [Role] {
        (text ?? "").split(separator: ",").compactMap { Role(rawValue: String($0)) }
    }

    static func teams(_ text: String?) -> [String] {
        (text ?? "").split(separator: "\n").map(String.init)
    }

    /// The signer as `record`'s key was at entry `index`: its roles and teams then (a `key-updated` may have
    /// changed them since).
    func signer(_ record: KeyRecord, at index: Int) throws -> Signer {
        guard index < record.changedIndex else { return record.signer }
        guard
            let row = try db.row(
                "SELECT roles, teams FROM key_history WHERE key_id = $1 AND idx <= $2 ORDER BY idx DESC LIMIT 1",
                [.text(record.keyID), .int(index)])
        else { return record.signer }
        return Signer(
            identity: record.identity, keyID: record.keyID, roles: Self.roles(row.text("roles")),
            teams: Self.teams(row.text("teams")))
    }

    /// The policy in force before entry `bound` (nil: the latest).
    func policy(before bound: Int? = nil) throws -> (index: Int, policy: Policy)? {
        // In an exclusive copy events are applied in order, so "before the next entry" is the latest.
        let latest = bound.map { $0 > lastApplied } ?? true
        if caches, latest, let cached = latestPolicy { return cached }
        let result = try storedPolicy(before: bound)
        if caches, latest { latestPolicy = .some(result) }
        return result
    }

    func storedPolicy(before bound: Int?) throws -> (index: Int, policy: Policy)? {
        let row = try db.row(
            "SELECT idx, document FROM policies WHERE idx < $1 ORDER BY idx DESC LIMIT 1",
            [.integer(Int64(bound ?? Int.max))])
        guard let row, let index = row.int("idx"), let text = row.text("document") else { return nil }
        // Keyed by the document too: a batch that was rolled back may have shown this connection a policy row
        // at an index another process later filled with a different one.
        if let cached = policyCache, cached.index == index, cached.text == text { return (index, cached.policy) }
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw LedgerError.corrupt(.unreadablePolicy(entry: index))
        }
        let policy = try Policy(document: document, source: "policy at entry \(index)")
        policyCache = (index, text, policy)
        return (index, policy)
    }

    // MARK: Environments

    static let timelineColumns = "environment, digest, repository, idx, integrated_ms, identity, kind"

    /// The repository a digest belongs to: that of the first image event naming it.
    func repository(of digest: Digest, before bound: Int = Int.max) throws -> String? {
        if bound > lastApplied, let known = facts?.owners[digest.description] { return known }
        return try db.row(
            "SELECT repository FROM digest_repos WHERE digest = $1 AND idx < $2",
            [.text(digest.description), .int(bound)])?
            .text("repository")
    }

    /// Every repository the ledger has seen, in byte order.
    func repositories(before bound: Int = Int.max) throws -> [String] {
        try db.rows("SELECT name FROM repositories WHERE first_idx < $1 ORDER BY name", [.int(bound)]).compactMap {
            $0.text("name")
        }
    }

    /// Whether `name` is a repository of the ledger before entry `bound` (one indexed read).
    func knows(repository name: String, before bound: Int = Int.max) throws -> Bool {
        try db.rows("SELECT 1 FROM repositories WHERE name = $1 AND first_idx < $2", [.text(name), .int(bound)])
            .isEmpty == false
    }

    /// A timeline row, typed. A row that does not read as one is a damaged file, never a silent default.
    static func timelineEntry(_ row: Row) throws -> TimelineEntry {
        let index = row.int("idx") ?? -1
        guard let digest = try? Digest(parsing: row.text("digest") ?? ""), let ms = row.int64("integrated_ms"),
            let kind = EventKind(rawValue: row.text("kind") ?? "")
        else { throw LedgerError.corrupt(.unreadableRow(table: "env_timeline", index: index)) }
        return TimelineEntry(
            environment: row.text("environment") ?? "", digest: digest, repository: row.text("repository") ?? "",
            index: index, time: Timestamp(milliseconds: ms), identity: row.text("identity") ?? "", kind: kind)
    }

    /// The digest current in `environment` for `repository` before entry `bound`.
    func current(environment: String, repository: String, before bound: Int = Int.max) throws -> TimelineEntry? {
        if bound > lastApplied, let known = facts?.currents[.init(environment: environment, repository: repository)] {
            return known
        }
        return try db.row(
            "SELECT \(Self.timelineColumns) FROM env_timeline WHERE environment = $1 AND repository = $2 AND idx < $3 ORDER BY idx DESC LIMIT 1",
            [.text(environment), .text(repository), .int(bound)]
        ).map(Self.timelineEntry)
    }

    /// The (environment, repository) pairs that have had a current digest, in first-use order.
    func servicesSeen(repository: String? = nil, before bound: Int = Int.max) throws -> [(
        environment: String, repository: String
    )] {
        let rows =
            try repository.map {
                try db.rows(
                    "SELECT name, repository FROM environments WHERE repository = $1 AND first_idx < $2 ORDER BY first_idx",
                    [.text($0), .int(bound)])
            }
            ?? db.rows(
                "SELECT name, repository FROM environments WHERE first_idx < $1 ORDER BY first_idx", [.int(bound)])
        return rows.compactMap { row in row.text("name").flatMap { e in row.text("repository").map { (e, $0) } } }
    }

    /// When `digest` was last current in `environment` before `bound` (not counting a current stint).
    func lastStint(of digest: Digest, in environment: String, before bound: Int = Int.max) throws -> TimelineEntry? {
        try db.row(
            "SELECT \(Self.timelineColumns) FROM env_timeline WHERE environment = $1 AND digest = $2 AND idx < $3 ORDER BY idx DESC LIMIT 1",
            [.text(environment), .text(digest.description), .int(bound)]
        ).map(Self.timelineEntry)
    }

    /// Rollback targets for `repository` in `environment`: digests that were current there before the current
    /// one, newest first, each once, at most `limit`. `excludingRolledBack` leaves out digests that were rolled
    /// back from (the default choice should not restore a digest that was just removed). Reads pages of the
    /// timeline only until it has enough, so the cost does not grow with the environment's history.
    func rollbackTargets(
        environment: String, repository: String, before bound: Int = Int.max, excludingRolledBack: Bool,
        limit: Int = 20
    ) throws -> [TimelineEntry] {
        guard let current = try current(environment: environment, repository: repository, before: bound) else {
            return []
        }
        // A digest rolled back from is not a default target, unless it became current again after that rollback.
        var rolledBackFrom: [String: Int] = [:]
        if excludingRolledBack {
            // SQLite's planner prefers the primary key (every timeline row of the service) to the partial index
            // of rollbacks unless told; PostgreSQL picks the partial index itself, and has no such hint.
            let index = db.dialect == .sqlite ? " INDEXED BY timeline_rollbacks" : ""
            for row in try db.rows(
                "SELECT left_digest, idx FROM env_timeline\(index) WHERE environment = $1 AND repository = $2 AND kind = 'rolled-back' AND idx < $3",
                [.text(environment), .text(repository), .int(bound)])
            {
                if let digest = row.text("left_digest"), let idx = row.int("idx") {
                    rolledBackFrom[digest] = max(rolledBackFrom[digest] ?? -1, idx)
                }
            }
        }
        var seen: Set<Digest> = [current.digest]
        var out: [TimelineEntry] = []
        var cursor = current.index
        while out.count < limit {
            let page = try db.rows(
                "SELECT \(Self.timelineColumns) FROM env_timeline WHERE environment = $1 AND repository = $2 AND idx < $3 ORDER BY idx DESC LIMIT 64",
                [.text(environment), .text(repository), .int(cursor)]
            ).map(Self.timelineEntry)
            guard let last = page.last else { break }
            // Newest first, so the first row of a digest is its latest stint.
            for row in page
            where seen.insert(row.digest).inserted && (rolledBackFrom[row.digest.description] ?? -1) < row.index
                && out.count < limit
            {
                out.append(row)
            }
            cursor = last.index
        }
        return out
    }

    /// The last `limit` steps of `repository`'s history in `environment` before `bound`, newest first.
    func timeline(environment: String, repository: String, before bound: Int = Int.max, limit: Int = 50) throws
        -> [TimelineEntry]
    {
        try db.rows(
            "SELECT \(Self.timelineColumns) FROM env_timeline WHERE environment = $1 AND repository = $2 AND idx < $3 ORDER BY idx DESC LIMIT $4",
            [.text(environment), .text(repository), .int(bound), .int(limit)]
        ).map(Self.timelineEntry)
    }
}

extension Projector {
    static func rolesText(_ roles: [Role]) -> String { Set(roles).sorted().map(\.rawValue).joined(separator: ",") }

    /// Teams as stored: sorted by bytes, each once, joined by newlines (a team name holds no newline).
    static func teamsText(_ teams: [String]) -> String {
        Set(teams.map { Array($0.utf8) }).sorted { $0.lexicographicallyPrecedes($1) }
            .map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
    }
}
