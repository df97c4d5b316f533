import DocketCore
import Foundation

/// Read-only connections to the served ledger, used off the request tasks: SQLite calls block, so each read
/// runs on a dispatch thread with a connection of its own, never on Swift's cooperative threads. WAL mode lets
/// every reader see a consistent snapshot while the writer appends.
final class ReaderPool: @unchecked Sendable {
    private let source: LedgerSource
    private let maximum: Int
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var idle: [Ledger] = []
    private var open = 0
    private let queue = DispatchQueue(label: "docket-readers", attributes: .concurrent)

    init(source: LedgerSource, maximum: Int = 8) {
        self.source = source
        self.maximum = maximum
    }

    /// Runs `body` with a read-only ledger on a reader thread.
    func read<T: Sendable>(_ body: @escaping @Sendable (Ledger) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(with: Result { try withLedger(body) })
            }
        }
    }

    private func withLedger<T>(_ body: (Ledger) throws -> T) throws -> T {
        condition.lock()
        while idle.isEmpty && open >= maximum { condition.wait() }
        let ledger: Ledger
        if let reused = idle.popLast() {
            ledger = reused
            condition.unlock()
        } else {
            open += 1
            condition.unlock()
            do {
                ledger = try source.open(true)
            } catch {
                condition.lock()
                open -= 1
                condition.signal()
                condition.unlock()
                throw error
            }
        }
        defer {
            condition.lock()
            idle.append(ledger)
            condition.signal()
            condition.unlock()
        }
        return try body(ledger)
    }
}
