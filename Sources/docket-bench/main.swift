// docket-bench: the in-process half of `tools/bench`. Generates signed ledgers quickly and measures rates
// against baselines taken in the same run. Prints one JSON object per command on stdout.
import CSQLite
import CSodium
import DocketCore
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, default value: String? = nil) -> String {
    if let i = arguments.firstIndex(of: "--" + name), i + 1 < arguments.count { return arguments[i + 1] }
    guard let value else { fatalError("--\(name) is required") }
    return value
}

/// An integer option; a benchmark given nonsense stops with a message instead of a trap.
func intOption(_ name: String, default value: String? = nil) -> Int {
    guard let number = Int(option(name, default: value)) else { fatalError("--\(name) must be an integer") }
    return number
}

/// A benchmark's setup must not fail; if it does, the run stops saying where.
func must<T>(_ body: () throws -> T, _ what: @autoclosure () -> String = "benchmark setup") -> T {
    do {
        return try body()
    } catch {
        fatalError("\(what()) failed: \(error)")
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func emit(_ object: [String: Any]) {
    let data = must { try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }
    print(String(decoding: data, as: UTF8.self))
}

/// Runs `body` on every core over 0..<count, collecting results in order.
func parallelMap<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let workers = ProcessInfo.processInfo.activeProcessorCount
    let buffer = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    buffer.initialize(repeating: nil)
    defer {
        _ = buffer.deinitialize()
        buffer.deallocate()
    }
    nonisolated(unsafe) let shared = buffer  // each worker writes its own slice only
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        for i in (w * count / workers)..<((w + 1) * count / workers) { shared[i] = body(i) }
    }
    return buffer.map { $0.unsafelyUnwrapped }  // every index was written by one worker
}

/// Seeds for the story's actors, fixed so a generated ledger can be extended by a later run.
func actor(_ name: String) -> KeyFile {
    KeyFile(
        identity: "\(name)@bench.example",
        key: must { try SigningKey(seed: SHA256.hash(Data("docket-bench \(name)".utf8))) })
}

let policyText = """
    environments:
      - name: staging
      - name: production
        from: staging
        approvals:
          min: 1
          roles: [approver]
        checks: [scan]
    """

/// Signed envelopes for digests [first, first+count): built, deployed, check, approved, and every 10th promoted.
func envelopes(origin: String, ledgerID: String, first: Int, count: Int) -> [(data: Data, source: String)] {
    let ci = actor("ci").key.seed
    let approver = actor("approver").key.seed
    let releaser = actor("releaser").key.seed
    let perDigest = parallelMap(count) { i -> [Data] in
        let n = first + i
        let hex = SHA256.hash(Data("image \(n)".utf8)).hex
        func sign(_ seed: Data, _ predicate: EventPredicate) -> Data {
            let statement = must {
                try Statement.make(
                    subjectName: "registry.bench/app", subjectDigest: hex, ledger: origin, ledgerID: ledgerID,
                    predicate: predicate)
            }
            return Envelope.sign(payload: statement.encoded(), with: must { try SigningKey(seed: seed) }).compactJSON
        }
        var out = [
            sign(
                ci,
                .built(
                    .init(
                        tags: ["build-\(n)"],
                        source: .init(repository: "https://git.bench/app", revision: hex.prefix(40).description)))),
            sign(ci, .deployed(.init(environment: "staging", deployment: "d-\(n)"))),
            sign(ci, .check(.init(check: "scan", result: .pass, details: "https://scan.bench/\(n)"))),
            sign(approver, .approved(.init(environment: "production", comment: "ok"))),
        ]
        if n % 10 == 0 { out.append(sign(releaser, .promoted(.init(from: "staging", to: "production")))) }
        return out
    }
    return perDigest.flatMap { $0 }.map { (data: $0, source: "bench") }
}

