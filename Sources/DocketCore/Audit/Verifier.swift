import Foundation

/// Re-checks a ledger, or a bundle file, from its entry bytes alone.
public enum Verifier {
    /// Verifies a ledger database: every entry, the Merkle tree against the signed checkpoint, every projection
    /// table against a rebuild from the entries, and the extra checks of `options`.
    public static func verify(ledger: Ledger, options: Options, progress: ((Int, Int) -> Void)? = nil) throws
        -> VerificationReport
    {
        try replay(ledger: ledger, options: options, progress: progress).report
    }

    /// ``verify(ledger:options:progress:)``, returning the replay itself too (its verdicts, for tests).
    static func replay(
        ledger: Ledger, options: Options, keepingVerdicts: Bool = false, eventWindow: Int = 4096,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> Replayer {
        let replayer = try Replayer(source: ledger.path)
        replayer.keepsVerdicts = keepingVerdicts
        replayer.projector.replayWindow = eventWindow
        // The rebuilt Merkle nodes are compared with the stored ones as they are made, not stored and joined.
        let nodeCheck = MerkleNodeCheck(stored: ledger.log)
        replayer.pipeline.onNodes = { [unowned replayer] nodes in try nodeCheck.check(nodes, report: &replayer.report) }
        // Entries replayed at their own index are read back from the ledger (same snapshot) when a gate needs them,
        // so the scratch copy does not hold a second copy of every entry's bytes.
        replayer.pipeline.storesEntryBytes = false
        let log = ledger.log
        replayer.projector.storedBytes = { index in try log.storedEntry(at: index)?.bytes }
        // One read transaction: entries, checkpoint, cosignatures and tables from the same snapshot, even while
        // others append.
        return try ledger.log.readSnapshot {
            let extra = try prepare(options: options, witnessed: try ledger.log.cosignedNotes(), replayer: replayer)
            // The file itself first: a damaged page or an index that disagrees with its table is reported as such
            // (queries through a damaged index could otherwise miss rows).
            do {
                for finding in try ledger.log.integrityProblems() {
                    replayer.report.problem(nil, "database", "the SQLite file is damaged: \(finding)")
                }
            } catch {
                replayer.report.problem(nil, "database", "the SQLite file is damaged: \(error)")
            }
            let total = try ledger.treeSize()
            var after = -1
            while true {
                let rows = try ledger.log.storedEntries(after: after, limit: 2048)
                guard let last = rows.last?.column?.index else { break }
                replayer.replay(rows)
                after = last
                progress?(after + 1, total)
            }
            try replayer.finish()
            var report = replayer.report
            if !report.origin.isEmpty, report.origin != ledger.origin {
                report.problem(
                    0, "entry",
                    "the genesis entry names origin `\(report.origin)` but the ledger's is `\(ledger.origin)`")
            }
            checkCheckpoint(
                note: try ledger.log.checkpointNote(), source: "stored checkpoint",
                genesisLogKey: replayer.genesisLogKey, pinned: options.pinnedLogKey,
                root: replayer.frontier.root, size: replayer.frontier.size, report: &report)
            try nodeCheck.finish(report: &report)
            for table in Schema.projectionTables {
                // A read-only ledger made before a table existed has none: its replay must have no rows there either.
                guard try ledger.log.hasTable(table.name) else {
                    if try replayer.pipeline.log.hasRows(table.name) {
                        report.problem(
                            0, "projection", "the ledger has no \(table.name) table, but its entries fill one")
                    }
                    continue
                }
                try compare(
                    table: table.name, orderBy: table.orderBy, stored: ledger.log, rebuilt: replayer.pipeline.log,
                    report: &report)
            }
            finishExtra(extra, replayer: replayer, report: &report)
            replayer.report = report
            try replayer.summarize()
            return replayer
        }
    }

    /// Checks the signed checkpoint against the recomputed tree.
    static func checkCheckpoint(
        note: String?, source: String, genesisLogKey: String?, pinned: NoteVerifierKey?,
        root: Data, size: Int, report: inout VerificationReport
    ) {
        report.logKeyPinned = pinned != nil
        var logKey = pinned
        if let text = genesisLogKey {
            do {
                let genesis = try NoteVerifierKey(parsing: text)
                if let pinned, pinned != genesis {
                    report.problem(
                        0, "checkpoint",
                        "the log key in the genesis entry (\(genesis.text)) is not the pinned key \(pinned.text)")
                }
                logKey = logKey ?? genesis
            } catch {
                report.problem(0, "entry", "the genesis entry's log key cannot be read: \(error)")
            }
        } else {
            report.problem(0, "entry", "there is no genesis (`initialized`) entry, so there is no log key to trust")
        }
        if pinned == nil {
            report.notes.append(
                "trusting the log key recorded in the ledger itself; pin it with --log-key (its text, or LEDGER.logkey.pub) to detect a re-signed history"
            )
        }
        report.logKey = logKey?.text ?? ""
        guard let note else {
            report.problem(nil, "checkpoint", "\(source): missing")
            return
        }
        guard let logKey else { return }
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.verified(text: note, logKey: logKey, source: source).0
        } catch {
            report.problem(nil, "checkpoint", "\(error)")
            return
        }
        report.checkpointSize = checkpoint.size
        if checkpoint.size < size {
            report.problem(
                checkpoint.size, "checkpoint",
                "entries \(checkpoint.size)…\(size - 1) are not covered by the signed checkpoint (size \(checkpoint.size)): added outside the ledger"
            )
        } else if checkpoint.size > size {
            report.problem(
                size, "checkpoint",
                "the signed checkpoint covers \(checkpoint.size) entries but only \(size) are present: entries were removed"
            )
        } else if checkpoint.root != root {
            report.problem(
                nil, "merkle",
                "the Merkle root of the entries does not match the signed checkpoint: entry bytes were changed")
        }
    }

