import DocketCore
import Foundation
import NIOSSL
import PostgresNIO

/// A `postgres://` ledger address: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, or a Unix socket folder
/// as `?host=/path/to/folder` (libpq's spelling). `sslmode=disable|prefer|require` as libpq (default `prefer`,
/// and `disable` on loopback and sockets). The password may also come from `PGPASSWORD`.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    /// For the pool (a server's `LISTEN`).
    public var configuration: PostgresClient.Configuration
    /// For the connection each ledger thread holds.
    public var connectionConfiguration: PostgresConnection.Configuration
    /// The URL without its password: what errors and logs name.
    public var description: String

    /// Whether `text` names a PostgreSQL ledger (and not a file or a server).
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(parsing text: String) throws {
        guard Self.isPostgres(text), let url = URLComponents(string: text) else {
            throw PostgresStoreError.badLocation(text, "write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let query = Dictionary(
            (url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let user = url.user.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.environment["PGUSER"]
        guard let user, !user.isEmpty else {
            throw PostgresStoreError.badLocation(text, "name the user: postgres://USER@HOST/DATABASE")
        }
        let password =
            url.password.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        let database = url.path.split(separator: "/").first.map(String.init)
        guard let database, !database.isEmpty else {
            throw PostgresStoreError.badLocation(text, "name the database: postgres://USER@HOST/DATABASE")
        }
        var shown = URLComponents()
        shown.scheme = "postgres"
        shown.user = user
        shown.path = "/" + database
        if let socketFolder = query["host"], socketFolder.hasPrefix("/") {
            let port = url.port ?? Int(query["port"] ?? "") ?? 5432
            let socket = "\(socketFolder)/.s.PGSQL.\(port)"
            configuration = .init(unixSocketPath: socket, username: user, password: password, database: database)
            connectionConfiguration = .init(
                unixSocketPath: socket, username: user, password: password, database: database)
            shown.queryItems = [URLQueryItem(name: "host", value: socketFolder)]
        } else {
            guard let host = url.host, !host.isEmpty else {
                throw PostgresStoreError.badLocation(text, "name the host: postgres://USER@HOST[:PORT]/DATABASE")
            }
            let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
            let tls: PostgresClient.Configuration.TLS
            let connectionTLS: PostgresConnection.Configuration.TLS
            switch query["sslmode"] ?? (loopback ? "disable" : "prefer") {
            case "disable":
                (tls, connectionTLS) = (.disable, .disable)
            case "prefer", "allow":
                tls = .prefer(.makeClientConfiguration())
                connectionTLS = .prefer(try Self.tlsContext(text))
            case "require", "verify-ca", "verify-full":
                tls = .require(.makeClientConfiguration())
                connectionTLS = .require(try Self.tlsContext(text))
            case let other:
                throw PostgresStoreError.badLocation(text, "sslmode=\(other) is not disable, prefer or require")
            }
            let port = url.port ?? 5432
            configuration = .init(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
            connectionConfiguration = .init(
                host: host, port: port, username: user, password: password, database: database, tls: connectionTLS)
            shown.host = host
            shown.port = url.port
        }
        configuration.options.connectTimeout = .seconds(5)
        connectionConfiguration.options.connectTimeout = .seconds(5)
        description = shown.string ?? "postgres://\(user)@…/\(database)"
    }
}

extension PostgresLocation {
    /// TLS with the system's trusted roots, verifying the host name.
    fileprivate static func tlsContext(_ text: String) throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: .makeClientConfiguration())
        } catch {
            throw PostgresStoreError.badLocation(text, "TLS cannot be set up here (\(error)); try sslmode=disable")
        }
    }
}

/// What the PostgreSQL store refuses or reports.
public enum PostgresStoreError: DocketFailure {
    /// The `postgres://` address cannot be used.
    case badLocation(String, String)
    /// PostgreSQL refused a statement (its SQLSTATE and message).
    case server(store: String, sqlState: String, message: String)

    public var category: FailureCategory {
        switch self {
        case .badLocation: .badInput
        // The address names a database that is not there (3D) or a user it refuses (28): fix the address.
        case .server(_, let state, _) where state.hasPrefix("3D") || state.hasPrefix("28"): .badInput
        case .server: .failure
        }
    }

    public var description: String {
        switch self {
        case .badLocation(let text, let fix): "\(text) is not a PostgreSQL ledger address: \(fix)"
        case .server(let store, let state, let message): "\(store): PostgreSQL error \(state): \(message)"
        }
    }
}
