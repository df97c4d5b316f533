import Foundation

/// The one append pipeline (DESIGN §6): authorise → admit → store the entry → add its Merkle nodes → fold it
/// into the projections, for one entry or a batch, in order, inside a transaction its caller holds.
///
/// Live appends (``append(_:now:origin:logKey:)``, behind ``Ledger/appendBatch(_:)``, the one entry point for a
/// single append, a batch, and next the server's batch writer) and the verifier's replay both integrate through
/// ``integrate(_:at:source:frontier:onRefusal:)``, so an event is judged by the same code when it is appended
/// and whenever it is re-checked.
///
/// Not `Sendable`: it works on the connection of the transaction its caller holds.
final class AppendPipeline {
    let log: LogStore
    let projector: Projector
    var admission: Admission
    /// Whether Merkle nodes are written: not in a verifier's replay, which compares the stored ones as they are
    /// made (``MerkleNodeCheck``) and needs only the root, from the frontier.
    let storesMerkleNodes: Bool
    /// Whether entry rows keep their bytes. A verifier of a ledger file drops them from its scratch copy (at a
    /// million entries they outgrew its cache) and reads a gate's older events back from the file itself.
    var storesEntryBytes = true

    init(log: LogStore, projector: Projector, origin: String?, ledgerID: String?) {
        self.log = log
        self.projector = projector
        self.admission = Admission(projector: projector, origin: origin, ledgerID: ledgerID)
        self.storesMerkleNodes = projector.use != .replay
    }

    /// An envelope parsed, ready to be integrated. Parsing and signature checks need no ledger state, so callers
    /// do them on every core before taking the write lock (``prepare(_:knownKeys:)``).
    struct Candidate: Sendable {
        var envelope: Envelope
        var statement: Statement
        var payloadHash: Data
        /// The id of the known key the signature verified under, if any.
        var signedBy: String?
        /// For a stored entry, its leaf hash if already computed (a verifier hashes every line in parallel).
        var leafHash: Data? = nil

        /// Parses an envelope and its statement and finds the known key its signature verifies under: the work
        /// that needs no ledger state, so callers run it on every core.
        init(
            envelope: Envelope, statement: Statement, knownKeys: [String: PublicKey], leafHash: Data? = nil
        ) {
            self.envelope = envelope
            self.statement = statement
            self.payloadHash = SHA256.hash(envelope.payload)
            self.signedBy = envelope.signingKey(among: knownKeys)
            self.leafHash = leafHash
        }

        /// An envelope whose signature the caller already checked under the known key `signedBy`.
        init(envelope: Envelope, statement: Statement, signedBy: String) {
            self.envelope = envelope
            self.statement = statement
            self.payloadHash = SHA256.hash(envelope.payload)
            self.signedBy = signedBy
        }

        init(parsing data: Data, source: String, knownKeys: [String: PublicKey]) throws {
            let envelope = try Envelope(parsing: data, source: source)
            self.init(
                envelope: envelope, statement: try Statement(parsing: envelope.payload, source: source),
                knownKeys: knownKeys)
        }
    }

    /// Where an entry's bytes come from.
    enum Source {
        /// A new append at ledger time `time`: the pipeline writes the entry bytes, recording the id of the key
        /// that really signed (the envelope's keyid is only a hint).
        case new(time: Timestamp)
        /// A replay of entry bytes already written (their time is in them).
        case stored(Entry)
    }

    enum Outcome {
        /// Appended; for a promotion, with the gate verdict it was admitted on (also when admission refused it
        /// and the caller integrated it anyway).
        case integrated(LedgerEvent, verdict: GateVerdict?)
        /// The same statement is already the entry at `index`; nothing was written.
        case duplicate(index: Int, time: Timestamp, signer: String)
    }

    /// Parses envelopes and finds the known key each verifies under, on every core.
    static func prepare(_ items: [(data: Data, source: String)], knownKeys: [String: PublicKey]) throws -> [Candidate] {
        let parsed = try concurrentMap(items.count) { i in
            Result { () throws -> Candidate in
                try Candidate(parsing: items[i].data, source: items[i].source, knownKeys: knownKeys)
            }
        }.map { try $0.get() }
        return parsed
    }

