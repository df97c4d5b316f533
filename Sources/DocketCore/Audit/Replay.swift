import Foundation

/// One stored entry as a verifier reads it: the bytes, plus what the database says about them (absent for
/// bundles, where the line is all there is).
struct StoredEntry: Sendable {
    var bytes: Data
    var column: Columns?

    struct Columns: Sendable {
        var index: Int
        var integratedMilliseconds: Int64
        var payloadHash: Data
        var kind: String
        var signer: String
    }
}

/// Replays entries into a fresh scratch ledger through the same admission and projection code as `append`,
/// recording every deviation instead of stopping at the first.
///
/// The scratch ledger is a temporary SQLite file (not memory), so verifying a million entries holds only the
/// Merkle frontier and two runs of entries (one being checked, one being prepared) in memory.
final class Replayer {
    let scratch: Ledger
    private let scratchPath: String
    var report: VerificationReport
    var frontier = MerkleFrontier()
    private var lastTime: Int64 = 0
    private var expectedIndex = 0
    /// How far stored indexes (and indexes inside the entries) are shifted from positions, so a shift is reported once.
    private var columnShift = 0
    private var entryShift = 0
    /// Tree sizes whose roots the caller wants (old checkpoints, witnessed checkpoints), and the roots found.
    var rootsWanted: Set<Int> = []
    var roots: [Int: Data] = [:]
    /// For bundles: the line number of entry 0, so messages name the line.
    var firstLine: Int? = nil
    /// Whether to rebuild the Merkle node table (to compare with a database's); bundles need only the root.
    var rebuildsMerkleNodes: Bool { firstLine == nil }

    func label(_ position: Int) -> String { Self.label(position, firstLine: firstLine) }

