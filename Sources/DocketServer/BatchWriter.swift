import DocketCore
import Foundation
import Synchronization

/// The one writer of a served ledger (DESIGN §8): envelopes whose signatures were checked on their requests'
/// tasks queue here, and a thread of its own appends them in arrival order, as many as are waiting (up to
/// ``Limits/batchSize``, after lingering ``Limits/batchLinger`` for more), in one transaction with one fsync and
/// one checkpoint (``Ledger/appendEach(_:)``, the same pipeline as every append). Each request is answered
/// only after its batch committed, so an acknowledged envelope survives a crash.
final class BatchWriter: @unchecked Sendable {
    /// What became of one envelope.
    enum Outcome: Sendable {
        /// In the ledger: the receipt's fields, and the checkpoint of the batch (which covers it).
        case appended(AppendReceipt, checkpoint: String, size: Int, proven: (entry: Data, proof: InclusionProof)?)
        case refused(APIError)
    }

    struct Limits: Sendable {
        var batchSize = 256
        var batchLinger: Duration = .milliseconds(5)
        var queueCapacity = 4096
    }

    private struct Waiting {
        var envelope: PreparedEnvelope
        var reply: CheckedContinuation<Outcome, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var accepting = true
        var finished = false
        var keys: KnownKeys
        var failed: String?
        /// Requests whose envelopes are being read and checked: soon in the queue.
        var preparing = 0
        /// The largest tree this writer committed or heard of.
        var size = 0
        /// Another server sharing the store committed since the keys were read: read them again.
        var keysStale = false
    }

    private let ledger: Ledger
    private let limits: Limits
    private let metrics: ServerMetrics
    private let state: Mutex<State>
    /// Signalled once per queued envelope and on shutdown; the writer thread sleeps on it.
    private let wake = DispatchSemaphore(value: 0)
    let origin: String
    let ledgerID: String

    init(ledger: Ledger, limits: Limits, metrics: ServerMetrics) throws {
        self.ledger = ledger
        self.limits = limits
        self.metrics = metrics
        state = Mutex(State(keys: try ledger.knownKeys(), size: try ledger.treeSize()))
        origin = ledger.origin
        ledgerID = try ledger.ledgerID()
        let thread = Thread { [self] in loop() }
        thread.name = "docket-writer"
        thread.start()
    }

    /// What a request checks an envelope against before queueing it: the keys as of the last batch.
    var expectation: PreparedEnvelope.Expectation {
        PreparedEnvelope.Expectation(origin: origin, ledgerID: ledgerID, keys: state.withLock { $0.keys })
    }

    /// Whether the writer takes envelopes (not shutting down, and its last transaction did not fail).
    var isReady: Bool { state.withLock { $0.accepting && $0.failed == nil } }

    /// Another server sharing the store committed a checkpoint of `size` entries: if it is newer than this
    /// writer's, the keys are read again (it may have enrolled or revoked one) before the next batch.
    func committedElsewhere(size: Int) {
        let newer = state.withLock { state in
            guard size > state.size else { return false }
            state.size = size
            state.keysStale = true
            return true
        }
        if newer {
            metrics.peerCheckpoints.increment()
            wake.signal()
        }
    }

    /// Runs `prepare` (reading and checking an envelope) counted as on its way to the queue, so the writer
    /// lingers for it rather than commit a batch without it.
    func preparing<T>(_ prepare: () throws -> T) rethrows -> T {
        state.withLock { $0.preparing += 1 }
        defer { state.withLock { $0.preparing -= 1 } }
        return try prepare()
    }

    /// Queues `envelope` and waits for its batch to commit. Throws ``APIError`` (503) when the queue is full or
    /// the server is shutting down.
    func submit(_ envelope: PreparedEnvelope) async throws -> Outcome {
        try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Outcome, any Error>) in
            let refusal: APIError? = state.withLock { state in
                guard state.accepting else { return APIError.shuttingDown }
                guard state.queue.count < limits.queueCapacity else {
                    return APIError.queueFull(capacity: limits.queueCapacity)
                }
                state.queue.append(Waiting(envelope: envelope, reply: reply))
                metrics.queueDepth.set(Double(state.queue.count))
                return nil
            }
            if let refusal { reply.resume(throwing: refusal) } else { wake.signal() }
        }
    }

    /// Stops taking envelopes, commits every one already queued, and returns when the writer thread has ended.
    func drain() async {
        state.withLock { $0.accepting = false }
        wake.signal()
        while !state.withLock({ $0.finished }) { try? await Task.sleep(for: .milliseconds(5)) }
    }

    private func loop() {
        while true {
            if state.withLock({ $0.keysStale }) { refreshKeys() }
            let (count, accepting) = state.withLock { ($0.queue.count, $0.accepting) }
            if count == 0 {
                if !accepting {
                    state.withLock { $0.finished = true }
                    return
                }
                // Signalled once per queued envelope, so this may return at once for envelopes already taken:
                // the loop then finds the queue empty and waits again.
                wake.wait()
                continue
            }
            // Group commit: while envelopes are on their way (their requests being checked) and the batch is not
            // full, linger for them, at most `batchLinger`. A lone client's envelope is committed at once.
            let deadline = ContinuousClock.now + limits.batchLinger
            while accepting, ContinuousClock.now < deadline,
                state.withLock({ $0.preparing > 0 && $0.queue.count < limits.batchSize })
            {
                Thread.sleep(forTimeInterval: 0.0002)
            }
            let batch = state.withLock { state in
                let batch = Array(state.queue.prefix(limits.batchSize))
                state.queue.removeFirst(batch.count)
                metrics.queueDepth.set(Double(state.queue.count))
                return batch
            }
            commit(batch)
        }
    }

    private func commit(_ batch: [Waiting]) {
        let started = ContinuousClock.now
        var outcomes: [Outcome]
        do {
            let result = try ledger.appendEach(batch.map(\.envelope))
            outcomes = result.results.map { one in
                switch one {
                case .success(let receipt):
                    .appended(
                        receipt, checkpoint: result.checkpointNote, size: result.size,
                        proven: result.proven[receipt.index])
                case .failure(let error): .refused(APIError(error))
                }
            }
            let keys = result.changedKeys ? try ledger.knownKeys() : nil
            state.withLock { state in
                state.failed = nil
                state.size = max(state.size, result.size)
                if let keys { state.keys = keys }
            }
        } catch {
            // The transaction rolled back: nothing of this batch is in the ledger, and each client is told so.
            // A database out of reach is answered 503 and is not the writer's failure: the next batch tries again.
            outcomes = Array(repeating: .refused(APIError(error)), count: batch.count)
            if !(error is StoreUnavailable) { state.withLock { $0.failed = "\(error)" } }
        }
        metrics.batchSizes.record(Double(batch.count))
        metrics.batchDuration.record(ContinuousClock.now - started)
        for (waiting, outcome) in zip(batch, outcomes) { waiting.reply.resume(returning: outcome) }
    }

    /// Reads the enrolled keys again (after another server committed); kept as they were if that fails.
    private func refreshKeys() {
        state.withLock { $0.keysStale = false }
        guard let keys = try? ledger.knownKeys() else { return }
        state.withLock { $0.keys = keys }
    }
}
