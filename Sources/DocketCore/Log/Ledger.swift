import Foundation

/// The append-only ledger: its tables in one store (an SQLite file in WAL mode, the default, or a PostgreSQL
/// database shared by several servers: ``SQLConnection``) and the log key that signs checkpoints (beside the file,
/// or a file every server of a shared database reads).
///
/// `Ledger` opens the file and is the library's front door; the work is done by types with one job each:
/// ``LogStore`` (the log tables), ``AppendPipeline`` (authorise, admit, store, Merkle, fold: every append),
/// ``Admission`` (who may sign what, and what the rules allow), ``Projector`` (the projection tables, their one
/// fold and their reads) and ``Gate`` (the pure verdict). What a ledger offers beyond appending is grouped by concern:
/// ``queries`` (`Projections/LedgerQueries.swift`), ``proofs`` (proofs, tiles, export: `Audit/LedgerProofs.swift`)
/// and ``pinLocks`` (`Pin/PinLocks.swift`).
///
/// Every append runs in one `BEGIN IMMEDIATE` transaction and ends with a fresh signed checkpoint, so readers
/// never see a checkpoint that does not cover exactly the entries present.
///
/// Not `Sendable`: one `Ledger` per thread or process. Several processes may append at once; SQLite's lock
/// serialises them and each retries while the file is busy.
public final class Ledger {
    /// The ledger as errors name it: its file, or its database's URL.
    public let path: String
    public let origin: String
    /// The file holding the log key (the secret that signs checkpoints).
    public let logKeyPath: String
    let db: any SQLConnection
    let log: LogStore
    let projector: Projector
    let clock: any LedgerClock
    private var logKeyCache: SigningKey?
    private var ledgerIDCache: String?

    /// Where the log key lives for a ledger at `path`.
    public static func logKeyPath(for path: String) -> String { path + ".logkey" }

