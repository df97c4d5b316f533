/// A unified diff (`diff -u` style, a/ and b/ prefixes as git writes them) of a file whose lines were edited in
/// place, as pinning does: line *n* of one text is line *n* of the other. Texts that differ in line count are
/// shown as one hunk that replaces everything (correct, if not minimal; pinning never makes them).
struct UnifiedDiff {
    let original: String
    let changed: String
    let file: String
    var context = 3

    var text: String {
        let old = Self.lines(original)
        let new = Self.lines(changed)
        guard old != new else { return "" }
        var out = Array("--- a/\(file)\n+++ b/\(file)\n".utf8)
        guard old.count == new.count else {
            out += Self.header(oldStart: 0, oldCount: old.count, newStart: 0, newCount: new.count)
            for line in old { out += Self.line("-", line) }
            for line in new { out += Self.line("+", line) }
            return String(decoding: out, as: UTF8.self)
        }
        let edited = old.indices.filter { old[$0] != new[$0] }
        for hunk in hunks(edited, lineCount: old.count) {
            out += Self.header(
                oldStart: hunk.lowerBound, oldCount: hunk.count, newStart: hunk.lowerBound, newCount: hunk.count)
            var i = hunk.lowerBound
            while i < hunk.upperBound {
                guard old[i] != new[i] else {
                    out += Self.line(" ", old[i])
                    i += 1
                    continue
                }
                // A run of edited lines: all its old lines, then all its new ones.
                var end = i
                while end < hunk.upperBound, old[end] != new[end] { end += 1 }
                for line in old[i..<end] { out += Self.line("-", line) }
                for line in new[i..<end] { out += Self.line("+", line) }
                i = end
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The line ranges to show: each edited line with `context` lines either side, ranges that touch or overlap
    /// merged, as `diff -u` does.
    private func hunks(_ edited: [Int], lineCount: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for line in edited {
            let range = max(0, line - context)..<min(lineCount, line + context + 1)
            if let last = out.last, range.lowerBound <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<range.upperBound
            } else {
                out.append(range)
            }
        }
        return out
    }

    /// `@@ -5,7 +5,7 @@`; a count of 1 is left out (`-5`), and an empty side starts before its first line.
    private static func header(oldStart: Int, oldCount: Int, newStart: Int, newCount: Int) -> [UInt8] {
        func side(_ start: Int, _ count: Int) -> String {
            switch count {
            case 0: "\(start)"
            case 1: "\(start + 1)"
            default: "\(start + 1),\(count)"
            }
        }
        return Array("@@ -\(side(oldStart, oldCount)) +\(side(newStart, newCount)) @@\n".utf8)
    }

    /// One diff line; a last line with no line break gets `\ No newline at end of file` after it.
    private static func line(_ prefix: Unicode.Scalar, _ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8(ascii: prefix)] + bytes
        if bytes.last != UInt8(ascii: "\n") { out += Array("\n\\ No newline at end of file\n".utf8) }
        return out
    }

    /// The lines of a text as bytes, each with its `\n` (a `\r` before it stays part of the line), so lines
    /// compare byte for byte.
    private static func lines(_ text: String) -> [ArraySlice<UInt8>] {
        let bytes = Array(text.utf8)
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? bytes.count
            out.append(bytes[start..<end])
            start = end
        }
        return out
    }
}
