import Foundation

/// The first line of a bundle.
public struct BundleHeader: Codable, Sendable, Equatable {
    public static let format = "docket-bundle/v1"

    public var format: String
    public var origin: String
    /// The log's verifier key text (`origin+keyid+base64`).
    public var logKey: String
    /// The signed checkpoint note covering exactly the entries that follow.
    public var checkpoint: String
    public var size: Int
    /// Checkpoints cosigned by witnesses (signed notes), if any.
    public var witnessed: [String]?
}

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

/// Reads a file line by line without loading it whole.
struct LineReader {
    private let handle: FileHandle
    private var buffer = [UInt8]()
    private var start = 0
    private var atEnd = false
    static let maximumLine = Envelope.maximumSize + 8192

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError.cannotRead(
                path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        self.handle = handle
    }

    /// The next line without its newline, and whether it ended with one. `nil` at the end of the file.
    /// A line longer than ``maximumLine`` is cut there (the rest skipped); the entry parser then refuses it.
    mutating func next() -> (line: Data, terminated: Bool)? {
        var scanFrom = start
        while true {
            if let newline = buffer[scanFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[start..<newline])
                start = newline + 1
                return (line, true)
            }
            scanFrom = buffer.count
            if buffer.count - start > Self.maximumLine {
                let line = Data(buffer[start..<(start + Self.maximumLine)])
                buffer.removeAll(keepingCapacity: true)
                start = 0
                scanFrom = 0
                while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                    if let newline = chunk.firstIndex(of: UInt8(ascii: "\n")) {
                        buffer.append(contentsOf: chunk[(newline + 1)...])
                        return (line, true)
                    }
                }
                atEnd = true
                return (line, false)
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Data(buffer[start...])
                start = buffer.count
                return (line, false)
            }
            if start > 0 && start >= buffer.count / 2 {
                buffer.removeFirst(start)
                scanFrom -= start
                start = 0
            }
            let chunk = (try? handle.read(upToCount: 1 << 20)) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
