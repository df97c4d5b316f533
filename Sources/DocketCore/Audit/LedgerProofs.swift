import Foundation

/// What lets a reader check the ledger without trusting it (`ledger.proofs`): inclusion and consistency proofs
/// against the signed checkpoint, tlog-tiles, and the offline bundle an auditor verifies.
public struct LedgerProofs {
    let ledger: Ledger
    var log: LogStore { ledger.log }
}

extension LedgerProofs {
    /// The inclusion proof of entry `index` against the latest checkpoint.
    public func inclusionProof(index: Int) throws -> InclusionProof {
        let (note, checkpoint) = try ledger.latestCheckpoint()
        return try ledger.inclusionProof(index: index, size: checkpoint.size, checkpointNote: note)
    }

    /// The consistency proof from `old` (a checkpoint this ledger signed) to the latest checkpoint.
    public func consistencyProof(from old: Checkpoint) throws -> ConsistencyProof {
        let (note, current) = try ledger.latestCheckpoint()
        guard old.origin == ledger.origin else {
            throw LedgerError.foreignCheckpoint(origin: old.origin, this: ledger.origin)
        }
        guard old.size >= 1, old.size <= current.size else {
            throw LedgerError.refused(.checkpointTruncated(oldSize: old.size, size: current.size))
        }
        guard try log.tree.root(size: old.size) == old.root else {
            throw LedgerError.refused(.checkpointNotIssued(size: old.size))
        }
        let hashes = try log.tree.consistencyProof(from: old.size, to: current.size)
        return ConsistencyProof(oldSize: old.size, newSize: current.size, hashes: hashes, checkpointNote: note)
    }

    /// The consistency proof hashes between the trees of `from` and `to` entries (`1 ≤ from ≤ to ≤` the latest
    /// checkpoint's size), for a client that holds both roots.
    public func consistencyHashes(from: Int, to: Int) throws -> [Data] {
        let size = try ledger.latestCheckpoint().checkpoint.size
        guard from >= 1, from <= to, to <= size else {
            throw LedgerError.notInTree(index: max(from, to), size: size)
        }
        return try log.tree.consistencyProof(from: from, to: to)
    }
}
