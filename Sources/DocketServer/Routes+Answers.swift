import DocketCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// How every route answers: tokens checked, errors turned into their JSON answers and counted, bodies made.
extension Routes {
    // MARK: Answers

    /// Checks the bearer token when the server asks for one: any of `tokens` (a write token also reads: a client
    /// proves its receipt and extends its mirror).
    func authorize(_ request: Request, tokens: [String?]) throws {
        let required = tokens.compactMap { $0 }
        guard !required.isEmpty else { return }
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer TOKEN` is as good as `Bearer TOKEN`.
        guard let given = request.headers[.authorization], given.utf8.count > 7,
            given.prefix(7).lowercased() == "bearer ",
            required.contains(where: { constantTimeEqual(Data(given.dropFirst(7).utf8), Data($0.utf8)) })
        else {
            throw APIError(
                status: .unauthorized, code: "unauthorized",
                message: "this server needs `Authorization: Bearer TOKEN` (set DOCKET_TOKEN for the CLI)")
        }
    }

    func answer(read request: Request, _ body: () async throws -> Response) async throws -> Response {
        try await answer {
            let configuration = state.configuration
            if configuration.readToken != nil {
                try authorize(request, tokens: [configuration.readToken, configuration.writeToken])
            }
            return try await body()
        }
    }

    /// Runs a handler, turning every error into its JSON answer and counting it.
    func answer(_ body: () async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        defer { state.metrics.requestDuration.record(ContinuousClock.now - started) }
        do {
            return try await body()
        } catch {
            let apiError = APIError(error)
            state.metrics.refused(apiError.code)
            if apiError.status == .internalServerError {
                state.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            return self.error(apiError)
        }
    }

    func error(_ error: APIError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .xContentTypeOptions: "nosniff"]
        if let wait = error.retryAfter { headers[.retryAfter] = String(wait) }
        if error.status == .requestTimeout { headers[.connection] = "close" }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: error.body)))
    }

    func text(_ text: String, cache: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: cache],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func json<T: Encodable>(_ value: T) -> Response {
        let body = (try? Queries.encoder.encode(value)) ?? Data()
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-cache", .xContentTypeOptions: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }
}
