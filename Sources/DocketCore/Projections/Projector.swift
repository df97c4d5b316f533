import Foundation

/// An enrolled key as the ledger knows it.
public struct KeyRecord: Sendable, Codable, Equatable {
    public var keyID: String
    public var publicKey: String
    public var identity: String
    public var roles: [Role]
    public var enrolledIndex: Int
    public var revokedIndex: Int?
    public var revokeReason: String?

    public var signer: Signer { Signer(identity: identity, keyID: keyID, roles: roles) }

    /// The public key itself (`nil` only if the stored bytes are not a key).
    public var key: PublicKey? { Data(anyBase64: publicKey).flatMap { try? PublicKey(raw: $0) } }
}

/// Maintains and reads the projection tables. `apply` runs inside the append transaction, so the tables are
/// always exactly the fold of the entries; every read is an indexed lookup, so its cost does not grow with
/// the ledger.
final class Projector {
    let db: Database
    private var policyCache: (index: Int, text: String, policy: Policy)?

    /// True for a connection no other process writes (the verifier's scratch copy): keys and the latest policy
    /// are then answered from memory, kept current by ``apply(_:)``, the only writer.
    var exclusive = false
    private var keyCache: [String: KeyRecord?] = [:]
    private var latestPolicy: (index: Int, policy: Policy)??

    init(db: Database) { self.db = db }

    // MARK: Reads

    func key(id: String) throws -> KeyRecord? {
        if exclusive, let cached = keyCache[id] { return cached }
        let record = try db.row(
            "SELECT key_id, public_key, identity, roles, enrolled_idx, revoked_idx, revoke_reason FROM keys WHERE key_id = ?",
            [.text(id)]
        )
        .map(Self.keyRecord)
        if exclusive { keyCache[id] = record }
        return record
    }

    func keys() throws -> [KeyRecord] {
        try db.rows(
            "SELECT key_id, public_key, identity, roles, enrolled_idx, revoked_idx, revoke_reason FROM keys ORDER BY enrolled_idx"
        )
        .map(Self.keyRecord)
    }

    private static func keyRecord(_ row: Row) -> KeyRecord {
        KeyRecord(
            keyID: row.text(0) ?? "", publicKey: row.blob(1)?.base64EncodedString() ?? "", identity: row.text(2) ?? "",
            roles: (row.text(3) ?? "").split(separator: ",").compactMap { Role(rawValue: String($0)) },
            enrolledIndex: row.int(4) ?? 0, revokedIndex: row.int(5), revokeReason: row.text(6))
    }

    /// The policy in force before entry `bound` (nil: the latest).
    func policy(before bound: Int? = nil) throws -> (index: Int, policy: Policy)? {
        // In the exclusive scratch copy events are applied in order, so "before the next entry" is the latest.
        if exclusive, bound == nil || bound! > lastApplied, let latest = latestPolicy { return latest }
        let result = try storedPolicy(before: bound)
        if exclusive, bound == nil || bound! > lastApplied { latestPolicy = .some(result) }
        return result
    }

    private var lastApplied = -1

