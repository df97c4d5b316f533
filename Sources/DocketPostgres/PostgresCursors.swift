import DocketCore
import PostgresNIO

/// Every row at once, for a cursor outside a transaction.
final class ArrayCursor: RowCursor {
    private var rows: [Row]
    private var next = 0
    init(rows: [Row]) { self.rows = rows }
    func step() throws -> Row? {
        guard next < rows.count else { return nil }
        defer { next += 1 }
        return rows[next]
    }
    func close() { rows = [] }
}

/// A server-side cursor read 2,000 rows at a time.
final class PagedCursor: RowCursor {
    private let adapter: PostgresConnectionAdapter
    private let connection: PostgresConnection
    private let name: String
    private var page: [Row] = []
    private var next = 0
    private var done = false

    init(adapter: PostgresConnectionAdapter, connection: PostgresConnection, name: String) {
        self.adapter = adapter
        self.connection = connection
        self.name = name
    }

    func step() throws -> Row? {
        if next == page.count {
            guard !done else { return nil }
            page = try adapter.fetch(connection, cursor: name, count: 2000)
            next = 0
            if page.count < 2000 { done = true }
            guard !page.isEmpty else { return nil }
        }
        defer { next += 1 }
        return page[next]
    }

    func close() {
        guard !done else { return }
        done = true
        _ = try? adapter.query(connection, "CLOSE \(name)", [])
    }
}
