import Foundation

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
