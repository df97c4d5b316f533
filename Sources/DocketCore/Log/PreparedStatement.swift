internal import CSQLite
import Foundation

/// A prepared statement. Finalized in `deinit`.
final class PreparedStatement: RowCursor {
    private let stmt: OpaquePointer
    private unowned let database: Database
    /// The result columns' names, read once: every row of the statement shares the array.
    private lazy var columns: [String] = (0..<sqlite3_column_count(stmt)).map { i in
        sqlite3_column_name(stmt, i).map { String(cString: $0) } ?? ""
    }

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

    /// Which binding each parameter takes: `$N` (and `?N`) the Nth, by name, so a query reads as PostgreSQL
    /// reads it whatever order its parameters first appear in; a bare `?` (a ``RowShape``'s insert) by position.
    private lazy var slots: [Int] = (0..<sqlite3_bind_parameter_count(stmt)).map { i in
        guard let name = sqlite3_bind_parameter_name(stmt, i + 1).map({ String(cString: $0) }),
            let number = Int(name.dropFirst()), number > 0
        else { return Int(i) }
        return number - 1
    }

    /// How many bindings the statement takes.
    private lazy var bindingCount = (slots.max() ?? -1) + 1

    func bind(_ values: [SQLValue]) throws {
        guard values.count == bindingCount else {
            throw DatabaseError(
                code: SQLITE_RANGE, message: "\(values.count) bindings for a statement that takes \(bindingCount)",
                path: database.path)
        }
        for (slot, offset) in slots.enumerated() {
            let i = Int32(slot + 1)
            let value = values[offset]
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(stmt, i)
            case .integer(let v): rc = sqlite3_bind_int64(stmt, i, v)
            // With the byte length, not -1: a text holding U+0000 is stored whole, not cut at the NUL.
            case .text(let s): rc = sqlite3_bind_text(stmt, i, s, Int32(s.utf8.count), SQLITE_TRANSIENT_PTR)
            case .integers, .texts, .blobs:
                throw DatabaseError(
                    code: SQLITE_MISMATCH, message: "SQLite binds no arrays (SQLConnection.bindsArrays)",
                    path: database.path)
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
        return Row(columns: columns, values: values)
    }
}

/// SQLite's SQLITE_TRANSIENT (copy the bound value), which Swift cannot import as a macro.
private let SQLITE_TRANSIENT_PTR = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
