import Foundation

/// An enrolled key as the ledger knows it.
public struct KeyRecord: Sendable, Codable, Equatable {
    public var keyID: String
    public var publicKey: String
    public var identity: String
    public var roles: [Role]
    public var teams: [String]
    public var enrolledIndex: Int
    /// The last entry that set its roles and teams (its enrolment, or a `key-updated`).
    public var changedIndex: Int
    public var revokedIndex: Int?
    public var revokeReason: String?
    /// Revoked with `--void-approvals`: its approvals stop counting from ``revokedIndex`` on.
    public var voidsApprovals: Bool

    /// `keyid`, as in envelopes, receipts and `log`: one spelling per field in every JSON output.
    enum CodingKeys: String, CodingKey {
        case keyID = "keyid"
        case publicKey, identity, roles, teams, enrolledIndex, changedIndex, revokedIndex, revokeReason, voidsApprovals
    }

    /// The signer as the key is now (for an event before ``changedIndex``, ask ``Projector/signer(_:at:)``).
    public var signer: Signer { Signer(identity: identity, keyID: keyID, roles: roles, teams: teams) }

    /// The public key itself (`nil` only if the stored bytes are not a key).
    public var key: PublicKey? { Data(anyBase64: publicKey).flatMap { try? PublicKey(raw: $0) } }
}

/// The projection tables: the one fold of admitted events into them (``apply(_:)``) and every read of them
/// (`Projector+Reads.swift`, `+Gate`, `+Status`). `apply` runs inside the append transaction, so the tables
/// are always exactly the fold of the entries; every read is an indexed lookup, so its cost does not grow
/// with the ledger.
final class Projector {
    let db: any SQLConnection
    /// The log the events come from (for reads that decode entries: the gate's facts).
    let log: LogStore
    var policyCache: (index: Int, text: String, policy: Policy)?

    /// What these tables are for, fixed when they are made.
    enum Use {
        /// A ledger's own tables, which other processes may write between transactions.
        case live
        /// A private fold from nothing (``scratch(reading:)``): no other process writes it, so keys and the latest
        /// policy are answered from memory, kept current by ``apply(_:)``, the only writer.
        case history
        /// A verifier's scratch copy: private like ``history``, and its log holds entries the verifier wrote right
        /// after checking their signatures, so they are not checked again when read back.
        case replay
    }
    let use: Use
    var exclusive: Bool { use != .live }
    var trustsLog: Bool { use == .replay }
    /// Events folded in the write transaction in progress, by index: they were parsed and their signatures
    /// checked moments ago, so a gate later in the same batch reads them from here instead of verifying their
    /// stored bytes again. Emptied when the transaction ends (``forgetTransactionEvents()``), committed or not.
    /// A verifier's replay keeps the last ``replayWindow`` instead (a digest's events are mostly close together).
    private(set) var transactionEvents: [Int: LedgerEvent] = [:]
    var replayWindow = 4096
    /// Where a verifier's scratch copy finds the bytes of an entry it stored without them: the verified ledger's
    /// own row at the same index, read in the same snapshot (so the same bytes that were checked).
    var storedBytes: ((Int) throws -> Data?)?
    var keyCache: [String: KeyRecord?] = [:]
    var lifetimeCache: [String: KeyLifetime?] = [:]
    /// Whether this store has workload identity's tables (a ledger file made before them, opened read-only, has
    /// none, and then no key has a lifetime and no issuer is trusted).
    var identityTables: Bool?
    var latestPolicy: (index: Int, policy: Policy)??
    var lastApplied = -1
    /// True while a batch is integrated (``beginBatch(size:statements:payloadHashes:)``): under the head lock,
    /// keys and the latest policy are then answered from memory like an exclusive copy's, and ``facts`` holds
    /// what the batch reads.
    var batching = false
    var facts: BatchFacts?
    /// Whether keys and the latest policy may be answered from memory.
    var caches: Bool { exclusive || batching }

    init(db: any SQLConnection, log: LogStore, use: Use = .live) {
        self.db = db
        self.log = log
        self.use = use
    }

    /// Projection tables in the same database as `log` (a ledger file, or a scratch copy).
    convenience init(sharing log: LogStore, use: Use) { self.init(db: log.db, log: log, use: use) }

    /// A fresh, private set of projection tables in memory, folded from nothing: for answering questions about
    /// an earlier point of a ledger with the same fold as the live tables.
    static func scratch(reading log: LogStore) throws -> Projector {
        let db = try Database(path: ":memory:", mode: .readWriteCreate)
        try db.execute(Schema.projections)
        return Projector(db: db, log: log, use: .history)
    }

    // MARK: The fold

