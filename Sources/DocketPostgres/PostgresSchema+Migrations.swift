import DocketCore
import Foundation

/// Creating the tables, and bringing a database made by an earlier version up to date.
///
/// The one migration so far: versions before this one stored text as `TEXT COLLATE "C"` with U+0000 escaped
/// (as U+0001 U+0001, and U+0001 as U+0001 U+0002); text is now `BYTEA`, its bytes as they are. The migration
/// converts every such column and unescapes the few values that held either character, in one transaction that
/// first locks every table of the ledger exclusively, so a server that opens the database meanwhile waits and then
/// finds it done. Each statement may take up to ``PostgresConnectionAdapter/migrationTimeout`` (a type change
/// rewrites its table). A role that may not alter the tables gets an error that says what to do.
extension PostgresConnectionAdapter {
    public func createTables() throws {
        try migrateIfNeeded()
        for statement in PostgresSchema.statements { try run(statement, []) }
    }

    /// Runs the migrations this database needs (none for a new or an up-to-date one: one query).
    func migrateIfNeeded() throws {
        guard try storesTextAsText() else { return }
        migrating = true
        defer { migrating = false }
        do {
            try transaction(begin: "BEGIN") { _ in
                try self.run("SET LOCAL statement_timeout = 0", [])
                let present = try self.ledgerTables()
                try self.run("LOCK TABLE \(present.joined(separator: ", ")) IN ACCESS EXCLUSIVE MODE", [])
                guard try self.storesTextAsText() else { return }  // another server migrated it first
                try self.convertTextToBytes(tables: present)
            }
        } catch PostgresStoreError.server(_, let state, let message) where state == "42501" {
            throw PostgresStoreError.server(
                store: name, sqlState: state,
                message:
                    "this database has the earlier layout (text as TEXT) and must be converted once before this version can read it, but this role may not alter its tables (\(message)); run any docket command on it once as the tables' owner"
            )
        }
    }

    /// The ledger's tables this database has (an earlier version's may lack later ones).
    private func ledgerTables() throws -> [String] {
        let names = PostgresSchema.tables.map(\.name)
        return try rows(
            """
            SELECT table_name AS name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_name IN (\(names.map { "'\($0)'" }.joined(separator: ", ")))
            ORDER BY table_name
            """, []
        ).compactMap { $0.text("name") }
    }

    /// Whether the tables are the earlier layout (`meta.value` is `TEXT`).
    private func storesTextAsText() throws -> Bool {
        try row(
            """
            SELECT data_type AS type FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'meta' AND column_name = 'value'
            """, [])?.text("type") == "text"
    }

    private func convertTextToBytes(tables: [String]) throws {
        var columns: [String: [String]] = [:]
        for row in try rows(
            """
            SELECT table_name AS name, column_name AS column FROM information_schema.columns
            WHERE table_schema = current_schema() AND data_type = 'text'
              AND table_name IN (\(tables.map { "'\($0)'" }.joined(separator: ", ")))
            ORDER BY table_name, ordinal_position
            """, [])
        {
            if let table = row.text("name"), let column = row.text("column") {
                columns[table, default: []].append(column)
            }
        }
        // An index whose predicate compares a column with a text literal cannot follow the column's new type:
        // they are made again afterwards.
        for index in PostgresSchema.indexes { try run("DROP INDEX IF EXISTS \(index.name)", []) }
        for (table, names) in columns.sorted(by: { $0.key < $1.key }) {
            let changes = names.map { "ALTER COLUMN \"\($0)\" TYPE bytea USING convert_to(\"\($0)\", 'UTF8')" }
            try run("ALTER TABLE \(table) " + changes.joined(separator: ", "), [])
            for column in names { try unescape(table: table, column: column) }
        }
        for index in PostgresSchema.indexes { try run("CREATE INDEX \(index.name) \(index.definition)", []) }
    }

    /// Rewrites the values of `column` that the earlier layout escaped.
    private func unescape(table: String, column: String) throws {
        let escaped = try rows(
            "SELECT ctid::text AS row_id, \"\(column)\" AS value FROM \(table) WHERE position('\\x01'::bytea IN \"\(column)\") > 0",
            [])
        for row in escaped {
            guard let id = row.text("row_id"), id.allSatisfy({ $0.isNumber || "(),".contains($0) }),
                let value = row.blob("value")
            else { continue }
            try run("UPDATE \(table) SET \"\(column)\" = $1 WHERE ctid = '\(id)'", [.blob(Self.unescaped(value))])
        }
    }

    /// The earlier layout's escape undone: 01 01 is 00, 01 02 is 01 (UTF-8 has no other 01 byte).
    static func unescaped(_ bytes: Data) -> Data {
        var out = Data()
        out.reserveCapacity(bytes.count)
        var escape = false
        for byte in bytes {
            if escape {
                out.append(byte == 1 ? 0 : 1)
                escape = false
            } else if byte == 1 {
                escape = true
            } else {
                out.append(byte)
            }
        }
        return out
    }
}
