import Foundation

/// A value bound to or read from SQL.
public enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case text(String)
    case blob(Data)
    /// Arrays, bound only by a store that ``SQLConnection/bindsArrays`` (PostgreSQL's `= ANY(?)`, `unnest(?)`).
    case integers([Int64])
    case texts([String])
    case blobs([Data])
}

extension SQLValue {
    static func int(_ v: Int) -> SQLValue { .integer(Int64(v)) }
    static func optionalText(_ v: String?) -> SQLValue { v.map { .text($0) } ?? .null }
}

/// One result row, copied out of the database, read by column name (the name a query gives its column, or the
/// alias it sets with `AS`), never by position: a query can add or reorder columns without moving a reader.
public struct Row: Equatable, Sendable {
    /// The columns' names, in the query's order (one array shared by every row of a statement).
    public var columns: [String]
    public var values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of the column `name`; `nil` when the row has no such column.
    public subscript(_ name: String) -> SQLValue? {
        columns.firstIndex(of: name).map { values[$0] }
    }

    public func int(_ name: String) -> Int? {
        if case .integer(let v) = self[name] { return Int(v) }
        return nil
    }
    public func int64(_ name: String) -> Int64? {
        if case .integer(let v) = self[name] { return v }
        return nil
    }
    /// Text, or bytes read as UTF-8 (a store may keep text as bytes).
    public func text(_ name: String) -> String? {
        switch self[name] {
        case .text(let v): v
        case .blob(let v): String(decoding: v, as: UTF8.self)
        default: nil
        }
    }
    /// This row with the bytes of each column that `template` holds as text read as text, where they are valid
    /// UTF-8 (bytes that are not stay bytes, and so differ): a store that keeps text as bytes (PostgreSQL's BYTEA)
    /// compared with one that keeps it as text (a verifier's SQLite scratch copy).
    func typed(like template: Row) -> Row {
        var copy = self
        for (i, value) in values.enumerated() {
            if case .blob(let bytes) = value, case .text? = template[columns[i]],
                let text = String(validating: bytes, as: UTF8.self)
            {
                copy.values[i] = .text(text)
            }
        }
        return copy
    }

    public func blob(_ name: String) -> Data? {
        switch self[name] {
        case .blob(let v): v
        case .text(let t): Data(t.utf8)
        default: nil
        }
    }
}
