import DocketCore
import Foundation
import NIOCore
import PostgresNIO

/// Writes as PostgreSQL takes them in one round trip: all the rows of one ``RowShape`` as a single
/// `INSERT … SELECT … FROM unnest($1::bigint[], $2::text[], …)`, one array per column (postgres-nio binds arrays,
/// not arrays of optionals, so a nullable column comes with a `bool[]` saying which of its values are NULL).
extension PostgresConnectionAdapter {
    public func insert(_ row: [SQLValue], into shape: RowShape) throws {
        if queueing { pending.insert(row, shape) } else { try write(.rows(shape, [row])) }
    }

    public func update(_ sql: String, _ bindings: [SQLValue], table: String) throws {
        if queueing { pending.run(sql, bindings, writing: [table]) } else { try run(sql, bindings) }
    }

    /// Writes what the transaction queued, one statement per operation.
    func flush() throws {
        guard !pending.isEmpty else { return }
        let operations = pending.operations
        pending.removeAll()
        for operation in operations { try write(operation) }
    }

    private func write(_ operation: WriteSet.Operation) throws {
        switch operation {
        case .statement(let sql, let bindings, _):
            try withConnection { _ = try self.query($0, sql, bindings) }
        case .rows(let shape, let rows):
            let query = Self.insert(rows, shape)
            try withConnection { _ = try self.send($0, query) }
        }
    }

    static func insert(_ rows: [[SQLValue]], _ shape: RowShape) -> PostgresQuery {
        var binds = PostgresBindings(capacity: shape.columns.count * 2)
        var arrays: [String] = []
        var names: [String] = []
        var selected: [String] = []
        func add<T: PostgresArrayEncodable & PostgresNonThrowingEncodable>(_ values: [T], _ type: String) {
            binds.append(values)
            arrays.append("$\(arrays.count + 1)::\(type)[]")
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
                    values.map { (value: SQLValue) -> String in
                        if case .text(let v) = value { PostgresDialect.escape(v) } else { "" }
                    }, "text")
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
        let sql =
            "INSERT INTO \(shape.table)(\(shape.columns.map(\.name).joined(separator: ", "))) SELECT "
            + selected.joined(separator: ", ") + " FROM unnest(\(arrays.joined(separator: ", "))) AS u("
            + names.joined(separator: ", ") + ")" + shape.conflictClause
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}