    /// Folds one admitted event into the tables. The only writer of projection tables.
    func apply(_ event: LedgerEvent) throws {
        let index = Int64(event.index)
        let statement = event.statement
        // Reads during the fold are "before this event"; from the next one on, it is applied.
        defer { lastApplied = event.index }
        // Not for a historical fold (exclusive, not a verifier's): it reads each event once and must stay small.
        if trustsLog || !exclusive { transactionEvents[event.index] = event }
        if trustsLog, transactionEvents.count >= 2 * replayWindow {
            transactionEvents = transactionEvents.filter { $0.key > event.index - replayWindow }
        }
        if statement.kind.isGovernance {
            keyCache.removeAll()
            latestPolicy = nil
        }
        // Image events always carry a valid digest (the statement parser checks it); governance events use none.
        let digest = statement.digest?.description ?? ""
        let repository = statement.subjectName
        if !statement.kind.isGovernance {
            try db.insert([.text(digest), .integer(index)], into: .digestEntry)
            try db.insert([.text(digest), .text(repository), .integer(index)], into: .digestRepository)
            if facts?.owners[digest] == .some(nil) { facts?.owners[digest] = repository }
            try db.insert([.text(repository), .integer(index)], into: .repository)
        }
        if !statement.kind.isGovernance { try recordGateEvidence(event) }
        switch statement.predicate {
        case .initialized(let p):
            for admin in p.admins {
                guard let raw = Data(anyBase64: admin.publicKey) else { continue }
                try insertKey(raw: raw, identity: admin.identity, roles: [.admin], teams: [], index: index)
            }
        case .keyEnrolled(let p):
            if let raw = Data(anyBase64: p.publicKey) {
                try insertKey(raw: raw, identity: p.identity, roles: p.roles, teams: p.teams ?? [], index: index)
                try recordLifetime(raw, after: p.validAfter, before: p.validBefore)
            }
        case .keyUpdated(let p):
            if let raw = Data(anyBase64: p.publicKey) {
                let (roles, teams) = (Self.rolesText(p.roles), Self.teamsText(p.teams))
                let id = SHA256.hash(raw).hex
                try db.update(
                    "UPDATE keys SET roles = $1, teams = $2, changed_idx = $3 WHERE key_id = $4",
                    [.text(roles), .text(teams), .integer(index), .text(id)], table: "keys")
                try db.insert([.text(id), .integer(index), .text(roles), .text(teams)], into: .keyHistory)
            }
        case .keyRevoked(let p):
            if let raw = Data(anyBase64: p.publicKey) {
                try db.update(
                    "UPDATE keys SET revoked_idx = $1, revoke_reason = $2, voids_approvals = $3 WHERE key_id = $4 AND revoked_idx IS NULL",
                    [
                        .integer(index), .text(p.reason), .integer(p.voidApprovals == true ? 1 : 0),
                        .text(SHA256.hash(raw).hex),
                    ], table: "keys")
            }
        case .policy(let p):
            try db.insert(
                [.integer(index), .text(String(decoding: p.policy.canonicalData, as: UTF8.self))], into: .policy)
            policyCache = nil
        case .oidcIssuer, .keyAttested: try applyIdentity(event)
        case .built(let p):
            try applyTags(p.tags ?? [], repository: repository, digest: digest, index: index)
        case .deployed(let p):
            let gated =
                try (try? Repository(normalized: repository)).flatMap { r in
                    try policy(before: event.index)?.policy.environment(p.environment, repository: r)
                }?.isGated == true
            let current = try self.current(environment: p.environment, repository: repository, before: event.index)
            if current?.digest.description == digest {
                if gated { try settleDrift(environment: p.environment, repository: repository, at: index) }
            } else if gated {
                // A fact, recorded as observed: it does not change what the ledger says is current.
                try db.insert(
                    [
                        .integer(index), .text(p.environment), .text(repository), .text(digest),
                        .optionalText(current?.digest.description),
                    ], into: .drift)
                let service = BatchFacts.ServiceKey(environment: p.environment, repository: repository)
                if facts?.standingDrift[service] != nil { facts?.standingDrift[service] = true }
            } else {
                try insertTimeline(event, environment: p.environment)
            }
        case .check(let p):
            try db.insert([.text(digest), .text(p.check), .text(p.result.rawValue), .integer(index)], into: .check)
        case .incident(let p):
            try db.insert(
                [.text(digest), .text(p.environment), .text(p.incident), .text(p.state.rawValue), .integer(index)],
                into: .incident)
            let key = BatchFacts.IncidentKey(digest: digest, environment: p.environment, incident: p.incident)
            if facts?.incidents[key] != nil { facts?.incidents[key] = p.state }
        case .approved(let p):
            try recordApproval(digest: digest, environment: p.environment, event: event, state: "approved")
        case .withdrawn(let p):
            try recordApproval(digest: digest, environment: p.environment, event: event, state: "withdrawn")
        case .promoted(let p):
            try insertTimeline(event, environment: p.to)
            try applyTags(p.tags ?? [], repository: repository, digest: digest, index: index)
            if let glass = p.breakGlass {
                try recordBreakGlass(event, environment: p.to, reason: glass.reason, failedRules: glass.failedRules)
            }
        case .rolledBack(let p):
            if let from = try? Digest(parsing: p.from) {
                try db.insert([.text(from.description), .integer(index)], into: .digestEntry)
            }
            try insertTimeline(event, environment: p.environment)
            if let glass = p.breakGlass {
                try recordBreakGlass(
                    event, environment: p.environment, reason: glass.reason, failedRules: ["incidents"])
            }
        }
    }

