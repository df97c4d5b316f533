import Foundation

extension LedgerProofs {
    /// A tile's bytes, if the tree of the latest checkpoint holds it at that width (a full tile, or a partial
    /// tile no wider than the tree has reached): hashes of tree level 8L concatenated, or, for an entry bundle,
    /// each entry's bytes prefixed with their big-endian 16-bit length.
    public func tile(_ address: TileAddress) throws -> Data? {
        let size = try ledger.latestCheckpoint().checkpoint.size
        let available = TileAddress.width(level: address.level, index: address.index, size: size)
        // A partial tile is served only while it is the right edge or narrower than what exists: clients ask for
        // the full tile once the tree has grown past it.
        guard address.width <= available else { return nil }
        let first = address.index * TileAddress.fullWidth
        guard let level = address.level else {
            var bundle = Data()
            for entry in try log.storedEntries(after: first - 1, before: first + address.width, limit: address.width) {
                guard entry.bytes.count <= Int(UInt16.max) else {
                    throw LedgerError.corrupt(.entryTooLongForTiles(index: entry.column?.index ?? -1))
                }
                bundle.append(UInt8(entry.bytes.count >> 8))
                bundle.append(UInt8(entry.bytes.count & 0xFF))
                bundle.append(entry.bytes)
            }
            return bundle
        }
        return try log.nodes(level: 8 * level, from: first, count: address.width).reduce(into: Data()) { $0 += $1 }
    }
}
