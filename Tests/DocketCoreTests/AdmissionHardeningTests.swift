import Foundation
import Testing

@testable import DocketCore

/// Issue 10, items 2 and 3: one rule for identifiers (NFC, compared as bytes), and admission at least as strict
/// as the independent verifier. Each case failed before its fix: the ledger accepted it.
@Suite("Admission hardening")
struct AdmissionHardeningTests {
    let a = digest("a")

    func staged() throws -> Scenario {
        let s = try Scenario(policy: GateTests.policy)
        try s.record("ci", a, .built(.init()))
        try s.record("ci", a, .deployed(.init(environment: "staging")))
        return s
    }

    @Test(
        "An identifier not in NFC is refused, naming the code points and the form to write",
        arguments: [
            ("INC-\u{212A}", "U+212A where NFC has U+004B"),  // KELVIN SIGN, whose NFC is K
            ("INC-cafe\u{301}", "U+0065 U+0301 where NFC has U+00E9"),  // NFD é
        ])
    func identifiers(incident: String, detail: String) throws {
        let s = try staged()
        try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-K", state: .open)))
        try s.record("ci", a, .incident(.init(environment: "staging", incident: "INC-caf\u{E9}", state: .open)))
        let size = try s.ledger.treeSize()
        let error = #expect(throws: ModelError.self) {
            try s.record("ci", a, .incident(.init(environment: "staging", incident: incident, state: .resolved)))
        }
        #expect("\(error!)".contains("not in Unicode normal form C") && "\(error!)".contains(detail), "\(error!)")
        #expect(try s.ledger.treeSize() == size)
        // Both incidents stay open: the look-alike resolved neither.
        #expect(try s.ledger.queries.status().openIncidents.count == 2)
        #expect(s.rule(try s.gate(a, "production"), "incidents")?.passed == false)
    }

    @Test("Environments, checks, teams and identities follow the same rule")
    func everyIdentifier() throws {
        let s = try staged()
        let nfd = "se\u{301}curite\u{301}"
        #expect(throws: ModelError.self) {
            try s.record("ci", a, .check(.init(check: "scan-\(nfd)", result: .pass)))
        }
        #expect(throws: ModelError.self) { try s.record("ci", a, .deployed(.init(environment: "qa-\(nfd)"))) }
        #expect(throws: ModelError.self) { try s.enroll("dave", roles: [.approver], teams: [nfd]) }
        let policyError = #expect(throws: PolicyError.self) {
            try Policy(
                parsing: "environments:\n  - name: staging\n  - name: prod\n    from: staging\n    checks: [\(nfd)]\n",
                source: "p.yaml")
        }
        #expect("\(policyError!)".contains("checks[0]") && "\(policyError!)".contains("NFC"))
        let key = KeyFile(identity: "d\u{0061}\u{0308}ve@example.com", key: try SigningKey.generate())
        #expect(throws: ModelError.self) {
            try s.append(
                "admin", subject: key.identity, digest: SHA256.hash(key.key.publicKey.raw).hex,
                .keyEnrolled(.init(identity: key.identity, publicKey: key.key.publicKey.base64, roles: [.approver])))
        }
    }

    /// Signs `payload` with ci's key and appends it.
    func appendRaw(_ s: Scenario, _ payload: Data, signer: String = "ci") throws {
        try s.ledger.append(Envelope.sign(payload: payload, with: s.keys[signer]!.key).compactJSON, source: "raw")
    }

    func statement(_ s: Scenario, nonce: String = "00112233445566778899aabbccddeeff") throws -> Statement {
        Statement(
            subjectName: Scenario.repository, subjectDigest: digest("b").hex, ledger: s.origin,
            ledgerID: try s.ledger.ledgerID(), time: s.clock.now().rfc3339, nonce: nonce, predicate: .built(.init()))
    }

    @Test("A short or non-hex nonce, a byte-order mark, invalid UTF-8 and a key event about someone else are refused")
    func strictAsTheVerifier() throws {
        let s = try staged()
        let size = try s.ledger.treeSize()
        for nonce in ["x", "", String(repeating: "a", count: 31), String(repeating: "g", count: 32)] {
            let error = #expect(throws: ModelError.self) { try appendRaw(s, try statement(s, nonce: nonce).encoded()) }
            #expect("\(error!)".contains("predicate.nonce"), "\(error!)")
        }
        let good = try statement(s).encoded()
        #expect(throws: ModelError.self) { try appendRaw(s, Data([0xEF, 0xBB, 0xBF]) + good) }
        var broken = good
        let at = try #require(broken.range(of: Data(Scenario.repository.utf8)))
        broken.replaceSubrange(at.lowerBound..<at.lowerBound + 1, with: [0xFF])
        #expect(throws: ModelError.self) { try appendRaw(s, broken) }
        let key = KeyFile(identity: "eve@example.com", key: try SigningKey.generate())
        let renamed = Statement(
            subjectName: "admin@example.com", subjectDigest: SHA256.hash(key.key.publicKey.raw).hex, ledger: s.origin,
            ledgerID: try s.ledger.ledgerID(), time: s.clock.now().rfc3339, nonce: "00112233445566778899aabbccddeeff",
            predicate: .keyEnrolled(
                .init(identity: key.identity, publicKey: key.key.publicKey.base64, roles: [.approver])))
        let error = #expect(throws: ModelError.self) { try appendRaw(s, renamed.encoded(), signer: "admin") }
        #expect("\(error!)".contains("must be the key's identity"), "\(error!)")
        #expect(try s.ledger.treeSize() == size)
        try appendRaw(s, good)
    }
}

