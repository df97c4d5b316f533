import Foundation

/// What `docket verify --answer FILE` found: the answer's question, the checkpoint it was signed at, and that the
/// log replayed to that checkpoint gives the same answer, byte for byte.
public struct AnswerCheck: Codable, Sendable, Equatable {
    public var question: String
    public var size: Int
    public var time: String
    public var agrees: Bool
}

extension Ledger {
    /// Checks a server's signed answer against this ledger (an auditor's copy, or the server's own file): the
    /// signature and checkpoint by this log's key, the checkpoint's root this log's root at its size, and the
    /// question answered again from the entries up to that checkpoint (in a scratch replica at `scratch` when the
    /// ledger has grown since) at the answer's time. Throws ``AnswerError/contradicted`` when the answers differ.
    public func check(
        _ answer: SignedAnswer, source: String, scratch: String, summarize: @escaping (LedgerEvent) -> String
    ) throws -> AnswerCheck {
        let logKey = try logVerifierKey()
        let checkpoint = try answer.verified(logKey: logKey, source: source)
        let size = try treeSize()
        guard checkpoint.origin == origin else {
            throw AnswerError.notThisLog(source: source, reason: "it answers for \(checkpoint.origin), not \(origin)")
        }
        guard checkpoint.size <= size else {
            throw AnswerError.notThisLog(
                source: source,
                reason:
                    "it was answered at \(checkpoint.size) entries and \(path) holds \(size); check it against a copy that holds them all"
            )
        }
        guard try log.tree.root(size: checkpoint.size) == checkpoint.root else {
            throw AnswerError.notThisLog(
                source: source,
                reason:
                    "its checkpoint of \(checkpoint.size) entries, signed by this log's key, is not this log's: the server signed a fork (keep \(source) as evidence)"
            )
        }
        if checkpoint.size == size {
            return try Self.compare(answer, source: source, size: size, ledger: self, summarize: summarize)
        }
        var next = 0
        let replica = try Self.replica(
            of: answer, origin: origin, logKey: logKey, scratch: scratch,
            entries: {
                guard next < checkpoint.size, let bytes = try self.entryBytes(at: next) else { return nil }
                defer { next += 1 }
                return (next, bytes)
            })
        defer { Self.remove(scratch) }
        return try Self.compare(answer, source: source, size: checkpoint.size, ledger: replica, summarize: summarize)
    }

    /// Checks a signed answer against a bundle: its first entries, up to the answer's checkpoint, are replayed into
    /// a scratch replica (which proves they lead to the checkpoint's root) and the question answered there. The log
    /// key is `pinned`, else the one the bundle's genesis entry records.
    public static func check(
        _ answer: SignedAnswer, source: String, bundleAt path: String, logKey pinned: NoteVerifierKey?,
        scratch: String, summarize: @escaping (LedgerEvent) -> String
    ) throws -> AnswerCheck {
        var reader = try LineReader(path: path)
        guard let first = try reader.header() else {
            throw EntryError.malformed(source: path, reason: "the bundle is empty")
        }
        let header = try JSONDecoder().decode(BundleHeader.self, from: first.line)
        let logKey = try pinned ?? NoteVerifierKey(parsing: header.logKey)
        let checkpoint = try answer.verified(logKey: logKey, source: source)
        guard checkpoint.size <= header.size else {
            throw AnswerError.notThisLog(
                source: source,
                reason:
                    "it was answered at \(checkpoint.size) entries and \(path) holds \(header.size); export a newer bundle"
            )
        }
        var index = 0
        let replica: Ledger
        do {
            replica = try Self.replica(
                of: answer, origin: header.origin, logKey: logKey, scratch: scratch,
                entries: {
                    guard index < checkpoint.size, let (line, _) = try reader.next() else { return nil }
                    defer { index += 1 }
                    return (index, line)
                })
        } catch let error as MirrorError {
            throw AnswerError.notThisLog(
                source: source,
                reason:
                    "the first \(checkpoint.size) entries of \(path) do not lead to the answer's checkpoint (\(error)): the bundle or the server's log was rewritten"
            )
        }
        defer { remove(scratch) }
        return try compare(answer, source: source, size: checkpoint.size, ledger: replica, summarize: summarize)
    }

    /// A scratch ledger holding `entries`, proved to lead to the answer's checkpoint.
    private static func replica(
        of answer: SignedAnswer, origin: String, logKey: NoteVerifierKey, scratch: String,
        entries: () throws -> (index: Int, bytes: Data)?
    ) throws -> Ledger {
        remove(scratch)
        let replica = try createMirror(path: scratch, origin: origin)
        try replica.mirror(checkpointNote: answer.checkpoint, logKey: logKey, entries: entries)
        return replica
    }

    private static func compare(
        _ answer: SignedAnswer, source: String, size: Int, ledger: Ledger,
        summarize: @escaping (LedgerEvent) -> String
    ) throws -> AnswerCheck {
        guard let handler = Questions.handler(named: answer.question) else {
            throw AnswerError.unreadable(
                source: source, reason: "it answers \(answer.question), which Docket does not ask")
        }
        guard let time = answer.timestamp else {
            throw AnswerError.unreadable(source: source, reason: "its time \(answer.time) is not an RFC 3339 instant")
        }
        if size > 0, let last = try ledger.entry(at: size - 1), time < last.integratedTime {
            throw AnswerError.contradicted(source: source, question: answer.question, size: size)
        }
        let replayed = try ledger.log.readSnapshot {
            try handler(Data(answer.parameters.utf8), QueryReader(ledger: ledger, time: time, summarize: summarize))
        }
        guard replayed == Data(answer.answer.utf8) else {
            throw AnswerError.contradicted(source: source, question: answer.question, size: size)
        }
        return AnswerCheck(question: answer.question, size: size, time: answer.time, agrees: true)
    }

    private static func remove(_ scratch: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: scratch + suffix) }
    }
}
