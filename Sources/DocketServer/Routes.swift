import DocketCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// The HTTP API (DESIGN §8): writes, tlog-tiles and proof reads, the CLI's JSON queries, and operations.
struct Routes: Sendable {
    let state: ServerState

    func add(to router: Router<DocketRequestContext>) {
        router.post("/api/v1/entries") { request, context in try await answer { try await append(request, context) } }
        router.get("/checkpoint") { request, _ in
            try await answer(read: request) {
                let note = try await state.readers.read { try $0.checkpointNote() }
                return text(note, cache: "no-cache")
            }
        }
        router.get("/tile/**") { request, context in
            try await answer(read: request) { try await tile(context.parameters.getCatchAll().joined(separator: "/")) }
        }
        router.get("/api/v1/entries/:index") { request, context in
            try await answer(read: request) {
                guard let index = Int(context.parameters.get("index") ?? ""), index >= 0 else {
                    throw APIError.badRequest("the entry index must be a whole number ≥ 0")
                }
                return try await entry(index)
            }
        }
        router.get("/api/v1/proof/consistency") { request, _ in
            try await answer(read: request) { try await consistency(request.uri.queryParameters) }
        }
        router.get("/api/v1/bundle") { request, _ in try await answer(read: request) { try await bundle() } }
        router.get("/api/v1/ledger") { request, _ in
            try await answer(read: request) { json(try await state.readers.read { try $0.describe() }) }
        }
        for (name, query) in Queries.all {
            router.get("/api/v1/\(name)") { request, _ in
                try await answer(read: request) {
                    let parameters = Dictionary(
                        request.uri.queryParameters.map { (String($0.key), String($0.value)) }
                    ) { a, _ in a }
                    let summarize = state.configuration.summarize
                    let body = try await state.readers.read { ledger in
                        try ledger.read(summarize: summarize) { try query(parameters, $0) }
                    }
                    return Response(
                        status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(data: body)))
                }
            }
        }
        // DESIGN §13: a question answered from one snapshot, signed with its checkpoint.
        router.post("/api/v1/ask/:name") { request, context in
            try await answer(read: request) {
                let name = context.parameters.get("name") ?? ""
                let parameters = try await collect(request, limit: 64 << 10)
                let summarize = state.configuration.summarize
                let signed = try await state.readers.read { ledger in
                    try ledger.signedAnswer(name: name, parameters: parameters, summarize: summarize)
                }
                return json(signed)
            }
        }
        router.post("/k8s/admission") { request, _ in try await answer(read: request) { try await admission(request) } }
        // The dashboard (DESIGN §12): HTML pages, readable without JavaScript.
        router.get("/") { request, _ in try await page(request) { try $0.overview() } }
        router.get("/digest/:digest") { request, context in
            let digest = context.parameters.get("digest") ?? ""
            return try await page(request) { try $0.digest(digest) }
        }
        router.get("/env/:environment") { request, context in
            let environment = (context.parameters.get("environment") ?? "").removingPercentEncoding ?? ""
            return try await page(request) { try $0.environment(environment) }
        }
        router.get("/service/**") { request, context in
            let repository = context.parameters.getCatchAll().joined(separator: "/").removingPercentEncoding ?? ""
            return try await page(request) { try $0.service(repository) }
        }
        router.get("/healthz") { _, _ in text("ok\n", cache: "no-cache") }
        router.get("/readyz") { _, _ in
            guard state.writer.isReady, !state.draining,
                (try? await state.readers.read { try $0.treeSize() }) != nil
            else { return error(APIError(status: .serviceUnavailable, code: "not-ready", message: "not ready")) }
            return text("ready\n", cache: "no-cache")
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: state.metrics.registry.emitToBuffer())))
        }
        // For tools/bench: what answering a request costs with no ledger work (the HTTP limit of this server).
        router.get("/api/v1/noop") { _, _ in text("ok\n", cache: "no-cache") }
        router.post("/api/v1/noop") { request, _ in
            try await answer {
                _ = try await collect(request, limit: state.configuration.bodyLimit)
                return text("ok\n", cache: "no-cache")
            }
        }
    }

    // MARK: Writes

    private func append(_ request: Request, _ context: DocketRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        try authorize(request, tokens: [state.configuration.writeToken])
        if state.draining { throw APIError.shuttingDown }
        if let wait = state.addressLimiter.take(context.clientName) {
            throw APIError.rateLimited("the address \(context.clientName)", retryAfter: wait)
        }
        let limit = state.configuration.bodyLimit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.tooLarge(limit: limit, what: "the envelope (\(length) bytes)")
        }
        let body = try await collect(request, limit: limit)
        let envelope = try state.writer.preparing { () throws(APIError) -> PreparedEnvelope in
            let envelope: PreparedEnvelope
            do {
                envelope = try PreparedEnvelope(
                    parsing: body, source: "the request body", expecting: state.writer.expectation)
            } catch {
                throw APIError(error)
            }
            guard envelope.entryLengthBound <= Int(UInt16.max) else {
                throw APIError.tooLarge(limit: Int(UInt16.max), what: "the entry this envelope would make")
            }
            if let wait = state.keyLimiter.take(envelope.keyID) {
                throw APIError.rateLimited("the key \(envelope.keyID)", retryAfter: wait)
            }
            return envelope
        }
        switch try await state.writer.submit(envelope) {
        case .refused(let error):
            throw error
        case .appended(let appended, let checkpoint, let size):
            if appended.duplicate { state.metrics.duplicates.increment() } else { state.metrics.appended.increment() }
            let response = try await receipt(appended, checkpoint: checkpoint, size: size)
            state.metrics.writeDuration.record(ContinuousClock.now - started)
            return response
        }
    }

    /// The body, at most `limit` bytes, within the request timeout: a client sending one byte a second is cut
    /// off (408) instead of holding a connection and a task.
    private func collect(_ request: Request, limit: Int) async throws -> Data {
        let timeout = state.configuration.requestTimeout
        return try await withThrowingTaskGroup(of: Data?.self) { group in
            group.addTask {
                do {
                    return Data(buffer: try await request.body.collect(upTo: limit))
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw APIError.tooLarge(limit: limit, what: "the envelope")
                } catch is NIOTooManyBytesError {
                    // A body with no Content-Length (chunked) that grew past the limit.
                    throw APIError.tooLarge(limit: limit, what: "the envelope")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else {
                throw APIError(
                    status: .requestTimeout, code: "timeout",
                    message: "the request body did not arrive within \(timeout.components.seconds) s")
            }
            return body
        }
    }

    /// A write's receipt (201, or 200 with `Docket-Duplicate: true`): what the writer said, the entry's bytes,
    /// and its inclusion proof against the checkpoint of its batch, which the writer handed over signed (so
    /// nothing is parsed again here).
    private func receipt(_ appended: AppendReceipt, checkpoint: String, size: Int) async throws -> Response {
        let index = appended.index
        let (bytes, proof) = try await state.readers.read { ledger in
            guard let bytes = try ledger.entryBytes(at: index) else {
                throw LedgerError.corrupt(.missingEntry(index))
            }
            return (bytes, try ledger.inclusionProof(index: index, size: size, checkpointNote: checkpoint))
        }
        let receipt = EntryReceipt(
            appended, treeSize: size, entry: bytes, inclusionProof: proof.text, checkpoint: checkpoint)
        var headers: HTTPFields = [.contentType: "application/json"]
        if appended.duplicate {
            headers[.docketDuplicate] = "true"
        } else {
            headers[.location] = "/api/v1/entries/\(index)"
        }
        return Response(
            status: appended.duplicate ? .ok : .created, headers: headers,
            body: .init(byteBuffer: ByteBuffer(data: try EntryReceipt.encoder.encode(receipt))))
    }

    /// Entry `index` as stored, with its inclusion proof against the latest checkpoint (the receipt's shape).
    private func entry(_ index: Int) async throws -> Response {
        let receipt = try await state.readers.read { try $0.receipt(at: index) }
        guard let receipt else { throw APIError.notFound("entry \(index) is not in the ledger") }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: try EntryReceipt.encoder.encode(receipt))))
    }

    // MARK: Reads

    private func tile(_ path: String) async throws -> Response {
        guard let address = TileAddress(path: path), address.path == path else {
            throw APIError.notFound("/tile/\(path) is not a tile path (see c2sp.org/tlog-tiles)")
        }
        guard let bytes = try await state.readers.read({ try $0.tile(address) }) else {
            throw APIError.notFound("the tree does not hold tile \(path) yet")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .cacheControl: "public, max-age=31536000, immutable"],
            body: .init(byteBuffer: ByteBuffer(data: bytes)))
    }

    private func consistency(_ query: Parameters) async throws -> Response {
        guard let from = query.get("from", as: Int.self), let to = query.get("to", as: Int.self) else {
            throw APIError.badRequest("give from=M&to=N, tree sizes with 1 ≤ M ≤ N")
        }
        struct Proof: Encodable {
            var from: Int
            var to: Int
            var hashes: [String]
        }
        let hashes = try await state.readers.read { try $0.consistencyHashes(from: from, to: to) }
        return json(Proof(from: from, to: to, hashes: hashes.map { $0.base64EncodedString() }))
    }

    /// The bundle, streamed page by page: the header's checkpoint is fixed first and every line is an entry it
    /// covers, so the stream is the same bundle `docket export` writes, however slowly the client reads.
    private func bundle() async throws -> Response {
        let header = try await state.readers.read { try $0.bundleHeader() }
        let readers = state.readers
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(data: try Ledger.encodedHeader(header)))
            var after = -1
            while true {
                let from = after
                guard
                    let (lines, last) = try await readers.read({ try $0.bundleLines(after: from, before: header.size) })
                else { break }
                try await writer.write(ByteBuffer(data: lines))
                after = last
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson", .cacheControl: "no-cache"], body: body)
    }

    // MARK: Kubernetes admission

    /// An `AdmissionReview` answered from the ledger's current state (``AdmissionReview``). Namespaces the
    /// settings do not map are not governed; deletions are always allowed. When the ledger cannot be read the
    /// settings decide: denied (fail closed, the default) or allowed with a warning (fail open).
    private func admission(_ request: Request) async throws -> Response {
        guard let settings = state.configuration.admission else {
            throw APIError.notFound(
                "this server has no admission rules; give `docket serve --config FILE` with an admission section")
        }
        let review = try AdmissionReview(parsing: try await collect(request, limit: AdmissionReview.bodyLimit))
        let answer: Data
        if ["DELETE", "CONNECT"].contains(review.operation) || review.images.isEmpty {
            answer = AdmissionReview.response(uid: review.uid, allowed: true, message: nil)
        } else if let namespace = review.namespace, let environment = settings.namespaces[namespace] {
            do {
                let denials = try await state.readers.read { ledger in
                    try review.denials(
                        in: environment, ledger: ledger, allowUnknownRepositories: settings.allowUnknownRepositories)
                }
                let what = "\(review.kind) \(namespace)/\(review.name)"
                answer =
                    denials.isEmpty
                    ? AdmissionReview.response(uid: review.uid, allowed: true, message: nil)
                    : AdmissionReview.response(
                        uid: review.uid, allowed: false,
                        message: "docket denied \(what) in \(environment): " + denials.joined(separator: "; "))
                state.metrics.admission(denials.isEmpty ? "allowed" : "denied")
            } catch {
                let why = "the ledger could not be read (\(APIError(error).message))"
                state.metrics.admission(settings.failOpen ? "failed-open" : "failed-closed")
                answer =
                    settings.failOpen
                    ? AdmissionReview.response(
                        uid: review.uid, allowed: true, message: nil,
                        warnings: ["docket: \(why); allowed (failure: open)"])
                    : AdmissionReview.response(
                        uid: review.uid, allowed: false, message: "docket: \(why); denied (failure: closed)")
            }
        } else {
            answer = AdmissionReview.response(uid: review.uid, allowed: true, message: nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: answer)))
    }

    // MARK: Pages

    /// A dashboard page (404 when `render` finds nothing to show), with a content security policy that allows
    /// only the page's own style sheet and script: should ledger text ever escape its escaping, it cannot run.
    private func page(_ request: Request, _ render: @escaping @Sendable (Dashboard) throws -> HTML?) async throws
        -> Response
    {
        try await answer(read: request) {
            let summarize = state.configuration.summarize
            let html = try await state.readers.read { ledger in
                try ledger.read(summarize: summarize) { try render(Dashboard(reader: $0)) }
            }
            guard let html else { throw APIError.notFound("the ledger has no such page: \(request.uri.path)") }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-cache",
                    .contentSecurityPolicy: DashboardStyle.contentSecurityPolicy, .xContentTypeOptions: "nosniff",
                ],
                body: .init(byteBuffer: ByteBuffer(string: html.markup)))
        }
    }

    // MARK: Answers

    /// Checks the bearer token when the server asks for one: any of `tokens` (a write token also reads: a client
    /// proves its receipt and extends its mirror).
    private func authorize(_ request: Request, tokens: [String?]) throws {
        let required = tokens.compactMap { $0 }
        guard !required.isEmpty else { return }
        guard let given = request.headers[.authorization], given.hasPrefix("Bearer "),
            required.contains(where: { constantTimeEqual(Data(given.dropFirst(7).utf8), Data($0.utf8)) })
        else {
            throw APIError(
                status: .unauthorized, code: "unauthorized",
                message: "this server needs `Authorization: Bearer TOKEN` (set DOCKET_TOKEN for the CLI)")
        }
    }

    private func answer(read request: Request, _ body: () async throws -> Response) async throws -> Response {
        try await answer {
            let configuration = state.configuration
            if configuration.readToken != nil {
                try authorize(request, tokens: [configuration.readToken, configuration.writeToken])
            }
            return try await body()
        }
    }

    /// Runs a handler, turning every error into its JSON answer and counting it.
    private func answer(_ body: () async throws -> Response) async throws -> Response {
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

    private func error(_ error: APIError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let wait = error.retryAfter { headers[.retryAfter] = String(wait) }
        if error.status == .requestTimeout { headers[.connection] = "close" }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: error.body)))
    }

    private func text(_ text: String, cache: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: cache],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func json<T: Encodable>(_ value: T) -> Response {
        let body = (try? Queries.encoder.encode(value)) ?? Data()
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options") ?? .contentType
    /// Set on a write's 200 answer: the envelope was already in the ledger.
    static let docketDuplicate = Self("Docket-Duplicate") ?? .contentLocation
}

/// Compares secrets in time that does not depend on where they differ.
func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
}