@Suite("Names, code point by code point")
struct NameRuleTests {
    @Test("Environment and team names: letters and digits by general category, - _ ., counted in code points")
    func names() {
        for good in ["production", "prod-eu_1.a", "café", "生产", "Ⅻ"] {
            #expect(Identifier.isName(good, limit: 128), "\(good)")
        }
        // A circled letter (a symbol), a lone combining mark, a joiner, a skin-tone modifier, a space.
        for bad in ["Ⓐ", "\u{345}", "a\u{200D}", "a\u{1F3FB}", "a b", "", "q\u{303}"] {
            #expect(!Identifier.isName(bad, limit: 128), "\(bad.unicodeScalars.map { $0.value })")
        }
        // One displayed character, 131 code points: too long.
        #expect(!Identifier.isName("\u{E1}" + String(repeating: "\u{301}", count: 130), limit: 128))
    }

    @Test("A policy event's subject is `policy`")
    func policySubject() throws {
        let s = try Scenario()
        let policy = try Policy(parsing: "environments:\n  - name: staging\n", source: "p")
        let error = #expect(throws: ModelError.self) {
            try s.append(
                "admin", subject: "POLICY", digest: policy.documentHash, .policy(.init(policy: policy.document)))
        }
        #expect("\(error!)".contains("a policy event's subject is `policy`"), "\(error!)")
    }
}

@Suite("Portable tag patterns")
struct PortablePatternTests {
    @Test("protectedTags keep to what ICU and Python's re read alike")
    func portable() throws {
        for good in [#"^v?[0-9]+\.[0-9]+\.[0-9]+$"#, #"^release-\d{4}$"#, "^(?:v|r)[0-9]+$", "^stable$|^lts-.*"] {
            #expect(Policy.unportable(good) == nil, "\(good)")
        }
        for bad in [#"\p{L}"#, #"\w+"#, "(?i)v1", "(?<n>v)1", "[[:digit:]]", "é", #"v\"#, #"\Z"#] {
            #expect(Policy.unportable(bad) != nil, "\(bad)")
        }
        let error = #expect(throws: PolicyError.self) {
            try Policy(parsing: "environments:\n  - name: s\nprotectedTags: ['\\p{L}']\n", source: "p.yaml")
        }
        #expect("\(error!)".contains("read differently by other tools"), "\(error!)")
    }
}
