import Foundation

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
