import Foundation

/// Replays entries into a fresh scratch copy through the append pipeline (``AppendPipeline``, the same code as
/// every append), recording every deviation instead of stopping at the first.
///
/// The scratch copy is SQLite's private temporary database (``LogStore/scratch()``), so verifying a million
/// entries holds only the Merkle frontier, SQLite's page cache and two runs of entries (one being checked, one
/// being prepared) in memory.
final class Replayer {
    let pipeline: AppendPipeline
    var projector: Projector { pipeline.projector }
    var report: VerificationReport
    var frontier = MerkleFrontier()
    var lastTime: Int64 = 0
    var expectedIndex = 0
    /// Each security key's last signature counter and the entry it was in (a counter that does not increase is
    /// reported: the key may have been cloned).
    var securityKeyCounters: [String: (counter: UInt32, index: Int)] = [:]
    /// How far stored indexes (and indexes inside the entries) are shifted from positions, so a shift is reported once.
    var columnShift = 0
    var entryShift = 0
    /// Tree sizes whose roots the caller wants (old checkpoints, witnessed checkpoints), and the roots found.
    var rootsWanted: Set<Int> = []
    /// The gate verdict each replayed promotion reached, by entry index (the live gate's must equal it), kept
    /// only when ``keepsVerdicts`` (tests): a million-entry ledger has a hundred thousand of them.
    var verdicts: [Int: GateVerdict] = [:]
    var keepsVerdicts = false
    var roots: [Int: Data] = [:]
    /// Upper bounds on ledger time (DESIGN.md §2 "Ledger time"): the verifier's own clock plus the skew for
    /// every entry, and each witness's cosignature time (plus the skew) for the entries its checkpoint covers.
    /// The first entry past each bound and how many are, for one problem per bound.
    struct TimeBound {
        var label: String
        var limit: Timestamp
        /// Entries before this position are covered (`Int.max`: all).
        var covers: Int
        var first: (position: Int, time: Timestamp)? = nil
        var count = 0
    }
    var timeBounds: [TimeBound] = []
    private(set) var firstLine: Int? = nil
    /// For bundles: the line number of entry 0, so messages name the line.
    func readingBundle(firstLine: Int) { self.firstLine = firstLine }

    func label(_ position: Int) -> String { Self.label(position, firstLine: firstLine) }

    init(source: String) throws {
        report = VerificationReport(source: source)
        let log = try LogStore.scratch()
        let projector = Projector(sharing: log, use: .replay)
        pipeline = AppendPipeline(log: log, projector: projector, origin: nil, ledgerID: nil)
    }

    /// The origin and log key text from the genesis entry.
    var genesisLogKey: String?

    func finish() throws {
        flush()
        for bound in timeBounds {
            guard let (position, time) = bound.first else { continue }
            let more = bound.count > 1 ? " (and \(bound.count - 1) later entr\(bound.count == 2 ? "y" : "ies"))" : ""
            report.problem(
                position, "time",
                "\(label(position))'s ledger time \(time.rfc3339) is after \(bound.label)\(more): the appender's clock ran ahead, so soak and expiry measured from it were shortened"
            )
        }
        try pipeline.log.commitAndContinue()
        report.entries = frontier.size
        report.root = frontier.root.base64EncodedString()
    }

    /// What can be worked out about an entry without the ledger state: done in parallel.
    struct Prepared: Sendable {
        var leafHash = Data()
        var entry: Entry?
        /// The entry ready for the pipeline, when its statement reads.
        var candidate: AppendPipeline.Candidate?
        var error: String?
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

    func integrate(_ run: (chunk: [StoredEntry], prepared: [Prepared])) {
        for (stored, p) in zip(run.chunk, run.prepared) { replay(stored, p) }
        // Commit each run: SQLite keeps a transaction's dirty pages in memory, so one transaction for the whole
        // replay would hold the whole scratch database in memory.
        do {
            try pipeline.log.commitAndContinue()
        } catch {
            report.problem(nil, "database", "verify's scratch copy could not be written: \(error)")
        }
    }

    /// A run being prepared on other threads; the box is written once by them and read after `group` is done.
    var inFlight: (chunk: [StoredEntry], group: DispatchGroup, box: PreparedBox)?
    var preparedThrough = 0
    var knownKeys: [String: PublicKey] = [:]

    func startPreparing(_ chunk: [StoredEntry]) {
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

    func finishPreparing() -> (chunk: [StoredEntry], prepared: [Prepared])? {
        guard let (chunk, group, box) = inFlight else { return nil }
        group.wait()
        inFlight = nil
        // The preparing thread always stores its result before the group completes.
        let (prepared, keys) = box.result.unsafelyUnwrapped
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
                // Signatures are checked below, once this run's own enrolments are known.
                p.candidate = AppendPipeline.Candidate(
                    envelope: entry.envelope, statement: try Statement(parsing: entry.envelope.payload, source: label),
                    knownKeys: [:], leafHash: p.leafHash)
            } catch {
                p.error = "\(error)"
            }
            return p
        }
        var keys = known
        for p in prepared {
            switch p.candidate?.statement.predicate {
            case .initialized(let g)?: for admin in g.admins { addKey(admin.publicKey, to: &keys) }
            case .keyEnrolled(let e)?: addKey(e.publicKey, to: &keys)
            default: break
            }
        }
        let candidates = keys
        let envelopes = prepared.map { $0.candidate?.envelope }
        let checked = concurrentMap(chunk.count) { i -> String? in
            envelopes[i].flatMap { $0.signingKey(among: candidates) }
        }
        for i in prepared.indices { prepared[i].candidate?.signedBy = checked[i] }
        return (prepared, keys)
    }

    static func addKey(_ base64: String, to keys: inout [String: PublicKey]) {
        guard let raw = Data(anyBase64: base64), let key = try? PublicKey(raw: raw) else { return }
        keys[key.keyID] = key
    }

    static func label(_ position: Int, firstLine: Int?) -> String {
        firstLine.map { "line \(position + $0) (entry \(position))" } ?? "entry \(position)"
    }

    static func message(_ error: Error) -> String {
        if case LedgerError.refused(let refusal) = error { return refusal.description }
        return "\(error)"
    }

    /// Fills the report's summary sections from the replayed projections.
    func summarize() throws {
        for (environment, repository) in try projector.servicesSeen() {
            if let current = try projector.current(environment: environment, repository: repository) {
                report.environments.append(
                    ServiceDigest(environment: environment, repository: repository, digest: current.digest.description))
            }
        }
        report.drift = try projector.allDrift()
        report.tagMoves = try projector.allTagMoves()
        report.breakGlass = try projector.breakGlassPromotions()
    }
}

/// Hands a prepared run from the thread that made it to the one that folds it. Written once before the
/// dispatch group completes and read only after `wait()`, so the accesses never overlap.
final class PreparedBox: @unchecked Sendable {
    var result: ([Replayer.Prepared], [String: PublicKey])?
}