    /// Creates a ledger: the SQLite file, the log key, and the genesis entry enrolling `admin`.
    @discardableResult
    public static func create(path: String, origin: String, admin: KeyFile, clock: any LedgerClock = SystemClock())
        throws -> Ledger
    {
        guard !origin.isEmpty, !origin.contains(where: { $0.isWhitespace || $0 == "+" }) else {
            throw LedgerError.badOrigin(origin)
        }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw LedgerError.isFolder(path: path) }
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
            try LogStore(db: try Database.newLedgerFile(path: path)).createTables(origin: origin)
            let ledger = try Ledger(path: path, clock: clock)
            let statement = try Statement.make(
                subjectName: origin, subjectDigest: SHA256.hash(logKey.publicKey.raw).hex, ledger: origin,
                ledgerID: nil,
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

    /// Opens an existing ledger. A file written by another version of Docket (another schema) is refused.
    public convenience init(path: String, clock: any LedgerClock = SystemClock(), readOnly: Bool = false) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LedgerError.noLedger(path: path)
        }
        guard !isDirectory.boolValue else { throw LedgerError.isFolder(path: path) }
        let file: Database
        do {
            file = try Database(path: path, mode: readOnly ? .readOnly : .readWrite)
            file.setBusyTimeout(milliseconds: 30_000)
            if !readOnly { try file.execute("PRAGMA synchronous=FULL") }
            try self.init(connection: file, logKeyPath: Self.logKeyPath(for: path), clock: clock)
        } catch let error as DatabaseError
            where error.resultCode == .notADatabase || error.message.contains("no such table")
        {
            throw LedgerError.notALedger(path: path)
        }
    }

    /// Opens the ledger whose tables `connection` holds (any store); `logKeyPath` is needed only to append.
    public init(connection: any SQLConnection, logKeyPath: String, clock: any LedgerClock = SystemClock()) throws {
        path = connection.name
        self.logKeyPath = logKeyPath
        self.clock = clock
        db = connection
        log = LogStore(db: connection)
        guard let origin = try log.meta("origin") else { throw LedgerError.notALedger(path: path) }
        self.origin = origin
        let schema = try log.meta("schema") ?? "?"
        guard schema == Schema.version else {
            throw LedgerError.schemaMismatch(path: path, found: schema, supported: Schema.version)
        }
        // A ledger made before workload identity gains its (empty) tables when it can be written.
        if try !connection.hasTable("key_lifetimes") { try? connection.createTables() }
        projector = Projector(db: connection, log: log)
    }

    /// The ledger's reads (``LedgerQueries``).
    public var queries: LedgerQueries { LedgerQueries(ledger: self) }
    /// Proofs, tiles and the offline bundle (``LedgerProofs``).
    public var proofs: LedgerProofs { LedgerProofs(ledger: self) }
    /// Pin lock files (``PinLocks``).
    public var pinLocks: PinLocks { PinLocks(ledger: self) }

    /// Checks that the log key can be read and is the one the genesis entry records (a server checks before it
    /// listens, not at its first append).
    public func checkLogKey() throws { _ = try logKey() }

    func logKey() throws -> SigningKey {
        if let logKeyCache { return logKeyCache }
        let keyPath = logKeyPath
        let key: SigningKey
        do {
            key = try KeyFileFormat.read(path: keyPath, passphrase: nil).key
        } catch let error as DocketFailure {
            throw LedgerError.logKeyUnavailable(path: keyPath, reason: .unreadable(error.description))
        }
        // Before the genesis entry exists, the key is the one just created; afterwards it must be the one recorded.
        if try treeSize() > 0 {
            let recorded = try logVerifierKey()
            guard recorded.publicKey == key.publicKey else {
                throw LedgerError.logKeyUnavailable(path: keyPath, reason: .notTheGenesisKey(recorded: recorded.text))
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

    /// Appends several envelopes in one transaction with one checkpoint, in order. All or nothing: if any is
    /// refused, none is appended.
    public func appendBatch(_ items: [(data: Data, source: String)]) throws -> [AppendReceipt] {
        // Parsing and signature checks need no ledger state: they run on every core, before the transaction.
        // Whether the key that signed may sign this kind now is decided inside it.
        let candidates = try AppendPipeline.prepare(items, knownKeys: try knownKeys().keys)
        let pipeline = AppendPipeline(
            log: log, projector: projector, origin: origin, ledgerID: try log.treeSize() > 0 ? try ledgerID() : nil)
        defer { projector.forgetTransactionEvents() }
        return try log.writeTransaction {
            projector.forgetTransactionEvents()  // a retried attempt starts from what is stored
            return try pipeline.append(candidates, now: clock.now, origin: origin, logKey: logKey)
        }
    }

    // MARK: The log

    /// The number of entries.
    public func treeSize() throws -> Int { try log.treeSize() }

    /// The latest signed checkpoint note, as stored.
    public func checkpointNote() throws -> String {
        guard let note = try log.checkpointNote() else { throw LedgerError.corrupt(.noCheckpoint) }
        return note
    }

    /// The latest stored checkpoint, parsed (its signature is not checked here).
    public func currentCheckpoint() throws -> Checkpoint { try latestCheckpoint().checkpoint }

    /// The latest checkpoint, parsed (its signature is the log's own; verify checks it).
    func latestCheckpoint() throws -> (note: String, checkpoint: Checkpoint) {
        let note = try checkpointNote()
        let checkpoint = try Checkpoint(
            note: try SignedNote(parsing: note, source: "stored checkpoint"), source: "stored checkpoint")
        return (note, checkpoint)
    }

    /// The ledger's ID: the hex RFC 6962 leaf hash of its genesis entry, which every later event names.
    public func ledgerID() throws -> String {
        if let ledgerIDCache { return ledgerIDCache }
        guard let stored = try log.storedEntry(at: 0) else { throw LedgerError.corrupt(.noGenesis) }
        let id = try Entry(bytes: stored.bytes, source: "entry 0").leafHash.hex
        ledgerIDCache = id
        return id
    }

    /// The log's verifier key, from the genesis entry.
    public func logVerifierKey() throws -> NoteVerifierKey {
        guard let stored = try log.storedEntry(at: 0) else { throw LedgerError.corrupt(.noGenesis) }
        let statement = try Statement(
            parsing: try Entry(bytes: stored.bytes, source: "entry 0").envelope.payload, source: "entry 0")
        guard case .initialized(let p) = statement.predicate else {
            throw LedgerError.corrupt(.genesisNotInitialized)
        }
        return try NoteVerifierKey(parsing: p.logKey)
    }

    /// Entries `[from, from+limit)` as stored.
    public func entries(from: Int, limit: Int) throws -> [Entry] { try log.entries(from: from, limit: limit) }

    public func entry(at index: Int) throws -> Entry? {
        try log.storedEntry(at: index).map { try Entry(bytes: $0.bytes, source: "entry \(index)") }
    }

    /// The entry index of the last entry at or before `time`, or nil if none.
    public func lastIndex(atOrBefore time: Timestamp) throws -> Int? { try log.lastIndex(atOrBefore: time) }

    /// The current ledger time: now, but never before the last entry.
    public func ledgerTime() throws -> Timestamp {
        max(clock.now(), try log.tip()?.time ?? Timestamp(milliseconds: 0))
    }

    /// Stores a witness's cosigned checkpoint so `verify --witness` and bundles carry it.
    public func recordCosigned(witness: String, note: String) throws {
        let checkpoint = try Checkpoint(
            note: try SignedNote(parsing: note, source: "cosigned checkpoint"), source: "cosigned checkpoint")
        try log.save(cosigned: note, witness: witness, size: checkpoint.size)
    }
}
