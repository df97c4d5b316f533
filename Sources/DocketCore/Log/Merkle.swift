import Foundation

/// RFC 6962 / RFC 9162 hashing and proof verification. Pure functions: nothing here touches storage.
public enum Merkle {
    public static let emptyRoot = SHA256.hash(Data())

    /// SHA-256(0x00 ‖ data).
    public static func leafHash(_ data: Data) -> Data { SHA256.hash(parts: [Data([0]), data]) }

    /// SHA-256(0x01 ‖ left ‖ right).
    public static func nodeHash(_ left: Data, _ right: Data) -> Data { SHA256.hash(parts: [Data([1]), left, right]) }

    /// The largest power of two strictly less than `n` (n ≥ 2).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// The root of leaves given as leaf hashes (reference implementation, O(n)).
    public static func root(leafHashes: some Collection<Data>) -> Data {
        var level = Array(leafHashes)
        if level.isEmpty { return emptyRoot }
        // Combining left to right pairwise, carrying an odd last node up, gives RFC 6962's unbalanced tree.
        while level.count > 1 {
            var next: [Data] = []
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i + 1 < level.count {
                next.append(nodeHash(level[i], level[i + 1]))
                i += 2
            }
            if i < level.count { next.append(level[i]) }
            level = next
        }
        return level[0]
    }

    /// RFC 9162 §2.1.3.2. True when `proof` shows the leaf at `index` is in the tree of `size` with `root`.
    public static func verifyInclusion(index: Int, size: Int, leafHash: Data, proof: [Data], root: Data) -> Bool {
        guard index >= 0, index < size, leafHash.count == 32, root.count == 32, proof.allSatisfy({ $0.count == 32 })
        else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// RFC 9162 §2.1.4.2. True when `proof` shows the tree of `size1` with `root1` is a prefix of the one of
    /// `size2` with `root2`. A proof from size 0 is refused: it proves nothing.
    public static func verifyConsistency(size1: Int, size2: Int, root1: Data, root2: Data, proof: [Data]) -> Bool {
        guard size1 > 0, size2 >= size1 else { return false }
        if size1 == size2 { return proof.isEmpty && root1 == root2 }
        guard !proof.isEmpty, root1.count == 32, root2.count == 32, proof.allSatisfy({ $0.count == 32 }) else {
            return false
        }
        var path = proof
        if size1 & (size1 - 1) == 0 { path.insert(root1, at: 0) }
        var fn = size1 - 1
        var sn = size2 - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && fr == root1 && sr == root2
    }
}

/// A source of perfect-subtree hashes: level `l`, position `i` covers leaves `[i·2^l, (i+1)·2^l)`.
protocol SubtreeStore {
    func node(level: Int, index: Int) throws -> Data
}

/// Roots and proofs over stored perfect subtrees. Each query reads O(log n) nodes; nothing is rebuilt.
struct MerkleTree<Store: SubtreeStore> {
    let store: Store

    /// MTH(D[start:end]).
    func hash(_ start: Int, _ end: Int) throws -> Data {
        let n = end - start
        if n == 0 { return Merkle.emptyRoot }
        if n & (n - 1) == 0, start % n == 0 { return try store.node(level: n.trailingZeroBitCount, index: start / n) }
        let k = Merkle.split(n)
        return Merkle.nodeHash(try hash(start, start + k), try hash(start + k, end))
    }

    func root(size: Int) throws -> Data { try hash(0, size) }

    /// RFC 6962 PATH(m, D[0:size]).
    func inclusionProof(index: Int, size: Int) throws -> [Data] {
        precondition(index >= 0 && index < size)
        return try path(index, 0, size)
    }

    private func path(_ m: Int, _ start: Int, _ end: Int) throws -> [Data] {
        let n = end - start
        if n <= 1 { return [] }
        let k = Merkle.split(n)
        if m < k { return try path(m, start, start + k) + [try hash(start + k, end)] }
        return try path(m - k, start + k, end) + [try hash(start, start + k)]
    }

    /// RFC 6962 PROOF(m, D[0:size]).
    func consistencyProof(from m: Int, to size: Int) throws -> [Data] {
        precondition(m > 0 && m <= size)
        return try subproof(m, 0, size, true)
    }

