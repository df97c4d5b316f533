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

/// Requests to one Docket server: its address checked once, the bearer token, TLS roots, an overall deadline per
/// request, and retries with jittered backoff for what may succeed later.
final class HTTPTransport {
    let url: String
    let token: String?
    let client: HTTPClient
    /// Retries: at most `maxAttempts` tries over at most `maxWait` (`DOCKET_RETRY_SECONDS`, default 15), with
    /// jittered exponential backoff, or the server's `Retry-After` when it gives one.
    var maxAttempts = 8
    var maxWait: Duration = .seconds(15)

    init(url: String, environment: [String: String]) throws {
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
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(60)))
        if let ca = environment["DOCKET_CA_FILE"], !ca.isEmpty {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    /// A file name for this server's cache entries.
    var cacheName: String {
        String(url.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
    }

    /// GET that must answer 200; anything else is the server's refusal.
    func get(_ path: String) throws -> Data {
        let response = try send(method: .GET, path: path, body: nil)
        guard response.status == .ok else { throw refusal(response, what: "GET \(path)") }
        return response.body.map { Data(buffer: $0) } ?? Data()
    }

    /// The error for a refusal: a gate's verdict as the local ledger would throw it (so it is printed, and exits,
    /// the same), else the server's message with the exit category of its status. `what` prefixes the message
    /// unless nil (a question's refusal reads exactly as the local one).
    func refusal(_ response: HTTPClient.Response, what: String?) -> any Error {
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
        let message = body?.error.message ?? "HTTP \(response.status.code)"
        return RemoteError(
            description: what.map { "\(url) refused \($0): \(message)" } ?? message, category: category,
            status: Int(response.status.code))
    }

    /// Sends a request, retrying what may succeed later (no connection, 429, 502-504) with jittered
    /// exponential backoff or the server's `Retry-After`, within ``maxAttempts`` and ``maxWait``. Safe for posts:
    /// a resubmitted envelope is answered as a duplicate, and a question changes nothing.
    func send(method: HTTPMethod, path: String, body: Data?) throws -> HTTPClient.Response {
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
                let response = try client.execute(request: request, deadline: .now() + .seconds(60)).wait()
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

    /// Full jitter: a random wait up to 0.2 s × 2^attempt, at most 5 s.
    private func backoff(_ attempt: Int) -> Double {
        Double.random(in: 0.05...min(5, 0.2 * pow(2, Double(attempt - 1))))
    }
}

/// Where a client keeps what it knows of servers: `$DOCKET_CACHE_DIR`, else `$XDG_CACHE_HOME/docket`, else
/// `~/.cache/docket`.
func cacheDirectory(_ environment: [String: String]) throws -> String {
    let cache =
        environment["DOCKET_CACHE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        ?? environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 + "/docket" }
        ?? (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/docket"
    do {
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
    } catch {
        throw RemoteError(
            description: "cannot make the cache folder \(cache) (\(error.localizedDescription)); set DOCKET_CACHE_DIR",
            category: .failure)
    }
    return cache
}

/// `DOCKET_LOG_KEY`: a verifier key text, or a file holding one.
func pinnedLogKey(_ environment: [String: String]) throws -> NoteVerifierKey? {
    guard let pinned = environment["DOCKET_LOG_KEY"], !pinned.isEmpty else { return nil }
    let text =
        FileManager.default.fileExists(atPath: pinned)
        ? (try? String(contentsOfFile: pinned, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            ?? pinned : pinned
    do {
        return try NoteVerifierKey(parsing: text)
    } catch {
        throw RemoteError(
            description: "DOCKET_LOG_KEY is not a log verifier key (origin+keyid+base64) or a file holding one",
            category: .badInput)
    }
}
