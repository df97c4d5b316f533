internal import CSodium
import Foundation

/// A signing key with the identity it belongs to, as stored in a key file.
public struct KeyFile {
    public let identity: String
    public let key: SigningKey

    public init(identity: String, key: SigningKey) {
        self.identity = identity
        self.key = key
    }

    /// The one-line public half a person can paste: `docket-ed25519 <base64 key> <identity>`.
    public var publicLine: String { PublicKeyLine(identity: identity, key: key.publicKey).text }
}

/// `docket-ed25519 <base64 of the raw 32 bytes> <identity>`: the `.pub` file and what `key enroll` reads.
public struct PublicKeyLine: Sendable, Equatable {
    public static let prefix = "docket-ed25519"
    public let identity: String
    public let key: PublicKey

    public init(identity: String, key: PublicKey) {
        self.identity = identity
        self.key = key
    }

    public var text: String { "\(Self.prefix) \(key.base64) \(identity)" }

    public init(parsing text: String, source: String) throws {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard fields.count == 3, fields[0] == Self.prefix else {
            throw CryptoError.malformedKeyFile(
                file: source, reason: "expected one line `\(Self.prefix) <base64 key> <identity>`")
        }
        guard let raw = Data(anyBase64: fields[1]), raw.count == 32 else {
            throw CryptoError.malformedKeyFile(file: source, reason: "the public key is not base64 of 32 bytes")
        }
        identity = String(fields[2])
        key = try PublicKey(raw: raw)
    }
}

/// Reading and writing secret key files.
///
/// Format (JSON): `{"format":"docket-key/v1","identity":…,"publicKey":<b64>,"seed":<b64>}` in the clear, or with
/// `"encrypted":{"kdf":"argon2id13","opslimit":…,"memlimit":…,"salt":…,"nonce":…,"box":…}` in place of `seed`,
/// where `box` is libsodium secretbox (XSalsa20-Poly1305) of the seed under the Argon2id-derived key.
public enum KeyFileFormat {
    static let format = "docket-key/v1"

    /// Writes `path` (mode 0600, refusing to overwrite) and `path.pub`, which holds `publicText` (by default the
    /// key's ``KeyFile/publicLine``).
    public static func write(_ keyFile: KeyFile, to path: String, passphrase: String?, publicText: String? = nil) throws
    {
        var object: [String: Any] = [
            "format": format, "identity": keyFile.identity, "publicKey": keyFile.key.publicKey.base64,
        ]
        if let passphrase {
            object["encrypted"] = try encrypt(seed: keyFile.key.seed, passphrase: passphrase)
        } else {
            object["seed"] = keyFile.key.seed.base64EncodedString()
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
        guard !FileManager.default.fileExists(atPath: path + ".pub") else { throw FileError.exists(path + ".pub") }
        try SecureFile.createExclusive(path: path, contents: data + Data("\n".utf8), mode: 0o600)
        do {
            try SecureFile.createExclusive(
                path: path + ".pub", contents: Data(((publicText ?? keyFile.publicLine) + "\n").utf8), mode: 0o644)
        } catch {
            try? FileManager.default.removeItem(atPath: path)  // never leave half a key pair
            throw error
        }
    }

    /// Whether the file at `path` needs a passphrase.
    public static func isEncrypted(path: String) throws -> Bool {
        try parse(try SecureFile.readSecret(path: path), path: path)["encrypted"] != nil
    }

    /// Loads a secret key file, refusing one that group or others can read (as ssh does).
    public static func read(path: String, passphrase: String?) throws -> KeyFile {
        let object = try parse(try SecureFile.readSecret(path: path), path: path)
        guard let identity = object["identity"] as? String, !identity.isEmpty else {
            throw CryptoError.malformedKeyFile(file: path, reason: "no identity")
        }
        let seed: Data
        if let encrypted = object["encrypted"] as? [String: Any] {
            guard let passphrase else { throw CryptoError.passphraseRequired(file: path) }
            seed = try decrypt(encrypted, passphrase: passphrase, path: path)
        } else if let text = object["seed"] as? String, let raw = Data(anyBase64: text), raw.count == 32 {
            seed = raw
        } else {
            throw CryptoError.malformedKeyFile(file: path, reason: "no 32-byte seed")
        }
        let key = try SigningKey(seed: seed)
        if let published = object["publicKey"] as? String, Data(anyBase64: published) != key.publicKey.raw {
            throw CryptoError.malformedKeyFile(file: path, reason: "publicKey does not match the seed")
        }
        return KeyFile(identity: identity, key: key)
    }

    /// A key given inline (the `DOCKET_KEY` variable): base64 of the 32-byte seed, or of libsodium's 64-byte
    /// secret key, or the whole unencrypted key file.
    public static func fromEnvironmentValue(_ value: String, variable: String) throws -> SigningKey {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") {
            let object = try parse(Data(trimmed.utf8), path: variable)
            if let text = object["seed"] as? String, let raw = Data(anyBase64: text), raw.count == 32 {
                return try SigningKey(seed: raw)
            }
            throw CryptoError.malformedKeyFile(file: variable, reason: "an encrypted key cannot be passed inline")
        }
        guard let raw = Data(anyBase64: trimmed), raw.count == 32 || raw.count == 64 else {
            throw CryptoError.malformedKeyFile(
                file: variable, reason: "expected base64 of a 32-byte Ed25519 seed (the key file's `seed`)")
        }
        return try SigningKey(seed: raw.prefix(32))
    }

