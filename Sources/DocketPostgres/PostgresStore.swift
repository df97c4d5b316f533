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
        try connection.migrateIfNeeded()
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
    public let store: PostgresStore
    /// The connection this adapter opened (see ``heldConnection()``).
    var held: PostgresConnection?
    /// The connection of the transaction in progress.
    private var current: PostgresConnection?
    private var cursorCount = 0
    /// Rows and updates queued in the write transaction in progress, written before its next read
    /// (`PostgresConnectionAdapter+Writes.swift`).
    var pending = WriteSet()
    var pendingNotify: Int?
    /// True while a schema migration runs (its statements get ``migrationTimeout``).
    var migrating = false
    var queueing = false
    /// Statements sent to the server by this adapter (each one round trip): what the store tests bound per batch.
    public internal(set) var statementCount = 0
    /// `DOCKET_TRACE_SQL=1`: every statement sent is printed on stderr (what a batch costs, statement by statement).
    static let tracing = ProcessInfo.processInfo.environment["DOCKET_TRACE_SQL"] == "1"

    init(store: PostgresStore) { self.store = store }

    public var name: String { store.location.description }
    public var dialect: SQLDialect { .postgresql }
    public var clockQuery: String { "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms" }

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

    /// Whether the database has the table `name` (a constant of the schema: interpolated).
    public func hasTable(_ name: String) throws -> Bool {
        precondition(name.allSatisfy { $0.isLetter || $0 == "_" })
        return try row("SELECT to_regclass('\(name)')::text AS found", [])?["found"] != .null
    }

    // MARK: Transactions and leases

    func transaction<T>(begin: String, _ body: (PostgresConnection) throws -> T) throws -> T {
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
}
