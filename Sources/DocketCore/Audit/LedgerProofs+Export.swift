import Foundation

extension LedgerProofs {
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
                let header = try bundleHeader()
                try handle.write(contentsOf: try header.encoded())
                var after = -1
                while let (lines, last) = try bundleLines(after: after, before: header.size) {
                    try handle.write(contentsOf: lines)
                    after = last
                    progress?(after + 1, header.size)
                }
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

    /// The bundle's header for the latest checkpoint (its `size` bounds the lines that follow it).
    public func bundleHeader() throws -> BundleHeader {
        let (note, checkpoint) = try ledger.latestCheckpoint()
        let witnessed = try log.cosignedNotes()
        return BundleHeader(
            format: BundleHeader.format, origin: ledger.origin, logKey: try ledger.logVerifierKey().text,
            checkpoint: note,
            size: checkpoint.size, witnessed: witnessed.isEmpty ? nil : witnessed)
    }

    /// The next page of bundle lines, each entry's bytes as stored and a newline, for entries after `after` and
    /// before `bound`, with the index of the last; nil when there are no more. Entries never change, so pages read
    /// in separate transactions (a server streaming to a slow client) make the same bundle as one snapshot.
    public func bundleLines(after: Int, before bound: Int, limit: Int = 4096) throws -> (Data, last: Int)? {
        let rows = try log.storedEntries(after: after, before: bound, limit: limit)
        guard let last = rows.last?.column?.index else { return nil }
        var lines = Data()
        for row in rows {
            lines.append(row.bytes)
            lines.append(UInt8(ascii: "\n"))
        }
        return (lines, last)
    }
}
