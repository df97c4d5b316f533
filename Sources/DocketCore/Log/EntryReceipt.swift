import Foundation

/// A server's receipt for a write, or its answer for one entry (schemas/server-receipt.schema.json): the CLI's
/// append receipt, and what a client needs to check it without trusting the server: the entry's bytes, its leaf
/// hash, its inclusion proof and the checkpoint.
public struct EntryReceipt: Codable, Sendable {
    public var index: Int
    public var integratedTime: String
    public var kind: String
    public var subject: String
    public var digest: String?
    public var duplicate: Bool
    public var treeSize: Int
    public var leafHash: String
    public var entry: String
    public var inclusionProof: String
    public var checkpoint: String

    public init(_ fields: AppendReceipt, treeSize: Int, entry: Data, inclusionProof: String, checkpoint: String) {
        index = fields.index
        integratedTime = fields.integratedTime
        kind = fields.kind
        subject = fields.subject
        digest = fields.digest
        duplicate = fields.duplicate
        self.treeSize = treeSize
        leafHash = Merkle.leafHash(entry).hex
        self.entry = String(decoding: entry, as: UTF8.self)
        self.inclusionProof = inclusionProof
        self.checkpoint = checkpoint
    }

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension Ledger {
    /// Entry `index` as stored, with its inclusion proof against the latest checkpoint: what the server answers for
    /// one entry and what a notification carries. `nil` when the ledger does not hold it yet.
    public func receipt(at index: Int) throws -> EntryReceipt? {
        guard let bytes = try entryBytes(at: index) else { return nil }
        let entry = try Entry(bytes: bytes, source: "entry \(index)")
        let statement = try Statement(parsing: entry.envelope.payload, source: "entry \(index)")
        let (note, checkpoint) = try latestCheckpoint()
        let proof = try inclusionProof(index: index, size: checkpoint.size, checkpointNote: note)
        let fields = AppendReceipt(
            index: index, integratedTime: entry.integratedTime.rfc3339, kind: statement.kind.rawValue,
            subject: statement.subjectName, digest: statement.digest?.description, duplicate: false,
            treeSize: checkpoint.size)
        return EntryReceipt(
            fields, treeSize: checkpoint.size, entry: bytes, inclusionProof: proof.text, checkpoint: proof.checkpointNote)
    }
}
