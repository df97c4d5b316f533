import AsyncHTTPClient
import DocketCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// Why talking to a server failed, with the exit code's category: what the server refused is "no" or bad input,
/// as it would be for a local ledger; a server that cannot be reached, or answers what its own signed log rules
/// out, is a failure.
public struct RemoteError: DocketFailure {
    public var description: String
    public var category: FailureCategory
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// True when the server could not be reached (or stayed busy) after every retry: `submit --spool` queues.
    public var unreachable = false
}

/// A Docket server as a ledger (DESIGN §7 "Remote"): signing stays on this machine; writes are posted and their
/// receipts proved before success is reported; reads come from a local mirror of the server's log that every
/// contact extends and checks: the log key pinned (`DOCKET_LOG_KEY`) or remembered from the first contact, each
/// new checkpoint proved consistent with the last one seen, and every entry replayed through the same append
/// pipeline as a local ledger's, so the mirror is the server's log only if the server kept it honestly.
public final class RemoteLedger {
    public let url: String
    let token: String?
    let pinnedLogKey: NoteVerifierKey?
    let mirrorPath: String
    let client: HTTPClient
    /// Said once, on the first contact: the log key this client now trusts.
    public var onFirstContact: ((String) -> Void)?

    /// Retries: at most `maxAttempts` tries over at most `maxWait` (`DOCKET_RETRY_SECONDS`, default 15), with
    /// jittered exponential backoff, or the server's `Retry-After` when it gives one.
    public var maxAttempts = 8
    public var maxWait: Duration = .seconds(15)

    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var trimmed = url
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let parsed = URL(string: trimmed), let scheme = parsed.scheme, ["http", "https"].contains(scheme),
            let host = parsed.host, !host.isEmpty, parsed.path.isEmpty
        else {
            throw RemoteError(
                description: "\(url) is not a server address; give it as http(s)://HOST[:PORT]", category: .badInput)
        }
        self.url = trimmed
        if let text = environment["DOCKET_RETRY_SECONDS"], !text.isEmpty {
            guard let seconds = Int(text), (0...3600).contains(seconds) else {
                throw RemoteError(
                    description: "DOCKET_RETRY_SECONDS=\(text): give whole seconds from 0 to 3600", category: .badInput)
            }
            maxWait = .seconds(seconds)
        }
        token = environment["DOCKET_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let pinned = environment["DOCKET_LOG_KEY"], !pinned.isEmpty {
            let text =
                FileManager.default.fileExists(atPath: pinned)
                ? (try? String(contentsOfFile: pinned, encoding: .utf8))?.trimmingCharacters(
                    in: .whitespacesAndNewlines)
                    ?? pinned : pinned
            do {
                pinnedLogKey = try NoteVerifierKey(parsing: text)
            } catch {
                throw RemoteError(
                    description: "DOCKET_LOG_KEY is not a log verifier key (origin+keyid+base64) or a file holding one",
                    category: .badInput)
            }
        } else {
            pinnedLogKey = nil
        }
        let cache =
            environment["DOCKET_CACHE_DIR"]
            ?? environment["XDG_CACHE_HOME"].map { $0 + "/docket" }
            ?? (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/docket"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let name = String(trimmed.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
        mirrorPath = cache + "/" + name + ".mirror.db"
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .seconds(5), read: .seconds(60)))
        if let ca = environment["DOCKET_CA_FILE"], !ca.isEmpty {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    // MARK: The mirror

    /// Brings the mirror up to the server's latest checkpoint and opens it (read-only use: every write goes to
    /// the server).
    public func sync() throws -> Ledger {
        let note = try text(try get("/checkpoint"), what: "/checkpoint")
        let served = try Checkpoint(note: try SignedNote(parsing: note, source: "\(url)/checkpoint"), source: url)
        let fresh = !FileManager.default.fileExists(atPath: mirrorPath)
        let ledger =
            fresh ? try Ledger.createMirror(path: mirrorPath, origin: served.origin) : try Ledger(path: mirrorPath)
        do {
            return try extend(ledger, note: note, fresh: fresh)
        } catch {
            // A mirror that never got its genesis entry is not kept: the next contact starts again.
            if fresh {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: mirrorPath + suffix) }
            }
            throw error
        }
    }

    private func extend(_ ledger: Ledger, note: String, fresh: Bool) throws -> Ledger {
        let size = try ledger.treeSize()
        let logKey: NoteVerifierKey
        if size > 0 {
            logKey = try ledger.logVerifierKey()
            if let pinnedLogKey, pinnedLogKey != logKey {
                throw RemoteError(
                    description:
                        "the mirror of \(url) was made with the log key \(logKey.text), not DOCKET_LOG_KEY \(pinnedLogKey.text); remove \(mirrorPath) if the server's key really changed",
                    category: .failure)
            }
        } else {
            logKey = try firstLogKey()
        }
        let (checkpoint, _) = try Checkpoint.verified(text: note, logKey: logKey, source: "\(url)/checkpoint")
        if size > 0 {
            let held = try ledger.currentCheckpoint()
            guard checkpoint.size >= held.size else {
                throw rewritten(MirrorError.shrank(mirrored: held.size, served: checkpoint.size).description)
            }
            if checkpoint.size == held.size {
                guard checkpoint.root == held.root else {
                    throw rewritten("it signs two different logs of \(held.size) entries")
                }
                return ledger
            }
            try checkConsistency(from: held, to: checkpoint)
        }
        var entries: [(index: Int, bytes: Data)] = []
        var tile = size / TileAddress.fullWidth
        while tile * TileAddress.fullWidth < checkpoint.size {
            let width = Ledger.tileWidth(level: nil, index: tile, size: checkpoint.size)
            let address = TileAddress(level: nil, index: tile, width: width)
            let bundle = try get("/tile/" + address.path)
            entries += try Self.entries(
                in: bundle.body.map { Data(buffer: $0) } ?? Data(), first: tile * TileAddress.fullWidth,
                expected: width
            ).filter { $0.index >= size }
            tile += 1
        }
        do {
            try ledger.mirror(entries: entries, checkpointNote: note, logKey: logKey)
        } catch let error as MirrorError {
            throw rewritten(error.description)
        }
        if fresh, pinnedLogKey == nil {
            onFirstContact?(
                "trusting \(url)'s log key \(logKey.text) from now on (pin it with DOCKET_LOG_KEY); mirror: \(mirrorPath)"
            )
        }
        return ledger
    }

    /// The log key of a server never seen before: pinned, or read from its genesis entry (trust on first use).
    private func firstLogKey() throws -> NoteVerifierKey {
        let bundle = try get("/tile/entries/000.p/1")
        guard
            let genesis = try Self.entries(in: bundle.body.map { Data(buffer: $0) } ?? Data(), first: 0, expected: 1)
                .first
        else { throw rewritten("it serves no genesis entry") }
        let entry = try Entry(bytes: genesis.bytes, source: "\(url) entry 0")
        let statement = try Statement(parsing: entry.envelope.payload, source: "\(url) entry 0")
        guard case .initialized(let initialized) = statement.predicate else {
            throw rewritten("its entry 0 is not a genesis entry")
        }
        let key = try NoteVerifierKey(parsing: initialized.logKey)
        if let pinnedLogKey, pinnedLogKey != key {
            throw RemoteError(
                description:
                    "\(url)'s log key is \(key.text), not the pinned DOCKET_LOG_KEY \(pinnedLogKey.text): this is not the ledger you pinned",
                category: .failure)
        }
        return key
    }

    /// Asks for a consistency proof between the checkpoint held and the one served, and checks it.
    private func checkConsistency(from held: Checkpoint, to served: Checkpoint) throws {
        struct Proof: Decodable {
            var from: Int
            var to: Int
            var hashes: [String]
        }
        let response = try get("/api/v1/proof/consistency?from=\(held.size)&to=\(served.size)")
        guard let body = response.body,
            let proof = try? JSONDecoder().decode(Proof.self, from: Data(buffer: body)),
            proof.from == held.size, proof.to == served.size
        else { throw rewritten("it sent no readable consistency proof") }
        let hashes = proof.hashes.compactMap { Data(base64Encoded: $0) }
        guard hashes.count == proof.hashes.count,
            Merkle.verifyConsistency(
                size1: held.size, size2: served.size, root1: held.root, root2: served.root, proof: hashes)
        else {
            throw rewritten(
                "its checkpoint of \(served.size) entries is not an extension of the one of \(held.size) it signed before"
            )
        }
    }

    private func rewritten(_ reason: String) -> RemoteError {
        RemoteError(
            description:
                "\(url) cannot be trusted: \(reason). Nothing was changed here; keep \(mirrorPath) as evidence and tell the ledger's operators",
            category: .failure)
    }

    /// The entries of an entry bundle: big-endian 16-bit lengths, each followed by the entry's bytes.
    static func entries(in bundle: Data, first: Int, expected: Int) throws -> [(index: Int, bytes: Data)] {
        var entries: [(index: Int, bytes: Data)] = []
        var i = bundle.startIndex
        while i < bundle.endIndex {
            guard i + 2 <= bundle.endIndex else { break }
            let length = Int(bundle[i]) << 8 | Int(bundle[i + 1])
            guard i + 2 + length <= bundle.endIndex else { break }
            entries.append((first + entries.count, bundle[(i + 2)..<(i + 2 + length)]))
            i += 2 + length
        }
        guard i == bundle.endIndex, entries.count == expected else {
            throw RemoteError(
                description: "the server sent a damaged entry bundle for entries from \(first)", category: .failure)
        }
        return entries
    }

    // MARK: Writes

    /// Posts an envelope and proves its receipt: the checkpoint signed by the log key, the inclusion proof
    /// leading from the entry to it, and the entry carrying this envelope's payload. Then extends the mirror
    /// (which checks the new checkpoint is consistent with the last one seen). A refusal throws with the
    /// server's message.
    public func submit(_ envelope: Data, source: String) throws -> AppendReceipt {
        // The command synced the mirror a moment ago to sign for this ledger; only a first contact syncs here.
        let logKey = try (try mirrorIfPresent() ?? sync()).logVerifierKey()
        let response = try send(method: .POST, path: "/api/v1/entries", body: envelope)
        guard response.status == .created || response.status == .ok, let body = response.body else {
            throw refusal(response, what: source)
        }
        let bad = { (why: String) in
            RemoteError(
                description: "\(self.url) answered \(source) with a receipt that does not hold: \(why)",
                category: .failure)
        }
        guard let receipt = try? JSONDecoder().decode(EntryReceipt.self, from: Data(buffer: body)) else {
            throw bad("it is not a receipt")
        }
        let entryBytes = Data(receipt.entry.utf8)
        let proof = try InclusionProof(parsing: receipt.inclusionProof, source: "the receipt's inclusion proof")
        guard proof.index == receipt.index, Merkle.leafHash(entryBytes).hex == receipt.leafHash else {
            throw bad("its index or leaf hash is not the entry's")
        }
        do {
            _ = try proof.verify(entryBytes: entryBytes, logKey: logKey, source: "the receipt")
        } catch {
            throw bad("\(error)")
        }
        let sent = try Envelope(parsing: envelope, source: source)
        let entry = try Entry(bytes: entryBytes, source: "the receipt's entry")
        guard entry.index == receipt.index, entry.envelope.payload == sent.payload else {
            throw bad("its entry is not the envelope sent")
        }
        let mirror = try sync()
        guard try mirror.entryBytes(at: receipt.index) == entryBytes else {
            throw bad("the server's log does not hold that entry at \(receipt.index)")
        }
        return AppendReceipt(
            index: receipt.index, integratedTime: entry.integratedTime.rfc3339, kind: receipt.kind,
            subject: receipt.subject, digest: receipt.digest, duplicate: response.status == .ok,
            treeSize: try mirror.treeSize())
    }

    /// The error for a refusal: a gate's verdict as the local ledger would throw it (so it is printed, and exits,
    /// the same), else the server's message with the exit category of its status.
    private func refusal(_ response: HTTPClient.Response, what: String) -> any Error {
        struct Body: Decodable {
            struct Inner: Decodable {
                var code: String
                var message: String
                var verdict: GateVerdict?
            }
            var error: Inner
        }
        let body = response.body.flatMap { try? JSONDecoder().decode(Body.self, from: Data(buffer: $0)) }
        if response.status.code == 409, let verdict = body?.error.verdict { return LedgerError.gateRefused(verdict) }
        let category: FailureCategory =
            switch response.status.code {
            case 403, 409: .refused
            case 400, 404, 413: .badInput
            default: .failure
            }
        return RemoteError(
            description: "\(url) refused \(what): \(body?.error.message ?? "HTTP \(response.status.code)")",
            category: category, status: Int(response.status.code))
    }

    // MARK: HTTP

    private func get(_ path: String) throws -> HTTPClient.Response {
        let response = try send(method: .GET, path: path, body: nil)
        guard response.status == .ok else {
            throw refusal(response, what: "GET \(path)")
        }
        return response
    }

    private func text(_ response: HTTPClient.Response, what: String) throws -> String {
        String(decoding: response.body.map { Data(buffer: $0) } ?? Data(), as: UTF8.self)
    }

    /// Sends a request, retrying what may succeed later (no connection, 429, 502-504) with jittered
    /// exponential backoff or the server's `Retry-After`, within ``maxAttempts`` and ``maxWait``. Safe for posts:
    /// a resubmitted envelope is answered as a duplicate.
    private func send(method: HTTPMethod, path: String, body: Data?) throws -> HTTPClient.Response {
        var headers = HTTPHeaders()
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        let started = ContinuousClock.now
        var attempt = 0
        var lastProblem = ""
        while true {
            attempt += 1
            var wait: Double
            do {
                let request = try HTTPClient.Request(
                    url: url + path, method: method, headers: headers, body: body.map { .data($0) })
                let response = try client.execute(request: request).wait()
                guard [429, 502, 503, 504].contains(response.status.code) else { return response }
                lastProblem = "HTTP \(response.status.code)"
                wait = response.headers.first(name: "Retry-After").flatMap(Double.init) ?? backoff(attempt)
                wait += Double.random(in: 0...0.25)
                if attempt >= maxAttempts || ContinuousClock.now - started + .seconds(wait) > maxWait {
                    throw RemoteError(
                        description:
                            "\(url) stayed busy (HTTP \(response.status.code)) for \(attempt) tries; try again later",
                        category: .failure, status: Int(response.status.code), unreachable: true)
                }
            } catch let error as RemoteError {
                throw error
            } catch {
                lastProblem = transportProblem(error, peer: "the server")
                // A certificate that does not verify will not verify on the next try either.
                if "\(error)".contains("certificate") || "\(error)".contains("CERTIFICATE") {
                    throw RemoteError(
                        description:
                            "cannot talk to \(url) over TLS: \(error); if its CA is private, set DOCKET_CA_FILE",
                        category: .failure)
                }
                wait = backoff(attempt)
                if attempt >= maxAttempts || ContinuousClock.now - started + .seconds(wait) > maxWait {
                    throw RemoteError(
                        description:
                            "cannot reach \(url) (\(lastProblem)) after \(attempt) tries; is `docket serve` running there?",
                        category: .failure, unreachable: true)
                }
            }
            Thread.sleep(forTimeInterval: wait)
        }
    }

    /// The mirror as it stands, without asking the server (nil if there is none yet): for signing to a file
    /// (`--out`) while the server is unreachable, which needs only the ledger's identity and digests' repositories.
    public func mirrorIfPresent() throws -> Ledger? {
        guard FileManager.default.fileExists(atPath: mirrorPath) else { return nil }
        let ledger = try Ledger(path: mirrorPath)
        return try ledger.treeSize() > 0 ? ledger : nil
    }

    /// Full jitter: a random wait up to 0.2 s × 2^attempt, at most 5 s.
    private func backoff(_ attempt: Int) -> Double {
        Double.random(in: 0.05...min(5, 0.2 * pow(2, Double(attempt - 1))))
    }
}
