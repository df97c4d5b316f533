import Foundation

/// Each webhook's delivery position as a row of the store (`webhook_positions`): the index of the next entry to
/// deliver, and which server holds the lease to deliver it until when. Several servers on one database each try
/// to take the lease; one holds it at a time, so each entry is delivered by one server (DESIGN §11). Lease times
/// are the database's clock, the one clock every server shares.
extension Ledger {
    /// How long a lease lasts unless renewed (a delivery attempt takes at most 10 s).
    public static let webhookLease: Int64 = 30_000

    /// Creates the table if this ledger has none (a ledger made before webhook positions were rows).
    public func prepareWebhookPositions() throws {
        if try !log.db.hasTable("webhook_positions") { try log.db.createTables() }
    }

    /// Takes or renews the lease on webhook `name` for `holder`, and returns the index of the next entry to
    /// deliver; nil while another holder's lease runs. A webhook without a row gets one at `start()`.
    public func leaseWebhook(_ name: String, holder: String, start: () throws -> Int) throws -> Int? {
        if let next = try renewLease(name, holder: holder) { return next }
        guard try log.db.row("SELECT 1 FROM webhook_positions WHERE name = $1", [.text(name)]) == nil else {
            return nil
        }
        try log.db.run(
            "INSERT INTO webhook_positions(name, next_index, holder, lease_until_ms) VALUES ($1, $2, $3, 0) ON CONFLICT(name) DO NOTHING",
            [.text(name), .int(try start()), .text(holder)])
        return try renewLease(name, holder: holder)
    }

    /// Moves webhook `name` on to `next` after a delivery, if `holder` still holds its lease (renewing it);
    /// false if the lease was lost meanwhile (another server delivers from the stored position).
    public func advanceWebhook(_ name: String, holder: String, to next: Int) throws -> Bool {
        let now = try databaseMilliseconds()
        return try log.db.row(
            "UPDATE webhook_positions SET next_index = $1, lease_until_ms = $2 WHERE name = $3 AND holder = $4 RETURNING next_index",
            [.int(next), .integer(now + Self.webhookLease), .text(name), .text(holder)]) != nil
    }

    /// The stored position of webhook `name` and its holder, if it has a row.
    public func webhookPosition(_ name: String) throws -> (next: Int, holder: String)? {
        guard
            let row = try log.db.row("SELECT next_index, holder FROM webhook_positions WHERE name = $1", [.text(name)]),
            let next = row.int("next_index")
        else { return nil }
        return (next, row.text("holder") ?? "")
    }

    private func renewLease(_ name: String, holder: String) throws -> Int? {
        let now = try databaseMilliseconds()
        return try log.db.row(
            "UPDATE webhook_positions SET holder = $1, lease_until_ms = $2 WHERE name = $3 AND (holder = $4 OR lease_until_ms < $5) RETURNING next_index",
            [.text(holder), .integer(now + Self.webhookLease), .text(name), .text(holder), .integer(now)]
        )?.int("next_index")
    }

    private func databaseMilliseconds() throws -> Int64 {
        guard let now = try log.db.row(log.db.clockQuery)?.int64("now_ms") else {
            throw LedgerError.corrupt(.unreadableRow(table: "the database clock", index: 0))
        }
        return now
    }
}
