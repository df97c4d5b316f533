import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import DocketCore

/// Workload identity (DESIGN.md §14) in the ledger core, on both stores (a scenario runs on PostgreSQL when
/// `DOCKET_TEST_POSTGRES` is set): an issuer recorded, a key attested by a token minted here with swift-crypto, its
/// events admitted until the token's `exp` and refused after, and the refusals a forged or replayed token gets.
@Suite("Workload identity")
struct WorkloadIdentityTests {
    static let issuer = "https://token.actions.githubusercontent.com"
    static let policy = """
        pipelines:
          - name: app
            repositories: ["registry.example/**"]
            environments:
              - name: staging
        workloads:
          - name: app-main
            issuer: \(issuer)
            claims: {repository: acme/app, ref: refs/heads/main}
            identity: "github:{repository}@{ref}"
            roles: [ci]
        """

    /// A scenario whose ledger trusts one issuer with a P-256 key `e1` and an RSA key `r1`.
    struct Fixture {
        let scenario: Scenario
        let ecKey = P256.Signing.PrivateKey()
        let rsaKey: _RSA.Signing.PrivateKey

        init() throws {
            scenario = try Scenario(policy: WorkloadIdentityTests.policy)
            rsaKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let ec = ecKey.publicKey.x963Representation
            let jwks: JSONValue = .object([
                "keys": .array([
                    .object([
                        "kty": .string("EC"), "crv": .string("P-256"), "kid": .string("e1"),
                        "x": .string(Self.b64url(ec[1..<33])),
                        "y": .string(Self.b64url(ec[33..<65])),
                    ]),
                    .object([
                        "kty": .string("RSA"), "kid": .string("r1"),
                        "n": .string(Self.b64url(try Self.modulus(rsaKey))),
                        "e": .string(Self.b64url(Data([1, 0, 1]))),
                    ]),
                ])
            ])
            try scenario.append(
                "admin", subject: WorkloadIdentityTests.issuer, digest: OIDCIssuer.keySetHash(jwks),
                .oidcIssuer(
                    .init(
                        issuer: WorkloadIdentityTests.issuer, audience: scenario.origin,
                        algorithms: ["ES256", "RS256"],
                        jwks: jwks)))
        }

        static func b64url(_ data: some DataProtocol) -> String {
            Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }

        /// The RSA modulus, from the PKCS #1 DER of the public key (SEQUENCE { INTEGER n, INTEGER e }).
        static func modulus(_ key: _RSA.Signing.PrivateKey) throws -> Data {
            let der = [UInt8](key.publicKey.pkcs1DERRepresentation)
            var i = 0
            func length() -> Int {
                let first = Int(der[i])
                i += 1
                guard first & 0x80 != 0 else { return first }
                var n = 0
                for _ in 0..<(first & 0x7f) {
                    n = n << 8 | Int(der[i])
                    i += 1
                }
                return n
            }
            i = 1
            _ = length()  // the sequence
            i += 1  // INTEGER tag
            let count = length()
            var n = Data(der[i..<(i + count)])
            while n.first == 0 { n.removeFirst() }
            return n
        }

        /// A token over `claims` (the defaults plus `overrides`), signed by `e1` (ES256) or `r1` (RS256).
        func token(alg: String = "ES256", kid: String? = nil, _ overrides: [String: JSONValue] = [:]) throws -> String {
            let now = Double(try scenario.ledger.ledgerTime().milliseconds / 1000)
            var claims: [String: JSONValue] = [
                "iss": .string(WorkloadIdentityTests.issuer), "aud": .string(scenario.origin),
                "jti": .string(UUID().uuidString), "repository": .string("acme/app"), "ref": .string("refs/heads/main"),
                "workflow": .string("release.yml"), "run_id": .string("77"), "iat": .number(now),
                "exp": .number(now + 600),
            ]
            claims.merge(overrides) { $1 }
            let header: JSONValue = .object([
                "alg": .string(alg), "kid": .string(kid ?? (alg == "RS256" ? "r1" : "e1")),
            ])
            let input = Self.b64url(header.canonicalData) + "." + Self.b64url(JSONValue.object(claims).canonicalData)
            let signature =
                alg == "RS256"
                ? try rsaKey.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5).rawRepresentation
                : try ecKey.signature(for: Data(input.utf8)).rawRepresentation
            return input + "." + Self.b64url(signature)
        }

