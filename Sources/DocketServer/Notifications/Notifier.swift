import DocketCore
import Foundation
import Logging
import ServiceLifecycle

/// Delivers every appended entry to each webhook, at least once and in log order, never in the way of an append.
///
/// The queue is the log itself: each webhook's position (the index of the next entry to deliver) is a row of the
/// store, held by one server at a time with a lease (``DeliveryPositions``), so servers sharing a database deliver
/// each entry once between them. An entry is sent, the receiver answers 2xx, then the position moves; so a crash
/// or restart between the two sends that entry again (a receiver deduplicates by the event's `id`, the entry's
/// leaf hash), and nothing appended is ever skipped. A server that stops holding a lease (killed, cut off from
/// the database) hands the webhook to another after at most 30 s. A receiver that fails or
/// cannot be reached is retried with exponential backoff (1 s doubling to 5 min, with jitter) while the others go
/// on. Delivery reads through the reader pool, so the writer never waits for it.
struct Notifier: Service {
    let state: ServerState
    let settings: NotificationSettings
    let positions: DeliveryPositions
    /// How often an idle webhook looks for new entries.
    var poll: Duration = .milliseconds(200)
    var maximumBackoff: Duration = .seconds(300)

    func run() async throws {
        let sender = NotificationSender()
        let origin = try await state.readers.read { $0.origin }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for webhook in settings.webhooks {
                    group.addTask { await deliver(to: webhook, origin: origin, sender: sender) }
                }
            }
        }
        await sender.shutdown()
    }

    private func deliver(to webhook: Webhook, origin: String, sender: NotificationSender) async {
        let legacy = Position(folder: settings.state, webhook: webhook.name)
        let logger = state.logger
        var failures = 0
        while !Task.isCancelled {
            let leased: Int?
            do {
                leased = try await positions.lease(webhook, legacy: legacy)
            } catch let error as NotificationError {
                logger.error("notifications stopped", metadata: ["webhook": "\(webhook.name)", "error": "\(error)"])
                return
            } catch {
                // The store is unavailable: try again later.
                logger.warning(
                    "webhook lease not taken", metadata: ["webhook": "\(webhook.name)", "error": "\(error)"])
                failures += 1
                try? await Task.sleep(for: backoff(after: failures))
                continue
            }
            guard let index = leased else {
                // Another server sharing the database delivers this webhook now; take over if its lease lapses.
                try? await Task.sleep(for: poll * 5)
                continue
            }
            let size = (try? await state.readers.read { try $0.treeSize() }) ?? index
            state.metrics.notificationBacklog(webhook.name, max(0, size - index))
            guard index < size else {
                try? await Task.sleep(for: poll)
                continue
            }
            let notification: Notification?
            do {
                notification = try await state.readers.read { ledger -> Notification? in
                    guard let receipt = try ledger.receipt(at: index) else { return nil }
                    guard webhook.wants(receipt.kind) else { return nil }
                    return try Notification(receipt: receipt, origin: origin)
                }
            } catch {
                // The store is unavailable (or the entry unreadable): try again later, never skip.
                logger.warning("notification not built", metadata: ["index": "\(index)", "error": "\(error)"])
                try? await Task.sleep(for: backoff(after: failures + 1))
                failures += 1
                continue
            }
            if let notification {
                let outcome = await sender.send(notification, to: webhook)
                switch outcome {
                case .delivered: state.metrics.notification(webhook.name, "delivered")
                case .refused(let status):
                    state.metrics.notification(webhook.name, "refused")
                    logger.notice(
                        "webhook refused",
                        metadata: ["webhook": "\(webhook.name)", "status": "\(status)", "index": "\(index)"])
                case .unreachable(let why):
                    state.metrics.notification(webhook.name, "unreachable")
                    logger.notice(
                        "webhook unreachable",
                        metadata: ["webhook": "\(webhook.name)", "error": "\(why)", "index": "\(index)"])
                }
                guard outcome.delivered else {
                    failures += 1
                    try? await Task.sleep(for: backoff(after: failures))
                    continue
                }
            }
            failures = 0
            do {
                if try await !positions.advance(webhook, to: index + 1) {
                    logger.notice("webhook lease lost after a delivery", metadata: ["webhook": "\(webhook.name)"])
                }
            } catch {
                // Not recorded: the entry is delivered again later (receivers deduplicate by the event's id).
                logger.error(
                    "notification position not saved", metadata: ["webhook": "\(webhook.name)", "error": "\(error)"])
            }
        }
    }

    /// 1 s, 2 s, 4 s … up to ``maximumBackoff``, each between half and all of that (so receivers that come back are
    /// not hit by every server at once).
    func backoff(after failures: Int) -> Duration {
        let seconds = min(Double(maximumBackoff.components.seconds), pow(2, Double(min(failures, 20) - 1)))
        return .milliseconds(Int64(seconds * 1000 * Double.random(in: 0.5...1)))
    }
}

extension NotificationSettings {
    /// Creates the state folder and reads every position file before the server starts: a damaged one is bad
    /// input, reported before anything listens.
    public func prepareState() throws {
        do {
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        } catch {
            throw NotificationError("cannot create the notification state folder \(state): \(error)")
        }
        for webhook in webhooks { _ = try Position(folder: state, webhook: webhook.name).load() }
    }
}

/// A webhook's delivery position as an earlier version kept it, in a file of its own: read once, when the
/// webhook's row is created, so an upgraded server goes on where the old one stopped.
struct Position {
    let path: String

    init(folder: String, webhook: String) { path = folder + "/" + webhook + ".position" }

    func load() throws -> Int? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let next = Int(text), next >= 0 else {
            throw NotificationError(
                "\(path) does not hold a delivery position (an entry index); remove it to start that webhook at the end of the log"
            )
        }
        return next
    }
}

/// Notification settings or state that cannot be used (bad input: exit 2 before the server starts).
public struct NotificationError: DocketFailure {
    public var description: String
    public var category: FailureCategory { .badInput }
    init(_ description: String) { self.description = description }
}
