import DocketCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import Testing

@testable import DocketServer

/// The HTTP API's answers, status code by status code, against a real ledger in a temporary folder (the server
/// runs live on 127.0.0.1 with its writer; the end-to-end tests in tools/tests drive the built binary).
@Suite struct RouterTests {
    /// A ledger with an admin and a CI key, and envelopes signed for it.
    final class Fixture: @unchecked Sendable {
        let folder: String
        let path: String
        let admin: KeyFile
        let ci: KeyFile
        /// A key the ledger never enrolled.
        let stranger: SigningKey
        let origin = "test.example/served"
        let ledgerID: String

        init() throws {
            folder = NSTemporaryDirectory() + "docket-router-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            path = folder + "/ledger.db"
            admin = KeyFile(identity: "admin@example.com", key: try SigningKey.generate())
            ci = KeyFile(identity: "ci@example.com", key: try SigningKey.generate())
            stranger = try SigningKey.generate()
            let ledger = try Ledger.create(path: path, origin: origin, admin: admin)
            ledgerID = try ledger.ledgerID()
            try ledger.append(
                try sign(
                    subject: ci.identity, digest: SHA256.hash(ci.key.publicKey.raw).hex,
                    .keyEnrolled(
                        .init(
                            identity: ci.identity, publicKey: ci.key.publicKey.base64, roles: [.ci, .monitor],
                            teams: nil)),
                    by: admin.key), source: "enrol ci")
        }

        deinit { try? FileManager.default.removeItem(atPath: folder) }

        func sign(
            subject: String, digest: String, _ predicate: EventPredicate, by key: SigningKey, ledgerID: String? = nil
        ) throws -> Data {
            let statement = try Statement.make(
                subjectName: subject, subjectDigest: digest, ledger: origin, ledgerID: ledgerID ?? self.ledgerID,
                predicate: predicate)
            return Envelope.sign(payload: statement.encoded(), with: key).compactJSON
        }

        /// A `built` event for a fresh digest, signed by the CI key.
        func built(_ n: Int, ledgerID: String? = nil, key: SigningKey? = nil) throws -> Data {
            let digest = SHA256.hash(Data("image \(n)".utf8)).hex
            return try sign(
                subject: "registry.example/app", digest: digest,
                .built(.init(tags: ["v\(n)"], source: nil)), by: key ?? ci.key, ledgerID: ledgerID)
        }

        func server(_ change: (inout DocketServer.Configuration) -> Void = { _ in }) throws -> (
            Application<RouterResponder<DocketRequestContext>>, ServerState
        ) {
            var configuration = DocketServer.Configuration(ledgerPath: path)
            configuration.port = 0
            change(&configuration)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let server = DocketServer(configuration: configuration, logger: logger)
            let state = try ServerState(configuration: configuration, logger: logger)
            return (try server.application(state: state), state)
        }
    }

    static func post(_ client: some TestClientProtocol, _ body: Data, headers: HTTPFields = [:]) async throws
        -> TestResponse
    {
        try await client.execute(
            uri: "/api/v1/entries", method: .post, headers: headers, body: ByteBuffer(data: body))
    }

    static func errorCode(_ response: TestResponse) throws -> String? {
        struct Body: Decodable {
            struct Inner: Decodable { var code: String }
            var error: Inner
        }
        return try JSONDecoder().decode(Body.self, from: Data(buffer: response.body)).error.code
    }

    @Test func writesAnswerEveryStatus() async throws {
        let f = try Fixture()
        let (app, _) = try f.server()
        try await app.test(.live) { client in
            let stranger = f.stranger
            let one = try f.built(1)
            let first = try await Self.post(client, one)
            #expect(first.status == .created)
            #expect(first.headers[.location] == "/api/v1/entries/2")
            let again = try await Self.post(client, one)
            #expect(again.status == .ok)
            #expect(again.headers[.docketDuplicate] == "true")

            let malformed = try await Self.post(client, Data("{not json".utf8))
            #expect(malformed.status == .badRequest)
            #expect(try Self.errorCode(malformed) == "malformed")

            let foreign = try await Self.post(client, try f.built(2, ledgerID: String(repeating: "0", count: 64)))
            #expect(foreign.status == .badRequest)

            let unknown = try await Self.post(client, try f.built(3, key: stranger))
            #expect(unknown.status == .forbidden)
            #expect(try Self.errorCode(unknown) == "unknown-key")

            // The CI key may not enrol keys: the ledger's own rule, decided in the writer's transaction.
            let notAllowed = try await Self.post(
                client,
                try f.sign(
                    subject: "x@example.com", digest: SHA256.hash(stranger.publicKey.raw).hex,
                    .keyEnrolled(
                        .init(identity: "x@example.com", publicKey: stranger.publicKey.base64, roles: [.ci], teams: nil)
                    ),
                    by: f.ci.key))
            #expect(notAllowed.status == .forbidden)
            #expect(try Self.errorCode(notAllowed) == "not-authorised")

            // Resolving an incident never opened is refused by the ledger's rules.
            let digest = SHA256.hash(Data("image 1".utf8)).hex
            let refused = try await Self.post(
                client,
                try f.sign(
                    subject: "registry.example/app", digest: digest,
                    .incident(.init(environment: "prod", incident: "INC-1", state: .resolved)),
                    by: f.ci.key))
            #expect(refused.status == .conflict)

            let huge = try await Self.post(client, Data(repeating: UInt8(ascii: " "), count: 70_000))
            #expect(huge.status == .contentTooLarge)

            let size = try await client.execute(uri: "/api/v1/ledger", method: .get)
            #expect(String(buffer: size.body).contains(#""size":3"#))
        }
    }