    /// Integrates one entry at `index`. Throws when the signer is not authorised (nothing is written);
    /// a refused admission goes to `onRefusal`: appends rethrow it, a verifier reports it and integrates the
    /// entry anyway, so the rest of a damaged history is checked against the state its ledger holds.
    func integrate(
        _ candidate: Candidate, at index: Int, source: Source, frontier: inout MerkleFrontier,
        onRefusal: (Error) throws -> Void
    ) throws -> Outcome {
        // A new envelope repeating a stored statement is answered before it is judged again. A replayed entry
        // is judged like any other, and its row's unique payload hash refuses the repeat (one lookup, not two).
        if let existing = try storedEntry(candidate.payloadHash, source: source) {
            return .duplicate(index: existing.index, time: existing.time, signer: existing.signer)
        }
        if index == 0, admission.origin == nil, case .initialized = candidate.statement.predicate {
            admission.origin = candidate.statement.ledger
        }
        let signer = try admission.authorize(
            candidate.envelope, candidate.statement, index: index, preverified: candidate.signedBy)
        let time: Timestamp
        switch source {
        case .new(let now): time = now
        case .stored(let entry): time = entry.integratedTime
        }
        var event = LedgerEvent(index: index, time: time, signer: signer, statement: candidate.statement)
        event.authenticatorFlags = candidate.envelope.authenticatorFlags
        var verdict: GateVerdict? = nil
        do {
            verdict = try admission.admit(event)
        } catch {
            if case LedgerError.gateRefused(let refused) = error { verdict = refused }
            try onRefusal(error)
        }
        writing = true
        let entry: Entry
        switch source {
        case .new:
            var recorded = candidate.envelope
            recorded.signatures[0].keyID = signer.keyID
            entry = Entry(index: index, integratedTime: time, envelope: recorded)
        case .stored(let stored):
            entry = stored
        }
        do {
            try log.insert(
                entry, at: index, kind: event.kind, signer: signer.keyID, payloadHash: candidate.payloadHash,
                keepingBytes: storesEntryBytes)
        } catch LogStoreError.duplicatePayload(let earlier) {
            return .duplicate(index: earlier, time: time, signer: signer.keyID)
        }
        projector.facts?.entries[candidate.payloadHash] = (index, time, signer.keyID)
        if case .new = source { written[index] = entry.bytes }
        let leaf = candidate.leafHash ?? entry.leafHash
        try addLeaf(leaf, to: &frontier)
        // The ledger's ID is its genesis entry's leaf hash: every later event must name it.
        if index == 0 { admission.ledgerID = leaf.hex }
        try projector.apply(event)
        return .integrated(event, verdict: verdict)
    }

    /// Appends a batch in order, inside the write transaction the caller holds: each new entry integrated at the
    /// next index at ledger time `max(now(), the previous entry's)`, a statement already stored answered with its
    /// entry (after checking this envelope is genuinely signed by that entry's key), and one checkpoint signed over
    /// the result. All or nothing: a refusal throws, and the caller's transaction rolls back.
    func append(
        _ candidates: [Candidate], now: () -> Timestamp, origin: String, logKey: () throws -> SigningKey
    ) throws -> [AppendReceipt] {
        try append(candidates, now: now, origin: origin, logKey: logKey, eachOnItsOwn: false).map { try $0.get() }
    }

    /// Appends a batch in order. With `eachOnItsOwn` (the server's batch writer, whose envelopes come from
    /// different clients), an envelope refused before anything of it was written gets its error in its own slot
    /// and the others go on; otherwise the first refusal throws. A failure after writing began always throws,
    /// and the caller's transaction rolls back.
    func append(
        _ candidates: [Candidate], now: () -> Timestamp, origin: String, logKey: () throws -> SigningKey,
        eachOnItsOwn: Bool
    ) throws -> [Result<AppendReceipt, any Error>] {
        sealed = nil
        written = [:]
        let tip = try log.tip()
        var frontier = try log.frontier(size: (tip?.index ?? -1) + 1)
        try projector.beginBatch(
            size: frontier.size, statements: candidates.map(\.statement), payloadHashes: candidates.map(\.payloadHash),
            signers: candidates.compactMap(\.signedBy))
        var lastTime = tip?.time ?? Timestamp(milliseconds: 0)
        var receipts: [Result<AppendReceipt, any Error>] = []
        defer { admission.appenderClock = nil }
        for candidate in candidates {
            do {
                receipts.append(
                    .success(try appendOne(candidate, now: now, lastTime: &lastTime, frontier: &frontier)))
            } catch  where eachOnItsOwn && !writing {
                receipts.append(.failure(error))
            }
        }
        if receipts.contains(where: { (try? $0.get())?.duplicate == false }) {
            try sealCheckpoint(frontier, origin: origin, logKey: try logKey())
        }
        return receipts.map {
            $0.map {
                var receipt = $0
                receipt.treeSize = frontier.size
                return receipt
            }
        }
    }

