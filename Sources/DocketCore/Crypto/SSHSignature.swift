internal import CSodium
import Foundation

/// OpenSSH's wire encoding (RFC 4251 §5): big-endian `uint32`, and strings prefixed by their `uint32` length.
public struct SSHReader {
    public let bytes: [UInt8]
    public var at = 0

    public init(_ bytes: some Collection<UInt8>) { self.bytes = Array(bytes) }

    public var atEnd: Bool { at == bytes.count }

    public mutating func byte() -> UInt8? {
        guard at < bytes.count else { return nil }
        defer { at += 1 }
        return bytes[at]
    }

    public mutating func uint32() -> UInt32? {
        guard bytes.count - at >= 4 else { return nil }
        defer { at += 4 }
        return bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func string() -> [UInt8]? {
        guard let count = uint32().map(Int.init), bytes.count - at >= count else { return nil }
        defer { at += count }
        return Array(bytes[at..<(at + count)])
    }

    public mutating func text() -> String? { string().flatMap { String(validating: $0, as: UTF8.self) } }
}

public enum SSHWire {
    public static func uint32(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
    }
    public static func string(_ bytes: some Collection<UInt8>) -> [UInt8] { uint32(UInt32(bytes.count)) + Array(bytes) }
    public static func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }
}

/// An SSH public key Docket can verify: `ssh-ed25519`, or `sk-ssh-ed25519@openssh.com` (an Ed25519 key on a
/// FIDO security key, with the application it was made for).
public struct SSHPublicKey: Sendable, Equatable {
    public enum KeyType: String, Sendable {
        case ed25519 = "ssh-ed25519"
        case securityKey = "sk-ssh-ed25519@openssh.com"
    }

    public let type: KeyType
    public let key: PublicKey
    /// The FIDO application (`ssh:` unless the key was made for another), for a security key.
    public let application: String?

    public init(blob: some Collection<UInt8>) throws {
        var reader = SSHReader(blob)
        guard let name = reader.text(), let type = KeyType(rawValue: name) else {
            throw CryptoError.malformedKeyFile(
                file: "SSH public key", reason: "not an ssh-ed25519 or sk-ssh-ed25519@openssh.com key")
        }
        guard let raw = reader.string(), raw.count == 32 else {
            throw CryptoError.malformedKeyFile(file: "SSH public key", reason: "the Ed25519 key is not 32 bytes")
        }
        let application = type == .securityKey ? reader.text() : nil
        guard reader.atEnd, type == .ed25519 || application != nil else {
            throw CryptoError.malformedKeyFile(file: "SSH public key", reason: "trailing or missing fields")
        }
        self.type = type
        self.key = try PublicKey(raw: Data(raw))
        self.application = application
    }

    /// `TYPE BASE64 [comment]`, as in `id_ed25519.pub` and git's `allowed_signers`.
    public init(line: String) throws {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count >= 2, KeyType(rawValue: fields[0]) != nil, let blob = Data(base64Encoded: fields[1]) else {
            throw CryptoError.malformedKeyFile(
                file: "SSH public key", reason: "expected `ssh-ed25519 AAAA…` or `sk-ssh-ed25519@openssh.com AAAA…`")
        }
        try self.init(blob: blob)
        guard fields[0] == type.rawValue else {
            throw CryptoError.malformedKeyFile(file: "SSH public key", reason: "the line's type is not the key's")
        }
    }

    public var blob: [UInt8] {
        SSHWire.string(type.rawValue) + SSHWire.string(key.raw) + (application.map { SSHWire.string($0) } ?? [])
    }

    /// `TYPE BASE64`: the line `ssh-keygen` reads.
    public var line: String { "\(type.rawValue) \(Data(blob).base64EncodedString())" }
}

/// An SSHSIG signature (OpenSSH's PROTOCOL.sshsig), as `ssh-keygen -Y sign -n docket` writes it: a DSSE `sig` is
/// either 64 bytes of Ed25519 over the PAE, or this blob (it begins with `SSHSIG`) over the SHA-512 of the PAE,
/// in namespace `docket`, so `ssh-keygen -Y verify` checks a Docket signature independently.
public struct SSHSignature: Sendable {
    public static let magic = Array("SSHSIG".utf8)
    public static let namespace = "docket"
    public static let hashAlgorithm = "sha512"