    private func subproof(_ m: Int, _ start: Int, _ end: Int, _ complete: Bool) throws -> [Data] {
        let n = end - start
        if m == n { return complete ? [] : [try hash(start, end)] }
        let k = Merkle.split(n)
        if m <= k { return try subproof(m, start, start + k, complete) + [try hash(start + k, end)] }
        return try subproof(m - k, start + k, end, false) + [try hash(start, start + k)]
    }

    /// The nodes to store when leaf `index` (hash `leaf`) is appended: the leaf and every perfect subtree it
    /// completes. `left(level, i)` supplies already-stored left siblings.
    static func nodesCompleted(byAppending leaf: Data, at index: Int, left: (Int, Int) throws -> Data) rethrows -> [(
        level: Int, index: Int, hash: Data
    )] {
        var out = [(level: 0, index: index, hash: leaf)]
        var level = 0
        var i = index
        var current = leaf
        while i & 1 == 1 {
            current = Merkle.nodeHash(try left(level, i - 1), current)
            level += 1
            i >>= 1
            out.append((level, i, current))
        }
        return out
    }
}

/// An in-memory subtree store: every perfect subtree, for proofs over a bundle or in tests. O(n) memory.
struct MemorySubtreeStore: SubtreeStore {
    var levels: [[Data]] = []

    mutating func append(leafHash: Data) {
        var level = 0
        var i = levels.first?.count ?? 0
        var current = leafHash
        while true {
            if levels.count <= level { levels.append([]) }
            levels[level].append(current)
            guard i & 1 == 1 else { break }
            current = Merkle.nodeHash(levels[level][i - 1], current)
            level += 1
            i >>= 1
        }
    }

    var size: Int { levels.first?.count ?? 0 }

    func node(level: Int, index: Int) throws -> Data { levels[level][index] }
}

/// The right edge of a tree: one hash per set bit of its size. Enough to compute the root while streaming
/// leaves, in O(log n) memory.
public struct MerkleFrontier: Sendable {
    private var stack: [(level: Int, hash: Data)] = []
    public private(set) var size = 0

    public init() {}

    /// The frontier of a stored tree of `size` leaves, from its perfect subtrees (one per set bit of `size`,
    /// largest first): what an append needs to extend the tree without reading anything else.
    init(size: Int, node: (_ level: Int, _ index: Int) throws -> Data) rethrows {
        var start = 0
        for level in stride(from: Int.bitWidth - 2, through: 0, by: -1) where size & (1 << level) != 0 {
            stack.append((level, try node(level, start >> level)))
            start += 1 << level
        }
        self.size = size
    }

    /// Adds a leaf and returns the nodes it completes (the leaf itself first), as stored in the `merkle` table.
    @discardableResult
    public mutating func append(leafHash: Data) -> [(level: Int, index: Int, hash: Data)] {
        var node = (level: 0, hash: leafHash)
        var completed = [(level: 0, index: size, hash: leafHash)]
        while let last = stack.last, last.level == node.level {
            stack.removeLast()
            node = (node.level + 1, Merkle.nodeHash(last.hash, node.hash))
            completed.append((node.level, size >> node.level, node.hash))
        }
        stack.append(node)
        size += 1
        return completed
    }

    public var root: Data {
        guard var r = stack.last?.hash else { return Merkle.emptyRoot }
        for node in stack.dropLast().reversed() { r = Merkle.nodeHash(node.hash, r) }
        return r
    }
}

/// A stored node's place: its level (0: leaves) and position in that level.
struct NodePosition: Hashable {
    var level: Int
    var index: Int
}

/// Records which nodes a computation reads (answering each with zeros), so they can be read in one query and the
/// computation run again on ``PrefetchedNodes``.
final class NodeRecorder: SubtreeStore {
    private(set) var wanted: [NodePosition] = []

    func node(level: Int, index: Int) throws -> Data {
        wanted.append(NodePosition(level: level, index: index))
        return Data(count: 32)
    }
}

/// Nodes read ahead; one that was not found is a damaged store.
struct PrefetchedNodes: SubtreeStore {
    let nodes: [NodePosition: Data]

    func node(level: Int, index: Int) throws -> Data {
        guard let hash = nodes[NodePosition(level: level, index: index)] else {
            throw LedgerError.corrupt(.missingMerkleNode(level: level, index: index))
        }
        return hash
    }
}
