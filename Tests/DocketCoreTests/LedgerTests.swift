import Foundation
import Testing

@testable import DocketCore

@Suite("Appending to the ledger")
struct LedgerTests {
    @Test("Entries are gapless, times never decrease, every append signs a checkpoint that verifies")
    func appendBasics() throws {
        let s = try Scenario()
        let start = try s.ledger.treeSize()
        let a = digest("a")
        let first = try s.record("ci", a, .built(.init(tags: ["1.0"])))
        s.clock.advance(seconds: -3600)  // the machine's clock jumps back an hour
        let second = try s.record("ci", a, .deployed(.init(environment: "staging")))
        #expect(first.index == start)
        #expect(second.index == start + 1)
        #expect(Timestamp(rfc3339: second.integratedTime)! >= Timestamp(rfc3339: first.integratedTime)!)

        let note = try s.ledger.checkpointNote()
        let (checkpoint, _) = try Checkpoint.verified(text: note, logKey: try s.ledger.logVerifierKey(), source: "test")
        #expect(checkpoint.size == start + 2)
        let leaves = try s.ledger.entries(from: 0, limit: 100).map(\.leafHash)
        #expect(checkpoint.root == Merkle.root(leafHashes: leaves))
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
    }

    @Test("Entry bytes have the fixed shape and round-trip exactly")
    func entryShape() throws {
        let s = try Scenario()
        let receipt = try s.record("ci", digest("b"), .built(.init()))
        let entry = try #require(try s.ledger.entry(at: receipt.index))
        let text = String(decoding: entry.bytes, as: UTF8.self)
        #expect(
            text.hasPrefix(
                "{\"index\":\(receipt.index),\"integratedTime\":\"\(receipt.integratedTime)\",\"envelope\":{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\""
            ))
        #expect(!text.contains("\n"))
        let reparsed = try Entry(bytes: entry.bytes, source: "test")
        #expect(
            Entry(index: reparsed.index, integratedTime: reparsed.integratedTime, envelope: reparsed.envelope).bytes
                == entry.bytes)

        // Other spellings of the same JSON give the same entry (the bytes, not a re-serialisation, are the leaf).
        let spaced = Data(text.replacingOccurrences(of: ",\"", with: ", \"").utf8)
        let general = try Entry(bytes: spaced, source: "spaced")
        #expect(general.index == reparsed.index && general.envelope == reparsed.envelope)
        for cut in [1, 10, text.utf8.count / 2, text.utf8.count - 1] {
            #expect(throws: EntryError.self) { try Entry(bytes: entry.bytes.prefix(cut), source: "cut") }
        }
        #expect(throws: EntryError.self) { try Entry(bytes: Data(), source: "empty") }
    }

    @Test("The same envelope submitted twice is appended once")
    func idempotent() throws {
        let s = try Scenario()
        let envelope = try s.envelope("ci", subject: Scenario.repository, digest: digest("c").hex, .built(.init()))
        let first = try s.ledger.append(envelope, source: "first")
        let size = try s.ledger.treeSize()
        let again = try s.ledger.append(envelope, source: "again")
        #expect(!first.duplicate)
        #expect(again.duplicate)
        #expect(again.index == first.index)
        #expect(try s.ledger.treeSize() == size)

        // The same statement with an altered signature is not "already there": it is refused.
        var forged = try Envelope(parsing: envelope, source: "t")
        forged.signatures[0].sig[7] ^= 0x01
        let error = #expect(throws: LedgerError.self) { try s.ledger.append(forged.compactJSON, source: "forged") }
        #expect("\(error!)".contains("does not verify"))
    }

    @Test(
        "A log key file that is not the one recorded at genesis is refused, and nothing is appended",
        TestStore.fileOnly)
    func foreignLogKey() throws {
        let s = try Scenario()
        let size = try s.ledger.treeSize()
        let path = Ledger.logKeyPath(for: s.ledger.path)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.removeItem(atPath: path + ".pub")
        try KeyFileFormat.write(KeyFile(identity: s.origin, key: try SigningKey.generate()), to: path, passphrase: nil)
        let reopened = try Ledger(path: s.ledger.path, clock: s.clock)
        let envelope = try s.envelope("ci", subject: Scenario.repository, digest: digest("a").hex, .built(.init()))
        let error = #expect(throws: LedgerError.self) { try reopened.append(envelope, source: "t") }
        #expect("\(error!)".contains("not the log key recorded in the genesis entry"))
        #expect(try reopened.treeSize() == size)
        #expect(try Verifier.verify(ledger: reopened, options: .init()).ok)
    }

    /// Runs `body`, expects it to throw `E`, and checks the ledger did not change.
    func expectUnchanged<E: Error>(_ s: Scenario, _ type: E.Type, _ body: () throws -> Void) throws -> E? {
        let size = try s.ledger.treeSize()
        let note = try s.ledger.checkpointNote()
        var caught: E? = nil
        do { try body() } catch let error as E { caught = error }
        #expect(caught != nil, "expected \(E.self)")
        #expect(try s.ledger.treeSize() == size)
        #expect(try s.ledger.checkpointNote() == note)
        return caught
    }

    @Test("Refused envelopes leave the ledger unchanged, with an error that says why")
    func refusals() throws {
        let s = try Scenario(policy: "environments:\n  - name: staging\n  - name: production\n    from: staging\n")
        let a = digest("a")

        let stranger = KeyFile(identity: "mallory@example.com", key: try SigningKey.generate())
        s.keys["mallory"] = stranger
        var error = try expectUnchanged(s, LedgerError.self) { try s.record("mallory", a, .built(.init())) }
        #expect("\(error!)".contains("does not verify under any key enrolled"))

        error = try expectUnchanged(s, LedgerError.self) { try s.record("alice", a, .built(.init())) }
        #expect("\(error!)".contains("need the ci role"))

        let foreign = try s.envelope(
            "ci", subject: Scenario.repository, digest: a.hex, .built(.init()), ledger: "other.example/ledger")
        error = try expectUnchanged(s, LedgerError.self) { try s.ledger.append(foreign, source: "foreign") }
        #expect("\(error!)".contains("signed for ledger `other.example/ledger`"))

        error = try expectUnchanged(s, LedgerError.self) { try s.record("ci", a, .deployed(.init(environment: "qa"))) }
        #expect("\(error!)".hasPrefix("`qa` is not in the policy; environments are"), "\(error!)")

        // Revoked keys sign nothing afterwards.
        let bob = s.keys["bob"]!
        try s.append(
            "admin", subject: bob.identity, digest: SHA256.hash(bob.key.publicKey.raw).hex,
            .keyRevoked(.init(identity: bob.identity, publicKey: bob.key.publicKey.base64, reason: "laptop lost")))
        error = try expectUnchanged(s, LedgerError.self) {
            try s.record("bob", a, .approved(.init(environment: "production")))
        }
        #expect("\(error!)".contains("revoked") && "\(error!)".contains("laptop lost"))

        let good = try s.envelope("ci", subject: Scenario.repository, digest: a.hex, .built(.init()))
        let envelopeErrors: [(Data, String)] = [
            (good.prefix(good.count / 2), "truncated"), (Data("not json".utf8), "not JSON"), (Data(), "empty"),
            (Data("[1,2]".utf8), "array"), (Data(count: Envelope.maximumSize + 1), "too large"),
        ]
        for (bytes, what) in envelopeErrors {
            let e = try expectUnchanged(s, EnvelopeError.self) { try s.ledger.append(bytes, source: what) }
            #expect(e?.category == .badInput, "\(what)")
        }
        var tampered = try JSONSerialization.jsonObject(with: good) as! [String: Any]
        tampered["payload"] = Data("{\"_type\":\"x\"}".utf8).base64EncodedString()
        let tamperedBytes = try JSONSerialization.data(withJSONObject: tampered)
        _ = try expectUnchanged(s, ModelError.self) { try s.ledger.append(tamperedBytes, source: "edited payload") }
    }

    @Test(
        "Digests: tags, short, upper-case and unprefixed input are refused with guidance",
        arguments: [
            ("app:latest", "tag"), ("registry.example/app:1.2", "tag"), ("sha256:abc", "64"),
            ("sha256:" + String(repeating: "A", count: 64), "lower case"),
            (String(repeating: "a", count: 64), "prefix"),
            ("sha512:" + String(repeating: "a", count: 128), "sha256"),
        ])
    func digestErrors(input: String, expected: String) throws {
        let error = #expect(throws: ModelError.self) { try ImageReference(parsing: input) }
        #expect("\(error!)".contains(expected), "\(input): \(error!)")
        #expect(error?.category == .badInput)
    }

    @Test("REPO@DIGEST parses into repository and digest")
    func imageReference() throws {
        let ref = try ImageReference(
            parsing: "registry.example:5000/team/app@sha256:" + String(repeating: "0", count: 64))
        #expect(ref.repository == "registry.example:5000/team/app")
        #expect(ref.digest.hex == String(repeating: "0", count: 64))
        #expect(throws: ModelError.self) { try Role(parsing: "superuser") }
    }

    @Test("Opening a missing file or a file that is not a ledger fails clearly")
    func openErrors() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: LedgerError.self) { try Ledger(path: dir.file("missing.db")) }
        try Data("this is not sqlite at all, just text".utf8).write(to: URL(fileURLWithPath: dir.file("text.db")))
        let error = #expect(throws: LedgerError.self) { try Ledger(path: dir.file("text.db")) }
        #expect("\(error!)".contains("not a Docket ledger"))
        #expect(
            try String(contentsOfFile: dir.file("text.db"), encoding: .utf8) == "this is not sqlite at all, just text")
    }

    @Test("Key files: mode 0600, refused when readable by others, encrypted with a passphrase")
    func keyFiles() throws {
        let dir = try TemporaryDirectory()
        let key = KeyFile(identity: "alice@example.com", key: try SigningKey.generate())
        try KeyFileFormat.write(key, to: dir.file("plain.key"), passphrase: nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("plain.key"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try KeyFileFormat.read(path: dir.file("plain.key"), passphrase: nil).key.publicKey == key.key.publicKey)
        let line = try PublicKeyLine(
            parsing: try String(contentsOfFile: dir.file("plain.key.pub"), encoding: .utf8), source: "pub")
        #expect(line.identity == "alice@example.com" && line.key == key.key.publicKey)

        chmod(dir.file("plain.key"), 0o644)
        let error = #expect(throws: CryptoError.self) {
            try KeyFileFormat.read(path: dir.file("plain.key"), passphrase: nil)
        }
        #expect("\(error!)".contains("chmod 600"))

        try KeyFileFormat.write(key, to: dir.file("secret.key"), passphrase: "correct horse")
        #expect(try KeyFileFormat.isEncrypted(path: dir.file("secret.key")))
        #expect(
            try KeyFileFormat.read(path: dir.file("secret.key"), passphrase: "correct horse").key.publicKey
                == key.key.publicKey)
        #expect(throws: CryptoError.wrongPassphrase(file: dir.file("secret.key"))) {
            try KeyFileFormat.read(path: dir.file("secret.key"), passphrase: "wrong")
        }
        #expect(throws: CryptoError.passphraseRequired(file: dir.file("secret.key"))) {
            try KeyFileFormat.read(path: dir.file("secret.key"), passphrase: nil)
        }
        #expect(throws: FileError.self) { try KeyFileFormat.write(key, to: dir.file("secret.key"), passphrase: nil) }
        let inline = try KeyFileFormat.fromEnvironmentValue(key.key.seed.base64EncodedString(), variable: "DOCKET_KEY")
        #expect(inline.publicKey == key.key.publicKey)
    }

    @Test("A promotion must be current-free: tags that are protected never move")
    func protectedTags() throws {
        let s = try Scenario(policy: "environments:\n  - name: staging\nprotectedTags: ['^v[0-9]+$']\n")
        try s.record("ci", digest("a"), .built(.init(tags: ["v1", "latest"])))
        try s.record("ci", digest("b"), .built(.init(tags: ["latest"])))
        let error = #expect(throws: LedgerError.self) { try s.record("ci", digest("b"), .built(.init(tags: ["v1"]))) }
        #expect("\(error!)".contains("tag v1 of registry.example/app is protected"))
        let status = try s.ledger.queries.status()
        #expect(status.tagMoves.count == 1)
        #expect(status.tagMoves.first?.tag == "latest")
        #expect(status.tagMoves.first?.from == digest("a").description)
        #expect(try s.ledger.queries.tagMoves(digest: digest("b")).count == 1)
    }

    @Test("An environment's protected tags protect its pipeline's repositories only")
    func protectedTagsPerPipeline() throws {
        let s = try Scenario(
            policy: """
                pipelines:
                  - name: payments
                    repositories: ['registry.example/app']
                    environments:
                      - name: staging
                        protectedTags: ['^v[0-9]+$']
                  - name: tools
                    repositories: ['registry.example/tools/*']
                    environments:
                      - name: staging
                """)
        let tool = "registry.example/tools/lint"
        try s.record("ci", digest("a"), .built(.init(tags: ["v1"])))
        try s.record("ci", digest("c"), .built(.init(tags: ["v1"])), repository: tool)
        // The tools pipeline protects nothing: its v1 may move.
        try s.record("ci", digest("d"), .built(.init(tags: ["v1"])), repository: tool)
        let error = #expect(throws: LedgerError.self) { try s.record("ci", digest("b"), .built(.init(tags: ["v1"]))) }
        #expect("\(error!)".contains("tag v1 of registry.example/app is protected"))
    }
}

