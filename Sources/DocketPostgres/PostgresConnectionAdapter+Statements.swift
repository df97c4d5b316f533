import DocketCore
import Foundation
import NIOCore
import PostgresNIO

/// Statements as the adapter sends them, as written (the ledger's SQL is in the dialect both engines read):
/// bindings in PostgreSQL's types (text as the UTF-8 bytes the schema stores it as, `PostgresSchema`), one answer waited for at most
/// ``PostgresConnectionAdapter/statementTimeout`` (a schema migration: longer), rows decoded, and PostgreSQL's refusals mapped to Docket's.
extension PostgresConnectionAdapter {
    func query(_ connection: PostgresConnection, _ sql: String, _ bindings: [SQLValue]) throws -> [Row] {
        var binds = PostgresBindings(capacity: bindings.count)
        for value in bindings {
            switch value {
            case .null: binds.appendNull()
            case .integer(let v): binds.append(v)
            case .text(let s): binds.append(ByteBuffer(string: s))
            case .blob(let d): binds.append(ByteBuffer(bytes: d))
            case .integers(let integers): binds.append(integers)
            case .texts(let texts): binds.append(texts.map { ByteBuffer(string: $0) })
            case .blobs(let blobs): binds.append(blobs.map { ByteBuffer(bytes: $0) })
            }
        }
        return try send(connection, PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    /// How long a statement may go unanswered (a batch waiting for the head lock included) before its
    /// connection is given up as broken.
    static let statementTimeout = TimeAmount.seconds(30)
    /// A migration's statements rewrite whole tables: an hour each.
    static let migrationTimeout = TimeAmount.hours(1)

    /// Sends one statement and waits for its rows, at most ``statementTimeout``: a connection cut while a
    /// statement was in flight does not always fail the statement, and the thread waiting must not wait forever.
    func send(_ connection: PostgresConnection, _ query: PostgresQuery) throws -> [Row] {
        statementCount += 1
        if Self.tracing { FileHandle.standardError.write(Data("docket: SQL \(query.sql)\n".utf8)) }
        let answered = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        connection.query(query, logger: store.logger).cascade(to: answered)
        let store = name
        let wait = migrating ? Self.migrationTimeout : Self.statementTimeout
        let deadline = connection.eventLoop.scheduleTask(in: wait) {
            answered.fail(
                StoreUnavailable(store: store, reason: "no answer within \(wait.nanoseconds / 1_000_000_000) s"))
        }
        let result: PostgresQueryResult
        do {
            result = try answered.futureResult.wait()
            deadline.cancel()
        } catch {
            deadline.cancel()
            let failure = storeError(error)
            if failure is StoreUnavailable { discard(connection) }
            throw failure
        }
        guard let first = result.rows.first else { return [] }
        let columns = first.map(\.columnName)
        return try result.rows.map { try Self.row($0, columns: columns) }
    }

    /// Stops using a connection that failed: closed without waiting, and opened again on the next statement.
    func discard(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        _ = closing
        if held === connection { held = nil }
    }

    static func row(_ row: PostgresRow, columns: [String]) throws -> Row {
        var values: [SQLValue] = []
        values.reserveCapacity(row.count)
        for cell in row {
            guard cell.bytes != nil else {
                values.append(.null)
                continue
            }
            switch cell.dataType {
            case .int8, .int4, .int2: values.append(.integer(try cell.decode(Int64.self)))
            case .bool: values.append(.integer(try cell.decode(Bool.self) ? 1 : 0))
            case .bytea: values.append(.blob(Data(buffer: try cell.decode(ByteBuffer.self))))
            default: values.append(.text(try cell.decode(String.self)))
            }
        }
        return Row(columns: columns, values: values)
    }

    /// PostgreSQL's refusals by SQLSTATE; a connection that failed or closed is ``StoreUnavailable``.
    func storeError(_ error: any Error) -> any Error {
        if error is StoreUnavailable { return error }
        guard let error = error as? PSQLError else { return StoreUnavailable(store: name, reason: "\(error)") }
        if error.code == .server, let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? "\(error)"
            // Class 08 (connection), 57P (operator intervention: shutdown), 53 (insufficient resources).
            if state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") {
                return StoreUnavailable(store: name, reason: message)
            }
            return PostgresStoreError.server(store: name, sqlState: state, message: message)
        }
        return StoreUnavailable(store: name, reason: "\(error.code)")
    }

    /// The next page of a server-side cursor.
    func fetch(_ connection: PostgresConnection, cursor: String, count: Int) throws -> [Row] {
        try query(connection, "FETCH \(count) FROM \(cursor)", [])
    }
}