        /// Appends a `key-attested` of a new key `name` by `token`.
        @discardableResult
        func attest(_ name: String, _ token: String) throws -> AppendReceipt {
            let key = KeyFile(identity: "oidc", key: try SigningKey.generate())
            scenario.keys[name] = key
            return try scenario.append(
                name, subject: WorkloadIdentityTests.issuer, digest: SHA256.hash(key.key.publicKey.raw).hex,
                .keyAttested(.init(token: token, publicKey: key.key.publicKey.base64)))
        }
    }

    func refusal(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "(appended)"
        } catch LedgerError.refused(.workload(let reason)) {
            return reason
        } catch {
            return "\(error)"
        }
    }

    @Test("Tokens by both keys attest keys whose events carry the workload until exp, never after")
    func attestedKeysSignUntilExp() throws {
        let f = try Fixture()
        let s = f.scenario
        try f.attest("job", try f.token())
        try f.attest("rsa-job", try f.token(alg: "RS256"))
        let built = try s.record("job", digest("a"), .built(.init()))
        #expect(
            try s.ledger.queries.events(digest: digest("a"))[0].signer.identity == "github:acme/app@refs/heads/main")
        #expect(
            try s.ledger.queries.events(digest: digest("a"))[0].signer.workload
                == "github:acme/app@refs/heads/main, workflow release.yml, run 77")
        try s.record("rsa-job", digest("a"), .deployed(.init(environment: "staging")))
        s.clock.advance(seconds: 601)
        let late = refusal { try s.record("job", digest("b"), .built(.init())) }
        #expect(late.contains("expired at"), "\(late)")
        #expect(try s.ledger.treeSize() == built.index + 2)
        let report = try Verifier.verify(ledger: s.ledger, options: .init())
        #expect(report.ok, "\(report.problems)")
    }

    @Test("Forged, replayed and unmatched tokens are refused with the claim named, nothing appended")
    func refusals() throws {
        let f = try Fixture()
        let replayed = try f.token()
        try f.attest("first", replayed)
        let size = try f.scenario.ledger.treeSize()
        let cases: [(String, String)] = [
            (try f.token(alg: "none"), "`none`"),
            (try f.token(alg: "RS256", kid: "e1"), "ES256 key"),
            (try f.token(kid: "nobody"), "kid `nobody`"),
            (try f.token(["aud": .string("elsewhere")]), "`aud`"),
            (try f.token(["ref": .string("refs/heads/feature")]), "match no workload rule"),
            (try f.token(["exp": .number(1000)]), "expired at"),
            (replayed, "already attested a key at entry"),
        ]
        for (token, words) in cases {
            let reason = refusal { try f.attest("again", token) }
            #expect(reason.contains(words), "\(words): \(reason)")
        }
        #expect(try f.scenario.ledger.treeSize() == size)
    }

    @Test("A workload rule's globs stay inside one path segment unless doubled")
    func globs() {
        func matches(_ pattern: String, _ value: String) -> Bool {
            WorkloadRule.glob(Array(pattern.utf8), matches: Array(value.utf8))
        }
        #expect(matches("refs/heads/release/*", "refs/heads/release/2.4"))
        #expect(!matches("refs/heads/release/*", "refs/heads/release/2.4/hotfix"))
        #expect(matches("refs/heads/release/**", "refs/heads/release/2.4/hotfix"))
        #expect(!matches("refs/heads/main", "refs/heads/main2"))
        #expect(matches("refs/tags/v*", "refs/tags/v1.2.3"))
    }

    @Test("A policy may not match on sub, glob a non-ref claim, or give a workload the admin role")
    func policyRefusals() {
        for (rule, words) in [
            ("claims: {sub: x}", "may not match on `sub`"), ("claims: {repository: 'acme/*'}", "only on ref-like"),
            ("claims: {repository: acme/app}\n    roles: [admin]", "admin role"),
        ] {
            let yaml = """
                pipelines: [{name: app, repositories: ["**"], environments: [{name: staging}]}]
                workloads:
                  - name: w
                    issuer: https://ci.example
                    identity: w
                    \(rule)\(rule.contains("roles") ? "" : "\n    roles: [ci]")
                """
            #expect(throws: PolicyError.self) { try Policy(parsing: yaml, source: "test") }
            let message = (try? Policy(parsing: yaml, source: "test")).map { _ in "" } ?? "\(policyError(yaml))"
            #expect(message.contains(words), "\(message)")
        }
    }

    func policyError(_ yaml: String) -> String {
        do {
            _ = try Policy(parsing: yaml, source: "test")
            return ""
        } catch {
            return "\(error)"
        }
    }
}
