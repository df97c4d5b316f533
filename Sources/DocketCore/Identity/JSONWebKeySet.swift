import Crypto
import Foundation
import _CryptoExtras

/// Why an OIDC token, an issuer's key set or a workload rule was refused: one line, naming the claim or the key.
public struct TokenProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The signature algorithms Docket verifies OIDC tokens with (RFC 7518). `none`, `HS*` and every other name are
/// refused: an issuer is pinned to a subset of these when it is trusted.
public enum TokenAlgorithm: String, Sendable, CaseIterable, Codable {
    case rs256 = "RS256"
    case es256 = "ES256"

    public init(parsing text: String) throws(TokenProblem) {
        guard let algorithm = TokenAlgorithm(rawValue: text) else {
            throw TokenProblem(
                "algorithm `\(text)` is not accepted; Docket verifies "
                    + TokenAlgorithm.allCases.map(\.rawValue).joined(separator: " and ")
                    + " (never `none` or HS*, whose secret a verifier would have to hold)")
        }
        self = algorithm
    }
}

/// An OIDC issuer's signing keys as recorded in the ledger (RFC 7517), by `kid`: RSA keys of 2048 bits or more
/// for RS256, P-256 keys for ES256. A key Docket cannot use (another type, `use` other than `sig`) is skipped,
/// never guessed at; a key set with no usable key, or two keys under one `kid`, is refused.
public struct JSONWebKeySet: Sendable {
    enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)

        var algorithm: TokenAlgorithm {
            switch self {
            case .rsa: .rs256
            case .p256: .es256
            }
        }
    }

    struct Key: Sendable {
        let kid: String
        let material: Material
    }

    let keys: [Key]

    /// Every usable key's `kid`, in the set's order.
    public var keyIDs: [String] { keys.map(\.kid) }

    public init(document: JSONValue) throws(TokenProblem) {
        guard case .array(let items)? = document["keys"] else {
            throw TokenProblem("the key set has no `keys` list (expected a JWKS document, RFC 7517)")
        }
        var keys: [Key] = []
        for (i, item) in items.enumerated() {
            guard let key = try Self.key(item, at: i) else { continue }
            if keys.contains(where: { $0.kid.utf8.elementsEqual(key.kid.utf8) }) {
                throw TokenProblem("keys[\(i)]: kid `\(key.kid)` is used by two keys; a token could not name one")
            }
            keys.append(key)
        }
        guard !keys.isEmpty else {
            throw TokenProblem("the key set holds no RSA (2048 bits or more) or P-256 signing key with a kid")
        }
        self.keys = keys
    }

    private static func key(_ item: JSONValue, at i: Int) throws(TokenProblem) -> Key? {
        guard case .object(let fields) = item else { throw TokenProblem("keys[\(i)] is not an object") }
        guard case .string(let kid)? = fields["kid"], !kid.isEmpty else { return nil }
        if let use = fields["use"], use != .string("sig") { return nil }
        var algorithm: TokenAlgorithm? = nil
        if case .string(let alg)? = fields["alg"] {
            guard let known = TokenAlgorithm(rawValue: alg) else { return nil }
            algorithm = known
        }
        func bytes(_ name: String) throws(TokenProblem) -> Data {
            guard case .string(let text)? = fields[name], let data = Data(base64URL: text), !data.isEmpty else {
                throw TokenProblem("keys[\(i)] (kid `\(kid)`): `\(name)` is missing or not base64url")
            }
            return data
        }
        let material: Material
        switch fields["kty"] {
        case .string("RSA"):
            do {
                material = .rsa(try _RSA.Signing.PublicKey(n: try bytes("n"), e: try bytes("e")))
            } catch let problem as TokenProblem {
                throw problem
            } catch {
                throw TokenProblem("keys[\(i)] (kid `\(kid)`): not an RSA public key of 2048 bits or more")
            }
        case .string("EC"):
            guard fields["crv"] == .string("P-256") else { return nil }
            let (x, y) = (try bytes("x"), try bytes("y"))
            guard x.count == 32, y.count == 32,
                let key = try? P256.Signing.PublicKey(x963Representation: Data([4]) + x + y)
            else { throw TokenProblem("keys[\(i)] (kid `\(kid)`): not a point on P-256") }
            material = .p256(key)
        default:
            return nil
        }
        // A key whose own `alg` is not what its type signs with is not one a token can use.
        if let algorithm, algorithm != material.algorithm { return nil }
        return Key(kid: kid, material: material)
    }

    /// Checks a token's signature with the key its header names. Throws the reason it does not verify.
    func verify(signature: Data, over input: Data, kid: String, algorithm: TokenAlgorithm) throws(TokenProblem) {
        guard let key = keys.first(where: { $0.kid.utf8.elementsEqual(kid.utf8) }) else {
            throw TokenProblem(
                "kid `\(kid)` is not in the issuer's key set recorded in the ledger (it holds \(keyIDs.map { "`\($0)`" }.joined(separator: ", "))); if the issuer rotated its keys, an admin appends `docket trust oidc refresh`"
            )
        }
        guard key.material.algorithm == algorithm else {
            throw TokenProblem(
                "the token says \(algorithm.rawValue) but key `\(kid)` is a \(key.material.algorithm.rawValue) key")
        }
        let valid: Bool
        switch key.material {
        case .rsa(let publicKey):
            valid = publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: input, padding: .insecurePKCS1v1_5)
        case .p256(let publicKey):
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else {
                throw TokenProblem("the signature is not an ES256 signature (64 bytes, r ‖ s)")
            }
            valid = publicKey.isValidSignature(ecdsa, for: input)
        }
        guard valid else {
            throw TokenProblem(
                "the signature does not verify with key `\(kid)` of the issuer's key set recorded in the ledger (a forged or altered token, or a key rotated under the same kid: refresh the key set)"
            )
        }
    }
}
