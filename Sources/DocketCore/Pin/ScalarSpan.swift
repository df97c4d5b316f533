import Yams

/// Where one scalar's text sits in a manifest's bytes, and how it is quoted, so it can be replaced by another
/// value in the same style and nothing around it moves.
struct ScalarSpan: Equatable {
    /// The styles an image may be written in; block scalars (`|`, `>`) are refused.
    enum Quoting: Equatable {
        case plain, single, double
    }

    /// Why a scalar's bytes cannot be edited in place.
    enum Problem: Error, Equatable {
        /// A literal or folded block scalar.
        case blockScalar
        /// A quoted scalar that goes on past its line.
        case multiLine
        /// The bytes at the parser's mark are not the scalar's text (a tag on another line, a plain scalar that
        /// folds).
        case notFound
    }

    /// The scalar's bytes, quotes included, properties (`!tag`) excluded.
    let range: Range<Int>
    let quoting: Quoting

    /// Finds the bytes of a scalar written on one line, starting at its parser mark.
    init(locating scalar: Node.Scalar, in source: ManifestSource) throws(Problem) {
        guard let mark = scalar.mark, var start = source.offset(line: mark.line, column: mark.column) else {
            throw .notFound
        }
        let bytes = source.bytes
        let end = source.lineEnd(from: start)
        // The mark is at the node's properties when it has any: skip `!tag` and `&anchor`, and the blanks after.
        while start < end, bytes[start] == UInt8(ascii: "!") || bytes[start] == UInt8(ascii: "&") {
            while start < end, !Self.isBlank(bytes[start]) { start += 1 }
            while start < end, Self.isBlank(bytes[start]) { start += 1 }
        }
        let value = Array(scalar.string.utf8)
        switch scalar.style {
        case .literal, .folded:
            throw .blockScalar
        case .singleQuoted:
            guard start < end, bytes[start] == UInt8(ascii: "'") else { throw .notFound }
            let close = try Self.closingQuote(bytes, from: start + 1, lineEnd: end, quote: UInt8(ascii: "'"))
            // Inside single quotes the only escape is `''` for `'`.
            var text: [UInt8] = []
            var i = start + 1
            while i < close {
                text.append(bytes[i])
                i += bytes[i] == UInt8(ascii: "'") ? 2 : 1
            }
            guard text == value else { throw .notFound }
            self.range = start..<close + 1
            self.quoting = .single
        case .doubleQuoted:
            guard start < end, bytes[start] == UInt8(ascii: "\"") else { throw .notFound }
            let close = try Self.closingQuote(bytes, from: start + 1, lineEnd: end, quote: UInt8(ascii: "\""))
            // Without escapes the bytes are the value; with escapes (`\x41`), the check after the edit decides.
            let text = Array(bytes[start + 1..<close])
            guard text.contains(UInt8(ascii: "\\")) || text == value else { throw .notFound }
            self.range = start..<close + 1
            self.quoting = .double
        case .plain, .any:
            // A plain scalar on one line is its value byte for byte; one that folds over lines has a space
            // where the source has a line break, so it never matches.
            guard !value.isEmpty, start + value.count <= end, bytes[start..<start + value.count].elementsEqual(value)
            else { throw .notFound }
            self.range = start..<start + value.count
            self.quoting = .plain
        }
    }

    /// The text that writes `value` in this span's style. Image references and digests need no escapes.
    func replacement(_ value: String) -> String {
        switch quoting {
        case .plain: value
        case .single: "'" + value + "'"
        case .double: "\"" + value + "\""
        }
    }

    /// The offset of the quote closing a quoted scalar that opened before `from`; throws for one that does not
    /// close on its line. In double quotes a backslash escapes the byte after it (and at the line's end,
    /// continues the scalar on the next line).
    private static func closingQuote(_ bytes: [UInt8], from: Int, lineEnd: Int, quote: UInt8) throws(Problem) -> Int {
        var i = from
        while i < lineEnd {
            if bytes[i] == quote {
                if quote == UInt8(ascii: "'"), i + 1 < lineEnd, bytes[i + 1] == quote {
                    i += 2
                    continue
                }
                return i
            }
            i += quote == UInt8(ascii: "\"") && bytes[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        throw .multiLine
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 }
}