    /// Set when ``integrate(_:at:source:frontier:onRefusal:)`` starts writing an entry (cleared before the next):
    /// a failure after that leaves the transaction half-written, so the whole batch must roll back.
    private(set) var writing = false

    private func appendOne(
        _ candidate: Candidate, now: () -> Timestamp, lastTime: inout Timestamp, frontier: inout MerkleFrontier
    ) throws -> AppendReceipt {
        writing = false
        let clock = now()
        admission.appenderClock = clock
        let time = max(clock, lastTime)
        // Only an instant RFC 3339 can write is ever stored: a clock past year 9999 (or before 1970) would
        // leave an entry no reader can parse.
        guard time.milliseconds >= 0, time <= Timestamp.latest else {
            throw LedgerError.clockOutOfRange(time.milliseconds)
        }
        let outcome = try integrate(
            candidate, at: frontier.size, source: .new(time: time), frontier: &frontier, onRefusal: { throw $0 })
        let statement = candidate.statement
        func receipt(_ index: Int, _ time: Timestamp, duplicate: Bool) -> AppendReceipt {
            AppendReceipt(
                index: index, integratedTime: time.rfc3339, kind: statement.kind.rawValue,
                subject: statement.subjectName, digest: statement.digest?.description, duplicate: duplicate,
                treeSize: 0)
        }
        switch outcome {
        case .integrated(let event, _):
            lastTime = time
            return receipt(event.index, time, duplicate: false)
        case .duplicate(let index, let stored, let signer):
            // The same statement again is only a duplicate if this envelope is genuinely signed by the key
            // that signed the stored one: an altered signature must not be answered "already there".
            guard try isSignedLikeStored(candidate, storedSigner: signer) else {
                throw LedgerError.refused(.forgedDuplicate(entry: index))
            }
            return receipt(index, stored, duplicate: true)
        }
    }

    /// Adds a leaf to the tree: to the frontier, and its completed nodes to the store (and to ``onNodes``).
    func addLeaf(_ leafHash: Data, to frontier: inout MerkleFrontier) throws {
        let nodes = frontier.append(leafHash: leafHash)
        if storesMerkleNodes { try log.insert(nodes: nodes) }
        try onNodes?(nodes)
    }

    /// Sees every node the tree completes (a verifier compares them with a ledger's stored ones).
    var onNodes: (([(level: Int, index: Int, hash: Data)]) throws -> Void)?

    /// Whether `envelope` is genuinely signed by the key recorded for an earlier entry: only then is it a
    /// duplicate of that entry, and not a forgery reusing its statement.
    func isSignedLikeStored(_ candidate: Candidate, storedSigner: String) throws -> Bool {
        guard let record = try projector.key(id: storedSigner), let key = record.key else { return false }
        return record.keyID == candidate.signedBy || candidate.envelope.isSigned(by: key)
    }

    /// Signs and stores a checkpoint over the tree `frontier` describes.
    func sealCheckpoint(_ frontier: MerkleFrontier, origin: String, logKey: SigningKey) throws {
        let note = Checkpoint(origin: origin, size: frontier.size, root: frontier.root).signed(with: logKey)
        try log.save(checkpoint: note, size: frontier.size)
        sealed = (note.text, frontier.size)
    }

    /// The bytes of the entries the last batch wrote, by index.
    private(set) var written: [Int: Data] = [:]

    /// The checkpoint the last batch signed, if it signed one (a batch of duplicates does not).
    private(set) var sealed: (note: String, size: Int)?

    /// The stored entry holding the statement `payloadHash`, if any. A batch's facts answer for a new envelope
    /// (its statements were looked up when it began) and for the entries it wrote; outside a batch a new one is
    /// looked up, and a replayed entry's row refuses a repeat by its unique payload hash (one lookup, not two).
    private func storedEntry(_ payloadHash: Data, source: Source) throws -> (
        index: Int, time: Timestamp, signer: String
    )? {
        if let facts = projector.facts { return facts.entries[payloadHash] }
        guard case .new = source else { return nil }
        return try log.entry(payloadHash: payloadHash)
    }
}
