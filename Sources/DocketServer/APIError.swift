import DocketCore
import Foundation
import HTTPTypes

/// An error answer (schemas/server-error.schema.json): `{"error": {"code", "message", …}}` with its HTTP status.
/// `code` is stable for programs; `message` is the same sentence the CLI prints for the same problem.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// Seconds a client should wait before trying again (429, 503).
    var retryAfter: Int? = nil
    /// For a promotion the gate refused: the verdict, as `docket gate --json` prints it.
    var verdict: GateVerdict? = nil

    static let shuttingDown = APIError(
        status: .serviceUnavailable, code: "shutting-down", message: "the server is shutting down; try again shortly",
        retryAfter: 2)

    static func queueFull(capacity: Int) -> APIError {
        APIError(
            status: .serviceUnavailable, code: "queue-full",
            message: "the server's write queue is full (\(capacity) envelopes); try again shortly", retryAfter: 1)
    }

    static func tooLarge(limit: Int, what: String) -> APIError {
        APIError(
            status: .contentTooLarge, code: "too-large",
            message: "\(what) is larger than the server's limit of \(limit) bytes")
    }

    static func rateLimited(_ who: String, retryAfter: Int) -> APIError {
        APIError(
            status: .tooManyRequests, code: "rate-limited",
            message: "too many requests from \(who); try again in \(retryAfter) s", retryAfter: retryAfter)
    }

    static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "bad-request", message: message)
    }

    static func notFound(_ message: String) -> APIError {
        APIError(status: .notFound, code: "not-found", message: message)
    }

    /// The answer for an error from the ledger: 400 for what the request got wrong, 403 for a signer the ledger
    /// does not let sign it, 409 for what the ledger's rules refuse, 500 for the server's own failures.
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let problem as PreparedEnvelope.Problem:
            switch problem {
            case .unknownKey: self.init(status: .forbidden, code: "unknown-key", message: problem.description)
            case .badSignature: self.init(status: .badRequest, code: "bad-signature", message: problem.description)
            case .malformed: self.init(status: .badRequest, code: "malformed", message: problem.description)
            case .wrongLedger: self.init(status: .badRequest, code: "wrong-ledger", message: problem.description)
            }
        case LedgerError.gateRefused(let verdict):
            self.init(
                status: .conflict, code: "gate-refused", message: "\(LedgerError.gateRefused(verdict))",
                verdict: verdict)
        case LedgerError.refused(let refusal):
            switch refusal {
            case .keyRevoked, .missingRole, .unknownSigner, .workload:
                self.init(status: .forbidden, code: "not-authorised", message: "refused: \(refusal)")
            case .foreignLedger, .foreignLedgerID, .ledgerIDMissing, .unknownEnvironment:
                self.init(status: .badRequest, code: "wrong-ledger", message: "refused: \(refusal)")
            default:
                self.init(status: .conflict, code: "refused", message: "refused: \(refusal)")
            }
        case let unavailable as StoreUnavailable:
            self.init(
                status: .serviceUnavailable, code: "store-unavailable", message: unavailable.description, retryAfter: 1)
        case let failure as DocketFailure where failure.category == .badInput:
            self.init(status: .badRequest, code: "bad-input", message: failure.description)
        case let failure as DocketFailure where failure.category == .refused:
            self.init(status: .conflict, code: "refused", message: failure.description)
        default:
            self.init(status: .internalServerError, code: "internal", message: "the server failed: \(error)")
        }
    }

    init(
        status: HTTPResponse.Status, code: String, message: String, retryAfter: Int? = nil,
        verdict: GateVerdict? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.verdict = verdict
    }

    /// The JSON body.
    var body: Data {
        struct Body: Encodable {
            struct Inner: Encodable {
                var code: String
                var message: String
                var status: Int
                var retryAfter: Int?
                var verdict: GateVerdict?
            }
            var error: Inner
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return
            (try? encoder.encode(
                Body(
                    error: .init(
                        code: code, message: message, status: status.code, retryAfter: retryAfter, verdict: verdict))))
            ?? Data(#"{"error":{"code":"internal","message":"unencodable error","status":500}}"#.utf8)
    }
}
