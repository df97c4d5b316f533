/// A manifest's bytes, with the positions libyaml reports mapped back onto them, so one scalar's bytes can be
/// replaced and every other byte kept.
///
/// libyaml counts lines at every YAML 1.1 line break (`\r\n`, `\r`, `\n`, U+0085, U+2028, U+2029) and columns
/// in Unicode scalars, not bytes; ``offset(line:column:)`` does the same. A byte order mark is not part of the source:
/// the parser misreads one (it counts it as a column), so the pinner parses the text after it and puts it back.
struct ManifestSource {
    /// The UTF-8 bytes after the byte order mark, if any.
    let bytes: [UInt8]
    /// The byte offset at which each line starts; line 1 is at index 0.
    let lineStarts: [Int]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var starts = [0]
        var i = 0
        while i < bytes.count {
            let width = Self.lineBreakWidth(bytes, at: i)
            if width > 0 {
                i += width
                starts.append(i)
            } else {
                i += 1
            }
        }
        lineStarts = starts
    }

    /// The byte offset of a parser position (line and column from 1, as in a `Mark`), or nil past the text.
    func offset(line: Int, column: Int) -> Int? {
        guard line >= 1, line <= lineStarts.count, column >= 1 else { return nil }
        var offset = lineStarts[line - 1]
        let end = lineEnd(from: offset)
        for _ in 1..<column {
            guard offset < end else { return nil }
            offset += Self.scalarWidth(bytes[offset])
        }
        return min(offset, end)
    }

    /// The 1-based line holding a byte offset.
    func line(at offset: Int) -> Int {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low + 1
    }

    /// The offset of the line break ending the line that holds `offset` (or of the end of the text).
    func lineEnd(from offset: Int) -> Int {
        var i = offset
        while i < bytes.count, Self.lineBreakWidth(bytes, at: i) == 0 { i += 1 }
        return i
    }

    /// The bytes of line `line` (1-based), without its line break.
    func lineBytes(_ line: Int) -> ArraySlice<UInt8> {
        let start = lineStarts[line - 1]
        return bytes[start..<lineEnd(from: start)]
    }

    /// How many bytes the line break at `i` takes, or 0 if there is none there.
    static func lineBreakWidth(_ bytes: [UInt8], at i: Int) -> Int {
        switch bytes[i] {
        case 10: return 1
        case 13: return i + 1 < bytes.count && bytes[i + 1] == 10 ? 2 : 1
        case 0xC2 where i + 1 < bytes.count && bytes[i + 1] == 0x85: return 2
        case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
            return 3
        default: return 0
        }
    }

    /// The length of the UTF-8 sequence a lead byte starts (1 for a stray continuation byte, which valid
    /// text does not have).
    private static func scalarWidth(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: 4
        case 0xE0...: 3
        case 0xC0...: 2
        default: 1
        }
    }
}

extension ManifestSource {
    /// The offset of the first byte that is not part of valid UTF-8, or nil for valid text.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }
}

extension ManifestSource {
    /// The offset of the first byte from `offset` that is not a space or a tab.
    func firstNonBlank(from offset: Int) -> Int {
        var i = offset
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 { i += 1 }
        return i
    }
}