/// Enrols the story's actors and records the policy, in one batch.
func enrolActorsAndPolicy(_ ledger: Ledger, origin: String, policy text: String = policyText) throws {
    let admin = actor("admin").key
    var setup: [(data: Data, source: String)] = []
    for (name, role) in [("ci", [Role.ci, .checker]), ("approver", [.approver]), ("releaser", [.releaser])] {
        let key = actor(name)
        let statement = try Statement.make(
            subjectName: key.identity, subjectDigest: SHA256.hash(key.key.publicKey.raw).hex, ledger: origin,
            ledgerID: try ledger.ledgerID(),
            predicate: .keyEnrolled(.init(identity: key.identity, publicKey: key.key.publicKey.base64, roles: role)))
        setup.append((Envelope.sign(payload: statement.encoded(), with: admin).compactJSON, "setup"))
    }
    let policy = try Policy(parsing: text, source: "bench policy")
    let statement = try Statement.make(
        subjectName: "policy", subjectDigest: policy.documentHash, ledger: origin, ledgerID: try ledger.ledgerID(),
        predicate: .policy(.init(policy: policy.document)))
    setup.append((Envelope.sign(payload: statement.encoded(), with: admin).compactJSON, "setup"))
    _ = try ledger.appendBatch(setup)
}

func generate() throws {
    let path = option("ledger")
    let entries = intOption("entries")
    let origin = "bench.example/ledger"
    var ledger: Ledger
    // A ledger generated by another version (another schema) is generated again.
    if FileManager.default.fileExists(atPath: path) {
        do { _ = try Ledger(path: path) } catch LedgerError.schemaMismatch {
            for suffix in ["", "-wal", "-shm", ".logkey", ".logkey.pub"] {
                try? FileManager.default.removeItem(atPath: path + suffix)
            }
        }
    }
    if FileManager.default.fileExists(atPath: path) {
        ledger = try Ledger(path: path)
    } else {
        ledger = try Ledger.create(path: path, origin: origin, admin: actor("admin"))
        try enrolActorsAndPolicy(ledger, origin: origin)
    }
    var size = try ledger.treeSize()
    var digest = 1_000_000_000 + size  // digests only need to be new to this ledger
    let started = Date()
    while size < entries {
        let batch = envelopes(
            origin: origin, ledgerID: try ledger.ledgerID(), first: digest,
            count: min(2500, max(1, (entries - size) / 4 + 1)))
        digest += batch.count
        _ = try ledger.appendBatch(Array(batch.prefix(entries - size)))
        size = try ledger.treeSize()
        FileHandle.standardError.write(Data("\rgenerated \(size)/\(entries)".utf8))
    }
    FileHandle.standardError.write(Data("\n".utf8))
    emit(["entries": size, "seconds": Date().timeIntervalSince(started)])
}

/// Appends/s one event per transaction, against sign + verify + one-row durable commit.
func appendRates() throws {
    let dir = NSTemporaryDirectory() + "docket-bench-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let count = intOption("count", default: "2000")
    let batchCount = intOption("batch", default: "10000")

    // Baseline: the raw cost of one Ed25519 verify + one Ed25519 sign + one single-row SQLite commit.
    let key = try SigningKey.generate()
    let message = Data(repeating: 7, count: 600)
    let signature = key.sign(message)
    var db: OpaquePointer?
    sqlite3_open(dir + "/baseline.db", &db)
    sqlite3_exec(
        db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)", nil,
        nil, nil)
    var stmt: OpaquePointer?
    sqlite3_prepare_v2(db, "INSERT INTO t(b) VALUES (?)", -1, &stmt, nil)
    let baselineTime = seconds {
        for _ in 0..<count {
            _ = key.publicKey.isValidSignature(signature, for: message)
            _ = key.sign(message)
            sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
            message.withUnsafeBytes { _ = sqlite3_bind_blob(stmt, 1, $0.baseAddress, Int32($0.count), nil) }
            sqlite3_step(stmt)
            sqlite3_reset(stmt)
            sqlite3_exec(db, "COMMIT", nil, nil, nil)
        }
    }
    sqlite3_finalize(stmt)
    sqlite3_close(db)

    // Raw verify rate on one core.
    let verifyCount = 20_000
    let verifyTime = seconds {
        for _ in 0..<verifyCount { _ = key.publicKey.isValidSignature(signature, for: message) }
    }
    let verifyRate = Double(verifyCount) / verifyTime
    // Raw verify rate on all cores.
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let pk = key.publicKey
    let allCoresTime = seconds {
        _ = parallelMap(verifyCount * cores) { _ in pk.isValidSignature(signature, for: message) }
    }
    let allCoresRate = Double(verifyCount * cores) / allCoresTime

    // Docket: one event per transaction.
    let ledger = try Ledger.create(path: dir + "/ledger.db", origin: "bench.example/ledger", admin: actor("admin"))
    try enrolActorsAndPolicy(ledger, origin: "bench.example/ledger")
    let singles = envelopes(
        origin: "bench.example/ledger", ledgerID: try ledger.ledgerID(), first: 0, count: count / 4 + 1
    ).filter {
        !String(decoding: $0.data, as: UTF8.self).isEmpty
    }
    .prefix(count)
    let appendTime = try seconds { for item in singles { try ledger.append(item.data, source: "bench") } }
    let batch = envelopes(
        origin: "bench.example/ledger", ledgerID: try ledger.ledgerID(), first: 10_000_000, count: batchCount / 4 + 1
    ).prefix(
        batchCount)
    let batchTime = try seconds { _ = try ledger.appendBatch(Array(batch)) }
    emit([
        "appendsPerSecond": Double(singles.count) / appendTime,
        "appendBaselinePerSecond": Double(count) / baselineTime,
        "batchAppendsPerSecond": Double(batch.count) / batchTime,
        "verifyRateOneCore": verifyRate,
        "verifyRateAllCores": allCoresRate,
        "cores": cores,
    ])
}

