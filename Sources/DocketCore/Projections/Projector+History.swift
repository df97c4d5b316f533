import Foundation

extension Projector {
    // MARK: Drift, tag moves, break-glass

    static let driftColumns = "idx, environment, repository, digest, current_digest, settled_idx"

    /// The drift of (environment, repository) still standing before `bound`, oldest first (at most `limit`, the
    /// latest). A fold before `bound` has settled exactly what was settled by then.
    func standingDrift(environment: String, repository: String, before bound: Int, limit: Int = 20) throws
        -> [DriftRecord]
    {
        try db.rows(
            """
            SELECT \(Self.driftColumns) FROM drift
            WHERE environment = $1 AND repository = $2 AND idx < $3 AND settled_idx IS NULL ORDER BY idx DESC LIMIT $4
            """,
            [.text(environment), .text(repository), .int(bound), .int(limit)]
        ).map(Self.driftRecord).reversed()
    }

    /// Every drift observation, in order.
    func allDrift() throws -> [DriftRecord] {
        try db.rows("SELECT \(Self.driftColumns) FROM drift ORDER BY idx").map(Self.driftRecord)
    }

    static func driftRecord(_ row: Row) -> DriftRecord {
        DriftRecord(
            index: row.int("idx") ?? 0, environment: row.text("environment") ?? "",
            repository: row.text("repository") ?? "", digest: row.text("digest") ?? "",
            currentDigest: row.text("current_digest"), settledIndex: row.int("settled_idx"))
    }

    static let tagMoveColumns = "idx, repository, tag, from_digest, to_digest"

    static func tagMove(_ row: Row) -> TagMove {
        TagMove(
            index: row.int("idx") ?? 0, repository: row.text("repository") ?? "", tag: row.text("tag") ?? "",
            from: row.text("from_digest") ?? "", to: row.text("to_digest") ?? "")
    }

    /// The last `limit` tag moves before `bound` (of one repository, or all), oldest first.
    func recentTagMoves(repository: String? = nil, before bound: Int, limit: Int = 50) throws -> [TagMove] {
        let rows =
            try repository.map {
                try db.rows(
                    "SELECT \(Self.tagMoveColumns) FROM tag_moves WHERE repository = $1 AND idx < $2 ORDER BY idx DESC LIMIT $3",
                    [.text($0), .int(bound), .int(limit)])
            }
            ?? db.rows(
                "SELECT \(Self.tagMoveColumns) FROM tag_moves WHERE idx < $1 ORDER BY idx DESC LIMIT $2",
                [.int(bound), .int(limit)])
        return rows.map(Self.tagMove).reversed()
    }

    /// Every tag move, in order.
    func allTagMoves() throws -> [TagMove] {
        try db.rows("SELECT \(Self.tagMoveColumns) FROM tag_moves ORDER BY idx").map(Self.tagMove)
    }

    /// Tag moves involving `digest`.
    func tagMoves(digest: Digest) throws -> [TagMove] {
        try db.rows(
            "SELECT \(Self.tagMoveColumns) FROM tag_moves WHERE from_digest = $1 OR to_digest = $1 ORDER BY idx",
            [.text(digest.description)]
        ).map(Self.tagMove)
    }

    /// Every break-glass promotion, in order.
    func breakGlassPromotions() throws -> [BreakGlassRecord] {
        try db.rows(
            "SELECT idx, kind, digest, repository, environment, reason, failed_rules FROM break_glass ORDER BY idx"
        ).map {
            BreakGlassRecord(
                index: $0.int("idx") ?? 0, kind: $0.text("kind") ?? "", digest: $0.text("digest") ?? "",
                repository: $0.text("repository") ?? "", environment: $0.text("environment") ?? "",
                reason: $0.text("reason") ?? "",
                failedRules: ($0.text("failed_rules") ?? "").split(separator: ",").map(String.init))
        }
    }

    // MARK: Events

    /// Indexes of entries that name `digest`, before `bound`.
    func entryIndexes(digest: Digest, before bound: Int = Int.max) throws -> [Int] {
        try db.rows(
            "SELECT idx FROM digest_entries WHERE digest = $1 AND idx < $2 ORDER BY idx",
            [.text(digest.description), .integer(Int64(bound))]
        ).compactMap { $0.int("idx") }
    }

    /// A page of ``entryIndexes(digest:before:)``: up to `limit` from entry `from` on.
    func entryIndexes(digest: Digest, from: Int, limit: Int) throws -> [Int] {
        try db.rows(
            "SELECT idx FROM digest_entries WHERE digest = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
            [.text(digest.description), .integer(Int64(from)), .integer(Int64(limit))]
        ).compactMap { $0.int("idx") }
    }

    /// The first entry naming `digest`, if any.
    func firstEntry(digest: Digest) throws -> Int? {
        try db.row(
            "SELECT idx FROM digest_entries WHERE digest = $1 ORDER BY idx LIMIT 1", [.text(digest.description)])?.int(
                "idx")
    }

    /// Decodes a stored entry into an event, re-checking its signature against the key recorded for it.
    func event(at index: Int) throws -> LedgerEvent {
        if let recent = transactionEvents[index] { return recent }
        guard let stored = try log.storedEntry(at: index) else { throw LedgerError.corrupt(.missingEntry(index)) }
        var bytes = stored.bytes
        if bytes.isEmpty, let storedBytes, let original = try storedBytes(index) { bytes = original }
        let entry = try Entry(bytes: bytes, source: "entry \(index)")
        let statement = try Statement(parsing: entry.envelope.payload, source: "entry \(index)")
        // A stored row is not trusted: its signature is checked again, except in a verifier's own scratch log.
        guard let record = try key(id: stored.signer), let key = record.key,
            trustsLog || entry.envelope.isSigned(by: key)
        else { throw LedgerError.corrupt(.badSignature(entry: index)) }
        var signer = try signer(record, at: index)
        signer.workload = try attestation(keyID: record.keyID)?.describe(identity: record.identity)
        var event = LedgerEvent(index: index, time: entry.integratedTime, signer: signer, statement: statement)
        event.authenticatorFlags = entry.envelope.authenticatorFlags
        return event
    }

    /// Every event naming `digest` before entry `bound`, in order.
    func events(digest: Digest, before bound: Int = Int.max) throws -> [LedgerEvent] {
        try entryIndexes(digest: digest, before: bound).map { try event(at: $0) }
    }
}
