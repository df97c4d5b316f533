import CSQLite
import CSodium
import DocketCore
import Foundation

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
