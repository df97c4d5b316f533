import Foundation

/// The log tables of one ledger (a file, or a shared PostgreSQL database): entries, Merkle nodes, the signed checkpoint, witnesses' cosignatures and
/// the file's metadata. Every SQL statement about them is here; the projection tables belong to ``Projector``.
///
/// Not `Sendable`: it shares the connection of the ``Ledger`` (or scratch copy) that owns it.
final class LogStore: SubtreeStore {
    let db: any SQLConnection

    init(db: any SQLConnection) { self.db = db }

    /// A private scratch copy of every table, for a verifier to rebuild into: SQLite's temporary database (an
    /// empty file name), which lives in a file SQLite removes as it opens it, so nothing is left behind or
    /// readable by others even if the process is killed. Unsynced, in one open transaction
    /// (``commitAndContinue()``).
    static func scratch() throws -> LogStore {
        let db = try Database(path: "", mode: .readWriteCreate)
        try db.execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384")
        try db.createTables()
        try db.execute("BEGIN")
        return LogStore(db: db)
    }

    // MARK: Metadata

    /// Whether the store has `table` (a ledger made by an earlier version may lack later ones).
    func hasTable(_ table: String) throws -> Bool { try db.hasTable(table) }

    /// Whether `table` holds any row.
    func hasRows(_ table: String) throws -> Bool { try db.row("SELECT 1 FROM \(table) LIMIT 1", []) != nil }

    /// The `meta` value for `key`, if the file has one.
    func meta(_ key: String) throws -> String? {
        try db.row("SELECT value FROM meta WHERE key = $1", [.text(key)])?.text("value")
    }

    func createTables(origin: String) throws {
        try db.createTables()
        try db.run(
            "INSERT INTO meta(key, value) VALUES ('origin', $1), ('schema', $2)",
            [.text(origin), .text(Schema.version)])
    }

    // MARK: Transactions

    /// Runs `body` in the write transaction, with the tree head locked (``SQLConnection/writeTransaction(_:)``).
    func writeTransaction<T>(_ body: () throws -> T) throws -> T { try db.writeTransaction(body) }

    /// Runs `body` in one read transaction: every read inside sees the same snapshot, even while others append.
    func readSnapshot<T>(_ body: () throws -> T) throws -> T { try db.readSnapshot(body) }

    /// Ends the scratch copy's open transaction and starts the next (a verifier commits run by run, so SQLite
    /// does not hold the whole replay's dirty pages in memory). `immediate`: the next takes the write lock at once
    /// (a replica that other processes share).
    func commitAndContinue(immediate: Bool = false) throws {
        try db.execute(immediate ? "COMMIT; BEGIN IMMEDIATE" : "COMMIT; BEGIN")
    }

    // MARK: Entries

    /// The number of entries.
    func treeSize() throws -> Int {
        try db.row("SELECT COALESCE(MAX(idx) + 1, 0) AS size FROM entries")?.int("size") ?? 0
    }

    /// The last entry's index and ledger time, if there is one.
    func tip() throws -> (index: Int, time: Timestamp)? {
        guard let row = try db.row("SELECT idx, integrated_ms FROM entries ORDER BY idx DESC LIMIT 1"),
            let index = row.int("idx")
        else { return nil }
        return (index, Timestamp(milliseconds: row.int64("integrated_ms") ?? 0))
    }

    /// The entry holding the statement whose payload hashes to `payloadHash`, if any.
    func entry(payloadHash: Data) throws -> (index: Int, time: Timestamp, signer: String)? {
        guard
            let row = try db.row(
                "SELECT idx, integrated_ms, signer FROM entries WHERE payload_hash = $1", [.blob(payloadHash)]),
            let index = row.int("idx")
        else { return nil }
        return (index, Timestamp(milliseconds: row.int64("integrated_ms") ?? 0), row.text("signer") ?? "")
    }