/// Median latency of `status` and `gate` on an existing ledger (library calls, warm).
func queryLatency() throws {
    let ledger = try Ledger(path: option("ledger"), readOnly: true)
    let repeats = intOption("repeats", default: "50")
    let size = try ledger.treeSize()
    // A digest from the most recent events, so the gate has real facts to read.
    let recent =
        try ledger.events(from: max(0, size - 8), limit: 8).compactMap(\.digest).last
        ?? Digest(hex: String(repeating: "0", count: 64))
    func median(_ body: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<repeats { samples.append(try seconds(body)) }
        return samples.sorted()[samples.count / 2]
    }
    _ = try ledger.status()
    let status = try median { _ = try ledger.status() }
    let gate = try median {
        _ = try ledger.gate(
            digest: recent, repository: "registry.bench/app", environment: "production", at: try ledger.ledgerTime())
    }
    emit(["entries": size, "statusSeconds": status, "gateSeconds": gate])
}

/// `status --repo`, full `status` and `gate` latency in a ledger of `--repos` services, each promoted through five
/// environments with an approval at every gate (median of 15 each, for the last service).
func serviceLatency() throws {
    let repos = intOption("repos")
    let dir = NSTemporaryDirectory() + "docket-bench-services-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let origin = "bench.example/services"
    let ledger = try Ledger.create(path: dir + "/ledger.db", origin: origin, admin: actor("admin"))
    try enrolActorsAndPolicy(
        ledger, origin: origin,
        policy: """
            pipelines:
              - name: services
                repositories: ['registry.bench/**']
                environments:
                  - name: dev
                  - {name: test, from: dev, approvals: {min: 1, roles: [approver]}}
                  - {name: staging, from: test, approvals: {min: 1, roles: [approver]}}
                  - {name: preprod, from: staging, approvals: {min: 1, roles: [approver]}}
                  - {name: production, from: preprod, approvals: {min: 1, roles: [approver]}, checks: [scan]}
            """)
    let id = try ledger.ledgerID()
    let environments = ["dev", "test", "staging", "preprod", "production"]
    let (ci, approver, releaser) = (actor("ci").key.seed, actor("approver").key.seed, actor("releaser").key.seed)
    func sign(_ seed: Data, _ repository: String, _ hex: String, _ predicate: EventPredicate) -> (Data, String) {
        let statement = must {
            try Statement.make(
                subjectName: repository, subjectDigest: hex, ledger: origin, ledgerID: id, predicate: predicate)
        }
        return (
            Envelope.sign(payload: statement.encoded(), with: must { try SigningKey(seed: seed) }).compactJSON, "bench"
        )
    }
    // One service's story per batch step: built, scanned, deployed to dev, approved and promoted through the rest.
    // Promotions need the step before them committed, so each stage is one batch over every service.
    var stages: [[(data: Data, source: String)]] = [[], []]
    for r in 0..<repos {
        let repository = "registry.bench/team-\(r)/app"
        let hex = SHA256.hash(Data(repository.utf8)).hex
        stages[0] += [
            sign(ci, repository, hex, .built(.init(tags: ["v1"]))),
            sign(ci, repository, hex, .check(.init(check: "scan", result: .pass))),
            sign(ci, repository, hex, .deployed(.init(environment: "dev"))),
        ]
        for environment in environments.dropFirst() {
            stages[1].append(sign(approver, repository, hex, .approved(.init(environment: environment))))
        }
    }
    for stage in stages { _ = try ledger.appendBatch(stage) }
    for (from, to) in zip(environments, environments.dropFirst()) {
        let promotions = (0..<repos).map { r -> (data: Data, source: String) in
            let repository = "registry.bench/team-\(r)/app"
            return sign(
                releaser, repository, SHA256.hash(Data(repository.utf8)).hex, .promoted(.init(from: from, to: to)))
        }
        _ = try ledger.appendBatch(promotions)
    }
    let last = "registry.bench/team-\(repos - 1)/app"
    let digest = try Digest(hex: SHA256.hash(Data(last.utf8)).hex)
    func median(_ body: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<15 { samples.append(try seconds(body)) }
        return samples.sorted()[samples.count / 2]
    }
    let time = try ledger.ledgerTime()
    let one = try median { _ = try ledger.status(repository: last) }
    let all = try median { _ = try ledger.status() }
    let gate = try median {
        _ = try ledger.gate(digest: digest, repository: last, environment: "production", at: time)
    }
    let verdict = try ledger.gate(digest: digest, repository: last, environment: "production", at: time)
    emit([
        "repos": repos, "entries": try ledger.treeSize(), "statusRepoSeconds": one, "statusAllSeconds": all,
        "gateSeconds": gate, "gateEligibleRules": verdict.rules.filter(\.passed).count,
    ])
}

