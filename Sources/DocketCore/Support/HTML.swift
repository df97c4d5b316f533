/// A piece of HTML in which every piece of text is escaped: the literal parts of an `HTML` string literal are
/// markup, everything interpolated into it is text (escaped for element content and quoted attribute values
/// alike) unless it is itself `HTML`. So `"<td>\(identity)</td>" as HTML` shows a hostile identity as text.
///
/// Written by hand rather than with a template engine: the dashboard and the report are a few pages built from
/// typed values, and an interpolation that escapes by default is the one property that matters.
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var markup: String

    public init(stringLiteral value: String) { markup = value }

    public init(stringInterpolation: Interpolation) { markup = stringInterpolation.markup }

    /// Markup taken as it is: only for text Docket wrote itself (a style sheet, a script).
    public init(trusted markup: String) { self.markup = markup }

    public static let empty: HTML = ""

    public var description: String { markup }

    public struct Interpolation: StringInterpolationProtocol {
        var markup = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            markup.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { markup += literal }

        /// Text: escaped.
        public mutating func appendInterpolation(_ text: String) { markup += HTML.escape(text) }

        public mutating func appendInterpolation(_ value: Int) { markup += String(value) }

        public mutating func appendInterpolation(_ html: HTML) { markup += html.markup }

        public mutating func appendInterpolation(_ parts: [HTML]) {
            for part in parts { markup += part.markup }
        }

        /// A path segment of a link (`href="/digest/\(path: digest)"`): percent-encoded, then escaped.
        public mutating func appendInterpolation(path segment: String) {
            markup += HTML.escape(HTML.percentEncoded(segment))
        }
    }

    public static func + (a: HTML, b: HTML) -> HTML { HTML(trusted: a.markup + b.markup) }

    /// The parts one after the other.
    public static func joined(_ parts: [HTML]) -> HTML { HTML(trusted: parts.map(\.markup).joined()) }

    /// `&`, `<`, `>`, `"` and `'` as entities; control characters, bidirectional formatting characters and
    /// noncharacters as visible `\u{…}` (as the terminal shows them), so ledger text can neither open markup
    /// nor reorder what a reader sees.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x26: out += "&amp;"
            case 0x3C: out += "&lt;"
            case 0x3E: out += "&gt;"
            case 0x22: out += "&quot;"
            case 0x27: out += "&#39;"
            case 0x0A, 0x09: out.unicodeScalars.append(scalar)
            case 0x00..<0x20, 0x7F..<0xA0, 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069,
                0xFDD0...0xFDEF:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Everything but unreserved characters (RFC 3986) and `:` percent-encoded.
    public static func percentEncoded(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