@Suite("Envelopes from other tools")
struct ForeignEnvelopeTests {
    @Test(
        "The keyid is only a hint: missing, wrong or upper-case keyids still verify, and the entry records the real one"
    )
    func keyidHint() throws {
        let s = try Scenario()
        for (i, hint) in ["", String(repeating: "0", count: 64), s.keys["ci"]!.key.publicKey.keyID.uppercased()]
            .enumerated()
        {
            var envelope = try Envelope(
                parsing: try s.envelope(
                    "ci", subject: Scenario.repository, digest: digest(Character(String(i))).hex, .built(.init())),
                source: "t")
            envelope.signatures[0].keyID = hint
            let receipt = try s.ledger.append(envelope.compactJSON, source: "hint \(i)")
            let stored = try #require(try s.ledger.entry(at: receipt.index))
            #expect(stored.envelope.signatures[0].keyID == s.keys["ci"]!.key.publicKey.keyID)
        }
        #expect(try Verifier.verify(ledger: s.ledger, options: .init()).ok)
    }

    @Test(
        "Empty names, bad tags and odd environment names are refused whoever built the envelope",
        arguments: [
            EventPredicate.check(.init(check: " ", result: .pass)),
            .incident(.init(environment: "staging", incident: "", state: .open)),
            .built(.init(tags: [""])), .built(.init(tags: ["-bad"])), .deployed(.init(environment: "")),
            .deployed(.init(environment: "prod env")),
        ])
    func emptyFields(predicate: EventPredicate) throws {
        let s = try Scenario()
        let size = try s.ledger.treeSize()
        #expect(throws: ModelError.self) { try s.record("ci", digest("a"), predicate) }
        #expect(try s.ledger.treeSize() == size)
    }

