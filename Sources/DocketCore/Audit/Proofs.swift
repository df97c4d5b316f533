import Foundation

/// What both proof texts share: header lines, a blank line, then the signed checkpoint.
enum ProofText {
    static func split(_ text: String, source: String) throws -> (lines: [String], checkpointNote: String) {
        guard let blank = text.range(of: "\n\n") else {
            throw NoteError.malformed(source: source, reason: "no blank line before the checkpoint")
        }
        let lines = text[..<blank.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return (lines, String(text[blank.upperBound...]))
    }

    static func hashes(_ lines: ArraySlice<String>, source: String) throws -> [Data] {
        try lines.enumerated().map { i, line in
            guard let hash = Data(base64Encoded: line), hash.count == 32 else {
                throw NoteError.malformed(source: source, reason: "proof hash \(i + 1) is not base64 of 32 bytes")
            }
            return hash
        }
    }
}

/// A C2SP `tlog-proof@v1`: an entry index, its inclusion proof, and the checkpoint it is proved against.
public struct InclusionProof: Sendable, Equatable {
    public static let header = "c2sp.org/tlog-proof@v1"

    public var index: Int
    public var hashes: [Data]
    public var checkpointNote: String

    public var text: String {
        "\(Self.header)\nindex \(index)\n" + hashes.map { $0.base64EncodedString() + "\n" }.joined() + "\n"
            + checkpointNote
    }

    public init(index: Int, hashes: [Data], checkpointNote: String) {
        self.index = index
        self.hashes = hashes
        self.checkpointNote = checkpointNote
    }

    public init(parsing text: String, source: String) throws {
        var (lines, note) = try ProofText.split(text, source: source)
        guard lines.first == Self.header else {
            throw NoteError.malformed(source: source, reason: "does not start with \(Self.header)")
        }
        lines.removeFirst()
        if lines.first?.hasPrefix("extra ") == true { lines.removeFirst() }
        guard let first = lines.first, first.hasPrefix("index "), let index = Int(first.dropFirst(6)), index >= 0 else {
            throw NoteError.malformed(source: source, reason: "no `index N` line")
        }
        self.index = index
        hashes = try ProofText.hashes(lines.dropFirst(), source: source)
        checkpointNote = note
    }

    /// Checks that `entryBytes` is the entry at `index` of the checkpointed tree signed by `logKey`.
    public func verify(entryBytes: Data, logKey: NoteVerifierKey, source: String) throws -> Checkpoint {
        let checkpoint = try Checkpoint.verified(text: checkpointNote, logKey: logKey, source: source).0
        guard
            Merkle.verifyInclusion(
                index: index, size: checkpoint.size, leafHash: Merkle.leafHash(entryBytes), proof: hashes,
                root: checkpoint.root)
        else {
            throw NoteError.malformed(
                source: source, reason: "the inclusion proof does not lead from this entry to the checkpoint's root")
        }
        return checkpoint
    }
}

/// An RFC 9162 consistency proof between an old checkpoint and a newer one, as text:
/// `docket-consistency/v1`, `old N`, `new M`, the proof hashes, a blank line, the new signed checkpoint.
public struct ConsistencyProof: Sendable, Equatable {
    public static let header = "docket-consistency/v1"

    public var oldSize: Int
    public var newSize: Int
    public var hashes: [Data]
    public var checkpointNote: String

    public var text: String {
        "\(Self.header)\nold \(oldSize)\nnew \(newSize)\n" + hashes.map { $0.base64EncodedString() + "\n" }.joined()
            + "\n" + checkpointNote
    }

    public init(oldSize: Int, newSize: Int, hashes: [Data], checkpointNote: String) {
        self.oldSize = oldSize
        self.newSize = newSize
        self.hashes = hashes
        self.checkpointNote = checkpointNote
    }

    public init(parsing text: String, source: String) throws {
        let (lines, note) = try ProofText.split(text, source: source)
        guard lines.count >= 3, lines[0] == Self.header, lines[1].hasPrefix("old "), lines[2].hasPrefix("new "),
            let old = Int(lines[1].dropFirst(4)), let new = Int(lines[2].dropFirst(4))
        else { throw NoteError.malformed(source: source, reason: "not a \(Self.header) proof") }
        oldSize = old
        newSize = new
        hashes = try ProofText.hashes(lines.dropFirst(3), source: source)
        checkpointNote = note
    }

    /// Checks that the old checkpoint's tree is a prefix of the new one's; both must be signed by `logKey`.
    public func verify(oldCheckpoint: Checkpoint, logKey: NoteVerifierKey, source: String) throws -> Checkpoint {
        let new = try Checkpoint.verified(text: checkpointNote, logKey: logKey, source: source).0
        guard new.size == newSize, oldCheckpoint.size == oldSize,
            Merkle.verifyConsistency(
                size1: oldSize, size2: newSize, root1: oldCheckpoint.root, root2: new.root, proof: hashes)
        else {
            throw NoteError.malformed(
                source: source,
                reason:
                    "the consistency proof does not show the old checkpoint (size \(oldCheckpoint.size)) is a prefix of the new one (size \(new.size)): the log was rewritten"
            )
        }
        return new
    }
}

extension Ledger {
    /// The inclusion proof of entry `index` against the latest checkpoint.
    public func inclusionProof(index: Int) throws -> InclusionProof {
        let (note, checkpoint) = try latestCheckpoint()
        guard index >= 0, index < checkpoint.size else {
            throw LedgerError.notInTree(index: index, size: checkpoint.size)
        }
        let hashes = try log.tree.inclusionProof(index: index, size: checkpoint.size)
        return InclusionProof(index: index, hashes: hashes, checkpointNote: note)
    }

    /// The consistency proof from `old` (a checkpoint this ledger signed) to the latest checkpoint.
    public func consistencyProof(from old: Checkpoint) throws -> ConsistencyProof {
        let (note, current) = try latestCheckpoint()
        guard old.origin == origin else { throw LedgerError.foreignCheckpoint(origin: old.origin, this: origin) }
        guard old.size >= 1, old.size <= current.size else {
            throw LedgerError.refused(.checkpointTruncated(oldSize: old.size, size: current.size))
        }
        guard try log.tree.root(size: old.size) == old.root else {
            throw LedgerError.refused(.checkpointNotIssued(size: old.size))
        }
        let hashes = try log.tree.consistencyProof(from: old.size, to: current.size)
        return ConsistencyProof(oldSize: old.size, newSize: current.size, hashes: hashes, checkpointNote: note)
    }
}
