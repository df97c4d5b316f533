import Foundation

extension Data {
    /// Lower-case hexadecimal, two characters per byte.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hexadecimal (either case); `nil` if the text is not an even run of hex digits.
    public init?(hex text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Decodes standard or URL-safe base64, padded or not (DSSE accepts both alphabets on input).
    public init?(anyBase64 text: some StringProtocol) {
        // The common case, standard padded base64, decodes directly.
        if let data = Data(base64Encoded: String(text)) {
            self = data
            return
        }
        var bytes = Array(text.utf8)
        let urlSafe = bytes.contains { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        if urlSafe {
            if bytes.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") }) { return nil }
            for i in bytes.indices {
                if bytes[i] == UInt8(ascii: "-") {
                    bytes[i] = UInt8(ascii: "+")
                } else if bytes[i] == UInt8(ascii: "_") {
                    bytes[i] = UInt8(ascii: "/")
                }
            }
        }
        let remainder = bytes.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { bytes += [UInt8](repeating: UInt8(ascii: "="), count: 4 - remainder) }
        guard let data = Data(base64Encoded: String(decoding: bytes, as: UTF8.self)) else { return nil }
        self = data
    }
}

extension Data {
    /// Decodes unpadded base64url (RFC 4648 §5), as JOSE writes it; `nil` for any other alphabet or padding.
    init?(base64URL text: String) {
        guard
            text.utf8.allSatisfy({
                switch $0 {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                    true
                default: false
                }
            }), text.utf8.count % 4 != 1
        else { return nil }
        guard let data = Data(anyBase64: text) else { return nil }
        self = data
    }
}
