import Foundation

/// A time when promotions to an environment stop: a weekly window in a named time zone, or an absolute
/// range. Weekly windows compare wall-clock time in their zone, which is what keeps `Fri 16:00` at 16:00
/// local on both sides of a daylight-saving change.
public struct FreezeWindow: Sendable, Equatable {
    public enum Span: Sendable, Equatable {
        /// Minutes from Monday 00:00 (wall clock) to the start and the end; wraps when `to` < `from`.
        case weekly(from: WeekTime, to: WeekTime, timeZone: String)
        /// `from` ≤ T < `to`.
        case range(from: Timestamp, to: Timestamp)
    }

    public var span: Span
    public var reason: String

    /// Whether `time` is inside the window.
    public func contains(_ time: Timestamp) -> Bool {
        switch span {
        case .range(let from, let to): return from <= time && time < to
        case .weekly(let from, let to, let zone):
            guard let zone = TimeZone(identifier: zone) else { return false }
            let now = WeekTime.of(time, in: zone).minutes
            return from.minutes < to.minutes
                ? (from.minutes <= now && now < to.minutes) : (now >= from.minutes || now < to.minutes)
        }
    }

    /// The first instant after `time` that is outside the window (`time` must be inside it).
    public func end(after time: Timestamp) -> Timestamp {
        switch span {
        case .range(_, let to): return to
        case .weekly(_, let to, let zoneName):
            guard let zone = TimeZone(identifier: zoneName) else { return time }
            let local = WeekTime.localSeconds(time, in: zone)
            let day = local.floorQuotient(86400)
            let weekday = (day + 3).floorModulo(7)  // 1970-01-01 was a Thursday (Monday = 0)
            let days = (Int64(to.minutes / 1440) - weekday).floorModulo(7)
            var wall = (day + days) * 86400 + Int64(to.minutes % 1440) * 60
            if wall <= local { wall += 7 * 86400 }
            return WeekTime.instant(wallSeconds: wall, in: zone)
        }
    }

    /// How the window reads in a verdict: "Fri 16:00 to Mon 08:00 Europe/Berlin (weekend)".
    public var description: String {
        switch span {
        case .range(let from, let to): "\(from.rfc3339) to \(to.rfc3339) (\(reason))"
        case .weekly(let from, let to, let zone): "\(from) to \(to) \(zone) (\(reason))"
        }
    }

    /// The end of the freeze `time` is in across every window (one may begin where another ends), or `nil`
    /// when `time` is in none. Bounded: windows chained for more than a year are reported at that point.
    public static func frozenUntil(_ time: Timestamp, windows: [FreezeWindow]) -> (
        until: Timestamp, window: FreezeWindow
    )? {
        guard var current = windows.first(where: { $0.contains(time) }) else { return nil }
        var until = current.end(after: time)
        for _ in 0..<64 {
            guard let next = windows.first(where: { $0.contains(until) }) else { break }
            current = next
            until = next.end(after: until)
        }
        return (until, current)
    }
}

/// A day of the week and a wall-clock time: `Fri 16:00`.
public struct WeekTime: Sendable, Equatable, CustomStringConvertible {
    static let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// Minutes since Monday 00:00.
    public var minutes: Int

    public init?(parsing text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let day = Self.days.firstIndex(of: String(parts[0])) else { return nil }
        let clock = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 2, clock[0].count == 2, clock[1].count == 2, let h = Int(clock[0]), let m = Int(clock[1]),
            (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        minutes = day * 1440 + h * 60 + m
    }

    public var description: String {
        let (h, m) = ((minutes % 1440) / 60, minutes % 60)
        return "\(Self.days[minutes / 1440]) \(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
    }

    /// Wall-clock seconds since 1970-01-01 00:00 local time.
    static func localSeconds(_ time: Timestamp, in zone: TimeZone) -> Int64 {
        time.milliseconds.floorQuotient(1000) + Int64(zone.secondsFromGMT(for: time.date))
    }

    static func of(_ time: Timestamp, in zone: TimeZone) -> WeekTime {
        let local = localSeconds(time, in: zone)
        let weekday = (local.floorQuotient(86400) + 3).floorModulo(7)
        var week = WeekTime(minutes: 0)
        week.minutes = Int(weekday) * 1440 + Int(local.floorModulo(86400) / 60)
        return week
    }

    private init(minutes: Int) { self.minutes = minutes }

    /// The instant whose wall-clock time in `zone` is `wall`; for a wall time skipped by a daylight-saving
    /// change, the change itself (the first instant at or after that wall time).
    static func instant(wallSeconds wall: Int64, in zone: TimeZone) -> Timestamp {
        func utc(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: Double(seconds)) }
        let first = wall - Int64(zone.secondsFromGMT(for: utc(wall)))
        let second = wall - Int64(zone.secondsFromGMT(for: utc(first)))
        for candidate in [min(first, second), max(first, second)]
        where candidate + Int64(zone.secondsFromGMT(for: utc(candidate))) == wall {
            return Timestamp(milliseconds: candidate * 1000)
        }
        // In a gap: the transition between the two readings.
        let transition = zone.nextDaylightSavingTimeTransition(after: utc(min(first, second)))
        return transition.map(Timestamp.init) ?? Timestamp(milliseconds: max(first, second) * 1000)
    }
}
