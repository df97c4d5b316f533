import DocketCore
import Foundation

/// Where each webhook's delivery stands: a row of the store per webhook, taken with a lease (`Ledger+Webhooks`),
/// so servers sharing a database deliver each entry once between them. Blocking store calls run on a dispatch
/// queue of their own, on a read-write connection of their own (opened on first use, again after an outage).
final class DeliveryPositions: @unchecked Sendable {
    private let source: LedgerSource
    private let queue = DispatchQueue(label: "docket-webhook-positions")
    /// Only touched on ``queue``.
    private var ledger: Ledger?
    /// This server, as the rows name the lease's holder.
    let holder = "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UUID().uuidString.prefix(8))"

    init(source: LedgerSource) { self.source = source }

    /// The next entry to deliver to `webhook` while this server holds its lease (taken or renewed now), or nil
    /// while another server's runs. A webhook seen for the first time starts where its position file from an
    /// earlier version says, else at the beginning or the end of the log as configured.
    func lease(_ webhook: Webhook, legacy: Position) async throws -> Int? {
        let holder = self.holder
        return try await run { ledger in
            try ledger.leaseWebhook(webhook.name, holder: holder) {
                if let saved = try legacy.load() {
                    let size = try ledger.treeSize()
                    guard saved <= size else {
                        throw NotificationError(
                            "\(legacy.path) says entry \(saved) is next but the log has \(size) entries: it belongs to another ledger; remove it"
                        )
                    }
                    return saved
                }
                return webhook.fromBeginning ? 0 : try ledger.treeSize()
            }
        }
    }

    /// Records that `webhook` delivered everything before `next`; false if this server lost the lease meanwhile.
    func advance(_ webhook: Webhook, to next: Int) async throws -> Bool {
        let holder = self.holder
        return try await run { try $0.advanceWebhook(webhook.name, holder: holder, to: next) }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (Ledger) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(
                    with: Result {
                        do {
                            let ledger = try self.ledger ?? opened()
                            return try body(ledger)
                        } catch let error as StoreUnavailable {
                            self.ledger = nil  // opened again on the next call
                            throw error
                        }
                    })
            }
        }
    }

    private func opened() throws -> Ledger {
        let ledger = try source.open(false)
        try ledger.prepareWebhookPositions()
        self.ledger = ledger
        return ledger
    }
}