    @Test("Roles are lower case in policies and enrolments")
    func roleCase() throws {
        #expect(throws: ModelError.self) { try Role(parsing: "Approver") }
        let error = #expect(throws: PolicyError.self) {
            try Policy(
                parsing:
                    "environments:\n  - name: s\n  - name: p\n    from: s\n    approvals:\n      min: 1\n      roles: [Approver]\n",
                source: "p")
        }
        #expect("\(error!)".contains("lower case"))
    }

    @Test("replay shows tags and incidents as they were at that point")
    func replayHistory() throws {
        let s = try Scenario(policy: "environments:\n  - name: staging\n")
        let a = digest("a")
        try s.record("ci", a, .built(.init(tags: ["latest"])))
        try s.record("ci", a, .deployed(.init(environment: "staging")))
        let opened = try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-1", state: .open)))
        try s.record("ci", digest("b"), .built(.init(tags: ["latest"])))
        try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-1", state: .resolved)))
        let then = try s.ledger.queries.status(before: opened.index + 1)
        #expect(then.openIncidents.map(\.incident) == ["INC-1"])
        #expect(then.services.first?.tags == ["latest"])
        let now = try s.ledger.queries.status()
        #expect(now.openIncidents.isEmpty)
        #expect(now.services.first?.tags == [])
    }
}