    private func storedPolicy(before bound: Int?) throws -> (index: Int, policy: Policy)? {
        let row = try db.row(
            "SELECT idx, document FROM policies WHERE idx < ? ORDER BY idx DESC LIMIT 1",
            [.integer(Int64(bound ?? Int.max))])
        guard let row, let index = row.int(0), let text = row.text(1) else { return nil }
        // Keyed by the document too: a batch that was rolled back may have shown this connection a policy row
        // at an index another process later filled with a different one.
        if let cached = policyCache, cached.index == index, cached.text == text { return (index, cached.policy) }
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            throw LedgerError.corrupt("the policy recorded at entry \(index) cannot be read; run `docket verify`")
        }
        let policy = try Policy(document: document, source: "policy at entry \(index)")
        policyCache = (index, text, policy)
        return (index, policy)
    }

    private static let timelineColumns = "environment, digest, repository, idx, integrated_ms, identity, kind"

    private static func timelineEntry(_ row: Row) -> TimelineEntry {
        TimelineEntry(
            environment: row.text(0) ?? "", digest: row.text(1) ?? "", repository: row.text(2) ?? "",
            index: row.int(3) ?? 0, time: Timestamp(milliseconds: row.int64(4) ?? 0).rfc3339,
            identity: row.text(5) ?? "", kind: row.text(6) ?? "")
    }

    /// The digest current in `environment` before entry `bound`.
    func current(environment: String, before bound: Int = Int.max) throws -> TimelineEntry? {
        try db.row(
            "SELECT \(Self.timelineColumns) FROM env_timeline WHERE environment = ? AND idx < ? ORDER BY idx DESC LIMIT 1",
            [.text(environment), .integer(Int64(bound))]
        ).map(Self.timelineEntry)
    }

    /// Environments that have had a current digest, in first-use order.
    func environmentsSeen(before bound: Int = Int.max) throws -> [String] {
        try db.rows("SELECT name FROM environments WHERE first_idx < ? ORDER BY first_idx", [.integer(Int64(bound))])
            .compactMap { $0.text(0) }
    }

    /// Indexes of entries that name `digest`, before `bound`.
    func entryIndexes(digest: Digest, before bound: Int = Int.max) throws -> [Int] {
        try db.rows(
            "SELECT idx FROM digest_entries WHERE digest = ? AND idx < ? ORDER BY idx",
            [.text(digest.description), .integer(Int64(bound))]
        ).compactMap { $0.int(0) }
    }

    /// When `digest` was last current in `environment` before `bound` (not counting a current stint).
    func lastStint(of digest: String, in environment: String, before bound: Int = Int.max) throws -> TimelineEntry? {
        try db.row(
            "SELECT \(Self.timelineColumns) FROM env_timeline WHERE environment = ? AND digest = ? AND idx < ? ORDER BY idx DESC LIMIT 1",
            [.text(environment), .text(digest), .integer(Int64(bound))]
        ).map(Self.timelineEntry)
    }

    /// Rollback targets for `environment`: digests that were current there before the current one, newest
    /// first, each once, at most `limit`. `excludingRolledBack` leaves out digests that were rolled back from
    /// (the default choice should not restore a digest that was just removed). Reads pages of the timeline
    /// only until it has enough, so the cost does not grow with the environment's history.
    func rollbackTargets(environment: String, before bound: Int = Int.max, excludingRolledBack: Bool, limit: Int = 20)
        throws -> [TimelineEntry]
    {
        guard let current = try current(environment: environment, before: bound) else { return [] }
        // A digest rolled back from is not a default target, unless it became current again after that rollback.
        var rolledBackFrom: [String: Int] = [:]
        if excludingRolledBack {
            for row in try db.rows(
                "SELECT left_digest, idx FROM env_timeline INDEXED BY timeline_rollbacks WHERE environment = ? AND kind = 'rolled-back' AND idx < ?",
                [.text(environment), .integer(Int64(bound))])
            {
                if let digest = row.text(0), let idx = row.int(1) {
                    rolledBackFrom[digest] = max(rolledBackFrom[digest] ?? -1, idx)
                }
            }
        }
        var seen: Set<String> = [current.digest]
        var out: [TimelineEntry] = []
        var cursor = current.index
        while out.count < limit {
            let page = try db.rows(
                "SELECT \(Self.timelineColumns) FROM env_timeline WHERE environment = ? AND idx < ? ORDER BY idx DESC LIMIT 64",
                [.text(environment), .int(cursor)]
            ).map(Self.timelineEntry)
            guard let last = page.last else { break }
            // Newest first, so the first row of a digest is its latest stint.
            for row in page
            where seen.insert(row.digest).inserted && (rolledBackFrom[row.digest] ?? -1) < row.index
                && out.count < limit
            {
                out.append(row)
            }
            cursor = last.index
        }
        return out
    }

    /// The latest state of one incident against a digest (hex) in an environment, if it was ever recorded.
    func incidentState(digest hex: String, environment: String, incident: String) throws -> Predicates.IncidentState? {
        try db.row(
            "SELECT state FROM incidents WHERE digest = ? AND environment = ? AND incident = ?",
            [.text("sha256:" + hex), .text(environment), .text(incident)])?.text(0).flatMap(
                Predicates.IncidentState.init(rawValue:))
    }

    /// Whether `identity` has an approval of the digest (hex) for `environment` that was not withdrawn.
    func hasStandingApproval(digest hex: String, environment: String, identity: String) throws -> Bool {
        try db.row(
            "SELECT state FROM approvals WHERE digest = ? AND environment = ? AND identity = ?",
            [.text("sha256:" + hex), .text(environment), .text(identity)])?.text(0) == "approved"
    }

    /// The digest `tag` names in `repository`, if any.
    func digest(tagged tag: String, in repository: String) throws -> String? {
        try db.row("SELECT digest FROM tags WHERE repository = ? AND tag = ?", [.text(repository), .text(tag)])?.text(0)
    }

    func tags(digest: String) throws -> [String] {
        try db.rows("SELECT tag FROM tags WHERE digest = ? ORDER BY tag", [.text(digest)]).compactMap { $0.text(0) }
    }

    // MARK: Apply

    /// Folds one admitted event into the tables. The only writer of projection tables.
    func apply(_ event: LedgerEvent) throws {
        let index = Int64(event.index)
        let statement = event.statement
        lastApplied = event.index
        if statement.kind.isGovernance {
            keyCache.removeAll()
            latestPolicy = nil
        }
        // Image events always carry a valid digest (the statement parser checks it); governance events use none.
        let digest = statement.digest?.description ?? ""
        if !statement.kind.isGovernance {
            try db.run(
                "INSERT OR IGNORE INTO digest_entries(digest, idx) VALUES (?, ?)", [.text(digest), .integer(index)])
        }
        switch statement.predicate {
        case .initialized(let p):
            for admin in p.admins {
                guard let raw = Data(anyBase64: admin.publicKey) else { continue }
                try insertKey(raw: raw, identity: admin.identity, roles: [.admin], index: index)
            }
        case .keyEnrolled(let p):
            if let raw = Data(anyBase64: p.publicKey) {
                try insertKey(raw: raw, identity: p.identity, roles: p.roles, index: index)
            }
        case .keyRevoked(let p):
            if let raw = Data(anyBase64: p.publicKey) {
                try db.run(
                    "UPDATE keys SET revoked_idx = ?, revoke_reason = ? WHERE key_id = ? AND revoked_idx IS NULL",
                    [.integer(index), .text(p.reason), .text(SHA256.hash(raw).hex)])
            }
        case .policy(let p):
            try db.run(
                "INSERT INTO policies(idx, document) VALUES (?, ?)",
                [.integer(index), .text(String(decoding: p.policy.canonicalData, as: UTF8.self))])
            policyCache = nil
        case .built(let p):
            try applyTags(p.tags ?? [], repository: statement.subjectName, digest: digest, index: index)
        case .deployed(let p):
            let rules = try policy(before: event.index)?.policy.environment(p.environment)
            let current = try self.current(environment: p.environment, before: event.index)
            if rules?.isGated == true {
                let promotedThere =
                    try db.row(
                        "SELECT 1 FROM env_timeline WHERE environment = ? AND digest = ? AND kind = 'promoted' AND idx < ? LIMIT 1",
                        [.text(p.environment), .text(digest), .integer(index)]) != nil
                if current?.digest != digest && !promotedThere {
                    try db.run(
                        "INSERT INTO drift(idx, environment, digest, current_digest) VALUES (?, ?, ?, ?)",
                        [.integer(index), .text(p.environment), .text(digest), .optionalText(current?.digest)])
                }
            } else if current?.digest != digest {
                try insertTimeline(event, environment: p.environment)
            }
        case .check(let p):
            try db.run(
                "INSERT OR REPLACE INTO checks(digest, name, result, idx) VALUES (?, ?, ?, ?)",
                [.text(digest), .text(p.check), .text(p.result.rawValue), .integer(index)])
        case .incident(let p):
            try db.run(
                "INSERT OR REPLACE INTO incidents(digest, environment, incident, state, idx) VALUES (?, ?, ?, ?, ?)",
                [.text(digest), .text(p.environment), .text(p.incident), .text(p.state.rawValue), .integer(index)])
        case .approved(let p):
            try recordApproval(digest: digest, environment: p.environment, event: event, state: "approved")
        case .withdrawn(let p):
            try recordApproval(digest: digest, environment: p.environment, event: event, state: "withdrawn")
        case .promoted(let p):
            try insertTimeline(event, environment: p.to)
            try applyTags(p.tags ?? [], repository: statement.subjectName, digest: digest, index: index)
            if let glass = p.breakGlass {
                try db.run(
                    "INSERT INTO break_glass(idx, digest, environment, reason, failed_rules) VALUES (?, ?, ?, ?, ?)",
                    [
                        .integer(index), .text(digest), .text(p.to), .text(glass.reason),
                        .text(glass.failedRules.joined(separator: ",")),
                    ])
            }
        case .rolledBack(let p):
            if let from = try? Digest(parsing: p.from) {
                try db.run(
                    "INSERT OR IGNORE INTO digest_entries(digest, idx) VALUES (?, ?)",
                    [.text(from.description), .integer(index)])
            }
            try insertTimeline(event, environment: p.environment)
        }
    }

    /// An identity's latest word on a (digest, environment): approved or withdrawn.
    private func recordApproval(digest: String, environment: String, event: LedgerEvent, state: String) throws {
        try db.run(
            "INSERT OR REPLACE INTO approvals(digest, environment, identity, idx, state) VALUES (?, ?, ?, ?, ?)",
            [
                .text(digest), .text(environment), .text(event.signer.identity), .integer(Int64(event.index)),
                .text(state),
            ])
    }

    private func insertKey(raw: Data, identity: String, roles: [Role], index: Int64) throws {
        try db.run(
            "INSERT OR REPLACE INTO keys(key_id, public_key, identity, roles, enrolled_idx) VALUES (?, ?, ?, ?, ?)",
            [
                .text(SHA256.hash(raw).hex), .blob(raw), .text(identity),
                .text(roles.sorted().map(\.rawValue).joined(separator: ",")), .integer(index),
            ])
    }

    private func insertTimeline(_ event: LedgerEvent, environment: String) throws {
        var left: String? = nil
        if case .rolledBack(let p) = event.statement.predicate { left = p.from }
        try db.run(
            "INSERT INTO env_timeline(environment, idx, digest, repository, integrated_ms, identity, kind, left_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .text(environment), .integer(Int64(event.index)), .text(event.statement.digest?.description ?? ""),
                .text(event.statement.subjectName),
                .integer(event.time.milliseconds), .text(event.signer.identity), .text(event.kind.rawValue),
                .optionalText(left),
            ])
        try db.run(
            "INSERT OR IGNORE INTO environments(name, first_idx) VALUES (?, ?)",
            [.text(environment), .integer(Int64(event.index))])
    }

    private func applyTags(_ tags: [String], repository: String, digest: String, index: Int64) throws {
        for tag in Set(tags).sorted() {
            if let previous = try self.digest(tagged: tag, in: repository), previous != digest {
                try db.run(
                    "INSERT INTO tag_moves(idx, repository, tag, from_digest, to_digest) VALUES (?, ?, ?, ?, ?)",
                    [.integer(index), .text(repository), .text(tag), .text(previous), .text(digest)])
            }
            try db.run(
                "INSERT OR REPLACE INTO tags(repository, tag, digest, idx) VALUES (?, ?, ?, ?)",
                [.text(repository), .text(tag), .text(digest), .integer(index)])
        }
    }
}