/// `gate` and `promote` of a digest with `--events` check events against one with 10, in the same ledger (issue
/// 10: the gate reads its evidence rows, not the digest's whole history): median of 15 gates of each, and the
/// median promotion of three digests of each kind (each an append with its own commit). With `--ledger PATH` the
/// ledger is kept there for `docket history`.
func digestLatency() throws {
    let events = intOption("events")
    let kept = option("ledger", default: "")
    let dir = NSTemporaryDirectory() + "docket-bench-digest-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = kept.isEmpty ? dir + "/ledger.db" : kept
    if !kept.isEmpty {
        for suffix in ["", "-wal", "-shm", ".logkey", ".logkey.pub"] {
            try? FileManager.default.removeItem(atPath: kept + suffix)
        }
    }
    let origin = "bench.example/digest"
    let ledger = try Ledger.create(path: path, origin: origin, admin: actor("admin"))
    try enrolActorsAndPolicy(
        ledger, origin: origin,
        policy: """
            environments:
              - name: staging
              - {name: production, from: staging, approvals: {min: 1, roles: [approver]}, checks: [scan]}
            """)
    let id = try ledger.ledgerID()
    let (ci, approver, releaser) = (actor("ci").key.seed, actor("approver").key.seed, actor("releaser").key.seed)
    // One service per digest: each waits in its own staging.
    func repository(_ hex: String) -> String { "registry.bench/app-\(hex.prefix(12))" }
    func sign(_ seed: Data, _ hex: String, _ predicate: EventPredicate) -> (data: Data, source: String) {
        let statement = must {
            try Statement.make(
                subjectName: repository(hex), subjectDigest: hex, ledger: origin, ledgerID: id, predicate: predicate)
        }
        return (
            Envelope.sign(payload: statement.encoded(), with: must { try SigningKey(seed: seed) }).compactJSON, "bench"
        )
    }
    /// Built, deployed to staging, `count` scans, approved: ready to promote.
    func stage(_ hex: String, checks count: Int) throws {
        _ = try ledger.appendBatch([
            sign(ci, hex, .built(.init())), sign(ci, hex, .deployed(.init(environment: "staging"))),
        ])
        var left = count
        while left > 0 {
            let batch = (0..<min(left, 2000)).map { k in
                sign(ci, hex, .check(.init(check: "scan", result: .pass, details: "run \(left - k)")))
            }
            _ = try ledger.appendBatch(batch)
            left -= batch.count
        }
        _ = try ledger.appendBatch([sign(approver, hex, .approved(.init(environment: "production")))])
    }
    let many = (0..<3).map { SHA256.hash(Data("many \($0)".utf8)).hex }
    let few = (0..<3).map { SHA256.hash(Data("few \($0)".utf8)).hex }
    for hex in many { try stage(hex, checks: events) }
    for hex in few { try stage(hex, checks: 10) }
    func median(_ samples: [Double]) -> Double { samples.sorted()[samples.count / 2] }
    func gate(_ hex: String) throws -> Double {
        let digest = try Digest(hex: hex)
        let time = try ledger.ledgerTime()
        return median(
            try (0..<15).map { _ in
                try seconds {
                    _ = try ledger.gate(
                        digest: digest, repository: repository(hex), environment: "production", at: time)
                }
            })
    }
    func promote(_ hexes: [String]) throws -> Double {
        median(
            try hexes.map { hex in
                let promotion = sign(releaser, hex, .promoted(.init(from: "staging", to: "production")))
                return try seconds { _ = try ledger.appendBatch([promotion]) }
            })
    }
    let (gateMany, gateFew) = (try gate(many[0]), try gate(few[0]))
    let (promoteMany, promoteFew) = (try promote(many), try promote(few))
    emit([
        "events": events, "entries": try ledger.treeSize(), "gateSeconds": gateMany, "gateBaselineSeconds": gateFew,
        "promoteSeconds": promoteMany, "promoteBaselineSeconds": promoteFew, "digest": "sha256:" + many[0],
        "baselineDigest": "sha256:" + few[0], "repository": repository(many[0]),
    ])
}