    /// Writes an entry row at `index` (its own index on append; a verifier replaying a damaged history stores
    /// each entry at its position instead, so one gap does not derail what follows). Throws
    /// ``LogStoreError/duplicatePayload(earlier:)`` when the same statement is already stored.
    /// `keepingBytes: false` (a verifier's scratch copy of a ledger it can read back) stores the row without the
    /// entry's bytes.
    func insert(
        _ entry: Entry, at index: Int, kind: EventKind, signer: String, payloadHash: Data, keepingBytes: Bool = true
    ) throws {
        do {
            try db.insert(
                [
                    .int(index), .integer(entry.integratedTime.milliseconds), .blob(payloadHash),
                    .text(kind.rawValue), .text(signer), .blob(keepingBytes ? entry.bytes : Data()),
                ], into: .entry)
        } catch let error as DatabaseError where error.resultCode == .constraint {
            if let earlier = try self.entry(payloadHash: payloadHash) {
                throw LogStoreError.duplicatePayload(earlier: earlier.index)
            }
            throw error
        }
    }

    /// The stored entries among `payloadHashes` (a batch's statements): one query when the store binds arrays.
    func entries(payloadHashes: [Data]) throws -> [Data: (index: Int, time: Timestamp, signer: String)] {
        var found: [Data: (index: Int, time: Timestamp, signer: String)] = [:]
        guard !payloadHashes.isEmpty else { return found }
        guard db.bindsArrays else {
            for hash in payloadHashes { found[hash] = try entry(payloadHash: hash) }
            return found
        }
        for row in try db.rows(
            "SELECT payload_hash, idx, integrated_ms, signer FROM entries WHERE payload_hash = ANY($1)",
            [.blobs(payloadHashes)])
        {
            guard let hash = row.blob("payload_hash"), let index = row.int("idx") else { continue }
            found[hash] = (index, Timestamp(milliseconds: row.int64("integrated_ms") ?? 0), row.text("signer") ?? "")
        }
        return found
    }

    /// The stored bytes of entry `index` and the id of the key recorded as its signer.
    func storedEntry(at index: Int) throws -> (bytes: Data, signer: String)? {
        guard let row = try db.row("SELECT bytes, signer FROM entries WHERE idx = $1", [.int(index)]),
            let bytes = row.blob("bytes")
        else { return nil }
        return (bytes, row.text("signer") ?? "")
    }

    /// Entries `[from, from+limit)` as stored.
    func entries(from: Int, limit: Int) throws -> [Entry] {
        try db.rows("SELECT idx, bytes FROM entries WHERE idx >= $1 ORDER BY idx LIMIT $2", [.int(from), .int(limit)])
            .map { try Entry(bytes: $0.blob("bytes") ?? Data(), source: "entry \($0.int("idx") ?? -1)") }
    }

    /// Indexes of the entries `[from, from+limit)` that exist.
    func indexes(from: Int, limit: Int) throws -> [Int] {
        try db.rows("SELECT idx FROM entries WHERE idx >= $1 ORDER BY idx LIMIT $2", [.int(from), .int(limit)])
            .compactMap { $0.int("idx") }
    }

    /// Entry rows after index `after` (exclusive) and before `bound`, in order, with every column: what a
    /// verifier compares.
    func storedEntries(after: Int, before bound: Int = Int.max, limit: Int) throws -> [StoredEntry] {
        try db.rows(
            "SELECT idx, integrated_ms, payload_hash, kind, signer, bytes FROM entries WHERE idx > $1 AND idx < $2 ORDER BY idx LIMIT $3",
            [.int(after), .integer(Int64(bound)), .int(limit)]
        ).map { row in
            StoredEntry(
                bytes: row.blob("bytes") ?? Data(),
                column: .init(
                    index: row.int("idx") ?? 0, integratedMilliseconds: row.int64("integrated_ms") ?? 0,
                    payloadHash: row.blob("payload_hash") ?? Data(), kind: row.text("kind") ?? "",
                    signer: row.text("signer") ?? ""))
        }
    }

    /// The index of the last entry at or before `time`, or nil if none.
    func lastIndex(atOrBefore time: Timestamp) throws -> Int? {
        try db.row("SELECT MAX(idx) AS idx FROM entries WHERE integrated_ms <= $1", [.integer(time.milliseconds)])?
            .int("idx")
    }

