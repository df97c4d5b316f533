import Foundation
import Testing

@testable import DocketCore

/// The core's folders keep to their jobs (DESIGN §6). These read the sources, so a change that crosses a
/// boundary fails here, not in a review.
@Suite("Architecture")
struct ArchitectureTests {
    static let core = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/DocketCore")

    /// Every Swift file of the core, by folder (`Log`, `Model`, …), with its text.
    static func sources() throws -> [(folder: String, file: String, text: String)] {
        let files = try #require(FileManager.default.enumerator(atPath: core.path)).compactMap { $0 as? String }
        return try files.filter { $0.hasSuffix(".swift") }.sorted().map { path in
            let folder = path.split(separator: "/").first.map(String.init) ?? ""
            return (folder, path, try String(contentsOf: core.appendingPathComponent(path), encoding: .utf8))
        }
    }

    /// Source text without comments, so a doc comment may say "SELECT" freely.
    static func code(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line)
        }.joined(separator: "\n")
    }

    static let sqlMarkers = [
        "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "PRAGMA ", "CREATE TABLE", "BEGIN", "COMMIT", "db.", "Database(",
    ]

    @Test("Only Log/ and Projections/ speak SQL")
    func sqlStaysInTheStore() throws {
        let sources = try Self.sources()
        #expect(sources.count > 30, "the core's sources were not found at \(Self.core.path)")
        var offenders: [String] = []
        for source in sources where !["Log", "Projections"].contains(source.folder) {
            // An SSH signature's armour (`-----BEGIN SSH SIGNATURE-----`) is not a transaction.
            let code = Self.code(source.text).replacingOccurrences(of: "BEGIN SSH SIGNATURE", with: "")
            for marker in Self.sqlMarkers where code.contains(marker) { offenders.append("\(source.file): \(marker)") }
        }
        #expect(offenders.isEmpty, "SQL outside Log/ and Projections/: \(offenders)")
    }

    @Test("Crypto does not use the log; Model calls no crypto; Support depends on neither")
    func layers() throws {
        let rules: [(folder: String, forbidden: [String])] = [
            ("Crypto", ["Ledger", "LogStore", "Database", "Entry", "Merkle", "Projector"]),
            ("Model", ["Sodium", "SHA256", "SigningKey", "PublicKey", "Envelope", "Ledger", "Database"]),
            ("Support", ["Sodium", "SHA256", "SigningKey", "Envelope", "Ledger", "Database", "Statement"]),
            ("Policy", ["Database", "LogStore", "Projector", "Ledger"]),
        ]
        var offenders: [String] = []
        for source in try Self.sources() {
            let words = Self.identifiers(Self.code(source.text))
            for rule in rules where rule.folder == source.folder {
                for name in rule.forbidden where words.contains(name) { offenders.append("\(source.file): \(name)") }
            }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }

    @Test("Extensions live in Type+Concern.swift files")
    func extensionFiles() throws {
        var offenders: [String] = []
        for source in try Self.sources() {
            let name = (source.file as NSString).lastPathComponent.replacingOccurrences(of: ".swift", with: "")
            for line in Self.code(source.text).split(separator: "\n") where line.hasPrefix("extension ") {
                let type = line.dropFirst("extension ".count).prefix { $0.isLetter || $0.isNumber || $0 == "." }
                let base = String(type.split(separator: ".").first ?? "")
                // A file may extend its own main type, or be named for the type and concern it adds.
                if name != base && !name.hasPrefix(base + "+") && !Self.mainTypes(source.text).contains(base) {
                    offenders.append("\(source.file): extension \(type)")
                }
            }
        }
        #expect(offenders.isEmpty, "extensions of other types belong in Type+Concern.swift: \(offenders)")
    }

    /// The identifiers in source text (whole words).
    static func identifiers(_ text: String) -> Set<String> {
        Set(text.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
    }

    /// Types a file declares.
    static func mainTypes(_ text: String) -> Set<String> {
        var out: Set<String> = []
        for line in code(text).split(separator: "\n") {
            let words = line.split(separator: " ")
            for (i, word) in words.enumerated()
            where ["struct", "enum", "class", "protocol"].contains(word) && i + 1 < words.count {
                out.insert(String(words[i + 1].prefix { $0.isLetter || $0.isNumber }))
            }
        }
        return out
    }
}

@Suite("Ledger file", TestStore.fileOnly)
struct LedgerFileTests {
    @Test("A ledger written by another schema version is refused at open, saying which and what to do")
    func schemaVersion() throws {
        for (found, word) in [("0", "older"), ("99", "newer")] {
            let s = try Scenario()
            try s.ledger.db.run("UPDATE meta SET value = ? WHERE key = 'schema'", [.text(found)])
            let error = #expect(throws: LedgerError.self) { try Ledger(path: s.ledger.path) }
            #expect(error == .schemaMismatch(path: s.ledger.path, found: found, supported: Schema.version))
            #expect("\(error!)".contains("written by an \(word) Docket") || "\(error!)".contains("a \(word) Docket"))
        }
    }

    @Test("Refusals are typed cases that carry their data")
    func typedRefusals() throws {
        let s = try Scenario(policy: GateTests.policy)
        let image = digest("a")
        let unknown = #expect(throws: LedgerError.self) {
            try s.record("ci", image, .deployed(.init(environment: "qa")))
        }
        #expect(
            unknown == .refused(.unknownEnvironment("qa", pipeline: "default", known: ["staging", "production", "dr"])))
        let role = #expect(throws: LedgerError.self) { try s.record("alice", image, .built(.init())) }
        #expect(role == .refused(.missingRole(identity: "alice@example.com", holds: [.approver], kind: .built)))
        let resolve = #expect(throws: LedgerError.self) {
            try s.record("ci", image, .incident(.init(environment: "staging", incident: "I-1", state: .resolved)))
        }
        #expect(resolve == .refused(.incidentNotOpen(incident: "I-1", environment: "staging")))
        let rollback = #expect(throws: LedgerError.self) {
            try s.ledger.queries.rollbackChoice(environment: "production", repository: Scenario.repository, to: nil)
        }
        #expect(rollback == .refused(.nothingCurrent(environment: "production", repository: Scenario.repository)))
        let foreign = #expect(throws: LedgerError.self) {
            try s.ledger.append(
                try s.envelope(
                    "ci", subject: Scenario.repository, digest: image.hex, .built(.init()), ledger: "other/ledger"),
                source: "t")
        }
        #expect(foreign == .refused(.foreignLedger(signedFor: "other/ledger", this: s.origin)))
    }

    @Test("Text holding U+0000 is stored and read whole, not cut at the NUL")
    func nulInText() throws {
        let s = try Scenario()
        try s.ledger.db.execute("CREATE TABLE t(v TEXT)")
        try s.ledger.db.run("INSERT INTO t(v) VALUES (?)", [.text("INC-1\u{0}x")])
        #expect(try s.ledger.db.row("SELECT v FROM t")?.text("v") == "INC-1\u{0}x")
        #expect(try s.ledger.db.row("SELECT length(CAST(v AS BLOB)) AS n FROM t")?.int("n") == 7)
    }

    @Test("SQLite result codes are named")
    func resultCodes() {
        #expect(ResultCode(extended: 2067) == .constraint)  // SQLITE_CONSTRAINT_UNIQUE
        #expect(ResultCode(extended: 26) == .notADatabase)
        #expect(ResultCode(extended: 517) == .busy)  // SQLITE_BUSY_SNAPSHOT
        #expect(DatabaseError(code: 2067, message: "", path: "x").resultCode == .constraint)
    }
}
