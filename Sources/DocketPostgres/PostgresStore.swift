import DocketCore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A ledger's tables in one PostgreSQL database, shared by every server that names it (DESIGN §11).
///
/// The ledger's code is synchronous, as it is over SQLite: each ``PostgresConnectionAdapter`` belongs to one
/// thread (the server's writer, a reader, a command's main thread), holds a connection of its own and waits there
/// for its queries, never on Swift's cooperative threads or NIO's event loops. The async side, a server's
/// `LISTEN` for other servers' checkpoints, uses the connection pool (``client``, `PostgresClient`), which the
/// server runs in its service group.
public final class PostgresStore: Sendable {
    public let location: PostgresLocation
    public let client: PostgresClient
    let logger: Logger
    /// The channel new checkpoints are announced on (`NOTIFY`); the payload is the tree size.
    static let channel = "docket_checkpoint"

    public init(location: PostgresLocation, logger: Logger = Logger(label: "docket.postgres")) {
        self.location = location
        var configuration = location.configuration
        configuration.options.maximumConnections = 24
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// A connection for one thread's ledger.
    public func connection() -> PostgresConnectionAdapter { PostgresConnectionAdapter(store: self) }

    private let connectionIDs = Atomic<Int>(0)
    func nextConnectionID() -> Int { connectionIDs.add(1, ordering: .relaxed).newValue }

    /// Opens the ledger stored here (`logKeyPath`: the shared log key, needed only to append).
    public func ledger(logKeyPath: String?) throws -> Ledger {
        let connection = connection()
        guard try connection.hasTable("meta") else { throw LedgerError.noLedger(path: location.description) }
        return try Ledger(
            connection: connection, logKeyPath: logKeyPath ?? "(no --log-key given: the log key signs checkpoints)")
    }

    /// Calls `onCheckpoint` with the size of every checkpoint any server commits, until cancelled: a connection
    /// `LISTEN`s on ``channel``, and is opened again if it drops.
    public func watchCheckpoints(_ onCheckpoint: @escaping @Sendable (Int) -> Void) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        for try await notification in notifications {
                            if let size = Int(notification.payload) { onCheckpoint(size) }
                        }
                    }
                }
            } catch {
                logger.debug("checkpoint listener stopped; listening again", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}

/// One PostgreSQL connection as the ledger uses it (``SQLConnection``): statements and transactions, on the
/// thread that calls them, on one connection of its own held while the adapter lives (opened again after an
/// outage). A database that cannot be reached is ``StoreUnavailable``.
public final class PostgresConnectionAdapter: SQLConnection {
    let store: PostgresStore
    /// The connection this adapter opened (see ``heldConnection()``).
    private var held: PostgresConnection?
    /// The connection of the transaction in progress.
    private var current: PostgresConnection?
    private var translations: [String: String] = [:]
    private var cursorCount = 0
    /// Rows and updates queued in the write transaction in progress, written before its next read
    /// (`PostgresConnectionAdapter+Writes.swift`).
    var pending = WriteSet()
    var pendingNotify: Int?
    var queueing = false
    /// Statements sent to the server by this adapter (each one round trip): what the store tests bound per batch.
    public private(set) var statementCount = 0
    /// `DOCKET_TRACE_SQL=1`: every statement sent is printed on stderr (what a batch costs, statement by statement).
    static let tracing = ProcessInfo.processInfo.environment["DOCKET_TRACE_SQL"] == "1"

    init(store: PostgresStore) { self.store = store }

    public var name: String { store.location.description }
    public var bindsArrays: Bool { true }
    public var clockQuery: String { "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint" }

    // MARK: SQLConnection

    public func execute(_ script: String) throws {
        try flush()
        for statement in script.split(separator: ";") {
            let sql = statement.trimmingCharacters(in: .whitespacesAndNewlines)
            if !sql.isEmpty { try run(sql, []) }
        }
    }

    public func rows(_ sql: String, _ bindings: [SQLValue]) throws -> [Row] {
        try flush()
        return try withConnection { try self.query($0, sql, bindings) }
    }

    public func row(_ sql: String, _ bindings: [SQLValue]) throws -> Row? { try rows(sql, bindings).first }

    public func run(_ sql: String, _ bindings: [SQLValue]) throws { _ = try rows(sql, bindings) }

    public func cursor(_ sql: String) throws -> any RowCursor {
        // In a transaction (a verifier's snapshot), a server-side cursor fetched in pages; otherwise every row.
        try flush()
        guard let connection = current else { return ArrayCursor(rows: try rows(sql, [])) }
        cursorCount += 1
        let name = "docket_cursor_\(cursorCount)"
        _ = try query(connection, "DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", [])
        return PagedCursor(adapter: self, connection: connection, name: name)
    }

    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try transaction(begin: "BEGIN") { connection in
                    // The tree head: every writer of this database waits here for the one before it to commit,
                    // then sees all it wrote. (A database being created has no head row yet: lock the table.)
                    if try self.query(connection, "SELECT size FROM checkpoint WHERE id = 1 FOR UPDATE", []).isEmpty {
                        _ = try self.query(connection, "LOCK TABLE checkpoint IN EXCLUSIVE MODE", [])
                    }
                    self.queueing = true
                    defer {
                        self.queueing = false
                        self.pending.removeAll()
                        self.pendingNotify = nil
                    }
                    let result = try body()
                    try self.flush()
                    return result
                }
            } catch PostgresStoreError.server(_, let state, _) where ["40001", "40P01"].contains(state) && attempt < 5 {
                attempt += 1
            }
        }
    }

    public func readSnapshot<T>(_ body: () throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { _ in try body() }
    }

    /// PostgreSQL checks its pages itself (and `amcheck` is an extension); the table comparison is Docket's.
    public func integrityProblems() throws -> [String] { [] }

    /// Whether the database has the table `name`.
    func hasTable(_ name: String) throws -> Bool {
        try row("SELECT to_regclass(?)::text", [.text(name)])?.values.first != .null
    }

    // MARK: Transactions and leases

    private func transaction<T>(begin: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        precondition(current == nil, "transactions do not nest")
        return try withConnection { connection in
            _ = try self.query(connection, begin, [])
            self.current = connection
            defer { self.current = nil }
            do {
                let result = try body(connection)
                _ = try self.query(connection, "COMMIT", [])
                return result
            } catch let error as StoreUnavailable {
                // The connection failed or stopped answering: PostgreSQL rolls the transaction back when it goes.
                self.discard(connection)
                throw error
            } catch {
                _ = try? self.query(connection, "ROLLBACK", [])
                throw error
            }
        }
    }

    /// Runs `body` with the transaction's connection, or else the one this adapter holds.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if let current { return try body(current) }
        return try body(try heldConnection())
    }

    /// This adapter's own connection, opened on first use and kept: its thread's statements then cost one round
    /// trip each, and need nothing but NIO's event loops (no Swift task, so a thread waiting here never waits
    /// for a cooperative thread). One that closed (the database restarted) is opened again; one that cannot be
    /// opened within the connect timeout (5 s) is ``StoreUnavailable``, and the next statement tries again.
    private func heldConnection() throws -> PostgresConnection {
        if let held, !held.isClosed { return held }
        held = nil
        do {
            let opened = try PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.any(),
                configuration: store.location.connectionConfiguration,
                id: store.nextConnectionID(), logger: store.logger
            ).wait()
            held = opened
            return opened
        } catch {
            throw storeError(error)
        }
    }

    // Closed without waiting: a deinit never blocks on an event loop.
    deinit {
        let closing: EventLoopFuture<Void>? = held?.close()
        _ = closing
    }

    // MARK: Statements

    func query(_ connection: PostgresConnection, _ sql: String, _ bindings: [SQLValue]) throws -> [Row] {
        var binds = PostgresBindings(capacity: bindings.count)
        for value in bindings {
            switch value {
            case .null: binds.appendNull()
            case .integer(let v): binds.append(v)
            case .text(let s): binds.append(PostgresDialect.escape(s))
            case .blob(let d): binds.append(ByteBuffer(bytes: d))
            case .integers(let integers): binds.append(integers)
            case .texts(let texts): binds.append(texts.map(PostgresDialect.escape))
            case .blobs(let blobs): binds.append(blobs.map { ByteBuffer(bytes: $0) })
            }
        }
        let translated: String
        if let cached = translations[sql] {
            translated = cached
        } else {
            translated = PostgresDialect.translate(sql)
            translations[sql] = translated
        }
        return try send(connection, PostgresQuery(unsafeSQL: translated, binds: binds))
    }

    /// How long a statement may go unanswered (a batch waiting for the head lock included) before its
    /// connection is given up as broken.
    static let statementTimeout = TimeAmount.seconds(30)

    /// Sends one statement and waits for its rows, at most ``statementTimeout``: a connection cut while a
    /// statement was in flight does not always fail the statement, and the thread waiting must not wait forever.
    func send(_ connection: PostgresConnection, _ query: PostgresQuery) throws -> [Row] {
        statementCount += 1
        if Self.tracing { FileHandle.standardError.write(Data("docket: SQL \(query.sql)\n".utf8)) }
        let answered = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        connection.query(query, logger: store.logger).cascade(to: answered)
        let store = name
        let deadline = connection.eventLoop.scheduleTask(in: Self.statementTimeout) {
            answered.fail(StoreUnavailable(store: store, reason: "no answer within 30 s"))
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
        return try result.rows.map(Self.row)
    }

    /// Stops using a connection that failed: closed without waiting, and opened again on the next statement.
    private func discard(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        _ = closing
        if held === connection { held = nil }
    }

    private static func row(_ row: PostgresRow) throws -> Row {
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
            default: values.append(.text(PostgresDialect.unescape(try cell.decode(String.self))))
            }
        }
        return Row(values: values)
    }

    /// PostgreSQL's refusals by SQLSTATE; a connection that failed or closed is ``StoreUnavailable``.
    private func storeError(_ error: any Error) -> any Error {
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
