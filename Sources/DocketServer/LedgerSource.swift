import DocketCore
import ServiceLifecycle

/// Where a served ledger lives: how the writer and each reader open it, the services its store needs running
/// (a PostgreSQL pool), and, for a store several servers share, the feed of checkpoints any of them commits.
public struct LedgerSource: Sendable {
    /// The ledger as logs and errors name it.
    public var name: String
    /// Opens the ledger for one thread: read-write for the writer, read-only for a reader.
    public var open: @Sendable (_ readOnly: Bool) throws -> Ledger
    /// Run for the server's whole life, started before the ledger is opened and stopped after the writer.
    public var services: [any Service]
    /// Calls its argument with the size of every checkpoint committed to the store, until cancelled.
    public var watchCheckpoints: (@Sendable (@escaping @Sendable (Int) -> Void) async -> Void)?

    public init(
        name: String, open: @escaping @Sendable (_ readOnly: Bool) throws -> Ledger, services: [any Service] = [],
        watchCheckpoints: (@Sendable (@escaping @Sendable (Int) -> Void) async -> Void)? = nil
    ) {
        self.name = name
        self.open = open
        self.services = services
        self.watchCheckpoints = watchCheckpoints
    }

    /// An SQLite ledger file (one server; readers see the writer's commits on their next read).
    public static func file(_ path: String) -> LedgerSource {
        LedgerSource(name: path) { readOnly in try Ledger(path: path, readOnly: readOnly) }
    }
}
