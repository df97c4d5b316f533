import DocketPostgres
import Foundation
import Synchronization
import Testing

@testable import DocketCore

/// Loads a JSON fixture copied from ../shared/testvectors (attribution in Fixtures/README.md).
func fixture<T: Decodable>(_ path: String, as type: T.Type = T.self) throws -> T {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/" + path, withExtension: nil))
    return try JSONDecoder().decode(T.self, from: try Data(contentsOf: url))
}

/// Decodes a fixture file found by ``fixtureFiles(under:)``.
func fixture<T: Decodable>(_ url: URL, as type: T.Type = T.self) throws -> T {
    try JSONDecoder().decode(T.self, from: try Data(contentsOf: url))
}

/// Every JSON file under a fixture folder, recursively.
func fixtureFiles(under folder: String) throws -> [URL] {
    let root = try #require(Bundle.module.url(forResource: "Fixtures/" + folder, withExtension: nil))
    let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
    var out: [URL] = []
    while let url = enumerator?.nextObject() as? URL {
        if url.pathExtension == "json" { out.append(url) }
    }
    return out.sorted { $0.path < $1.path }
}

extension Data {
    init(hexString: String) { self = Data(hex: hexString)! }
}

/// A clock tests move by hand.
final class TestClock: LedgerClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Timestamp

    init(_ start: Timestamp = Timestamp(rfc3339: "2026-01-01T00:00:00.000Z")!) { current = start }

    func now() -> Timestamp { lock.withLock { current } }

    func advance(seconds: Int64) { lock.withLock { current = current.adding(seconds: seconds) } }

    func set(_ t: Timestamp) { lock.withLock { current = t } }
}

/// A temporary folder removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "docket-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// A ledger in a temp folder with named actors, for tests that tell a story.
final class Scenario {
    let directory: TemporaryDirectory
    let clock = TestClock()
    let ledger: Ledger
    let origin = "test.example/ledger"
    var keys: [String: KeyFile] = [:]

    static let repository = "registry.example/app"

    init(policy: String? = nil) throws {
        directory = try TemporaryDirectory()
        let admin = KeyFile(identity: "admin@example.com", key: try SigningKey.generate())
        keys["admin"] = admin
        let file = try Ledger.create(path: directory.file("ledger.db"), origin: origin, admin: admin, clock: clock)
        let clock = self.clock
        if let server = TestStore.postgres {
            ledger = try TestStore.copy(file, into: server, clock: clock)
        } else {
            ledger = file
        }
        for (name, roles) in [
            ("ci", [Role.ci, .checker, .monitor]), ("alice", [.approver]), ("bob", [.approver]),
            ("carol", [.approver, .ci]), ("rel", [.releaser]),
        ] {
            try enroll(name, roles: roles)
        }
        if let policy { try setPolicy(policy) }
    }

    @discardableResult
    func enroll(_ name: String, roles: [Role], teams: [String]? = nil, by admin: String = "admin") throws -> KeyFile {
        let key = KeyFile(identity: "\(name)@example.com", key: try SigningKey.generate())
        keys[name] = key
        try append(
            admin, subject: key.identity, digest: SHA256.hash(key.key.publicKey.raw).hex,
            .keyEnrolled(.init(identity: key.identity, publicKey: key.key.publicKey.base64, roles: roles, teams: teams))
        )
        return key
    }

    /// Sets `name`'s key's roles and teams (a signed `key-updated`).
    func update(_ name: String, roles: [Role], teams: [String]) throws {
        let key = try #require(keys[name])
        try append(
            "admin", subject: key.identity, digest: SHA256.hash(key.key.publicKey.raw).hex,
            .keyUpdated(.init(identity: key.identity, publicKey: key.key.publicKey.base64, roles: roles, teams: teams)))
    }

    /// An admin revokes `name`'s key.
    func revoke(_ name: String, reason: String = "left", voidApprovals: Bool = false, by admin: String = "admin")
        throws
    {
        let key = try #require(keys[name])
        try append(
            admin, subject: key.identity, digest: SHA256.hash(key.key.publicKey.raw).hex,
            .keyRevoked(
                .init(
                    identity: key.identity, publicKey: key.key.publicKey.base64, reason: reason,
                    voidApprovals: voidApprovals ? true : nil)))
    }

    func setPolicy(_ yaml: String) throws {
        let policy = try Policy(parsing: yaml, source: "test policy")
        try append("admin", subject: "policy", digest: policy.documentHash, .policy(.init(policy: policy.document)))
    }

    func envelope(
        _ signer: String, subject: String, digest: String, _ predicate: EventPredicate, ledger: String? = nil,
        ledgerID: String? = nil
    ) throws -> Data {
        let statement = try Statement.make(
            subjectName: subject, subjectDigest: digest, ledger: ledger ?? origin,
            ledgerID: try ledgerID ?? self.ledger.ledgerID(), predicate: predicate, clock: clock)
        return Envelope.sign(payload: statement.encoded(), with: keys[signer]!.key).compactJSON
    }

    @discardableResult
    func append(_ signer: String, subject: String, digest: String, _ predicate: EventPredicate) throws -> AppendReceipt
    {
        try ledger.append(try envelope(signer, subject: subject, digest: digest, predicate), source: "test")
    }

    @discardableResult
    func record(_ signer: String, _ image: Digest, _ predicate: EventPredicate, repository: String = repository)
        throws -> AppendReceipt
    {
        try append(signer, subject: repository, digest: image.hex, predicate)
    }

    func gate(_ image: Digest, _ env: String, promoter: String? = nil, repository: String = repository) throws
        -> GateVerdict
    {
        try ledger.queries.gate(
            digest: image, repository: repository, environment: env, at: try ledger.ledgerTime(), promoter: promoter)
    }

    /// The rules of an approvals result, by rule name.
    func approvalRule(_ verdict: GateVerdict, _ name: String) -> GateVerdict.Rule? {
        verdict.rules.first { $0.rule == "approvals" && $0.name == name }
    }

    func rule(_ verdict: GateVerdict, _ name: String) -> GateVerdict.Rule? { verdict.rules.first { $0.rule == name } }
}

func digest(_ c: Character) -> Digest { try! Digest(hex: String(repeating: c, count: 64)) }

/// The store the scenarios run on: a ledger file, or, with `DOCKET_TEST_POSTGRES=postgres://USER@HOST:PORT/DB`
/// set (tools/test starts a throwaway PostgreSQL and runs the suites again), a database of its own per scenario on
/// that server, the genesis migrated into it as `docket migrate` does.
enum TestStore {
    static let postgres: String? = ProcessInfo.processInfo.environment["DOCKET_TEST_POSTGRES"]
    /// For the tests that open or edit the SQLite file itself (tampering, schema versions, the log key file next
    /// to the ledger): run on the file store only.
    static let fileOnly = ConditionTrait.enabled(if: postgres == nil, "opens the SQLite file itself")
    private static let made = Atomic<Int>(0)

    static func copy(_ file: Ledger, into server: String, clock: any LedgerClock) throws -> Ledger {
        let name = "scenario_\(getpid())_\(made.add(1, ordering: .relaxed).newValue)"
        try PostgresStore(location: try PostgresLocation(parsing: server)).connection()
            .execute("CREATE DATABASE \(name)")
        let base = server[..<(server.lastIndex(of: "/") ?? server.endIndex)]
        let store = PostgresStore(location: try PostgresLocation(parsing: "\(base)/\(name)"))
        _ = try file.migrate(to: store.connection())
        return try Ledger(connection: store.connection(), logKeyPath: file.logKeyPath, clock: clock)
    }
}