    /// Called when a write transaction ends: its events are no longer known to be the stored ones.
    func forgetTransactionEvents() {
        transactionEvents.removeAll(keepingCapacity: true)
        guard batching else { return }
        batching = false
        facts = nil
        keyCache.removeAll()
        lifetimeCache.removeAll()
        latestPolicy = nil
    }

    /// An identity's latest word on a (digest, environment): approved or withdrawn.
    private func recordApproval(digest: String, environment: String, event: LedgerEvent, state: String) throws {
        try db.insert(
            [
                .text(digest), .text(environment), .text(event.signer.identity), .integer(Int64(event.index)),
                .text(state),
            ], into: .approval)
    }

    func insertKey(raw: Data, identity: String, roles: [Role], teams: [String], index: Int64) throws {
        let id = SHA256.hash(raw).hex
        // Enrolled again (a re-enrolment after the genesis): the row starts over, not revoked.
        try db.insert(
            [
                .text(id), .blob(raw), .text(identity), .text(Self.rolesText(roles)), .text(Self.teamsText(teams)),
                .integer(index), .integer(index), .null, .null, .integer(0),
            ], into: .key)
        try db.insert(
            [.text(id), .integer(index), .text(Self.rolesText(roles)), .text(Self.teamsText(teams))], into: .keyHistory)
    }

    private func recordBreakGlass(_ event: LedgerEvent, environment: String, reason: String, failedRules: [String])
        throws
    {
        try db.insert(
            [
                .integer(Int64(event.index)), .text(event.kind.rawValue), .text(event.digest?.description ?? ""),
                .text(event.repository), .text(environment), .text(reason), .text(failedRules.joined(separator: ",")),
            ], into: .breakGlass)
    }

    /// A matching observation, a promotion or a rollback settles every standing drift of (environment, repository).
    private func settleDrift(environment: String, repository: String, at index: Int64) throws {
        let service = BatchFacts.ServiceKey(environment: environment, repository: repository)
        if facts?.standingDrift[service] == false { return }  // none stands: nothing to settle
        if facts?.standingDrift[service] != nil { facts?.standingDrift[service] = false }
        try db.update(
            "UPDATE drift SET settled_idx = $1 WHERE environment = $2 AND repository = $3 AND settled_idx IS NULL",
            [.integer(index), .text(environment), .text(repository)], table: "drift")
    }

    private func insertTimeline(_ event: LedgerEvent, environment: String) throws {
        var left: String? = nil
        if case .rolledBack(let p) = event.statement.predicate { left = p.from }
        let index = Int64(event.index)
        try db.insert(
            [
                .text(environment), .text(event.repository), .integer(index),
                .text(event.statement.digest?.description ?? ""), .integer(event.time.milliseconds),
                .text(event.signer.identity), .text(event.kind.rawValue), .optionalText(left),
            ], into: .timeline)
        try db.insert([.text(environment), .text(event.repository), .integer(index)], into: .environment)
        let service = BatchFacts.ServiceKey(environment: environment, repository: event.repository)
        if facts?.currents[service] != nil, let digest = event.statement.digest {
            facts?.currents[service] = TimelineEntry(
                environment: environment, digest: digest, repository: event.repository, index: event.index,
                time: event.time, identity: event.signer.identity, kind: event.kind)
        }
        try settleDrift(environment: environment, repository: event.repository, at: index)
    }

    private func applyTags(_ tags: [String], repository: String, digest: String, index: Int64) throws {
        for tag in Set(tags).sorted() {
            let key = BatchFacts.TagKey(repository: repository, tag: tag)
            let previous = try currentTag(key)
            if facts?.tags[key] != nil { facts?.tags[key] = digest }
            if let previous, previous != digest {
                try db.insert(
                    [.integer(index), .text(repository), .text(tag), .text(previous), .text(digest)], into: .tagMove)
            }
            guard previous != digest else { continue }
            try db.insert([.text(repository), .text(tag), .text(digest), .integer(index)], into: .tag)
            try db.insert([.text(repository), .text(tag), .integer(index), .text(digest)], into: .tagHistory)
        }
    }
}
