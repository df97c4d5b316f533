import Foundation

/// Small helpers for writing JSON by hand where the exact bytes matter (entries, envelopes).
enum JSONText {
    /// A JSON string literal: quotes, backslash and control characters escaped, everything else as UTF-8.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON encoder with sorted keys and no escaped slashes: the form Docket signs payloads in.
    static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// True when some object in the JSON text repeats a key (after unescaping). Parsers disagree on which of
    /// two duplicate keys wins, so a signed payload with duplicates could mean different things to different
    /// verifiers: Docket refuses them. Malformed text returns false (the real parser reports it).
    static func hasDuplicateKeys(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            let b = raw.bindMemory(to: UInt8.self)
            var i = 0
            var stack: [Set<[UInt8]>?] = []  // one key set per open object (nil for arrays)
            var expectKey = false
            while i < b.count {
                let c = b[i]
                switch c {
                case UInt8(ascii: "{"):
                    stack.append([])
                    expectKey = true
                case UInt8(ascii: "["):
                    stack.append(nil)
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if !stack.isEmpty { stack.removeLast() }
                    expectKey = false
                case UInt8(ascii: ","):
                    expectKey = stack.last.map { $0 != nil } ?? false
                case UInt8(ascii: "\""):
                    // Read the string, unescaping, to compare keys by their value.
                    var value: [UInt8] = []
                    i += 1
                    while i < b.count, b[i] != UInt8(ascii: "\"") {
                        if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                            i += 1
                            switch b[i] {
                            case UInt8(ascii: "u"):
                                func unit(at j: Int) -> UInt32? {
                                    guard j + 4 <= b.count else { return nil }
                                    return UInt32(
                                        String(decoding: UnsafeBufferPointer(rebasing: b[j..<(j + 4)]), as: UTF8.self),
                                        radix: 16)
                                }
                                guard var scalar = unit(at: i + 1) else { return false }
                                i += 4
                                // A surrogate pair spells one scalar.
                                if (0xD800..<0xDC00).contains(scalar), i + 2 < b.count, b[i + 1] == UInt8(ascii: "\\"),
                                    b[i + 2] == UInt8(ascii: "u"), let low = unit(at: i + 3),
                                    (0xDC00..<0xE000).contains(low)
                                {
                                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                                    i += 6
                                }
                                value.append(
                                    contentsOf: Array(
                                        String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
                            case UInt8(ascii: "b"): value.append(0x08)
                            case UInt8(ascii: "f"): value.append(0x0C)
                            case UInt8(ascii: "n"): value.append(0x0A)
                            case UInt8(ascii: "r"): value.append(0x0D)
                            case UInt8(ascii: "t"): value.append(0x09)
                            default: value.append(b[i])  // \" \\ \/
                            }
                        } else {
                            value.append(b[i])
                        }
                        i += 1
                    }
                    if expectKey, let last = stack.indices.last, stack[last] != nil {
                        if stack[last]!.contains(value) { return true }
                        stack[last]!.insert(value)
                        expectKey = false
                    }
                default: break
                }
                i += 1
            }
            return false
        }
    }
}
