import Foundation

/// Errors reading checkpoints, notes and proofs.
public enum NoteError: DocketFailure, Equatable {
    case malformed(source: String, reason: String)
    case badSignature(source: String, key: String)

    public var category: FailureCategory { .badInput }

    public var description: String {
        switch self {
        case .malformed(let source, let reason): "\(source): \(reason)"
        case .badSignature(let source, let key): "\(source): no valid signature by \(key)"
        }
    }
}

/// A C2SP signed-note verifier key, `name+keyidhex+base64(type ‖ pk)`.
public struct NoteVerifierKey: Sendable, Equatable {
    public static let ed25519: UInt8 = 0x01
    public static let cosignatureV1: UInt8 = 0x04

    public let name: String
    public let type: UInt8
    public let publicKey: PublicKey

    public init(name: String, type: UInt8 = ed25519, publicKey: PublicKey) {
        self.name = name
        self.type = type
        self.publicKey = publicKey
    }

    /// SHA-256(name ‖ 0x0A ‖ type ‖ pk)[:4].
    public var keyID: Data { SHA256.hash(parts: [Data(name.utf8), Data([0x0a, type]), publicKey.raw]).prefix(4) }

    public var text: String { "\(name)+\(keyID.hex)+\((Data([type]) + publicKey.raw).base64EncodedString())" }

    public init(parsing text: String) throws {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, let id = Data(hex: parts[1]), id.count == 4,
            let key = Data(base64Encoded: String(parts[2])), key.count == 33,
            key[key.startIndex] == Self.ed25519 || key[key.startIndex] == Self.cosignatureV1
        else {
            throw NoteError.malformed(
                source: "verifier key", reason: "`\(text)` is not a verifier key (name+keyid+base64 Ed25519 key)")
        }
        self.init(name: String(parts[0]), type: key[key.startIndex], publicKey: try PublicKey(raw: key.dropFirst()))
        guard keyID == id else {
            throw NoteError.malformed(source: "verifier key", reason: "key ID does not match the key in `\(text)`")
        }
    }
}

/// A C2SP signed note: text, a blank line, and signature lines `— name base64(keyid ‖ signature)`.
public struct SignedNote: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public var name: String
        public var blob: Data  // key ID (4 bytes) ‖ signature bytes
    }

    public var body: String
    public var signatures: [Signature]

    public init(body: String, signatures: [Signature] = []) {
        self.body = body
        self.signatures = signatures
    }

    public var text: String {
        body + "\n" + signatures.map { "\u{2014} \($0.name) \($0.blob.base64EncodedString())\n" }.joined()
    }

    public init(parsing text: String, source: String) throws {
        guard text.utf8.count <= 1 << 16 else {
            throw NoteError.malformed(source: source, reason: "note larger than 64 KiB")
        }
        guard let split = text.range(of: "\n\n", options: .backwards) else {
            throw NoteError.malformed(source: source, reason: "no blank line between the note text and its signatures")
        }
        body = String(text[..<split.lowerBound]) + "\n"
        signatures = []
        let block = text[split.upperBound...]
        guard block.hasSuffix("\n") else {
            throw NoteError.malformed(source: source, reason: "signature block does not end with a newline")
        }
        for line in block.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == "\u{2014}", !fields[1].isEmpty,
                let blob = Data(base64Encoded: String(fields[2])), blob.count > 4
            else { throw NoteError.malformed(source: source, reason: "malformed signature line `\(line)`") }
            signatures.append(Signature(name: String(fields[1]), blob: blob))
        }
        guard !signatures.isEmpty else {
            throw NoteError.malformed(source: source, reason: "the note has no signature")
        }
    }

    /// Adds an Ed25519 signature by `key` under `name`.
    public mutating func sign(name: String, key: SigningKey) {
        let verifier = NoteVerifierKey(name: name, publicKey: key.publicKey)
        signatures.append(Signature(name: name, blob: verifier.keyID + key.sign(Data(body.utf8))))
    }

    /// True when some signature line by `verifier` (name and key ID match) verifies over the text.
    public func isSigned(by verifier: NoteVerifierKey) -> Bool {
        guard verifier.type == NoteVerifierKey.ed25519 else { return false }
        let message = Data(body.utf8)
        return signatures.contains {
            $0.name == verifier.name && $0.blob.count == 68 && $0.blob.prefix(4) == verifier.keyID
                && verifier.publicKey.isValidSignature($0.blob.dropFirst(4), for: message)
        }
    }
}

/// A C2SP tlog-checkpoint: origin, tree size and root hash.
public struct Checkpoint: Sendable, Equatable {
    public var origin: String
    public var size: Int
    public var root: Data

    public init(origin: String, size: Int, root: Data) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    public var body: String { "\(origin)\n\(size)\n\(root.base64EncodedString())\n" }

    /// Signs the checkpoint as a note with the log key, whose key name is the origin.
    public func signed(with logKey: SigningKey) -> SignedNote {
        var note = SignedNote(body: body)
        note.sign(name: origin, key: logKey)
        return note
    }

    /// Reads the checkpoint out of a note (signatures are checked separately).
    public init(note: SignedNote, source: String) throws {
        let lines = note.body.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, !lines[0].isEmpty, let size = Int(lines[1]), size >= 0, String(size) == lines[1],
            let root = Data(base64Encoded: String(lines[2])), root.count == 32
        else {
            throw NoteError.malformed(source: source, reason: "not a tlog-checkpoint (origin, size, base64 root hash)")
        }
        self.init(origin: String(lines[0]), size: size, root: root)
    }

    /// Parses a signed checkpoint note and requires a valid signature by `logKey`.
    public static func verified(text: String, logKey: NoteVerifierKey, source: String) throws -> (
        Checkpoint, SignedNote
    ) {
        let note = try SignedNote(parsing: text, source: source)
        let checkpoint = try Checkpoint(note: note, source: source)
        guard note.isSigned(by: logKey) else { throw NoteError.badSignature(source: source, key: logKey.name) }
        guard checkpoint.origin == logKey.name else {
            throw NoteError.malformed(
                source: source, reason: "checkpoint origin \(checkpoint.origin) is not \(logKey.name)")
        }
        return (checkpoint, note)
    }
}