    public let publicKey: SSHPublicKey
    public let namespace: String
    public let hashAlgorithm: String
    let signatureType: String
    let signature: [UInt8]
    /// A security key's flags (bit 0: user present, bit 2: user verified) and its signature counter.
    public let flags: UInt8?
    public let counter: UInt32?

    public init?(blob: some Collection<UInt8>) {
        guard blob.count <= 4096 else { return nil }
        var reader = SSHReader(blob)
        guard reader.bytes.starts(with: Self.magic) else { return nil }
        reader.at = Self.magic.count
        guard reader.uint32() == 1, let keyBlob = reader.string(), let key = try? SSHPublicKey(blob: keyBlob),
            let namespace = reader.text(), reader.string() != nil, let hash = reader.text(),
            let signatureBlob = reader.string(), reader.atEnd
        else { return nil }
        var inner = SSHReader(signatureBlob)
        guard let type = inner.text(), let signature = inner.string() else { return nil }
        if key.type == .securityKey {
            guard let flags = inner.byte(), let counter = inner.uint32() else { return nil }
            (self.flags, self.counter) = (flags, counter)
        } else {
            (self.flags, self.counter) = (nil, nil)
        }
        guard inner.atEnd else { return nil }
        (self.publicKey, self.namespace, self.hashAlgorithm) = (key, namespace, hash)
        (self.signatureType, self.signature) = (type, signature)
    }

    /// What the key signs for `message` (PROTOCOL.sshsig §"Signed Data"): the magic, the namespace, an empty
    /// reserved string, the hash algorithm and the message's SHA-512.
    public static func signedData(message: Data) -> [UInt8] {
        magic + SSHWire.string(namespace) + SSHWire.string([UInt8]()) + SSHWire.string(hashAlgorithm)
            + SSHWire.string(sha512(message))
    }

    /// The blob for `publicKey`'s signature (the agent's answer: type, signature, and a security key's flags and
    /// counter) over ``signedData(message:)``.
    public static func blob(publicKey: SSHPublicKey, signature: [UInt8]) -> [UInt8] {
        magic + SSHWire.uint32(1) + SSHWire.string(publicKey.blob) + SSHWire.string(namespace)
            + SSHWire.string([UInt8]()) + SSHWire.string(hashAlgorithm) + SSHWire.string(signature)
    }

    /// True when this is `key`'s signature of `message` in namespace `docket` with SHA-512.
    public func verifies(_ message: Data, by key: PublicKey) -> Bool {
        guard publicKey.key == key, namespace == Self.namespace, hashAlgorithm == Self.hashAlgorithm,
            signatureType == publicKey.type.rawValue
        else { return false }
        let data = Self.signedData(message: message)
        switch publicKey.type {
        case .ed25519:
            return key.isValidSignature(Data(signature), for: Data(data))
        case .securityKey:
            // The authenticator signs SHA-256(application) ‖ flags ‖ counter ‖ SHA-256(signed data).
            guard let flags, let counter, let application = publicKey.application else { return false }
            let signed =
                SHA256.hash(Data(application.utf8)) + Data([flags] + SSHWire.uint32(counter)) + SHA256.hash(Data(data))
            return key.isValidSignature(Data(signature), for: signed)
        }
    }

    /// The armour lines around an `ssh-keygen -Y sign` signature.
    static let (armourHead, armourTail) = ("-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----")

    /// The armour's first line, the blob in base64 lines of 70, its last line.
    public static func armored(_ blob: some Collection<UInt8>) -> String {
        let text = Data(blob).base64EncodedString()
        var lines: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(70)))
            rest = rest.dropFirst(70)
        }
        return armourHead + "\n" + lines.joined(separator: "\n") + "\n" + armourTail + "\n"
    }

    /// The blob inside an armored signature; nil when the text is not one.
    public static func dearmored(_ text: String) -> [UInt8]? {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: armourHead), let end = lines.firstIndex(of: armourTail), begin < end
        else { return nil }
        return Data(base64Encoded: lines[(begin + 1)..<end].joined()).map(Array.init)
    }

    static func sha512(_ data: Data) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        data.withUnsafeBytes { raw in
            _ = crypto_hash_sha512(&out, raw.bindMemory(to: UInt8.self).baseAddress, UInt64(raw.count))
        }
        return out
    }
}
