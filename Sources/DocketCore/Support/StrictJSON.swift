import Foundation

/// The one reader of untrusted JSON in Docket: entries, envelopes and statements all go through it.
///
/// Strict where parsers disagree, so that what Docket accepts every verifier reads the same way: RFC 8259
/// grammar only (no byte-order mark, no trailing commas, no comments, nothing after the value), valid UTF-8
/// everywhere, no unpaired surrogate escapes, no control characters in strings, no repeated key in an object
/// (parsers disagree on which one wins), object keys in Unicode NFC (Swift would match a canonically equivalent
/// key where other readers do not), and a nesting depth limit. Callers bound the size before reading.
/// Held to Foundation's answers on the inputs both accept by a differential test; measured against Foundation's
/// readers by `docket-bench breakdown`.
enum StrictJSON {
    /// The deepest nesting accepted; Docket's documents nest a handful of levels.
    static let maximumDepth = 64

    struct Failure: Error, Equatable, CustomStringConvertible {
        /// The byte offset where reading stopped.
        var offset: Int
        var reason: String

        var description: String { "\(reason) at byte \(offset)" }
    }

    /// Reads one JSON value that spans all of `data`.
    static func parse(_ data: Data) throws(Failure) -> JSONValue {
        let result = data.withUnsafeBytes { raw -> Result<JSONValue, Failure> in
            var reader = Reader(bytes: raw.bindMemory(to: UInt8.self))
            do throws(Failure) {
                let value = try reader.value(depth: 0)
                reader.skipSpace()
                guard reader.i == reader.bytes.count else { throw reader.failure("unexpected text after the value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func failure(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 {
                i += 1
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
            skipSpace()
            guard i < bytes.count, bytes[i] == byte else {
                throw failure(i < bytes.count ? "expected \(what)" : "the text ends early; expected \(what)")
            }
            i += 1
        }

        /// True (and consumed) when the next byte, after spaces, is `byte`.
        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }

        mutating func literal(_ text: StaticString, _ value: JSONValue) throws(Failure) -> JSONValue {
            let n = text.utf8CodeUnitCount
            guard i + n <= bytes.count, let base = bytes.baseAddress, memcmp(base + i, text.utf8Start, n) == 0 else {
                throw failure("not a JSON value")
            }
            i += n
            return value
        }

        mutating func value(depth: Int) throws(Failure) -> JSONValue {
            skipSpace()
            guard i < bytes.count else { throw failure("the text ends early; expected a value") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                guard depth < maximumDepth else { throw failure("nested deeper than \(maximumDepth) levels") }
                i += 1
                var object: [String: JSONValue] = [:]
                if take(UInt8(ascii: "}")) { return .object(object) }
                repeat {
                    skipSpace()
                    let keyOffset = i
                    let key = try string()
                    // Swift compares strings by canonical equivalence: a key not in NFC (`public\u{212A}ey`, with
                    // a Kelvin sign) would be found as `publicKey` here and as something else by other readers.
                    guard
                        key.utf8.allSatisfy({ $0 < 0x80 })
                            || Array(key.precomposedStringWithCanonicalMapping.utf8) == Array(key.utf8)
                    else { throw Failure(offset: keyOffset, reason: "an object key is not in Unicode NFC") }
                    try expect(UInt8(ascii: ":"), "`:` after an object key")
                    let member = try value(depth: depth + 1)
                    guard object.updateValue(member, forKey: key) == nil else {
                        throw Failure(offset: keyOffset, reason: "an object repeats a key (`\(key)`)")
                    }
                } while take(UInt8(ascii: ","))
                try expect(UInt8(ascii: "}"), "`,` or `}` in an object")
                return .object(object)
            case UInt8(ascii: "["):
                guard depth < maximumDepth else { throw failure("nested deeper than \(maximumDepth) levels") }
                i += 1
                var array: [JSONValue] = []
                if take(UInt8(ascii: "]")) { return .array(array) }
                repeat { array.append(try value(depth: depth + 1)) } while take(UInt8(ascii: ","))
                try expect(UInt8(ascii: "]"), "`,` or `]` in an array")
                return .array(array)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            case 0xEF where i + 2 < bytes.count && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF:
                throw failure("a byte-order mark is not JSON")
            default: throw failure("not a JSON value")
            }
        }

        /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
        mutating func number() throws(Failure) -> JSONValue {
            let start = i
            func digits() -> Int {
                let from = i
                while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
                return i - from
            }
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count else { throw failure("a number ends early") }
            if bytes[i] == UInt8(ascii: "0") {
                i += 1
            } else if digits() == 0 {
                throw failure("not a number")
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { throw failure("a number needs digits after `.`") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw failure("a number needs digits in its exponent") }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            guard let value = Double(text), value.isFinite else {
                throw Failure(offset: start, reason: "the number \(text) is out of range")
            }
            return .number(value)
        }

        /// A string, unescaped, from its opening quote; its bytes must be valid UTF-8.
        mutating func string() throws(Failure) -> String {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw failure("expected a string") }
            i += 1
            let start = i
            // The common case, no escapes: the bytes themselves, validated. Scanned with locals (this loop reads
            // most of every entry's bytes: the payload's base64).
            var j = i
            let end = bytes.count
            while j < end {
                let c = bytes[j]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { break }
                if c < 0x20 {
                    i = j
                    throw failure("a control character must be escaped in a string")
                }
                j &+= 1
            }
            i = j
            guard i < bytes.count else { throw Failure(offset: start - 1, reason: "a string is not closed") }
            if bytes[i] == UInt8(ascii: "\"") {
                defer { i += 1 }
                return try validated(UnsafeBufferPointer(rebasing: bytes[start..<i]), at: start)
            }
            var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                let byte = bytes[i]
                guard byte >= 0x20 else { throw failure("a control character must be escaped in a string") }
                guard byte == UInt8(ascii: "\\") else {
                    out.append(byte)
                    i += 1
                    continue
                }
                i += 1
                guard i < bytes.count else { break }
                switch bytes[i] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(bytes[i])
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(at: i + 1)
                    i += 4
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u")
                        else { throw failure("an unpaired surrogate escape") }
                        let low = try hex4(at: i + 3)
                        guard (0xDC00..<0xE000).contains(low) else { throw failure("an unpaired surrogate escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw failure("an unpaired surrogate escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw failure("an invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: throw failure("an invalid escape in a string")
                }
                i += 1
            }
            guard i < bytes.count else { throw Failure(offset: start - 1, reason: "a string is not closed") }
            i += 1
            guard let text = out.withUnsafeBufferPointer({ String(validating: $0, as: UTF8.self) }) else {
                throw Failure(offset: start, reason: "a string is not valid UTF-8")
            }
            return text
        }

        func hex4(at j: Int) throws(Failure) -> UInt32 {
            guard j + 4 <= bytes.count else { throw failure("a \\u escape needs four hex digits") }
            var value: UInt32 = 0
            for k in j..<(j + 4) {
                let c = bytes[k]
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: throw failure("a \\u escape needs four hex digits")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        func validated(_ utf8: UnsafeBufferPointer<UInt8>, at offset: Int) throws(Failure) -> String {
            guard let text = String(validating: utf8, as: UTF8.self) else {
                throw Failure(offset: offset, reason: "a string is not valid UTF-8")
            }
            return text
        }
    }
}
