import Foundation

extension Ledger {
    /// Writes a bundle to `path` (atomically): the header, then each entry's bytes as stored, one per line.
    /// Reads under one snapshot, so the checkpoint covers exactly the exported entries.
    public func exportBundle(to path: String, progress: ((Int, Int) -> Void)? = nil) throws -> BundleHeader {
        let temporary = path + ".docket-tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw FileError.cannotWrite(path, reason: "cannot create \(temporary)") }
        let header: BundleHeader
        do {
            defer { try? handle.close() }
            header = try log.readSnapshot {
                let (note, checkpoint) = try latestCheckpoint()
                let witnessed = try log.cosignedNotes()
                let header = BundleHeader(
                    format: BundleHeader.format, origin: origin, logKey: try logVerifierKey().text, checkpoint: note,
                    size: checkpoint.size, witnessed: witnessed.isEmpty ? nil : witnessed)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                var buffer = try encoder.encode(header) + Data("\n".utf8)
                var after = -1
                while after + 1 < checkpoint.size {
                    let rows = try log.storedEntries(after: after, before: checkpoint.size, limit: 4096)
                    guard let last = rows.last?.column?.index else { break }
                    for row in rows {
                        buffer.append(row.bytes)
                        buffer.append(UInt8(ascii: "\n"))
                    }
                    try handle.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                    after = last
                    progress?(after + 1, checkpoint.size)
                }
                try handle.write(contentsOf: buffer)
                return header
            }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FileError.cannotWrite(path, reason: String(cString: strerror(errno)))
        }
        return header
    }
}
