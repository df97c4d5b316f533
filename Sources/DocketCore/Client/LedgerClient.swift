import Foundation

/// What a command needs of a ledger (DESIGN §13): its identity to sign for, a way to submit envelopes, answers to
/// questions, and its latest checkpoint. Two implementations: ``LocalLedgerClient`` over a ledger at hand (a file,
/// a PostgreSQL database, a verified replica of a server), and the server client in `DocketClient`, whose cost per
/// command does not grow with the ledger. Commands speak this protocol and never ask which one they have.
public protocol LedgerClient: AnyObject {
    /// What envelopes are signed for: origin, ledger ID, log key (and the size as last seen).
    func identity() throws -> LedgerDescription
    /// Appends envelopes in order, each with its receipt; a refusal throws and stops the rest. A local ledger takes
    /// them in one transaction (all or none).
    func submit(_ envelopes: [(data: Data, source: String)]) throws -> [AppendReceipt]
    /// The answer to `question`, computed by the one implementation of that question.
    func ask<Q: LedgerQuestion>(_ question: Q) throws -> Q.Answer
    /// The latest signed checkpoint note.
    func checkpoint() throws -> String
    /// The size of the log the last answer was computed from, when it came from elsewhere ("as of entry N").
    var answeredAt: Int? { get }
}

/// A ledger at hand: answers are computed here, appends are this process's own transactions.
public final class LocalLedgerClient: LedgerClient {
    public let ledger: Ledger
    let summarize: (LedgerEvent) -> String

    public init(ledger: Ledger, summarize: @escaping (LedgerEvent) -> String) {
        self.ledger = ledger
        self.summarize = summarize
    }

    public func identity() throws -> LedgerDescription { try ledger.describe() }

    public func submit(_ envelopes: [(data: Data, source: String)]) throws -> [AppendReceipt] {
        envelopes.count == 1
            ? [try ledger.append(envelopes[0].data, source: envelopes[0].source)] : try ledger.appendBatch(envelopes)
    }

    public func ask<Q: LedgerQuestion>(_ question: Q) throws -> Q.Answer {
        try ledger.answer(question, summarize: summarize)
    }

    public func checkpoint() throws -> String { try ledger.checkpointNote() }

    public var answeredAt: Int? { nil }
}
