import Foundation

/// A point in ledger time: whole milliseconds since the Unix epoch, UTC.
///
/// Entries carry it as RFC 3339 with exactly three fractional digits and a `Z`
/// (`2026-11-29T05:29:48.123Z`); ``rfc3339`` and ``init(rfc3339:)`` round-trip that form exactly.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public init(_ date: Date) { milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    public static func now() -> Timestamp { Timestamp(Date()) }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.milliseconds < b.milliseconds }

    /// Saturating: durations are bounded, but a time read from outside may sit near the edge of the range.
    public func adding(seconds: Int64) -> Timestamp {
        let (ms, o1) = seconds.multipliedReportingOverflow(by: 1000)
        let (sum, o2) = milliseconds.addingReportingOverflow(ms)
        if o1 || o2 { return Timestamp(milliseconds: seconds < 0 ? Int64.min / 2 : Int64.max / 2) }
        return Timestamp(milliseconds: sum)
    }

    /// The last instant RFC 3339 can write (year 9999).
    static let latest = Timestamp(milliseconds: 253_402_300_799_999)

    public var description: String { rfc3339 }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public var rfc3339: String {
        let (days, msOfDay) = milliseconds.floorDivided(by: 86_400_000)
        let (y, m, d) = Self.civil(fromDays: days)
        let seconds = msOfDay / 1000
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):"
            + "\(pad(seconds % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }

    /// Parses the strict entry form written by ``rfc3339`` (`YYYY-MM-DDTHH:MM:SS.mmmZ`, 24 bytes); `nil` for
    /// anything else.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        guard b.count == 24, b[19] == UInt8(ascii: "."), b[23] == UInt8(ascii: "Z"),
            let ms = Self.milliseconds(dateTime: b)
        else { return nil }
        milliseconds = ms
    }

    /// Parses the RFC 3339 date-times a signer may write (`time`, `expiresAt`, freeze ranges):
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, upper-case `T` and `Z` (the form the independent verifier
    /// reads; RFC 3339's lower-case variants and `±HHMM` are refused), rounded down to the millisecond, between
    /// 1970 and the end of year 9999. `nil` for anything else.
    public init?(lenient text: String) {
        guard let ms = Self.milliseconds(dateTime: Array(text.utf8)), ms >= 0, ms <= Self.latest.milliseconds
        else { return nil }
        milliseconds = ms
    }

    /// The one date-time grammar both initialisers read, over bytes: milliseconds since 1970 (negative before),
    /// or `nil`.
    private static func milliseconds(dateTime b: [UInt8]) -> Int64? {
        func digits(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= b.count else { return nil }
            var value: Int64 = 0
            for i in range {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                value = value * 10 + Int64(b[i] - 48)
            }
            return value
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let y = digits(0..<4), let mo = digits(5..<7), let d = digits(8..<10), let h = digits(11..<13),
            let mi = digits(14..<16), let sec = digits(17..<19),
            (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 60
        else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            let start = i + 1
            i = start
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            guard i > start, i - start <= 64 else { return nil }
            fraction = digits(start..<min(i, start + 3)) ?? 0
            for _ in 0..<max(0, 3 - (i - start)) { fraction *= 10 }
        }
        let offset: Int64
        if i == b.count - 1, b[i] == UInt8(ascii: "Z") {
            offset = 0
        } else if i == b.count - 6, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"),
            b[i + 3] == UInt8(ascii: ":"), let oh = digits(i + 1..<i + 3), let om = digits(i + 4..<i + 6), oh <= 23,
            om <= 59
        {
            offset = (b[i] == UInt8(ascii: "+") ? 1 : -1) * (oh * 60 + om) * 60_000
        } else {
            return nil
        }
        let day = days(fromCivil: y, mo, d)
        guard civil(fromDays: day) == (y, mo, d) else { return nil }
        return ((day * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + fraction - offset
    }

    // Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar.
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

extension Timestamp: Codable {
    /// Encoded as RFC 3339 with milliseconds, the form entries carry.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let time = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "`\(text)` is not an RFC 3339 time")
        }
        self = time
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}
