import CSQLite
import CSodium
import DocketCore
import Foundation

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
        try ledger.queries.keys().compactMap { record in record.key.map { (record.keyID, $0) } },
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
