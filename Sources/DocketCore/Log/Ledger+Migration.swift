import Foundation

/// What `docket migrate` copied and proved.
public struct MigrationReport: Sendable, Codable {
    public var from: String
    public var to: String
    public var entries: Int
    /// The Merkle root (hex) of the source's signed checkpoint: the root recomputed from the copied entries' bytes
    /// and the root of the copied Merkle nodes both equal it, or nothing was committed.
    public var root: String
    public var rows: [String: Int]
}

extension Ledger {
    /// Copies this ledger, every table row for row, into the empty store `destination` (its tables are created),
    /// in one transaction of the destination, and proves the copy before committing it: the Merkle root computed
    /// from the copied entries' bytes, and the root of the copied Merkle nodes, must both equal this ledger's
    /// signed checkpoint. All or nothing. `progress` hears of the entries copied and proved, with the total.
    public func migrate(
        to destination: any SQLConnection, progress: ((_ step: String, _ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> MigrationReport {
        try destination.createTables()
        let target = LogStore(db: destination)
        return try log.readSnapshot {
            let (_, checkpoint) = try latestCheckpoint()
            return try target.writeTransaction {
                let present = try target.treeSize()
                guard present == 0 else {
                    throw LedgerError.migrationTargetNotEmpty(target: destination.name, entries: present)
                }
                var rows: [String: Int] = [:]
                let tables =
                    ["meta", "entries", "merkle", "checkpoint", "cosigned"] + Schema.projectionTables.map(\.name)
                for table in tables {
                    rows[table] = try copy(table: table, to: destination) { copied in
                        if table == "entries" { progress?("copying entries", copied, checkpoint.size) }
                    }
                }
                // The proof: the copy's entries hash to the signed root, and so do its Merkle nodes.
                var frontier = MerkleFrontier()
                let cursor = try destination.cursor("SELECT idx, bytes FROM entries ORDER BY idx")
                defer { cursor.close() }
                while let row = try cursor.step() {
                    let index = row.int("idx") ?? -1
                    guard index == frontier.size else {
                        throw LedgerError.migrationMismatch("entry \(frontier.size) is missing from the copy")
                    }
                    _ = frontier.append(
                        leafHash: try Entry(bytes: row.blob("bytes") ?? Data(), source: "copied entry \(index)")
                            .leafHash)
                    if frontier.size % 1024 == 0 || frontier.size == checkpoint.size {
                        progress?("proving the copy", frontier.size, checkpoint.size)
                    }
                }
                guard frontier.size == checkpoint.size, frontier.root == checkpoint.root else {
                    throw LedgerError.migrationMismatch(
                        "the copied entries hash to \(frontier.root.hex) over \(frontier.size) entries, the signed checkpoint says \(checkpoint.root.hex) over \(checkpoint.size)"
                    )
                }
                guard try target.frontier(size: checkpoint.size).root == checkpoint.root,
                    try target.checkpointNote() == (try log.checkpointNote())
                else { throw LedgerError.migrationMismatch("the copied Merkle nodes or checkpoint differ") }
                return MigrationReport(
                    from: path, to: destination.name, entries: checkpoint.size, root: checkpoint.root.hex, rows: rows)
            }
        }
    }

    /// Copies every row of `table`, 200 rows to a statement.
    private func copy(table: String, to destination: any SQLConnection, copiedSoFar: (Int) -> Void) throws -> Int {
        let cursor = try db.cursor("SELECT * FROM \(table)")
        defer { cursor.close() }
        var batch: [Row] = []
        var copied = 0
        func flush() throws {
            guard let width = batch.first?.values.count, width > 0 else { return }
            let rows = (0..<batch.count).map { row in
                "(" + (1...width).map { "$\(row * width + $0)" }.joined(separator: ", ") + ")"
            }
            try destination.run(
                "INSERT INTO \(table)(\(batch[0].columns.joined(separator: ", "))) VALUES "
                    + rows.joined(separator: ", "), batch.flatMap(\.values))
            copied += batch.count
            batch.removeAll(keepingCapacity: true)
            copiedSoFar(copied)
        }
        while let row = try cursor.step() {
            batch.append(row)
            if batch.count == 200 { try flush() }
        }
        try flush()
        return copied
    }
}