/// Where verification time goes, per entry, on one core: read, parse the entry, parse the statement, verify; and
/// the JSON reader A/B: Docket's strict reader against Foundation's readers on the same inputs, in the same run
/// (median of three passes each).
func verifyBreakdown() throws {
    let ledger = try Ledger(path: option("ledger"), readOnly: true)
    let count = min(intOption("count", default: "20000"), try ledger.treeSize())
    var entries: [Entry] = []
    let read = try seconds { entries = try ledger.entries(from: 0, limit: count) }
    let bytes = entries.map(\.bytes)
    func median(_ body: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<3 { samples.append(try seconds(body)) }
        return samples.sorted()[1]
    }
    var parsed: [Entry] = []
    let parseEntry = try median { parsed = try bytes.map { try Entry(bytes: $0, source: "bench") } }
    // Foundation: JSONSerialization, then the same fields and base64 decoding as the strict path.
    var foundationEntries = 0
    let parseEntryFoundation = try median {
        foundationEntries = 0
        for b in bytes {
            guard let object = try JSONSerialization.jsonObject(with: b) as? [String: Any],
                (object["index"] as? NSNumber) != nil, object["integratedTime"] is String,
                let envelope = object["envelope"] as? [String: Any], let payload = envelope["payload"] as? String,
                Data(base64Encoded: payload) != nil, let signatures = envelope["signatures"] as? [[String: Any]],
                let sig = signatures.first?["sig"] as? String, Data(base64Encoded: sig) != nil
            else { continue }
            foundationEntries += 1
        }
    }
    let payloads = parsed.map(\.envelope.payload)
    var statements: [Statement] = []
    let parseStatement = try median {
        statements = try payloads.map { try Statement(parsing: $0, source: "bench") }
    }
    var decoded: [Statement] = []
    let parseStatementFoundation = try median {
        decoded = try payloads.map { try Statement(decoding: $0, source: "bench") }
    }
    precondition(decoded == statements && foundationEntries == count, "the readers disagree")
    let keys = Dictionary(
        try ledger.keys().compactMap { record in record.key.map { (record.keyID, $0) } },
        uniquingKeysWith: { a, _ in a })
    var valid = 0
    let verify = seconds {
        for e in parsed where keys[e.envelope.signatures[0].keyID].map({ e.envelope.isSigned(by: $0) }) == true {
            valid += 1
        }
    }
    let hash = seconds { for b in bytes { _ = Merkle.leafHash(b) } }
    let whole = try seconds { _ = try Verifier.verify(ledger: ledger, options: .init()) }
    let n = Double(count)
    emit([
        "entries": count, "readMicros": read / n * 1e6, "parseEntryMicros": parseEntry / n * 1e6,
        "parseEntryFoundationMicros": parseEntryFoundation / n * 1e6,
        "parseStatementMicros": parseStatement / n * 1e6,
        "parseStatementFoundationMicros": parseStatementFoundation / n * 1e6,
        "verifySignatureMicros": verify / n * 1e6,
        "leafHashMicros": hash / n * 1e6, "wholeVerifyMicrosPerEntry": whole / Double(try ledger.treeSize()) * 1e6,
        "validSignatures": valid, "statements": statements.count,
    ])
}

