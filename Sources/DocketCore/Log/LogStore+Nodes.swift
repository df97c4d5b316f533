import Foundation

/// Reading Merkle nodes for a computation in one query: the frontier a batch extends, the inclusion proof of a
/// receipt. A store that binds arrays (PostgreSQL, where each statement is a round trip) reads the O(log n) nodes
/// a computation needs at once: the computation runs first on a ``NodeRecorder`` to learn which, then on the
/// nodes read. SQLite reads them one at a time, which costs it nothing more.
extension LogStore {
    /// The right edge of the stored tree of `size` leaves.
    func frontier(size: Int) throws -> MerkleFrontier {
        guard db.bindsArrays else {
            return try MerkleFrontier(size: size) { level, index in try node(level: level, index: index) }
        }
        let recorder = NodeRecorder()
        _ = try MerkleFrontier(size: size) { level, index in try recorder.node(level: level, index: index) }
        let nodes = try prefetched(recorder.wanted)
        return try MerkleFrontier(size: size) { level, index in try nodes.node(level: level, index: index) }
    }

    /// The inclusion proof of entry `index` in the tree of `size` (a server builds one per receipt).
    func inclusionProof(index: Int, size: Int) throws -> [Data] {
        guard db.bindsArrays else { return try tree.inclusionProof(index: index, size: size) }
        let recorder = NodeRecorder()
        _ = try MerkleTree(store: recorder).inclusionProof(index: index, size: size)
        return try MerkleTree(store: try prefetched(recorder.wanted)).inclusionProof(index: index, size: size)
    }

    /// The inclusion proofs of entries `indexes` in the tree of `size`, their nodes read in one query.
    func inclusionProofs(indexes: [Int], size: Int) throws -> [Int: [Data]] {
        let recorder = NodeRecorder()
        for index in indexes { _ = try MerkleTree(store: recorder).inclusionProof(index: index, size: size) }
        let tree = MerkleTree(store: try prefetched(recorder.wanted))
        var proofs: [Int: [Data]] = [:]
        for index in indexes { proofs[index] = try tree.inclusionProof(index: index, size: size) }
        return proofs
    }

    /// The stored nodes at `positions`, in one query.
    private func prefetched(_ positions: [NodePosition]) throws -> PrefetchedNodes {
        var found: [NodePosition: Data] = [:]
        guard !positions.isEmpty else { return PrefetchedNodes(nodes: found) }
        for row in try db.rows(
            "SELECT m.level, m.pos, m.hash FROM merkle m JOIN unnest($1, $2) AS k(level, pos) ON m.level = k.level AND m.pos = k.pos",
            [.integers(positions.map { Int64($0.level) }), .integers(positions.map { Int64($0.index) })])
        {
            if let level = row.int("level"), let index = row.int("pos"), let hash = row.blob("hash"), hash.count == 32 {
                found[NodePosition(level: level, index: index)] = hash
            }
        }
        return PrefetchedNodes(nodes: found)
    }
}
