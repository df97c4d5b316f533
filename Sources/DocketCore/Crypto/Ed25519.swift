internal import CSodium
import Foundation

/// An Ed25519 public key: the raw 32 bytes.
public struct PublicKey: Hashable, Sendable {
    public let raw: Data

    public init(raw: Data) throws {
        guard raw.count == 32 else {
            throw CryptoError.badKeyLength(what: "an Ed25519 public key", expected: 32, got: raw.count)
        }
        self.raw = raw
    }

    /// The DSSE key id: hex SHA-256 of the raw key.
    public var keyID: String { SHA256.hash(raw).hex }

    public var base64: String { raw.base64EncodedString() }

    /// Verifies a detached signature. Returns `false` for any malformed input rather than throwing:
    /// a signature that does not verify and a signature that cannot be parsed are the same answer.
    public func isValidSignature(_ signature: Data, for message: Data) -> Bool {
        guard (try? Sodium.ensureReady()) != nil, signature.count == 64 else { return false }
        return signature.withUnsafeBytes { sig in
            message.withUnsafeBytes { msg in
                raw.withUnsafeBytes { pk in
                    guard let s = sig.bindMemory(to: UInt8.self).baseAddress,
                        let k = pk.bindMemory(to: UInt8.self).baseAddress
                    else { return false }
                    return crypto_sign_verify_detached(
                        s, msg.bindMemory(to: UInt8.self).baseAddress, UInt64(msg.count), k) == 0
                }
            }
        }
    }
}

/// An Ed25519 signing key. The secret bytes live in one buffer owned by this object and are wiped when it goes.
///
/// Not `Sendable` on purpose: a secret is used by one task. Copy the seed explicitly if you must share it.
public final class SigningKey {
    /// libsodium's 64-byte secret key (seed ‖ public key).
    private var secret: [UInt8]
    public let publicKey: PublicKey

    /// Derives the key pair from a 32-byte seed (RFC 8032 "private key").
    public init(seed: Data) throws {
        try Sodium.ensureReady()
        guard seed.count == 32 else {
            throw CryptoError.badKeyLength(what: "an Ed25519 seed", expected: 32, got: seed.count)
        }
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        let seedBytes = [UInt8](seed)
        crypto_sign_seed_keypair(&pk, &sk, seedBytes)
        secret = sk
        publicKey = try PublicKey(raw: Data(pk))
    }

    /// A new random key pair.
    public static func generate() throws -> SigningKey {
        try SigningKey(seed: try Sodium.randomBytes(32))
    }

    deinit {
        secret.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
    }

    /// The 32-byte seed, for writing a key file. Callers own wiping their copy.
    public var seed: Data { Data(secret[0..<32]) }

    public func sign(_ message: Data) -> Data {
        var signature = [UInt8](repeating: 0, count: 64)
        message.withUnsafeBytes { msg in
            _ = crypto_sign_detached(
                &signature, nil, msg.bindMemory(to: UInt8.self).baseAddress, UInt64(msg.count), secret)
        }
        return Data(signature)
    }
}

extension SigningKey: EnvelopeSigner {
    public func signature(over pae: Data) throws -> Data { sign(pae) }
}
