internal import CSQLite
import Foundation

/// SQLite's primary result codes that Docket tells apart, by name (an extended code's low byte is its primary).
public enum ResultCode: Int32, Sendable {
    case ok = 0
    case error = 1
    case permission = 3
    case busy = 5
    case locked = 6
    case readOnly = 8
    case ioError = 10
    case corrupt = 11
    case full = 13
    case cannotOpen = 14
    case constraint = 19
    case notADatabase = 26
    case row = 100
    case done = 101

    /// The primary code of a (possibly extended) result code; `nil` for one Docket does not name.
    init?(extended code: Int32) { self.init(rawValue: code & 0xff) }
}

/// A failure reported by SQLite, with its result code and message.
public struct DatabaseError: DocketFailure {
    /// The extended result code as SQLite returned it.
    public let code: Int32
    public let message: String
    public let path: String

    /// The primary result code, by name.
    public var resultCode: ResultCode? { ResultCode(extended: code) }

    public var category: FailureCategory {
        switch resultCode {
        case .notADatabase, .corrupt, .cannotOpen, .readOnly, .permission: .badInput
        default: .failure
        }
    }

    /// True for "try again later" codes.
    var isBusy: Bool { resultCode == .busy || resultCode == .locked }

    public var description: String {
        switch resultCode {
        case .notADatabase: "\(path) is not a Docket ledger (not an SQLite database)"
        case .corrupt: "\(path) is damaged (SQLite: \(message)); restore it from a backup or an exported bundle"
        case .readOnly:
            "\(path) is read-only (SQLite: \(message)); appends need write access to the file and its folder"
        case .cannotOpen: "cannot open \(path) (SQLite: \(message)); check the path and the folder's permissions"
        case .busy: "\(path) stayed locked by another process (SQLite: \(message)); try again"
        case .full: "\(path): the disk is full; nothing was written. Free space and try again"
        case .ioError:
            "\(path): SQLite could not read or write the file (\(message), code \(code)); the disk may be full or failing. Nothing partial was kept"
        default: "\(path): SQLite error \(code): \(message)"
        }
    }
}

/// One SQLite connection. Owns the handle and closes it in `deinit`.
///
/// Not `Sendable`: a connection belongs to the thread that opened it. Each process or thread opens its own.
final class Database: SQLConnection {
    private var handle: OpaquePointer?
    let path: String
    private var statements: [String: PreparedStatement] = [:]

    enum Mode { case readWrite, readWriteCreate, readOnly }

    init(path: String, mode: Mode) throws {
        self.path = path
        let flags: Int32 =
            switch mode {
            case .readOnly: SQLITE_OPEN_READONLY
            case .readWrite: SQLITE_OPEN_READWRITE
            case .readWriteCreate: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
            }
        handle = try Self.open(path, flags: flags)
        guard mode == .readOnly else { return }
        // A reader of a WAL ledger needs its `-shm` file; with no write access to the file's folder SQLite cannot
        // create one. When there is no write-ahead log to read (a cleanly closed ledger, a copy handed to an
        // auditor), the file alone is the whole ledger: open it immutable, which needs no `-shm`.
        let probe = sqlite3_exec(handle, "SELECT count(*) FROM sqlite_master", nil, nil, nil)
        let primary = probe & 0xff
        guard probe != SQLITE_OK, primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN,
            (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0 == 0
        else { return }
        sqlite3_close_v2(handle)
        handle = try Self.open(Self.immutableURI(path), flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_URI)
    }

    private static func open(_ path: String, flags: Int32) throws -> OpaquePointer {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw DatabaseError(code: rc, message: message, path: path)
        }
        sqlite3_extended_result_codes(db, 1)
        return db
    }

    /// `file:` URI of an absolute path with `immutable=1`, every byte outside the unreserved set %-escaped.
    static func immutableURI(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var escaped = ""
        for byte in absolute.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "/"):
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                escaped += (byte < 16 ? "%0" : "%") + String(byte, radix: 16, uppercase: true)
            }
        }
        return "file:\(escaped)?immutable=1"
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    func check(_ rc: Int32) throws {
        guard rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE else {
            throw DatabaseError(code: rc, message: String(cString: sqlite3_errmsg(handle)), path: path)
        }
    }

    func execute(_ sql: String) throws {
        try check(sqlite3_exec(handle, sql, nil, nil, nil))
    }

    func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// A cached prepared statement, reset and with bindings cleared.
    func prepare(_ sql: String) throws -> PreparedStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            sqlite3_finalize(stmt)
            throw DatabaseError(code: rc, message: String(cString: sqlite3_errmsg(handle)), path: path)
        }
        let statement = PreparedStatement(stmt, database: self)
        statements[sql] = statement
        return statement
    }

    var name: String { path }
    var dialect: SQLDialect { .sqlite }

    func createTables() throws { try execute(Schema.log + Schema.projections + Schema.webhooks) }

    func hasTable(_ name: String) throws -> Bool {
        try row("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = $1", [.text(name)]) != nil
    }
    var clockQuery: String { "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS now_ms" }

    /// A new ledger file, in WAL mode (readers never wait for the writer).
    static func newLedgerFile(path: String) throws -> Database {
        let file = try Database(path: path, mode: .readWriteCreate)
        try file.execute("PRAGMA journal_mode=WAL")
        return file
    }

    /// Runs `sql` with `bindings` and returns every row.
    func rows(_ sql: String, _ bindings: [SQLValue] = []) throws -> [Row] {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        var out: [Row] = []
        while let row = try statement.step() { out.append(row) }
        return out
    }

    func row(_ sql: String, _ bindings: [SQLValue] = []) throws -> Row? {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        let row = try statement.step()
        statement.reset()
        return row
    }

    func run(_ sql: String, _ bindings: [SQLValue] = []) throws {
        try runNow(sql, bindings)
    }

    private func runNow(_ sql: String, _ bindings: [SQLValue]) throws {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        while try statement.step() != nil {}
    }

    func cursor(_ sql: String) throws -> any RowCursor {
        return try prepare(sql)
    }

    // MARK: Writes

    /// A row is written as it comes, through its shape's prepared statement: SQLite runs in this process, so a
    /// statement costs no round trip, and queueing it (``WriteSet``) would only add work. The order is the
    /// pipeline's, which is what a write set keeps too.
    func insert(_ row: [SQLValue], into shape: RowShape) throws {
        let statement = try prepare(shape.sqliteInsert)
        try statement.bind(row)
        while try statement.step() != nil {}
    }

    func update(_ sql: String, _ bindings: [SQLValue], table: String) throws { try runNow(sql, bindings) }

    /// `BEGIN IMMEDIATE` takes the file's write lock at once; while another process holds it, tries again.
    func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try immediateTransaction(body)
            } catch let error as DatabaseError where error.isBusy && attempt < 20 {
                attempt += 1
                usleep(useconds_t(1000 * (attempt * 10 + Int.random(in: 0..<20))))
            }
        }
    }

    func readSnapshot<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        defer { try? execute("COMMIT") }
        return try body()
    }

    /// Readers of a file see a new checkpoint on their next read: there is nobody to tell.
    func announceCheckpoint(size: Int) throws {}

    func integrityProblems() throws -> [String] {
        try rows("PRAGMA integrity_check(20)").compactMap { $0.text("integrity_check") }.filter { $0 != "ok" }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if it throws.
    func immediateTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}
