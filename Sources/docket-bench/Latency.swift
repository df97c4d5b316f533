import CSQLite
import CSodium
import DocketCore
import Foundation

/// Median latency of `status` and `gate` on an existing ledger (library calls, warm).
func queryLatency() throws {
    let ledger = try Ledger(path: option("ledger"), readOnly: true)
    let repeats = intOption("repeats", default: "50")
    let size = try ledger.treeSize()
    // A digest from the most recent events, so the gate has real facts to read.
    let recent =
        try ledger.queries.events(from: max(0, size - 8), limit: 8).compactMap(\.digest).last
        ?? Digest(hex: String(repeating: "0", count: 64))
    func median(_ body: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<repeats { samples.append(try seconds(body)) }
        return samples.sorted()[samples.count / 2]
    }
    _ = try ledger.queries.status()
    let status = try median { _ = try ledger.queries.status() }
    let gate = try median {
        _ = try ledger.queries.gate(
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
    let one = try median { _ = try ledger.queries.status(repository: last) }
    let all = try median { _ = try ledger.queries.status() }
    let gate = try median {
        _ = try ledger.queries.gate(digest: digest, repository: last, environment: "production", at: time)
    }
    let verdict = try ledger.queries.gate(digest: digest, repository: last, environment: "production", at: time)
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
                    _ = try ledger.queries.gate(
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
