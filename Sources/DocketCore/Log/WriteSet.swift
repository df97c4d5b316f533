import Foundation

/// The shape of a multi-row write: a table, its columns, the key that identifies a row, and what a row whose key
/// is already stored does. Each store renders a shape in its own dialect once (SQLite: one prepared `INSERT`
/// stepped per row; PostgreSQL: one `INSERT … SELECT FROM unnest(arrays)` for all the rows).
public struct RowShape: Hashable, Sendable {
    public enum Column: Hashable, Sendable {
        case integer(String), text(String), blob(String)
        /// Columns that may hold NULL.
        case optionalInteger(String), optionalText(String)

        public var name: String {
            switch self {
            case .integer(let n), .text(let n), .blob(let n), .optionalInteger(let n), .optionalText(let n): n
            }
        }
    }

    public enum Conflict: Hashable, Sendable {
        /// A stored key is an error (the batch rolls back).
        case fail
        /// A stored key keeps its row (`ON CONFLICT DO NOTHING`): the first write wins.
        case keep
        /// A stored key takes the new row's other columns: the last write wins.
        case replace
    }

    public let table: String
    public let columns: [Column]
    public let key: [String]
    public let conflict: Conflict

    public init(table: String, columns: [Column], key: [String], conflict: Conflict) {
        self.table = table
        self.columns = columns
        self.key = key
        self.conflict = conflict
        self.keyPositions = key.compactMap { k in columns.firstIndex { $0.name == k } }
        let names = columns.map(\.name)
        self.sqliteInsert =
            "INSERT INTO \(table)(\(names.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
        self.sqliteInsert += conflictClause
    }

    /// One row's `INSERT` with `?` placeholders, as SQLite's prepared statement for the shape takes it.
    public private(set) var sqliteInsert: String

    /// The columns that are not part of the key (what ``Conflict/replace`` sets).
    public var valueColumns: [String] { columns.map(\.name).filter { !key.contains($0) } }

    /// The `ON CONFLICT` clause both dialects spell the same way.
    public var conflictClause: String {
        switch conflict {
        case .fail: ""
        case .keep: " ON CONFLICT DO NOTHING"
        case .replace:
            " ON CONFLICT(\(key.joined(separator: ", "))) DO UPDATE SET "
                + valueColumns.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        }
    }

    /// Positions of the key columns in a row.
    public let keyPositions: [Int]
}

/// What a write transaction has still to write, in order: rows grouped by shape, and the few statements that
/// update rows by a condition (a revocation, settling drift). The append pipeline fills it as it integrates a
/// batch; the store writes it, one statement per operation, when the transaction next reads and before it
/// commits. Rows of one shape are merged by key as the database would (``RowShape/Conflict``), so one statement
/// never touches a row twice, and a row only joins an earlier operation when no write to its key came between.
public struct WriteSet: Sendable {
    public enum Operation: Sendable {
        case rows(RowShape, [[SQLValue]])
        /// A statement and the tables it writes: rows for those tables queued after it start a new operation.
        case statement(String, [SQLValue], tables: Set<String>)
    }

    private enum Step: Sendable {
        case rows(RowShape, slot: Int)
        case statement(String, [SQLValue], tables: Set<String>)
    }

    private var steps: [Step] = []
    private var rowLists: [[[SQLValue]]] = []
    /// Per rows slot: each row's position by key.
    private var positions: [[[SQLValue]: Int]] = []
    /// The step each shape's rows go to next (none after a statement writing its table).
    private var open: [RowShape: Int] = [:]
    /// Per table and key: the step that last wrote it.
    private var lastWriter: [String: [[SQLValue]: Int]] = [:]

    public init() {}

    public var isEmpty: Bool { steps.isEmpty }

    /// The operations in the order the store runs them.
    public var operations: [Operation] {
        steps.map { step in
            switch step {
            case .rows(let shape, let slot): .rows(shape, rowLists[slot])
            case .statement(let sql, let bindings, let tables): .statement(sql, bindings, tables: tables)
            }
        }
    }

    /// Queues one row of `shape`.
    public mutating func insert(_ row: [SQLValue], _ shape: RowShape) {
        precondition(row.count == shape.columns.count, "a row of \(shape.table) has one value per column")
        let key = shape.keyPositions.map { row[$0] }
        let step: Int
        if let at = open[shape], (lastWriter[shape.table]?[key] ?? -1) <= at, case .rows(_, let slot) = steps[at] {
            step = at
            if let existing = positions[slot][key] {
                switch shape.conflict {
                case .keep: return
                case .replace:
                    rowLists[slot][existing] = row
                    return
                case .fail: break  // the database refuses it, and the batch rolls back
                }
            }
            positions[slot][key] = rowLists[slot].count
            rowLists[slot].append(row)
        } else {
            rowLists.append([row])
            positions.append([key: 0])
            steps.append(.rows(shape, slot: rowLists.count - 1))
            step = steps.count - 1
            open[shape] = step
        }
        lastWriter[shape.table, default: [:]][key] = step
    }

    /// Queues a statement that writes `tables`; it runs after every row queued before it, and before every row
    /// of those tables queued after it.
    public mutating func run(_ sql: String, _ bindings: [SQLValue], writing tables: Set<String>) {
        steps.append(.statement(sql, bindings, tables: tables))
        for shape in open.keys where tables.contains(shape.table) { open[shape] = nil }
    }

    public mutating func removeAll() { self = WriteSet() }
}
