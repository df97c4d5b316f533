import Foundation

/// Why a server's log could not be mirrored: it answered something its own earlier answers (or its key) rule out.
public enum MirrorError: Error, Sendable, CustomStringConvertible {
    /// The entries do not lead to the checkpoint's root.
    case rootMismatch(size: Int)
    /// The server sent an entry out of place.
    case unexpectedEntry(expected: Int, found: Int)
    /// The server's checkpoint is smaller than one it signed before.
    case shrank(mirrored: Int, served: Int)

    public var description: String {
        switch self {
        case .rootMismatch(let size):
            "the server's entries do not lead to the root of its own signed checkpoint (size \(size)): it rewrote or withheld history"
        case .unexpectedEntry(let expected, let found):
            "the server sent entry \(found) where entry \(expected) belongs"
        case .shrank(let mirrored, let served):
            "the server now signs a log of \(served) entries after signing one of \(mirrored): it rewrote history"
        }
    }
}

extension Ledger {
    /// Creates an empty mirror of a server's log: a ledger file with no log key, filled only by
    /// ``mirror(entries:checkpointNote:logKey:)``.
    public static func createMirror(path: String, origin: String) throws -> Ledger {
        try LogStore(db: try Database.newLedgerFile(path: path)).createTables(origin: origin)
        return try Ledger(path: path)
    }

    /// Appends a server's next entries to this mirror and stores its checkpoint, after checking everything a
    /// ledger checks of its own appends: each entry authorised and admitted by the same pipeline, and the
    /// entries leading to the root of `checkpointNote`, which `logKey` must have signed. All or nothing.
    /// Entries already mirrored (another process got there first) are skipped.
    public func mirror(entries: [(index: Int, bytes: Data)], checkpointNote: String, logKey: NoteVerifierKey) throws {
        var iterator = entries.makeIterator()
        try mirror(checkpointNote: checkpointNote, logKey: logKey) { iterator.next() }
    }

    /// ``mirror(entries:checkpointNote:logKey:)`` with the entries read one at a time from `next` (a bundle file
    /// or a server's tiles, of any size). Without `provePrefix`, all in one transaction. With it, every `chunk`
    /// entries the prefix replayed so far is committed once `provePrefix(size, root)` has proved that root
    /// consistent with the checkpoint's (a consistency proof from the server): memory stays bounded whatever the
    /// size, and an interrupted replica resumes where it stopped. Another process that extended the replica between
    /// two chunks ends this call with ``MirrorError/shrank(mirrored:served:)``: the caller looks again.
    public func mirror(
        checkpointNote: String, logKey: NoteVerifierKey, chunk: Int = Int.max,
        provePrefix: ((_ size: Int, _ root: Data) throws -> Void)? = nil,
        entries next: () throws -> (index: Int, bytes: Data)?
    ) throws {
        let (checkpoint, note) = try Checkpoint.verified(
            text: checkpointNote, logKey: logKey, source: "the server's checkpoint")
        defer { projector.forgetTransactionEvents() }
        try log.writeTransaction {
            projector.forgetTransactionEvents()
            // Read under the write lock: another process sharing the replica may have extended it meanwhile.
            var frontier = try log.frontier(size: try log.treeSize())
            guard checkpoint.size >= frontier.size else {
                throw MirrorError.shrank(mirrored: frontier.size, served: checkpoint.size)
            }
            let pipeline = AppendPipeline(
                log: log, projector: projector, origin: origin, ledgerID: frontier.size > 0 ? try ledgerID() : nil)
            let known = try knownKeys().keys
            try projector.beginBatch(size: frontier.size, statements: [], payloadHashes: [])
            var sinceCommit = 0
            while let (index, bytes) = try next() {
                guard index >= frontier.size else { continue }
                guard index == frontier.size else {
                    throw MirrorError.unexpectedEntry(expected: frontier.size, found: index)
                }
                let source = "the server's entry \(index)"
                let entry = try Entry(bytes: bytes, source: source)
                guard entry.index == index else {
                    throw MirrorError.unexpectedEntry(expected: index, found: entry.index)
                }
                let candidate = AppendPipeline.Candidate(
                    envelope: entry.envelope, statement: try Statement(parsing: entry.envelope.payload, source: source),
                    knownKeys: known)
                _ = try pipeline.integrate(
                    candidate, at: index, source: .stored(entry), frontier: &frontier, onRefusal: { throw $0 })
                sinceCommit += 1
                if let provePrefix, sinceCommit >= chunk, frontier.size < checkpoint.size {
                    try provePrefix(frontier.size, frontier.root)
                    try log.commitAndContinue(immediate: true)
                    try projector.beginBatch(size: frontier.size, statements: [], payloadHashes: [])
                    sinceCommit = 0
                    let stored = try log.treeSize()
                    guard stored == frontier.size else {
                        throw MirrorError.shrank(mirrored: stored, served: frontier.size)
                    }
                }
            }
            guard frontier.size == checkpoint.size, frontier.root == checkpoint.root else {
                throw MirrorError.rootMismatch(size: checkpoint.size)
            }
            try log.save(checkpoint: note, size: checkpoint.size)
        }
    }
}
