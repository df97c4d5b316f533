/// Durations as people write them in policies and options: `90s`, `30m`, `24h`, `7d`, or combined `1h30m`.
public struct PolicyDuration: Hashable, Sendable, CustomStringConvertible {
    public let seconds: Int64

    /// A hundred years: the longest duration accepted anywhere.
    public static let maximum: Int64 = 100 * 366 * 86400

    public init(seconds: Int64) { self.seconds = seconds }

    /// `nil` unless the text is one or more `<number><unit>` groups with units s, m, h, d.
    public init?(parsing text: String) {
        var total: Int64 = 0
        var number: Int64? = nil
        var sawGroup = false
        for c in text {
            if let digit = c.wholeNumberValue, c.isASCII {
                let (m, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (n, o2) = m.addingReportingOverflow(Int64(digit))
                guard !o1, !o2 else { return nil }
                number = n
                continue
            }
            let unit: Int64
            switch c {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            guard let n = number else { return nil }
            let (product, overflow) = n.multipliedReportingOverflow(by: unit)
            guard !overflow, product <= Self.maximum else { return nil }
            total += product
            guard total <= Self.maximum else { return nil }
            number = nil
            sawGroup = true
        }
        guard sawGroup, number == nil else { return nil }
        seconds = total
    }

    /// The shortest human form: `1d2h`, `3h12m`, `45s`, `0s`.
    public var description: String { Self.format(seconds: seconds) }

    public static func format(seconds total: Int64) -> String {
        if total <= 0 { return "0s" }
        var rest = total
        var parts: [String] = []
        for (unit, name) in [(Int64(86400), "d"), (3600, "h"), (60, "m"), (1, "s")] where rest >= unit {
            parts.append("\(rest / unit)\(name)")
            rest %= unit
        }
        return parts.joined()
    }
}
