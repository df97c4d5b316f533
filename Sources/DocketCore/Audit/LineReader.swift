import Foundation

/// Reads a file line by line without loading it whole.
struct LineReader {
    private let handle: FileHandle
    private let path: String
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
        self.path = path
    }

    /// The longest header line a bundle may have (it carries witnesses' cosigned checkpoints): 4 MiB.
    static let maximumHeader = 4 << 20

    /// The first line, refused (`nil` line) as soon as it runs past ``maximumHeader`` without a newline: a
    /// file that is not a bundle is not read to its end to find that out.
    mutating func header() throws -> (line: Data, terminated: Bool)? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[start..<newline])
                start = newline + 1
                return (line, true)
            }
            if buffer.count - start > Self.maximumHeader { throw LineTooLong(limit: Self.maximumHeader) }
            guard let chunk = try read(), !chunk.isEmpty else {
                atEnd = true
                guard start < buffer.count else { return nil }
                let line = Data(buffer[start...])
                start = buffer.count
                return (line, false)
            }
            buffer.append(contentsOf: chunk)
        }
    }

    struct LineTooLong: Error {
        var limit: Int
    }

    /// The next line without its newline, and whether it ended with one. `nil` at the end of the file.
    /// A line longer than ``maximumLine`` is cut there (the rest skipped); the entry parser then refuses it.
    /// A read error is thrown, never taken for the end of the file.
    mutating func next() throws -> (line: Data, terminated: Bool)? {
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
                while let chunk = try read(), !chunk.isEmpty {
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
            let chunk = try read() ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }

    private func read() throws -> Data? {
        do {
            return try handle.read(upToCount: 1 << 20)
        } catch {
            throw FileError.cannotRead(path, reason: error.localizedDescription)
        }
    }
}
