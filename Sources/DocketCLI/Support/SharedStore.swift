import DocketCore
import DocketPostgres
import Foundation
import Synchronization

/// Ledgers in PostgreSQL (`--ledger postgres://…`, DESIGN §11): one store per database per process.
enum SharedStore {
    private static let stores = Mutex<[String: PostgresStore]>([:])

    static func isPostgres(_ ledger: String) -> Bool { PostgresLocation.isPostgres(ledger) }

    /// The store for `url`, made the first time it is asked for.
    static func store(_ url: String) throws -> PostgresStore {
        let location = try PostgresLocation(parsing: url)
        return stores.withLock { stores in
            if let store = stores[url] { return store }
            let store = PostgresStore(location: location)
            stores[url] = store
            return store
        }
    }

    /// The ledger in the database at `url`. Appending needs the log key: `logKey`, else `$DOCKET_LOG_KEY`.
    static func ledger(_ url: String, logKey: String? = nil) throws -> Ledger {
        try store(url).ledger(logKeyPath: logKey ?? ProcessInfo.processInfo.environment["DOCKET_LOG_KEY"])
    }
}
