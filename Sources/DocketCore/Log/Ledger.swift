import Foundation

/// The append-only ledger: one SQLite file (WAL mode) and, beside it, the log key that signs checkpoints.
///
/// Every append runs in one `BEGIN IMMEDIATE` transaction: authorize the signer, admit the event under the
/// rules in force, write the entry bytes, extend the Merkle tree, fold the event into the projections, and sign a
/// fresh checkpoint. Readers never see a checkpoint that does not cover exactly the entries present.
///
/// Not `Sendable`: one `Ledger` per thread or process. Several processes may append at once; SQLite's lock
/// serialises them and each retries while the file is busy.
public final class Ledger {
    public let path: String
    public internal(set) var origin: String
    let db: Database
    let projector: Projector
    let clock: any LedgerClock
    private var logKeyCache: SigningKey?

    /// Where the log key lives for a ledger at `path`.
    public static func logKeyPath(for path: String) -> String { path + ".logkey" }

    /// Creates a ledger: the SQLite file, the log key, and the genesis entry enrolling `admin`.
    @discardableResult
    public static func create(path: String, origin: String, admin: KeyFile, clock: any LedgerClock = SystemClock())
        throws -> Ledger
    {
        guard !origin.isEmpty, !origin.contains(where: { $0.isWhitespace || $0 == "+" }) else {
            throw LedgerError.badArgument(
                "origin `\(origin)` must be non-empty with no spaces or `+` (for example ledger.example.com/app)")
        }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                throw LedgerError.badArgument("\(path) is a folder; give the path of the ledger file to create")
            }
            throw LedgerError.alreadyExists(path: path)
        }
        let logKeyPath = logKeyPath(for: path)
        guard !fm.fileExists(atPath: logKeyPath) else { throw FileError.exists(logKeyPath) }
        let logKey = try SigningKey.generate()
        let verifier = NoteVerifierKey(name: origin, publicKey: logKey.publicKey)
        // Beside the secret, what auditors need: the verifier key text (`--log-key` takes the text or this file).
        try KeyFileFormat.write(
            KeyFile(identity: origin, key: logKey), to: logKeyPath, passphrase: nil, publicText: verifier.text)
        do {
            let db = try Database(path: path, mode: .readWriteCreate)
            try db.execute("PRAGMA journal_mode=WAL")
            try db.execute(Schema.log + Schema.projections)
            try db.run(
                "INSERT INTO meta(key, value) VALUES ('origin', ?), ('schema', ?)",
                [.text(origin), .text(Schema.version)])
            let ledger = try Ledger(path: path, clock: clock)
            let statement = try Statement.make(
                subjectName: origin, subjectDigest: SHA256.hash(logKey.publicKey.raw).hex, ledger: origin,
                predicate: .initialized(
                    .init(
                        logKey: verifier.text,
                        admins: [.init(identity: admin.identity, publicKey: admin.key.publicKey.base64)])),
                clock: clock)
            try ledger.append(
                Envelope.sign(payload: statement.encoded(), with: admin.key).compactJSON, source: "genesis")
            return ledger
        } catch {
            // Nothing half-made stays behind: no ledger without its genesis entry, no orphaned log key.
            for file in [path, path + "-wal", path + "-shm", logKeyPath, logKeyPath + ".pub"] {
                try? fm.removeItem(atPath: file)
            }
            throw error
        }
    }

    /// Opens an existing ledger.
    public init(path: String, clock: any LedgerClock = SystemClock(), readOnly: Bool = false) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LedgerError.noLedger(path: path)
        }
        guard !isDirectory.boolValue else {
            throw LedgerError.badArgument(
                "\(path) is a folder, not a ledger file; point --ledger / DOCKET_LEDGER at the ledger's file")
        }
        self.path = path
        self.clock = clock
        do {
            db = try Database(path: path, mode: readOnly ? .readOnly : .readWrite)
            db.setBusyTimeout(milliseconds: 30_000)
            guard let row = try db.row("SELECT value FROM meta WHERE key = 'origin'"), let origin = row.text(0) else {
                throw LedgerError.notALedger(path: path)
            }
            self.origin = origin
            if !readOnly {
                try db.execute("PRAGMA synchronous=FULL")
            }
        } catch let error as DatabaseError
            where error.code & 0xff == 26 /* SQLITE_NOTADB */ || error.message.contains("no such table")
        {
            throw LedgerError.notALedger(path: path)
        }
        projector = Projector(db: db)
    }

    /// Uses an already open database (for a verification scratch copy).
    init(database: Database, origin: String, clock: any LedgerClock) {
        self.path = database.path
        self.origin = origin
        self.db = database
        self.clock = clock
        self.projector = Projector(db: database)
    }

    func logKey() throws -> SigningKey {
        if let logKeyCache { return logKeyCache }
        let keyPath = Self.logKeyPath(for: path)
        let key: SigningKey
        do {
            key = try KeyFileFormat.read(path: keyPath, passphrase: nil).key
        } catch let error as DocketFailure {
            throw LedgerError.logKeyUnavailable(path: keyPath, reason: error.description)
        }
        // Before the genesis entry exists, the key is the one just created; afterwards it must be the one recorded.
        if try treeSize() > 0 {
            let recorded = try logVerifierKey()
            guard recorded.publicKey == key.publicKey else {
                throw LedgerError.logKeyUnavailable(
                    path: keyPath, reason: "it is not the log key recorded in the genesis entry (\(recorded.text))")
            }
        }
        logKeyCache = key
        return key
    }

    // MARK: Append

    /// Appends one envelope from untrusted bytes (`source` names them in errors). Idempotent: the same signed
    /// payload appended again returns the existing entry with `duplicate` set.
    @discardableResult
    public func append(_ data: Data, source: String) throws -> AppendReceipt {
        try appendBatch([(data, source)])[0]
    }

    /// Appends several envelopes in one transaction with one checkpoint. All or nothing: if any is refused,
    /// none is appended.
    public func appendBatch(_ items: [(data: Data, source: String)]) throws -> [AppendReceipt] {
        // Parsing and signature checks need no ledger state: they run on every core, before the transaction.
        // Whether the key that signed may sign this kind now is decided inside it.
        let parsed = try concurrentMap(items.count) { i in
            Result { () throws -> (Envelope, Statement) in
                let envelope = try Envelope(parsing: items[i].data, source: items[i].source)
                return (envelope, try Statement(parsing: envelope.payload, source: items[i].source))
            }
        }.map { try $0.get() }
        let known = Dictionary(try projector.keys().compactMap { r in r.key.map { (r.keyID, $0) } }) { a, _ in a }
        let signedBy = concurrentMap(parsed.count) { signingKey(of: parsed[$0].0, among: known) }
        return try retryingWhileBusy {
            try db.immediateTransaction {
                var receipts: [AppendReceipt] = []
                var appended = false
                for ((envelope, statement), preverified) in zip(parsed, signedBy) {
                    let receipt = try appendLocked(envelope, statement, preverified: preverified)
                    appended = appended || !receipt.duplicate
                    receipts.append(receipt)
                }
                let size = appended ? try signCheckpoint() : try treeSize()
                return receipts.map {
                    var r = $0
                    r.treeSize = size
                    return r
                }
            }
        }
    }

    private func retryingWhileBusy<T>(_ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as DatabaseError where error.isBusy && attempt < 20 {
                attempt += 1
                usleep(useconds_t(1000 * (attempt * 10 + Int.random(in: 0..<20))))
            }
        }
    }

    private func appendLocked(_ envelope: Envelope, _ statement: Statement, preverified: String?) throws
        -> AppendReceipt
    {
        let payloadHash = SHA256.hash(envelope.payload)
        if let existing = try db.row(
            "SELECT idx, integrated_ms, signer FROM entries WHERE payload_hash = ?", [.blob(payloadHash)])
        {
            // The same statement again is only a duplicate if this envelope is genuinely signed by the key that
            // signed the stored one: an altered signature must not be answered with "already there".
            let index = existing.int(0) ?? 0
            guard let record = try projector.key(id: existing.text(2) ?? ""), let key = record.key,
                record.keyID == preverified || envelope.isSigned(by: key)
            else {
                throw LedgerError.refused(
                    "this statement is already in the ledger as entry \(index), but this envelope's signature does not verify under the key that signed it"
                )
            }
            return AppendReceipt(
                index: index, integratedTime: Timestamp(milliseconds: existing.int64(1) ?? 0).rfc3339,
                kind: statement.kind.rawValue, subject: statement.subjectName, digest: statement.digest?.description,
                duplicate: true, treeSize: 0)
        }
        let tip = try db.row("SELECT idx, integrated_ms FROM entries ORDER BY idx DESC LIMIT 1")
        let index = (tip?.int(0) ?? -1) + 1
        let time = max(clock.now(), Timestamp(milliseconds: tip?.int64(1) ?? 0))
        let signer = try authorize(envelope, statement, index: index, preverified: preverified)
        let event = LedgerEvent(index: index, time: time, signer: signer, statement: statement)
        try admit(event)
        // The keyid is only a hint on input; the entry records the id of the key that actually signed.
        var recorded = envelope
        recorded.signatures[0].keyID = signer.keyID
        try store(Entry(index: index, integratedTime: time, envelope: recorded), event: event, payloadHash: payloadHash)
        return AppendReceipt(
            index: index, integratedTime: time.rfc3339, kind: statement.kind.rawValue, subject: statement.subjectName,
            digest: statement.digest?.description, duplicate: false, treeSize: index + 1)
    }

    /// Writes an admitted entry: its bytes, its Merkle nodes, its projections.
    func store(_ entry: Entry, event: LedgerEvent, payloadHash: Data) throws {
        try storeRow(
            entry, at: event.index, kind: event.kind.rawValue, signer: event.signer.keyID, payloadHash: payloadHash)
        try storeLeaf(entry.leafHash, at: event.index)
        try projector.apply(event)
    }

    /// The entry row. The row is the event's index: the entry's own index on append; a verifier replaying a
    /// damaged history stores each entry at its position instead, so one gap does not derail what follows.
    func storeRow(_ entry: Entry, at index: Int, kind: String, signer: String, payloadHash: Data) throws {
        try db.run(
            "INSERT INTO entries(idx, integrated_ms, payload_hash, kind, signer, bytes) VALUES (?, ?, ?, ?, ?, ?)",
            [
                .int(index), .integer(entry.integratedTime.milliseconds), .blob(payloadHash), .text(kind),
                .text(signer), .blob(entry.bytes),
            ])
    }

    /// The leaf and every perfect subtree it completes: O(log n) rows, amortised O(1).
    func storeLeaf(_ leafHash: Data, at index: Int) throws {
        try storeNodes(
            try MerkleTree<StoredSubtrees>.nodesCompleted(byAppending: leafHash, at: index) {
                try StoredSubtrees(db: db).node(level: $0, index: $1)
            })
    }

    func storeNodes(_ nodes: [(level: Int, index: Int, hash: Data)]) throws {
        for node in nodes {
            try db.run(
                "INSERT INTO merkle(level, pos, hash) VALUES (?, ?, ?)",
                [.int(node.level), .int(node.index), .blob(node.hash)])
        }
    }

    /// Signs a checkpoint over every entry and returns the tree size it covers.
    private func signCheckpoint() throws -> Int {
        let size = try treeSize()
        let root = try MerkleTree(store: StoredSubtrees(db: db)).root(size: size)
        let note = Checkpoint(origin: origin, size: size, root: root).signed(with: try logKey())
        try db.run(
            "INSERT OR REPLACE INTO checkpoint(id, size, note) VALUES (1, ?, ?)", [.int(size), .text(note.text)])
        return size
    }

    // MARK: Basic reads

    /// The number of entries.
    public func treeSize() throws -> Int {
        try db.row("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")?.int(0) ?? 0
    }

    /// The latest signed checkpoint note, as stored.
    public func checkpointNote() throws -> String {
        guard let note = try db.row("SELECT note FROM checkpoint WHERE id = 1")?.text(0) else {
            throw LedgerError.corrupt("no checkpoint is stored; run `docket verify`")
        }
        return note
    }

    /// The log's verifier key, from the genesis entry.
    public func logVerifierKey() throws -> NoteVerifierKey {
        guard let bytes = try db.row("SELECT bytes FROM entries WHERE idx = 0")?.blob(0) else {
            throw LedgerError.corrupt("the ledger has no genesis entry")
        }
        let statement = try Statement(
            parsing: try Entry(bytes: bytes, source: "entry 0").envelope.payload, source: "entry 0")
        guard case .initialized(let p) = statement.predicate else {
            throw LedgerError.corrupt("entry 0 is not the genesis entry")
        }
        return try NoteVerifierKey(parsing: p.logKey)
    }

    /// Entries `[from, from+limit)` as stored.
    public func entries(from: Int, limit: Int) throws -> [Entry] {
        try db.rows("SELECT idx, bytes FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?", [.int(from), .int(limit)]).map
        {
            try Entry(bytes: $0.blob(1) ?? Data(), source: "entry \($0.int(0) ?? -1)")
        }
    }

    public func entry(at index: Int) throws -> Entry? {
        try db.row("SELECT bytes FROM entries WHERE idx = ?", [.int(index)]).map {
            try Entry(bytes: $0.blob(0) ?? Data(), source: "entry \(index)")
        }
    }

    /// The entry index of the last entry at or before `time`, or nil if none.
    public func lastIndex(atOrBefore time: Timestamp) throws -> Int? {
        try db.row("SELECT MAX(idx) FROM entries WHERE integrated_ms <= ?", [.integer(time.milliseconds)])?.int(0)
    }

    /// The current ledger time: now, but never before the last entry.
    public func ledgerTime() throws -> Timestamp {
        let last = try db.row("SELECT integrated_ms FROM entries ORDER BY idx DESC LIMIT 1")?.int64(0) ?? 0
        return max(clock.now(), Timestamp(milliseconds: last))
    }
}

/// Merkle nodes stored in the `merkle` table.
struct StoredSubtrees: SubtreeStore {
    let db: Database

    func node(level: Int, index: Int) throws -> Data {
        guard
            let hash = try db.row("SELECT hash FROM merkle WHERE level = ? AND pos = ?", [.int(level), .int(index)])?
                .blob(0),
            hash.count == 32
        else { throw LedgerError.corrupt("Merkle node (\(level), \(index)) is missing; run `docket verify`") }
        return hash
    }
}
