import Foundation

/// A connection to the database that holds a ledger's tables: the seam between the ledger and its store
/// (DESIGN §11). SQLite (``Database``, the default: one file) and PostgreSQL (the `DocketPostgres` target: one
/// database shared by several servers) implement it, and the store tests run against both.
///
/// Each store has its own tables in its own dialect (``createTables()``: SQLite's `Schema`, PostgreSQL's
/// `PostgresSchema`). Queries are written once, in the SQL both engines accept as it is (`$1`, `$2`…
/// placeholders, which SQLite takes as named parameters); nothing is translated. The one query that needs a
/// planner hint only SQLite has asks ``dialect``. Writes are rows of a ``RowShape``, which each store renders in
/// its own dialect. Text is stored as the store keeps it whole: SQLite's TEXT, PostgreSQL's BYTEA (UTF-8 bytes,
/// ordered as bytes, U+0000 included); rows are read by column name, and a text read from bytes is decoded.
/// Only `Log/` and `Projections/` write SQL.
///
/// Not `Sendable`: a connection belongs to the thread that uses it.
public protocol SQLConnection: AnyObject {
    /// The database as errors name it: a file path, or a `postgres://` URL without its password.
    var name: String { get }
    /// The engine, for the rare statement one of them spells its own way.
    var dialect: SQLDialect { get }
    /// A query whose one row has the database's clock in the column `now_ms`, in milliseconds since 1970 (webhook
    /// leases several servers compare).
    var clockQuery: String { get }

    /// Creates the ledger's tables, in this store's own dialect, where they do not exist yet, and brings tables
    /// made by an earlier version up to date (each store's migrations).
    func createTables() throws
    /// Whether the table `name` exists.
    func hasTable(_ name: String) throws -> Bool
    /// Runs one or more statements without bindings.
    func execute(_ script: String) throws
    /// Runs `sql` with `bindings` and returns every row.
    func rows(_ sql: String, _ bindings: [SQLValue]) throws -> [Row]
    /// The first row of `sql`, if any.
    func row(_ sql: String, _ bindings: [SQLValue]) throws -> Row?
    /// Runs a statement that returns no rows.
    func run(_ sql: String, _ bindings: [SQLValue]) throws
    /// The rows of `sql`, one at a time (a verifier's merge join over a whole table). Several may be open at once.
    func cursor(_ sql: String) throws -> any RowCursor

    /// Writes `row`. A store where each statement is a round trip (PostgreSQL) queues it in the write transaction
    /// in progress (``WriteSet``: written with the other rows of its shape, one statement for them all, when the
    /// transaction next reads or commits); SQLite, in this process, writes it at once.
    func insert(_ row: [SQLValue], into shape: RowShape) throws
    /// A statement that writes rows of `table` by a condition, in order with the rows (queued like them).
    func update(_ sql: String, _ bindings: [SQLValue], table: String) throws

    /// Runs `body` in the one write transaction: the tree head is locked for it, so appends from every process
    /// sharing the database are serialised and each sees what the one before it committed. What `body` queued
    /// is written before it commits. Committed if `body` returns, rolled back if it throws; retried while the
    /// database is busy. Every read in it (`rows`, `row`, `run`, `cursor`, `execute`) first writes what is queued.
    func writeTransaction<T>(_ body: () throws -> T) throws -> T
    /// Runs `body` in one read-only snapshot: every read inside sees the same state, even while others append.
    func readSnapshot<T>(_ body: () throws -> T) throws -> T
    /// Tells other processes sharing the database that the checkpoint of `size` entries is stored, when the
    /// transaction in progress commits (PostgreSQL's `NOTIFY`; nothing for a file).
    func announceCheckpoint(size: Int) throws
    /// What the engine's own integrity check finds wrong with the database (empty when it is sound).
    func integrityProblems() throws -> [String]
}

/// The SQL engines a ledger can be stored in.
public enum SQLDialect: Sendable {
    case sqlite, postgresql
}

/// Rows read one at a time.
public protocol RowCursor: AnyObject {
    /// The next row, or `nil` at the end.
    func step() throws -> Row?
    /// Ends the cursor early.
    func close()
}

/// A database that could not be reached, or stopped answering, while Docket used it: nothing of the transaction
/// in progress was kept. A server answers 503 and recovers when the database is back.
public struct StoreUnavailable: DocketFailure {
    public let store: String
    public let reason: String

    public init(store: String, reason: String) {
        self.store = store
        self.reason = reason
    }

    public var category: FailureCategory { .failure }
    public var description: String {
        "the database \(store) cannot be reached (\(reason)); nothing was written. Check that it is running and try again"
    }
}

extension SQLConnection {
    /// Whether ``SQLValue/texts(_:)`` and ``SQLValue/blobs(_:)`` can be bound (PostgreSQL's): a batch's facts are
    /// then read in one query per kind, not one per key.
    public var bindsArrays: Bool { dialect == .postgresql }

    func rows(_ sql: String) throws -> [Row] { try rows(sql, []) }
    func row(_ sql: String) throws -> Row? { try row(sql, []) }
    func run(_ sql: String) throws { try run(sql, []) }
}
