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