    @Test func rateLimitsAndTokens() async throws {
        let f = try Fixture()
        let (app, _) = try f.server {
            $0.keyRate = 1
            $0.keyBurst = 2
            $0.writeToken = "write-token-0123456789"
            $0.readToken = "read-token-0123456789"
        }
        try await app.test(.live) { client in
            let noToken = try await Self.post(client, try f.built(1))
            #expect(noToken.status == .unauthorized)
            let auth: HTTPFields = [.authorization: "Bearer write-token-0123456789"]
            var statuses: [HTTPResponse.Status] = []
            for n in 1...5 { statuses.append(try await Self.post(client, try f.built(n), headers: auth).status) }
            #expect(statuses.prefix(2).allSatisfy { $0 == .created })
            let limited = try await Self.post(client, try f.built(9), headers: auth)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)

            #expect(try await client.execute(uri: "/checkpoint", method: .get).status == .unauthorized)
            let read = try await client.execute(
                uri: "/checkpoint", method: .get, headers: [.authorization: "Bearer read-token-0123456789"])
            #expect(read.status == .ok)
            #expect(read.headers[.cacheControl] == "no-cache")
        }
    }

    @Test func shuttingDownAnswers503() async throws {
        let f = try Fixture()
        let (app, state) = try f.server()
        try await app.test(.live) { client in
            state.startDraining()
            let draining = try await Self.post(client, try f.built(1))
            #expect(draining.status == .serviceUnavailable)
            #expect(draining.headers[.retryAfter] != nil)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .serviceUnavailable)
        }
    }

    @Test func readsServeTilesProofsAndQueries() async throws {
        let f = try Fixture()
        let (app, _) = try f.server()
        try await app.test(.live) { client in
            for n in 1...3 { #expect(try await Self.post(client, try f.built(n)).status == .created) }
            let ledger = try Ledger(path: f.path, readOnly: true)
            // Level 0, entries 0-4: the leaf hashes of the stored entries.
            let tile = try await client.execute(uri: "/tile/0/000.p/5", method: .get)
            #expect(tile.status == .ok)
            let leaves = try (0..<5).map { Merkle.leafHash(try ledger.entryBytes(at: $0)!) }
            #expect(Data(buffer: tile.body) == leaves.reduce(Data(), +))
            #expect(tile.headers[.cacheControl]?.contains("immutable") == true)
            #expect(try await client.execute(uri: "/tile/0/000", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/tile/0/000.p/6", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/tile/0/0", method: .get).status == .notFound)
            let bundle = try await client.execute(uri: "/tile/entries/000.p/5", method: .get)
            var bytes = Data(buffer: bundle.body)
            for i in 0..<5 {
                let length = Int(bytes[bytes.startIndex]) << 8 | Int(bytes[bytes.startIndex + 1])
                #expect(bytes.dropFirst(2).prefix(length) == (try ledger.entryBytes(at: i)!))
                bytes = bytes.dropFirst(2 + length)
            }
            #expect(bytes.isEmpty)

            let entry = try await client.execute(uri: "/api/v1/entries/3", method: .get)
            #expect(entry.status == .ok)
            let receipt = try JSONDecoder().decode(EntryReceipt.self, from: Data(buffer: entry.body))
            let proof = try InclusionProof(parsing: receipt.inclusionProof, source: "receipt")
            _ = try proof.verify(
                entryBytes: Data(receipt.entry.utf8), logKey: try ledger.logVerifierKey(), source: "receipt")
            #expect(try await client.execute(uri: "/api/v1/entries/99", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/entries/x", method: .get).status == .badRequest)

            let consistency = try await client.execute(uri: "/api/v1/proof/consistency?from=2&to=5", method: .get)
            #expect(consistency.status == .ok)
            #expect(
                try await client.execute(uri: "/api/v1/proof/consistency?from=6&to=2", method: .get).status
                    == .badRequest)

            let exported = f.folder + "/export.jsonl"
            _ = try ledger.proofs.exportBundle(to: exported)
            let streamed = try await client.execute(uri: "/api/v1/bundle", method: .get)
            #expect(Data(buffer: streamed.body) == (try Data(contentsOf: URL(fileURLWithPath: exported))))

            let status = try await client.execute(uri: "/api/v1/status", method: .get)
            #expect(status.status == .ok)
            #expect(String(buffer: status.body).contains("registry.example/app"))
            let gate = try await client.execute(
                uri: "/api/v1/gate?digest=sha256:\(String(repeating: "f", count: 64))", method: .get)
            #expect(gate.status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/log?limit=2", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/api/v1/log?since=-1", method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("docket_appends_total 3"))
            #expect(metrics.contains("docket_batch_size_bucket"))
        }
    }

    @Test func tilePathsAreCanonical() {
        #expect(TileAddress(path: "0/x001/x234/067")?.index == 1_234_067)
        #expect(TileAddress(path: "1/000.p/5") == TileAddress(level: 1, index: 0, width: 5))
        #expect(TileAddress(path: "entries/x001/000")?.level == nil)
        #expect(TileAddress(path: "0/1") == nil)
        #expect(TileAddress(path: "0/001.p/256") == nil)
        #expect(TileAddress(path: "0/001.p/0") == nil)
        #expect(TileAddress(path: "9/001") == nil)
        #expect(TileAddress(level: 0, index: 1_234_067, width: 256).path == "0/x001/x234/067")
        #expect(TileAddress(level: nil, index: 5, width: 7).path == "entries/005.p/7")
        #expect(TileAddress.width(level: 0, index: 1, size: 300) == 44)
        #expect(TileAddress.width(level: 1, index: 0, size: 70_000) == 256)
        #expect(TileAddress.width(level: 1, index: 1, size: 70_000) == 17)
    }
}
