import AsyncHTTPClient
import DocketCore
import Foundation
import NIOCore
import NIOFoundationCompat
import Synchronization

// The server's figures (tools/bench): appends/s over HTTP at 1, 16 and 64 clients against the in-process batch
// rate and a no-op route of the same server, and latency at half of the peak rate.

/// `built-envelopes --count N --ledger-id ID --out FILE`: independent `built` events (one fresh digest each,
/// four repositories), so any arrival order is valid: what concurrent clients send.
func writeBuiltEnvelopes() throws {
    let count = intOption("count")
    let id = option("ledger-id")
    let ci = actor("ci").key.seed
    let lines = parallelMap(count) { n -> Data in
        let statement = must {
            try Statement.make(
                subjectName: "registry.bench/app-\(n % 4)", subjectDigest: SHA256.hash(Data("load \(n)".utf8)).hex,
                ledger: "bench.example/ledger", ledgerID: id, predicate: .built(.init(tags: ["load-\(n)"])))
        }
        return Envelope.sign(payload: statement.encoded(), with: must { try SigningKey(seed: ci) }).compactJSON
    }
    var out = Data()
    for line in lines { out.append(line + Data("\n".utf8)) }
    try out.write(to: URL(fileURLWithPath: option("out")))
    emit(["envelopes": lines.count])
}

/// `batch-rate --ledger TEMPLATE --envelopes FILE [--batch 256]`: the in-process rate the server's writer could
/// reach: every envelope checked on all cores (as requests are), then appended `--batch` at a time with
/// ``Ledger/appendEach(_:)``, one transaction and checkpoint per batch, into a fresh copy of the template.
func batchRate() throws {
    let lines = try lines(of: option("envelopes"))
    let batch = intOption("batch", default: "256")
    let template = option("ledger")
    let dir = NSTemporaryDirectory() + "docket-bench-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for suffix in ["", ".logkey", ".logkey.pub"] {
        try FileManager.default.copyItem(atPath: template + suffix, toPath: dir + "/ledger.db" + suffix)
    }
    let ledger = try Ledger(path: dir + "/ledger.db")
    let expectation = PreparedEnvelope.Expectation(
        origin: ledger.origin, ledgerID: try ledger.ledgerID(), keys: try ledger.knownKeys())
    let started = Date()
    let prepared = parallelMap(lines.count) { i in
        must { try PreparedEnvelope(parsing: lines[i], source: "bench", expecting: expectation) }
    }
    var appended = 0
    var start = 0
    while start < prepared.count {
        let outcome = try ledger.appendEach(Array(prepared[start..<min(start + batch, prepared.count)]))
        appended += outcome.results.filter { (try? $0.get()) != nil }.count
        start += batch
    }
    let seconds = Date().timeIntervalSince(started)
    emit(["appended": appended, "seconds": seconds, "appendsPerSecond": Double(appended) / seconds])
}

/// `http-load --url URL[,URL…] --envelopes FILE --clients N [--path P] [--rate R]`: N clients posting the
/// envelopes (each once) as fast as answers come, or paced to R requests a second in all, client c to the c-th
/// URL round the list (several servers sharing one store); the rate achieved, latency percentiles, and the count
/// of each status.
func httpLoad() async throws {
    let lines = try lines(of: option("envelopes"))
    let path = option("path", default: "/api/v1/entries")
    let urls = option("url").split(separator: ",").map { String($0) + path }
    let clients = intOption("clients")
    let rate = Double(option("rate", default: "0")) ?? 0
    let next = Ticket()
    let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(
            timeout: .init(connect: .seconds(5), read: .seconds(30)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients)))
    let started = ContinuousClock.now
    let results = try await withThrowingTaskGroup(of: [(Double, UInt)].self) { group in
        for c in 0..<clients {
            let url = urls[c % urls.count]
            group.addTask {
                var mine: [(Double, UInt)] = []
                while true {
                    let i = next.take()
                    guard i < lines.count else { break }
                    if rate > 0 {
                        // Open loop: request i is due at i / rate seconds; a late answer does not delay the next.
                        let due = started + .nanoseconds(Int64(Double(i) / rate * 1e9))
                        if due > .now { try await Task.sleep(until: due) }
                    }
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(data: lines[i]))
                    let t0 = ContinuousClock.now
                    let response = try await client.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    let elapsed = ContinuousClock.now - t0
                    mine.append(
                        (
                            Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15,
                            response.status.code
                        ))
                }
                return mine
            }
        }
        var all: [(Double, UInt)] = []
        for try await part in group { all += part }
        return all
    }
    let seconds = ContinuousClock.now - started
    try await client.shutdown()
    let wall = Double(seconds.components.seconds) + Double(seconds.components.attoseconds) / 1e18
    let latencies = results.map(\.0).sorted()
    func percentile(_ p: Double) -> Double {
        latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
    }
    var statuses: [String: Int] = [:]
    for (_, status) in results { statuses[String(status), default: 0] += 1 }
    emit([
        "requests": results.count, "seconds": wall, "perSecond": Double(results.count) / wall,
        "p50Ms": percentile(0.5), "p99Ms": percentile(0.99), "statuses": statuses,
    ])
}

/// Hands out 0, 1, 2, … to concurrent clients.
final class Ticket: Sendable {
    private let value = Mutex(0)
    func take() -> Int {
        value.withLock { next in
            defer { next += 1 }
            return next
        }
    }
}
