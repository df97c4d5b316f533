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
