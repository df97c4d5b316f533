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
        router.head("/") { request, _ in
            let full = try await page(request) { try $0.overview() }
            return Response(status: full.status, headers: full.headers, body: .init())
        }
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
        // The metrics name webhooks and refusals: a read token guards them like every other read.
        router.get("/metrics") { request, _ in
            try await answer(read: request) {
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(bytes: state.metrics.registry.emitToBuffer())))
            }
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
        case .appended(let appended, let checkpoint, let size, let proven):
            if appended.duplicate { state.metrics.duplicates.increment() } else { state.metrics.appended.increment() }
            let response = try await receipt(appended, checkpoint: checkpoint, size: size, proven: proven)
            state.metrics.writeDuration.record(ContinuousClock.now - started)
            return response
        }
    }

    /// The body, at most `limit` bytes, within the request timeout: a client sending one byte a second is cut
    /// off (408) instead of holding a connection and a task.
    func collect(_ request: Request, limit: Int) async throws -> Data {
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
    /// nothing is parsed again here). On PostgreSQL the writer read them with the batch; otherwise a reader does.
    private func receipt(
        _ appended: AppendReceipt, checkpoint: String, size: Int, proven: (entry: Data, proof: InclusionProof)?
    ) async throws -> Response {
        let index = appended.index
        let (bytes, proof): (Data, InclusionProof)
        if let proven {
            (bytes, proof) = proven
        } else {
            (bytes, proof) = try await state.readers.read { ledger in
                guard let bytes = try ledger.entryBytes(at: index) else {
                    throw LedgerError.corrupt(.missingEntry(index))
                }
                return (bytes, try ledger.inclusionProof(index: index, size: size, checkpointNote: checkpoint))
            }
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
        guard let bytes = try await state.readers.read({ try $0.proofs.tile(address) }) else {
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
        let hashes = try await state.readers.read { try $0.proofs.consistencyHashes(from: from, to: to) }
        return json(Proof(from: from, to: to, hashes: hashes.map { $0.base64EncodedString() }))
    }

    /// The bundle, streamed page by page: the header's checkpoint is fixed first and every line is an entry it
    /// covers, so the stream is the same bundle `docket export` writes, however slowly the client reads.
    private func bundle() async throws -> Response {
        let header = try await state.readers.read { try $0.proofs.bundleHeader() }
        let readers = state.readers
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(data: try header.encoded()))
            var after = -1
            while true {
                let from = after
                guard
                    let (lines, last) = try await readers.read({
                        try $0.proofs.bundleLines(after: from, before: header.size)
                    })
                else { break }
                try await writer.write(ByteBuffer(data: lines))
                after = last
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson", .cacheControl: "no-cache"], body: body)
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
