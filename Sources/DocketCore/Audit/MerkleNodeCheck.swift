import Foundation

/// Compares the Merkle nodes a replay completes with a ledger's stored `merkle` table, level by level, as they
/// are made: each level's nodes are completed in position order, so one cursor per level walks the stored table
/// alongside. Nothing is written, and no second copy of the table is kept.
final class MerkleNodeCheck {
    private let stored: LogStore
    private var cursors: [Int: (statement: any RowCursor, next: Row?)] = [:]
    private var differences = 0

    init(stored: LogStore) { self.stored = stored }

    /// Checks the nodes one leaf completed against the stored ones.
    func check(_ nodes: [(level: Int, index: Int, hash: Data)], report: inout VerificationReport) throws {
        for node in nodes {
            var cursor = try cursor(level: node.level)
            // Stored rows before this position were never made by the entries.
            while let row = cursor.next, let pos = row.int("pos"), pos < node.index {
                extra(row, report: &report)
                cursor.next = try cursor.statement.step()
            }
            let expected = Row(
                columns: ["level", "pos", "hash"], values: [.int(node.level), .int(node.index), .blob(node.hash)])
            if let row = cursor.next, row.int("pos") == node.index {
                if row != expected { differ(stored: row, expected: expected, report: &report) }
                cursor.next = try cursor.statement.step()
            } else {
                missing(expected, report: &report)
            }
            cursors[node.level] = cursor
        }
    }

    /// Reports stored rows beyond the rebuilt tree: past each level's last node, and at levels it never reached.
    func finish(report: inout VerificationReport) throws {
        for level in cursors.keys.sorted() {
            guard var cursor = cursors[level] else { continue }
            while let row = cursor.next {
                extra(row, report: &report)
                cursor.next = try cursor.statement.step()
            }
            cursor.statement.close()
        }
        for row in try stored.nodes(fromLevel: (cursors.keys.max() ?? -1) + 1) { extra(row, report: &report) }
    }

    private func cursor(level: Int) throws -> (statement: any RowCursor, next: Row?) {
        if let open = cursors[level] { return open }
        let statement = try stored.nodes(level: level)
        return (statement, try statement.step())
    }

    // The messages are those of the table comparison every other table gets (``Verifier/compare``).
    private func differ(stored row: Row, expected: Row, report: inout VerificationReport) {
        guard note() else { return }
        if row.int("level") == 0 {
            report.problem(
                row.int("pos"), "merkle",
                "entry \(row.int("pos") ?? -1)'s bytes do not hash to the leaf stored when it was appended")
        } else {
            report.problem(
                nil, "projection",
                "table merkle differs from the entries: stored \(Verifier.describe(row)), expected \(Verifier.describe(expected))"
            )
        }
    }

    private func extra(_ row: Row, report: inout VerificationReport) {
        guard note() else { return }
        report.problem(
            row.int("level") == 0 ? row.int("pos") : nil, "projection",
            "table merkle has a row the entries do not imply: \(Verifier.describe(row))")
    }

    private func missing(_ row: Row, report: inout VerificationReport) {
        guard note() else { return }
        report.problem(
            row.int("level") == 0 ? row.int("pos") : nil, "projection",
            "table merkle is missing a row the entries imply: \(Verifier.describe(row))")
    }

    /// At most five differences are reported, as for every table.
    private func note() -> Bool {
        differences += 1
        return differences <= 5
    }
}
