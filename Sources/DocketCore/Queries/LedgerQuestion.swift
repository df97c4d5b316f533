import Foundation

/// A question a client asks a ledger (DESIGN §13): `status`, `gate`, `pending`… Each is answered by one
/// implementation, here, whether the ledger is a local file, a server answering over HTTP, or a replay that
/// checks a server's signed answer (`docket verify --answer`). The CLI renders the answer; the server encodes it.
///
/// A question is `Codable` so that it can be sent (the body of `POST /api/v1/ask/NAME`) and kept in a saved
/// answer; its answer is `Codable` so that the client reads what the server computed.
public protocol LedgerQuestion: Codable, Sendable {
    associatedtype Answer: Codable & Sendable
    /// The question's name: the path of `/api/v1/ask/NAME` and the `question` of a saved answer.
    static var name: String { get }
    /// The answer from the ledger as `reader` sees it.
    func answer(_ reader: QueryReader) throws -> Answer
}

/// What a question reads: the ledger (inside one read snapshot, so the answer and its checkpoint agree), the
/// ledger time the answer is given at, and how an event is summarised in one line.
public struct QueryReader {
    public let ledger: Ledger
    /// The ledger time of the answer: the server's clock, never before the last entry (``Ledger/ledgerTime()``).
    public let time: Timestamp
    public let summarize: (LedgerEvent) -> String

    public init(ledger: Ledger, time: Timestamp, summarize: @escaping (LedgerEvent) -> String) {
        self.ledger = ledger
        self.time = time
        self.summarize = summarize
    }

    func records(_ events: [LedgerEvent]) throws -> [EventRecord] {
        try events.map { try EventRecord($0, summary: summarize($0)) }
    }
}

/// Why a question cannot be answered as asked: bad input (a name the ledger does not know) or a "no".
public struct QueryFailure: DocketFailure, Equatable {
    public var description: String
    public var category: FailureCategory

    public static func badInput(_ message: String) -> QueryFailure {
        QueryFailure(description: message, category: .badInput)
    }

    public static func no(_ message: String) -> QueryFailure { QueryFailure(description: message, category: .refused) }
}

/// Every question a server answers, by name: decode the question, answer it, encode the answer.
public enum Questions {
    public typealias Handler = @Sendable (Data, QueryReader) throws -> Data

    /// The questions, in the order the API lists them.
    public static let all: [any LedgerQuestion.Type] = [
        StatusQuestion.self, GateQuestion.self, PendingQuestion.self, HistoryQuestion.self, TagHistoryQuestion.self,
        LogQuestion.self, PolicyQuestion.self, KeysQuestion.self, DescribeQuestion.self, ResolveQuestion.self,
        PromotionQuestion.self, ApprovalWarningsQuestion.self,
        CheckWarningQuestion.self, RollbackQuestion.self, ActiveKeyQuestion.self, PolicyContextQuestion.self,
        TrustedIssuersQuestion.self,
    ]

    static let handlers: [String: Handler] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name, handler(for: $0)) })

    /// The handler for the question named `name`, or nil when there is none.
    public static func handler(named name: String) -> Handler? { handlers[name] }

    private static func handler<Q: LedgerQuestion>(for type: Q.Type) -> Handler {
        { body, reader in
            let question: Q
            do {
                question = try JSONDecoder().decode(Q.self, from: body)
            } catch {
                throw QueryFailure.badInput(
                    "the \(Q.name) question is not readable: \((error as? DecodingError)?.readable ?? "\(error)")")
            }
            return try encoder.encode(try question.answer(reader))
        }
    }

    /// Answers are encoded one way everywhere (sorted keys), so a replay produces the same bytes.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