    /// The ledger time of the last entry before `bound`, if any.
    func lastTime(before bound: Int) throws -> Timestamp? {
        try db.row("SELECT integrated_ms FROM entries WHERE idx < $1 ORDER BY idx DESC LIMIT 1", [.int(bound)])?
            .int64("integrated_ms").map(Timestamp.init(milliseconds:))
    }

    // MARK: Merkle nodes

    /// Stores perfect-subtree nodes (a leaf and those it completes).
    func insert(nodes: [(level: Int, index: Int, hash: Data)]) throws {
        for node in nodes { try db.insert([.int(node.level), .int(node.index), .blob(node.hash)], into: .merkleNode) }
    }

    func node(level: Int, index: Int) throws -> Data {
        guard
            let hash = try db.row("SELECT hash FROM merkle WHERE level = $1 AND pos = $2", [.int(level), .int(index)])?
                .blob("hash"),
            hash.count == 32
        else { throw LedgerError.corrupt(.missingMerkleNode(level: level, index: index)) }
        return hash
    }

    /// The stored hashes of `count` consecutive nodes at `level` from position `first`, in order (a tile).
    func nodes(level: Int, from first: Int, count: Int) throws -> [Data] {
        let rows = try db.rows(
            "SELECT hash FROM merkle WHERE level = $1 AND pos >= $2 AND pos < $3 ORDER BY pos",
            [.int(level), .int(first), .int(first + count)])
        guard rows.count == count else {
            throw LedgerError.corrupt(.missingMerkleNode(level: level, index: first + rows.count))
        }
        return try rows.map { row in
            guard let hash = row.blob("hash"), hash.count == 32 else {
                throw LedgerError.corrupt(.missingMerkleNode(level: level, index: first))
            }
            return hash
        }
    }

    var tree: MerkleTree<LogStore> { MerkleTree(store: self) }

    /// The stored nodes of one level in position order, one at a time (a verifier compares them as it rebuilds
    /// the tree). Each level has its own statement, so several can be open at once.
    func nodes(level: Int) throws -> any RowCursor {
        try db.cursor("SELECT level, pos, hash FROM merkle WHERE level = \(level) ORDER BY pos")
    }

    /// Stored nodes at `level` or above, in order: what no rebuilt level reached.
    func nodes(fromLevel level: Int) throws -> [Row] {
        try db.rows("SELECT level, pos, hash FROM merkle WHERE level >= $1 ORDER BY level, pos", [.int(level)])
    }

    // MARK: Checkpoints

    /// The latest signed checkpoint note, as stored.
    func checkpointNote() throws -> String? {
        try db.row("SELECT note FROM checkpoint WHERE id = 1")?.text("note")
    }

    func save(checkpoint note: SignedNote, size: Int) throws {
        try db.insert([.int(1), .int(size), .text(note.text)], into: .checkpoint)
        try db.announceCheckpoint(size: size)
    }

    /// Checkpoints cosigned by witnesses, as stored (one per witness).
    func cosignedNotes() throws -> [String] {
        try db.rows("SELECT note FROM cosigned ORDER BY witness").compactMap { $0.text("note") }
    }

    func save(cosigned note: String, witness: String, size: Int) throws {
        try db.insert([.text(witness), .int(size), .text(note)], into: .cosigned)
    }

    // MARK: The database

    /// What the database's own integrity check finds wrong with it (empty when it is sound).
    func integrityProblems() throws -> [String] { try db.integrityProblems() }

    /// Every row of `table` in the order of its key columns, one at a time (a verifier's merge join).
    func orderedRows(of table: String, orderBy: String) throws -> any RowCursor {
        try db.cursor("SELECT * FROM \(table) ORDER BY \(orderBy)")
    }
}

/// What the log store refuses.
enum LogStoreError: Error, Equatable {
    /// The statement is already stored, at `earlier`.
    case duplicatePayload(earlier: Int)
}

/// One stored entry as a verifier reads it: the bytes, plus what the database says about them (absent for
/// bundles, where the line is all there is).
struct StoredEntry: Sendable {
    var bytes: Data
    var column: Columns?

    struct Columns: Sendable {
        var index: Int
        var integratedMilliseconds: Int64
        var payloadHash: Data
        var kind: String
        var signer: String
    }
}
