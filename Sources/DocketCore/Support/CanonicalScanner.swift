import Foundation

/// Byte-level reading of the fixed JSON shapes Docket writes. Every method returns `nil`/`false` on the
/// slightest difference; callers then use a general parser.
struct CanonicalScanner {
    private let raw: UnsafeRawBufferPointer
    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0

    init(_ raw: UnsafeRawBufferPointer) {
        self.raw = raw
        self.b = raw.bindMemory(to: UInt8.self)
    }

    var atEnd: Bool { i == b.count }

    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard let base = b.baseAddress, i + count <= b.count, memcmp(base + i, text.utf8Start, count) == 0 else {
            return false
        }
        i += count
        return true
    }

    /// A non-negative decimal integer without leading zeros.
    mutating func integer() -> Int? {
        let start = i
        while i < b.count, (48...57).contains(b[i]) { i += 1 }
        guard i > start, i - start <= 18, b[start] != 48 || i - start == 1 else { return nil }
        return Int(String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<i]), as: UTF8.self))
    }

    /// The bytes of a string with no escapes up to its closing quote (the opening one already read).
    private mutating func stringBytes(_ allowed: (UInt8) -> Bool) -> UnsafeRawBufferPointer? {
        let start = i
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            guard allowed(b[i]), b[i] >= 0x20, b[i] != UInt8(ascii: "\\"), b[i] < 0x80 else { return nil }
            i += 1
        }
        guard i < b.count else { return nil }
        defer { i += 1 }
        return UnsafeRawBufferPointer(rebasing: raw[start..<i])
    }

    mutating func string(_ allowed: (UInt8) -> Bool) -> String? {
        stringBytes(allowed).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Base64 alphabet bytes (standard, with padding).
    static func base64(_ c: UInt8) -> Bool {
        (65...90).contains(c) || (97...122).contains(c) || (48...57).contains(c) || c == 43 || c == 47 || c == 61
    }

    /// Lower-case hex digits.
    static func hex(_ c: UInt8) -> Bool { (48...57).contains(c) || (97...102).contains(c) }

    /// The bytes of a string with no escapes, decoded as base64.
    mutating func base64String() -> Data? {
        stringBytes(Self.base64).flatMap { Data(base64Encoded: Data($0)) }
    }
}
