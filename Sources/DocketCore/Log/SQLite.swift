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
        let statement = try prepare(sql)
        try statement.bind(bindings)
        while try statement.step() != nil {}
    }

    func cursor(_ sql: String) throws -> any RowCursor { try prepare(sql) }

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
        try rows("PRAGMA integrity_check(20)").compactMap { $0.text(0) }.filter { $0 != "ok" }
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

/// A value bound to or read from SQL.
public enum SQLValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case text(String)
    case blob(Data)
}

extension SQLValue {
    static func int(_ v: Int) -> SQLValue { .integer(Int64(v)) }
    static func optionalText(_ v: String?) -> SQLValue { v.map { .text($0) } ?? .null }
}

/// One result row, copied out of the database.
public struct Row: Equatable, Sendable {
    public var values: [SQLValue]

    public init(values: [SQLValue]) { self.values = values }

    subscript(_ i: Int) -> SQLValue { values[i] }

    func int(_ i: Int) -> Int? {
        if case .integer(let v) = values[i] { return Int(v) }
        return nil
    }
    func int64(_ i: Int) -> Int64? {
        if case .integer(let v) = values[i] { return v }
        return nil
    }
    func text(_ i: Int) -> String? {
        if case .text(let v) = values[i] { return v }
        return nil
    }
    func blob(_ i: Int) -> Data? {
        switch values[i] {
        case .blob(let v): v
        case .text(let t): Data(t.utf8)
        default: nil
        }
    }
}

/// A prepared statement. Finalized in `deinit`.
final class PreparedStatement: RowCursor {
    private let stmt: OpaquePointer
    private unowned let database: Database

    init(_ stmt: OpaquePointer, database: Database) {
        self.stmt = stmt
        self.database = database
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    func close() { reset() }

    func bind(_ values: [SQLValue]) throws {
        for (offset, value) in values.enumerated() {
            let i = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(stmt, i)
            case .integer(let v): rc = sqlite3_bind_int64(stmt, i, v)
            // With the byte length, not -1: a text holding U+0000 is stored whole, not cut at the NUL.
            case .text(let s): rc = sqlite3_bind_text(stmt, i, s, Int32(s.utf8.count), SQLITE_TRANSIENT_PTR)
            case .blob(let d):
                rc = d.withUnsafeBytes { raw in
                    sqlite3_bind_blob(
                        stmt, i, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count),
                        SQLITE_TRANSIENT_PTR)
                }
            }
            try database.check(rc)
        }
    }

    /// The next row, or `nil` when done.
    func step() throws -> Row? {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_DONE { return nil }
        guard rc == SQLITE_ROW else {
            try database.check(rc)
            return nil
        }
        let count = sqlite3_column_count(stmt)
        var values: [SQLValue] = []
        values.reserveCapacity(Int(count))
        for i in 0..<count {
            switch sqlite3_column_type(stmt, i) {
            case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(stmt, i)))
            case SQLITE_TEXT:
                // By its byte length, so a NUL inside the text does not end it.
                let n = Int(sqlite3_column_bytes(stmt, i))
                if let p = sqlite3_column_text(stmt, i), n > 0 {
                    values.append(.text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)))
                } else {
                    values.append(.text(""))
                }
            case SQLITE_BLOB:
                let n = Int(sqlite3_column_bytes(stmt, i))
                if let p = sqlite3_column_blob(stmt, i), n > 0 {
                    values.append(.blob(Data(bytes: p, count: n)))
                } else {
                    values.append(.blob(Data()))
                }
            // Docket stores no REAL values; one found here was written by someone else and reads as NULL
            // (never a trap on an out-of-range conversion).
            case SQLITE_FLOAT:
                values.append(Int64(exactly: sqlite3_column_double(stmt, i)).map { .integer($0) } ?? .null)
            default: values.append(.null)
            }
        }
        return values.isEmpty ? Row(values: []) : Row(values: values)
    }
}

/// SQLite's SQLITE_TRANSIENT (copy the bound value), which Swift cannot import as a macro.
private let SQLITE_TRANSIENT_PTR = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
