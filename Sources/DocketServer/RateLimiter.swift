import Foundation
import Synchronization

/// Token buckets by name (a key ID, a client address): `rate` requests a second on average, bursts up to
/// `burst`. A bucket full again is forgotten, so the table holds only those who are sending now.
final class RateLimiter: Sendable {
    let rate: Double
    let burst: Double
    private let buckets = Mutex<[String: (tokens: Double, at: ContinuousClock.Instant)]>([:])

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes one token for `name`; nil when allowed, or the whole seconds to wait before one is available.
    func take(_ name: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard rate > 0 else { return nil }
        return buckets.withLock { buckets in
            var (tokens, at) = buckets[name] ?? (burst, now)
            let elapsed = Double((now - at).components.seconds) + Double((now - at).components.attoseconds) / 1e18
            tokens = min(burst, tokens + elapsed * rate)
            if buckets.count > 100_000 { buckets = buckets.filter { $0.value.tokens < burst } }
            guard tokens >= 1 else {
                buckets[name] = (tokens, now)
                return max(1, Int(((1 - tokens) / rate).rounded(.up)))
            }
            buckets[name] = (tokens - 1, now)
            return nil
        }
    }
}
