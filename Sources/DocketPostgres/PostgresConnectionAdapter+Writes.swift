import DocketCore
import Foundation
import NIOCore
import PostgresNIO

/// Writes as PostgreSQL takes them, in as few round trips as order allows: the rows of one ``RowShape`` as a single
/// `INSERT … SELECT … FROM unnest($1::bigint[], $2::bytea[], …)`, one array per column (postgres-nio binds arrays,
/// not arrays of optionals, so a nullable column comes with a `bool[]` saying which of its values are NULL), and
/// consecutive inserts that touch no row another of them touches as one statement of data-modifying `WITH`
/// clauses, ending in the checkpoint's `pg_notify`. (The clauses of one statement see the same snapshot, so two
/// writing one row, or an `UPDATE` after them, go in statements of their own.)
extension PostgresConnectionAdapter {
    public func insert(_ row: [SQLValue], into shape: RowShape) throws {
        if queueing { pending.insert(row, shape) } else { try write([(shape, [row])], notify: nil) }
    }

    public func update(_ sql: String, _ bindings: [SQLValue], table: String) throws {
        if queueing { pending.run(sql, bindings, writing: [table]) } else { try run(sql, bindings) }
    }

    public func announceCheckpoint(size: Int) throws {
        if queueing { pendingNotify = size } else { try write([], notify: size) }
    }

    /// Writes what the transaction queued.
    func flush() throws {
        guard !pending.isEmpty || pendingNotify != nil else { return }
        let operations = pending.operations
        let notify = pendingNotify
        pending.removeAll()
        pendingNotify = nil
        var group: [(RowShape, [[SQLValue]])] = []
        var touched: [String: Set<[SQLValue]>] = [:]
        for operation in operations {
            switch operation {
            case .statement(let sql, let bindings, _):
                try write(group, notify: nil)
                (group, touched) = ([], [:])
                try withConnection { _ = try self.query($0, sql, bindings) }
            case .rows(let shape, let rows):
                let keys = Set(rows.map { row in shape.keyPositions.map { row[$0] } })
                if let earlier = touched[shape.table], !earlier.isDisjoint(with: keys) {
                    try write(group, notify: nil)
                    (group, touched) = ([], [:])
                }
                group.append((shape, rows))
                touched[shape.table, default: []].formUnion(keys)
            }
        }
        try write(group, notify: notify)
    }

    /// One statement: each insert a `WITH` clause, then the notification (or nothing).
    private func write(_ inserts: [(RowShape, [[SQLValue]])], notify: Int?) throws {
        guard !inserts.isEmpty || notify != nil else { return }
        var binds = PostgresBindings()
        let clauses = inserts.map { Self.insert($0.1, $0.0, into: &binds) }
        var final = "SELECT 1"
        if let notify {
            binds.append(String(notify))
            final = "SELECT pg_notify('\(PostgresStore.channel)', $\(binds.count))"
        }
        let sql: String
        if clauses.count == 1, notify == nil {
            sql = clauses[0]
        } else {
            sql =
                (clauses.isEmpty
                    ? "" : "WITH " + clauses.enumerated().map { "w\($0) AS (\($1))" }.joined(separator: ", ") + " ")
                + final
        }
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        try withConnection { _ = try self.send($0, query) }
    }

    /// `INSERT INTO table(columns) SELECT … FROM unnest(arrays)`, its arrays appended to `binds`.
    static func insert(_ rows: [[SQLValue]], _ shape: RowShape, into binds: inout PostgresBindings) -> String {
        var arrays: [String] = []
        var names: [String] = []
        var selected: [String] = []
        func add<T: PostgresArrayEncodable & PostgresNonThrowingEncodable>(_ values: [T], _ type: String) {
            binds.append(values)
            arrays.append("$\(binds.count)::\(type)[]")
        }
        for (i, column) in shape.columns.enumerated() {
            let name = "u\(i)"
            names.append(name)
            let values = rows.map { $0[i] }
            switch column {
            case .integer, .optionalInteger:
                add(
                    values.map { (value: SQLValue) -> Int64 in if case .integer(let v) = value { v } else { 0 } },
                    "bigint")
            case .text, .optionalText:
                add(
                    values.map { (value: SQLValue) -> ByteBuffer in
                        if case .text(let v) = value { ByteBuffer(string: v) } else { ByteBuffer() }
                    }, "bytea")
            case .blob:
                add(
                    values.map { (value: SQLValue) -> ByteBuffer in
                        if case .blob(let d) = value { ByteBuffer(bytes: d) } else { ByteBuffer() }
                    }, "bytea")
            }
            switch column {
            case .optionalInteger, .optionalText:
                add(values.map { $0 == .null }, "bool")
                names.append("n\(i)")
                selected.append("CASE WHEN n\(i) THEN NULL ELSE \(name) END")
            default:
                selected.append(name)
            }
        }
        return "INSERT INTO \(shape.table)(\(shape.columns.map(\.name).joined(separator: ", "))) SELECT "
            + selected.joined(separator: ", ") + " FROM unnest(\(arrays.joined(separator: ", "))) AS u("
            + names.joined(separator: ", ") + ")" + shape.conflictClause
    }
}
