import Foundation

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
            fields, treeSize: checkpoint.size, entry: bytes, inclusionProof: proof.text,
            checkpoint: proof.checkpointNote)
    }
}
