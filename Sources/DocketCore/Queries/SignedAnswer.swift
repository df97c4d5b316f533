import Foundation

/// A server's answer to a question, bound to the checkpoint it was computed at and signed (DESIGN §13): a server
/// that answers falsely hands its users evidence against itself (`docket verify --answer FILE`).
///
/// The question, the answer and the checkpoint are kept as the exact texts that were signed (JSON and a signed
/// note), never re-encoded. The signature is the log key's Ed25519 signature over ``message``, which begins
/// with `docket-answer/v1` and a NUL byte: a signed note's text never holds a NUL, so no answer signature can be
/// taken for a checkpoint signature, nor the other way round. Schema: schemas/answer.schema.json.
public struct SignedAnswer: Codable, Sendable, Equatable {
    public static let format = "docket-answer/v1"

    public var format: String
    /// The question's name (``LedgerQuestion/name``).
    public var question: String
    /// The question as JSON text.
    public var parameters: String
    /// The answer as JSON text.
    public var answer: String
    /// The ledger time the answer was computed at (RFC 3339, milliseconds).
    public var time: String
    /// The signed checkpoint note whose entries, and nothing after them, the answer was computed from.
    public var checkpoint: String
    /// Base64 of the log key's Ed25519 signature over ``message``.
    public var signature: String

    /// What is signed: `docket-answer/v1`, NUL, then SHA-256 of each of question, parameters, answer, time and
    /// checkpoint, in that order.
    public var message: Data {
        var data = Data(Self.format.utf8) + Data([0])
        for part in [question, parameters, answer, time, checkpoint] { data += SHA256.hash(Data(part.utf8)) }
        return data
    }

    /// Signs an answer with the log key.
    init(question: String, parameters: Data, answer: Data, time: Timestamp, checkpoint: String, key: SigningKey) {
        format = Self.format
        self.question = question
        self.parameters = String(decoding: parameters, as: UTF8.self)
        self.answer = String(decoding: answer, as: UTF8.self)
        self.time = time.rfc3339
        self.checkpoint = checkpoint
        signature = ""
        signature = key.sign(message).base64EncodedString()
    }

    /// Checks the signature and the checkpoint against the log key; returns the checkpoint. Throws
    /// ``AnswerError`` naming what does not hold.
    public func verified(logKey: NoteVerifierKey, source: String) throws -> Checkpoint {
        guard format == Self.format else {
            throw AnswerError.unreadable(source: source, reason: "format is not \(Self.format)")
        }
        guard let signature = Data(anyBase64: signature),
            logKey.publicKey.isValidSignature(signature, for: message)
        else { throw AnswerError.badSignature(source: source) }
        do {
            return try Checkpoint.verified(text: checkpoint, logKey: logKey, source: "\(source)'s checkpoint").0
        } catch {
            throw AnswerError.unreadable(source: source, reason: "its checkpoint does not verify: \(error)")
        }
    }

    /// The ledger time of the answer.
    public var timestamp: Timestamp? { Timestamp(rfc3339: time) }

    /// Reads a saved answer (untrusted bytes).
    public init(parsing data: Data, source: String) throws {
        do {
            self = try JSONDecoder().decode(SignedAnswer.self, from: data)
        } catch {
            throw AnswerError.unreadable(
                source: source, reason: (error as? DecodingError)?.readable ?? "\(error)")
        }
    }

    /// The answer decoded as `Q`'s.
    public func decoded<Q: LedgerQuestion>(_ type: Q.Type, source: String) throws -> Q.Answer {
        guard question == Q.name else {
            throw AnswerError.unreadable(source: source, reason: "it answers \(question), not \(Q.name)")
        }
        do {
            return try JSONDecoder().decode(Q.Answer.self, from: Data(answer.utf8))
        } catch {
            throw AnswerError.unreadable(
                source: source,
                reason: "its answer is not a \(Q.name) answer: \((error as? DecodingError)?.readable ?? "\(error)")")
        }
    }
}

/// Why a signed answer cannot be used, or does not hold.
public enum AnswerError: DocketFailure, Equatable {
    case unreadable(source: String, reason: String)
    case badSignature(source: String)
    /// The replayed log gives another answer: the server lied, and its signature proves it.
    case contradicted(source: String, question: String, size: Int)
    /// The ledger or bundle given does not reach the answer's checkpoint, or disagrees with it.
    case notThisLog(source: String, reason: String)

    public var category: FailureCategory {
        switch self {
        case .unreadable: .badInput
        case .badSignature, .contradicted: .refused
        case .notThisLog: .refused
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let source, let reason): "\(source) is not a signed answer: \(reason)"
        case .badSignature(let source):
            "\(source): the answer's signature is not the log key's; it proves nothing about the server"
        case .contradicted(let source, let question, let size):
            "\(source): the log up to entry \(size - 1) does not give this \(question) answer: the server signed a false answer (keep \(source) as evidence)"
        case .notThisLog(let source, let reason): "\(source): \(reason)"
        }
    }
}