    /// Streams two ordered copies of a table side by side and reports where they differ.
    static func compare(
        table: String, orderBy: String, stored: LogStore, rebuilt: LogStore, report: inout VerificationReport
    ) throws {
        let left: any RowCursor
        do {
            left = try stored.orderedRows(of: table, orderBy: orderBy)
        } catch {
            report.problem(nil, "projection", "table \(table) cannot be read: \(error)")
            return
        }
        let right = try rebuilt.orderedRows(of: table, orderBy: orderBy)
        // A merge join on the key columns (every table's key comes first in its columns): a row only in the
        // stored table, a row only in the rebuilt one, and a row whose key matches but whose values differ are
        // reported as such, instead of pairing unrelated rows after the first gap.
        let keys = orderBy.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var differences = 0
        var a = try left.step()
        var b = try right.step()
        while differences < 5, a != nil || b != nil {
            if let x = a, let y = b { a = x.typed(like: y) }
            let order: Int
            switch (a, b) {
            case (nil, _): order = 1
            case (_, nil): order = -1
            case (let x?, let y?): order = Self.compareKeys(x, y, keys: keys)
            }
            if order == 0, let x = a, let y = b {
                if x != y {
                    differences += 1
                    if table == "merkle", x.int("level") == 0 {
                        report.problem(
                            x.int("pos"), "merkle",
                            "entry \(x.int("pos") ?? -1)'s bytes do not hash to the leaf stored when it was appended")
                    } else {
                        report.problem(
                            indexHint(table: table, row: y), "projection",
                            "table \(table) differs from the entries: stored \(describe(x)), expected \(describe(y))")
                    }
                }
                a = try left.step()
                b = try right.step()
            } else if order < 0, let x = a {
                differences += 1
                report.problem(
                    indexHint(table: table, row: x), "projection",
                    "table \(table) has a row the entries do not imply: \(describe(x))")
                a = try left.step()
            } else if let y = b {
                differences += 1
                report.problem(
                    indexHint(table: table, row: y), "projection",
                    "table \(table) is missing a row the entries imply: \(describe(y))")
                b = try right.step()
            }
        }
        left.close()
        right.close()
    }

    /// SQLite's order by the columns `keys`: NULL < integers < text (bytewise) < blobs.
    static func compareKeys(_ x: Row, _ y: Row, keys: [String]) -> Int {
        func rank(_ v: SQLValue?) -> Int {
            switch v {
            case nil, .null: 0
            case .integer: 1
            case .text: 2
            case .blob: 3
            case .integers, .texts, .blobs: 4  // bound only, never read from a row
            }
        }
        func bytes(_ a: [UInt8], _ b: [UInt8]) -> Int { a.lexicographicallyPrecedes(b) ? -1 : (a == b ? 0 : 1) }
        for key in keys {
            let (p, q) = (x[key], y[key])
            if rank(p) != rank(q) { return rank(p) < rank(q) ? -1 : 1 }
            let c: Int
            switch (p, q) {
            case (.integer(let m), .integer(let n)): c = m < n ? -1 : (m == n ? 0 : 1)
            case (.text(let m), .text(let n)): c = bytes(Array(m.utf8), Array(n.utf8))
            case (.blob(let m), .blob(let n)): c = bytes(Array(m), Array(n))
            default: c = 0
            }
            if c != 0 { return c }
        }
        return 0
    }

    static func indexHint(table: String, row: Row) -> Int? {
        switch table {
        case "merkle": row.int("level") == 0 ? row.int("pos") : nil
        case "policies", "drift", "break_glass", "tag_moves", "digest_entries", "env_timeline": row.int("idx")
        default: nil
        }
    }

    static func describe(_ row: Row) -> String {
        "("
            + row.values.map {
                switch $0 {
                case .null: "null"
                case .integer(let v): String(v)
                case .text(let t): t.count > 80 ? String(t.prefix(77)) + "…" : t
                case .blob(let d): d.count > 16 ? d.prefix(8).hex + "…" : d.hex
                case .integers(let integers): integers.map(String.init).joined(separator: ", ")
                case .texts(let texts): texts.joined(separator: ", ")
                case .blobs(let blobs): blobs.map(\.hex).joined(separator: ", ")
                }
            }.joined(separator: ", ") + ")"
    }
}