    private static func parse(_ data: Data, path: String) throws -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            object["format"] as? String == format
        else { throw CryptoError.malformedKeyFile(file: path, reason: "not JSON with format \(format)") }
        return object
    }

    private static func encrypt(seed: Data, passphrase: String) throws -> [String: Any] {
        try Sodium.ensureReady()
        let salt = try Sodium.randomBytes(Int(crypto_pwhash_SALTBYTES))
        let nonce = try Sodium.randomBytes(Int(crypto_secretbox_NONCEBYTES))
        let ops = UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE)
        let mem = Int(crypto_pwhash_MEMLIMIT_INTERACTIVE)
        var key = try deriveKey(passphrase: passphrase, salt: salt, opslimit: ops, memlimit: mem)
        defer { key.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        var box = [UInt8](repeating: 0, count: seed.count + Int(crypto_secretbox_MACBYTES))
        let seedBytes = [UInt8](seed)
        crypto_secretbox_easy(&box, seedBytes, UInt64(seedBytes.count), [UInt8](nonce), key)
        return [
            "kdf": "argon2id13", "opslimit": ops, "memlimit": mem, "salt": salt.base64EncodedString(),
            "nonce": nonce.base64EncodedString(), "box": Data(box).base64EncodedString(),
        ]
    }

    private static func decrypt(_ object: [String: Any], passphrase: String, path: String) throws -> Data {
        guard object["kdf"] as? String == "argon2id13",
            let ops = (object["opslimit"] as? NSNumber)?.uint64Value,
            let mem = (object["memlimit"] as? NSNumber)?.intValue,
            ops <= 16, mem <= 1 << 30,
            let salt = (object["salt"] as? String).flatMap({ Data(anyBase64: $0) }),
            salt.count == Int(crypto_pwhash_SALTBYTES),
            let nonce = (object["nonce"] as? String).flatMap({ Data(anyBase64: $0) }),
            nonce.count == Int(crypto_secretbox_NONCEBYTES),
            let box = (object["box"] as? String).flatMap({ Data(anyBase64: $0) }),
            box.count == 32 + Int(crypto_secretbox_MACBYTES)
        else { throw CryptoError.malformedKeyFile(file: path, reason: "the encrypted section is incomplete") }
        var key = try deriveKey(passphrase: passphrase, salt: salt, opslimit: ops, memlimit: mem)
        defer { key.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        var seed = [UInt8](repeating: 0, count: 32)
        defer { seed.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        let boxBytes = [UInt8](box)
        guard crypto_secretbox_open_easy(&seed, boxBytes, UInt64(boxBytes.count), [UInt8](nonce), key) == 0 else {
            throw CryptoError.wrongPassphrase(file: path)
        }
        return Data(seed)
    }

    private static func deriveKey(passphrase: String, salt: Data, opslimit: UInt64, memlimit: Int) throws -> [UInt8] {
        var key = [UInt8](repeating: 0, count: Int(crypto_secretbox_KEYBYTES))
        let pass = Array(passphrase.utf8CString)
        let result = crypto_pwhash(
            &key, UInt64(key.count), pass, UInt64(pass.count - 1), [UInt8](salt),
            opslimit, memlimit, crypto_pwhash_ALG_ARGON2ID13)
        guard result == 0 else { throw CryptoError.randomFailure }
        return key
    }
}
