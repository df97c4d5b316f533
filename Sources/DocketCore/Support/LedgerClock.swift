import Foundation

/// Where the ledger reads the time. Injected so tests and replays control it.
public protocol LedgerClock: Sendable {
    func now() -> Timestamp
}

/// The machine's clock.
public struct SystemClock: LedgerClock {
    public init() {}
    public func now() -> Timestamp { .now() }
}
