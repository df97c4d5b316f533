import Foundation
import Testing

@testable import DocketCore

/// The statement reader (the strict JSON reader, then fields by name) must agree with `Codable` exactly: same
/// statement when both read it, and never accept what `Codable` refuses.
@Suite("Statement decoding: the strict reader and Codable agree")
struct StatementDecodingTests {
    static let hex = String(repeating: "ab", count: 32)

    static let predicates: [EventPredicate] = [
        .initialized(.init(logKey: "o+12345678+AQ==", admins: [.init(identity: "a@x", publicKey: "AAAA")])),
        .keyEnrolled(.init(identity: "b@x", publicKey: "BBBB", roles: [.ci, .approver])),
        .keyRevoked(.init(identity: "b@x", publicKey: "BBBB", reason: "lost")),
        .built(.init()),
        .built(
            .init(
                tags: ["v1", "latest"], source: .init(repository: "https://git/x", revision: "abc"), builder: "ci",
                buildId: "7")),
        .deployed(.init(environment: "staging")), .deployed(.init(environment: "prod", deployment: "d-1")),
        .check(.init(check: "scan", result: .fail, details: "https://r")),
        .incident(.init(environment: "s", incident: "I", state: .open, severity: "high", summary: "ü ☃")),
        .approved(.init(environment: "p", comment: "ok", expiresAt: "2030-01-01T00:00:00Z")),
        .withdrawn(.init(environment: "p")),
        .promoted(.init(from: "s", to: "p", tags: ["v1"], breakGlass: .init(reason: "fire", failedRules: ["soak"]))),
        .rolledBack(.init(environment: "p", from: "sha256:" + hex, reason: "bad")),
    ]

    static func statement(_ predicate: EventPredicate) -> Statement {
        Statement(
            subjectName: "registry.example/app", subjectDigest: hex, ledger: "l.example",
            time: "2026-01-01T00:00:00.000Z",
            nonce: "00112233445566778899aabbccddeeff", predicate: predicate)
    }

    @Test("Every kind, encoded by Docket, reads back identically by both paths", arguments: predicates)
    func roundTrip(predicate: EventPredicate) throws {
        let payload = Self.statement(predicate).encoded()
        let fast = try Statement(parsing: payload, source: "t")
        let slow = try Statement(decoding: payload, source: "t")
        #expect(fast == slow)
        #expect(fast == Self.statement(predicate))
    }

    @Test(
        "Variants: the strict reader either agrees with Codable or refuses",
        arguments: [
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/deployed/v1","predicate":{"ledger":"l","time":"t","nonce":"n","environment":"e","deployment":null}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/deployed/v1","predicate":{"ledger":"l","time":"t","nonce":"n","environment":3}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/deployed/v1","predicate":{"ledger":"l","time":"t","nonce":"n"}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX","sha512":1}}],"predicateType":"https://docket.dev/deployed/v1","predicate":{"ledger":"l","time":"t","nonce":"n","environment":"e"}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/check/v1","predicate":{"ledger":"l","time":"t","nonce":"n","check":"c","result":"maybe"}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/built/v1","predicate":{"ledger":"l","time":"t","nonce":"n","tags":"v1"}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/built/v1","predicate":{"ledger":"l","time":"t","nonce":"n","source":{"repository":"x"}}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/key-enrolled/v1","predicate":{"ledger":"l","time":"t","nonce":"n","identity":"i","publicKey":"k","roles":["root"]}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/approved/v1","predicate":{"ledger":"l","time":"t","nonce":"n","environment":"e\u0041","extra":[1,2]}}"#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://docket.dev/approved/v1","predicate":{"ledger":"l","time":"t","nonce":"n","environment":"e"}}"#,
            #" { "_type" : "https://in-toto.io/Statement/v1" , "subject" : [ { "name" : "r" , "digest" : { "sha256" : "HEX" } } ] , "predicateType" : "https://docket.dev/withdrawn/v1" , "predicate" : { "ledger" : "l" , "time" : "t" , "nonce" : "n" , "environment" : "e" } } "#,
            #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"HEX"}}],"predicateType":"https://docket.dev/withdrawn/v1","predicate":{"ledger":"l","time":"t","nonce":"n","environment":"e"}} x"#,
            #"[{"_type":"https://in-toto.io/Statement/v1"}]"#,
        ])
    func variants(text: String) throws {
        let payload = Data(text.replacingOccurrences(of: "HEX", with: Self.hex).utf8)
        let slow = try? Statement(decoding: payload, source: "t")
        let fast = try? Statement(parsing: payload, source: "t")
        if let fast { #expect(fast == slow) }
        if slow == nil { #expect(fast == nil) }
    }
}