/// Instruction-count baselines for callgrind (`tools/bench --callgrind`): `sigs` verifies the Ed25519 signatures
/// of `--envelopes FILE` (one per line, written by `envelopes`), the work verify must do per entry; `batch`
/// appends them to a fresh ledger in one batch.
/// The lines of a file (written by `envelopes`), split without per-byte closures so the harness costs little
/// next to what it measures.
func lines(of path: String) throws -> [Data] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in
        var out: [Data] = []
        var start = 0
        while start < raw.count {
            let end = raw[start...].firstIndex(of: UInt8(ascii: "\n")) ?? raw.count
            if end > start { out.append(Data(raw[start..<end])) }
            start = end + 1
        }
        return out
    }
}

func signatureBaseline() throws {
    let lines = try lines(of: option("envelopes"))
    let parsed = try lines.map { try Envelope(parsing: Data($0), source: "bench") }
    let keys = Dictionary(
        uniqueKeysWithValues: [actor("ci"), actor("approver"), actor("releaser")].map {
            ($0.key.publicKey.keyID, $0.key.publicKey)
        })
    // `--skip-verify` does everything else: the difference of the two counts is the verifications alone.
    guard !arguments.contains("--skip-verify") else {
        emit(["signatures": 0])
        return
    }
    var valid = 0
    for envelope in parsed where keys[envelope.signatures[0].keyID].map({ envelope.isSigned(by: $0) }) == true {
        valid += 1
    }
    emit(["signatures": parsed.count, "valid": valid])
}

func writeEnvelopes() throws {
    let count = intOption("count")
    // For `batch`, signed for the ledger `batch-ledger` made (`--ledger-id`); for `sigs` the ID is not read.
    let id = option("ledger-id", default: String(repeating: "0", count: 64))
    let items = envelopes(origin: "bench.example/ledger", ledgerID: id, first: 0, count: count / 4 + 1).prefix(count)
    var out = Data()
    for item in items { out.append(item.data + Data("\n".utf8)) }
    try out.write(to: URL(fileURLWithPath: option("out")))
    emit(["envelopes": items.count])
}

/// `batch-ledger --out PATH`: the ledger `batch` appends to (actors and policy enrolled), and its ID, which the
/// envelopes of `envelopes --ledger-id` must name.
func batchLedger() throws {
    let path = option("out")
    for suffix in ["", "-wal", "-shm", ".logkey", ".logkey.pub"] {
        try? FileManager.default.removeItem(atPath: path + suffix)
    }
    let ledger = try Ledger.create(path: path, origin: "bench.example/ledger", admin: actor("admin"))
    try enrolActorsAndPolicy(ledger, origin: "bench.example/ledger")
    emit(["ledgerID": try ledger.ledgerID()])
}

/// `batch --ledger TEMPLATE --envelopes FILE`: one batch append of the file into a fresh copy of the template.
func batchAppend() throws {
    let lines = try lines(of: option("envelopes"))
    let template = option("ledger")
    let dir = NSTemporaryDirectory() + "docket-bench-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for suffix in ["", ".logkey", ".logkey.pub"] {
        try FileManager.default.copyItem(atPath: template + suffix, toPath: dir + "/ledger.db" + suffix)
    }
    let ledger = try Ledger(path: dir + "/ledger.db")
    let receipts = try ledger.appendBatch(lines.map { (data: Data($0), source: "bench") })
    emit(["appended": receipts.count])
}

switch arguments.first {
case "sigs": try signatureBaseline()
case "envelopes": try writeEnvelopes()
case "batch": try batchAppend()
case "batch-ledger": try batchLedger()
case "breakdown": try verifyBreakdown()
case "generate": try generate()
case "append": try appendRates()
case "query": try queryLatency()
case "services": try serviceLatency()
case "digest": try digestLatency()
case "built-envelopes": try writeBuiltEnvelopes()
case "batch-rate": try batchRate()
case "http-load":
    // The load generator is async (AsyncHTTPClient); the rest of the bench is synchronous.
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { try await httpLoad() } catch {
            FileHandle.standardError.write(Data("http-load: \(error)\n".utf8))
            exit(3)
        }
        done.signal()
    }
    done.wait()
default:
    FileHandle.standardError.write(
        Data(
            "usage: docket-bench generate --ledger PATH --entries N | append [--count N] [--batch N] | query --ledger PATH\n"
                .utf8))
    exit(2)
}