    init(source: String) throws {
        report = VerificationReport(source: source)
        scratchPath = NSTemporaryDirectory() + "docket-verify-\(UUID().uuidString).sqlite"
        let db = try Database(path: scratchPath, mode: .readWriteCreate)
        try db.execute(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384")
        try db.execute(Schema.log + Schema.projections)
        try db.execute("BEGIN")
        scratch = Ledger(database: db, origin: "", clock: SystemClock())
        scratch.projector.exclusive = true
    }

    deinit {
        try? FileManager.default.removeItem(atPath: scratchPath)
    }

    /// The origin and log key text from the genesis entry.
    private(set) var genesisLogKey: String?

    func finish() throws {
        flush()
        try scratch.db.execute("COMMIT")
        report.entries = frontier.size
        report.root = frontier.root.base64EncodedString()
    }

    /// What can be worked out about an entry without the ledger state: done in parallel.
    struct Prepared: Sendable {
        var leafHash = Data()
        var entry: Entry?
        var statement: Statement?
        var payloadHash = Data()
        var error: String?
        /// The key the signature verified under, when one of the known keys does.
        var signedBy: String?
    }

    /// Checks and folds a run of consecutive entries. Parsing and signature checks run on every core, in the
    /// background, while the previous run's state checks (which must go in order) run here: a pipeline.
    /// Call ``flush()`` after the last run.
    func replay(_ chunk: [StoredEntry]) {
        let previous = finishPreparing()
        startPreparing(chunk)
        if let previous { integrate(previous) }
    }

    /// Waits for the last run in preparation and folds it.
    func flush() {
        if let previous = finishPreparing() { integrate(previous) }
    }

    private func integrate(_ run: (chunk: [StoredEntry], prepared: [Prepared])) {
        for (stored, p) in zip(run.chunk, run.prepared) { replay(stored, p) }
        // Commit each run: SQLite keeps a transaction's dirty pages in memory, so one transaction for the whole
        // replay would hold the whole scratch database in memory.
        try? scratch.db.execute("COMMIT; BEGIN")
    }

    /// A run being prepared on other threads; the box is written once by them and read after `group` is done.
    private var inFlight: (chunk: [StoredEntry], group: DispatchGroup, box: PreparedBox)?
    private var preparedThrough = 0
    private var knownKeys: [String: PublicKey] = [:]

    private func startPreparing(_ chunk: [StoredEntry]) {
        let group = DispatchGroup()
        let box = PreparedBox()
        let first = preparedThrough
        let firstLine = self.firstLine
        let keys = knownKeys
        preparedThrough += chunk.count
        DispatchQueue.global().async(group: group) {
            box.result = Self.prepare(chunk, first: first, firstLine: firstLine, keys: keys)
        }
        inFlight = (chunk, group, box)
    }

    private func finishPreparing() -> (chunk: [StoredEntry], prepared: [Prepared])? {
        guard let (chunk, group, box) = inFlight else { return nil }
        group.wait()
        inFlight = nil
        let (prepared, keys) = box.result!
        knownKeys = keys
        return (chunk, prepared)
    }

    /// Parses entries and statements and finds the key each signature verifies under, on every core. Keys
    /// enrolled within the run count, so the returned key set carries on to the next run.
    static func prepare(_ chunk: [StoredEntry], first: Int, firstLine: Int?, keys known: [String: PublicKey])
        -> ([Prepared], [String: PublicKey])
    {
        var prepared = concurrentMap(chunk.count) { i -> Prepared in
            var p = Prepared()
            p.leafHash = Merkle.leafHash(chunk[i].bytes)
            let label = Self.label(first + i, firstLine: firstLine)
            do {
                let entry = try Entry(bytes: chunk[i].bytes, source: label)
                p.entry = entry
                p.payloadHash = SHA256.hash(entry.envelope.payload)
                p.statement = try Statement(parsing: entry.envelope.payload, source: label)
            } catch {
                p.error = "\(error)"
            }
            return p
        }
        var keys = known
        for p in prepared {
            switch p.statement?.predicate {
            case .initialized(let g)?: for admin in g.admins { addKey(admin.publicKey, to: &keys) }
            case .keyEnrolled(let e)?: addKey(e.publicKey, to: &keys)
            default: break
            }
        }
        let candidates = keys
        let envelopes = prepared.map { $0.entry?.envelope }
        let checked = concurrentMap(chunk.count) { i -> String? in
            envelopes[i].flatMap { signingKey(of: $0, among: candidates) }
        }
        for i in prepared.indices { prepared[i].signedBy = checked[i] }
        return (prepared, keys)
    }

    private static func addKey(_ base64: String, to keys: inout [String: PublicKey]) {
        guard let raw = Data(anyBase64: base64), let key = try? PublicKey(raw: raw) else { return }
        keys[key.keyID] = key
    }

    static func label(_ position: Int, firstLine: Int?) -> String {
        firstLine.map { "line \(position + $0) (entry \(position))" } ?? "entry \(position)"
    }

    /// Checks and folds one entry. Entries are replayed at consecutive positions whatever they claim, so a
    /// missing or moved entry is reported once, where the shift starts, and the rest is still checked.
    private func replay(_ stored: StoredEntry, _ prepared: Prepared) {
        let position = expectedIndex
        let label = label(position)
        let nodes = frontier.append(leafHash: prepared.leafHash)
        if rootsWanted.contains(frontier.size) { roots[frontier.size] = frontier.root }
        defer { expectedIndex = position + 1 }
        // Only a database has a stored Merkle table to compare; a bundle's root comes from the frontier alone.
        if rebuildsMerkleNodes {
            do {
                try scratch.storeNodes(nodes)
            } catch {
                report.problem(position, "entry", "\(label): cannot be replayed: \(Self.message(error))")
            }
        }
        if let column = stored.column, column.index - position != columnShift {
            if column.index > position + columnShift {
                let first = position + columnShift
                report.problem(
                    first, "order",
                    "entr\(column.index - first == 1 ? "y \(first) is" : "ies \(first)…\(column.index - 1) are") missing: indexes jump from \(first - 1) to \(column.index)"
                )
            } else {
                report.problem(
                    position, "order", "entry \(column.index) appears again after entry \(position + columnShift - 1)")
            }
            columnShift = column.index - position
        }
        guard let entry = prepared.entry else {
            report.problem(position, "entry", prepared.error ?? "\(label): cannot be read")
            return
        }
        let claimed = stored.column?.index ?? position
        if entry.index != claimed, entry.index - position != entryShift {
            report.problem(
                position, "order",
                "\(label) holds the bytes of entry \(entry.index)"
                    + (stored.column == nil
                        ? ": entries are missing, added or out of order from here" : " (moved or reordered)"))
        }
        entryShift = entry.index - position
        let ms = entry.integratedTime.milliseconds
        if ms < lastTime {
            report.problem(
                position, "time",
                "\(label)'s integratedTime \(entry.integratedTime) is before the previous entry's \(Timestamp(milliseconds: lastTime))"
            )
        }
        lastTime = max(lastTime, ms)
        let payloadHash = prepared.payloadHash
        guard let statement = prepared.statement else {
            report.problem(position, "entry", prepared.error ?? "\(label): cannot be read")
            return
        }
        if let column = stored.column {
            if column.integratedMilliseconds != ms {
                report.problem(
                    position, "time",
                    "\(label): the stored time column (\(Timestamp(milliseconds: column.integratedMilliseconds))) differs from the entry's integratedTime \(entry.integratedTime)"
                )
            }
            if column.payloadHash != payloadHash {
                report.problem(position, "entry", "\(label): stored payload hash does not match the payload")
            }
            if column.kind != statement.kind.rawValue {
                report.problem(
                    position, "entry",
                    "\(label): stored kind `\(column.kind)` but the payload is `\(statement.kind.rawValue)`")
            }
        }
        if position == 0, case .initialized(let p) = statement.predicate {
            genesisLogKey = p.logKey
            report.origin = statement.ledger
            scratch.origin = statement.ledger
        }
        let signer: Signer
        do {
            signer = try scratch.authorize(entry.envelope, statement, index: position, preverified: prepared.signedBy)
        } catch {
            report.problem(position, "signature", "\(label): \(Self.message(error))")
            return
        }
        if let column = stored.column, column.signer != signer.keyID {
            report.problem(position, "entry", "\(label): stored signer column does not name the key that signed it")
        }
        let event = LedgerEvent(index: position, time: entry.integratedTime, signer: signer, statement: statement)
        do {
            try scratch.admit(event)
        } catch LedgerError.gateRefused(let verdict) {
            report.problem(
                position, "promotion",
                "\(label): promotion of \(verdict.digest) to \(verdict.environment) was not eligible and not break-glass: "
                    + verdict.rules.filter { !$0.passed }.map { "\($0.rule): \($0.reason)" }.joined(separator: "; "))
        } catch {
            report.problem(position, "authorization", "\(label): \(Self.message(error))")
        }
        if case .promoted = statement.predicate { report.promotionsChecked += 1 }
        do {
            try scratch.storeRow(
                entry, at: position, kind: statement.kind.rawValue, signer: signer.keyID, payloadHash: payloadHash)
        } catch let error as DatabaseError
            where error.code & 0xff == 19 /* SQLITE_CONSTRAINT: payload_hash is unique */
        {
            let earlier =
                (try? scratch.db.row("SELECT idx FROM entries WHERE payload_hash = ?", [.blob(payloadHash)]))??.int(0)
            report.problem(
                position, "entry", "\(label) repeats entry \(earlier ?? -1): the same signed envelope appears twice")
            return
        } catch {
            report.problem(position, "entry", "\(label): cannot be replayed: \(Self.message(error))")
            return
        }
        do {
            try scratch.projector.apply(event)
        } catch {
            report.problem(position, "entry", "\(label): cannot be replayed: \(Self.message(error))")
        }
    }

    static func message(_ error: Error) -> String {
        var text = "\(error)"
        if text.hasPrefix("refused: ") { text.removeFirst(9) }
        return text
    }

    /// Fills the report's summary sections from the replayed projections.
    func summarize() throws {
        for environment in try scratch.projector.environmentsSeen() {
            report.environments[environment] = try scratch.projector.current(environment: environment)?.digest
        }
        report.drift = try scratch.db.rows("SELECT idx, environment, digest, current_digest FROM drift ORDER BY idx")
            .map(Ledger.driftRecord)
        report.tagMoves = try scratch.db.rows(
            "SELECT idx, repository, tag, from_digest, to_digest FROM tag_moves ORDER BY idx"
        ).map(Ledger.tagMove)
        report.breakGlass = try scratch.db.rows(
            "SELECT idx, digest, environment, reason, failed_rules FROM break_glass ORDER BY idx"
        ).map {
            .init(
                index: $0.int(0) ?? 0, digest: $0.text(1) ?? "", environment: $0.text(2) ?? "",
                reason: $0.text(3) ?? "",
                failedRules: ($0.text(4) ?? "").split(separator: ",").map(String.init))
        }
    }
}

/// Hands a prepared run from the thread that made it to the one that folds it. Written once before the
/// dispatch group completes and read only after `wait()`, so the accesses never overlap.
private final class PreparedBox: @unchecked Sendable {
    var result: ([Replayer.Prepared], [String: PublicKey])?
}
