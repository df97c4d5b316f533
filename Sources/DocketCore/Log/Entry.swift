import Foundation

/// One log entry: what the Merkle tree commits to. Written once at append time and stored byte for byte.
///
/// `{"index":<n>,"integratedTime":"<RFC 3339 ms>","envelope":<compact DSSE JSON>}`
public struct Entry: Sendable {
    public let index: Int
    public let integratedTime: Timestamp
    public let envelope: Envelope
    /// The exact bytes, never re-serialised after append.
    public let bytes: Data

    /// Builds a new entry's bytes.
    public init(index: Int, integratedTime: Timestamp, envelope: Envelope) {
        self.index = index
        self.integratedTime = integratedTime
        self.envelope = envelope
        var bytes = Data("{\"index\":\(index),\"integratedTime\":\"\(integratedTime.rfc3339)\",\"envelope\":".utf8)
        bytes.append(envelope.compactJSON)
        bytes.append(UInt8(ascii: "}"))
        self.bytes = bytes
    }

    /// Parses stored or bundled bytes. `source` names them in errors ("entry 41", "bundle line 43").
    public init(bytes: Data, source: String) throws {
        guard bytes.count <= Envelope.maximumSize + 4096 else {
            throw EntryError.malformed(source: source, reason: "larger than the entry size limit")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else {
            throw EntryError.malformed(source: source, reason: "not a JSON object (truncated or edited?)")
        }
        guard let index = (object["index"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }), index >= 0 else {
            throw EntryError.malformed(source: source, reason: "no valid `index`")
        }
        guard let timeText = object["integratedTime"] as? String, let time = Timestamp(rfc3339: timeText) else {
            throw EntryError.malformed(source: source, reason: "`integratedTime` is not RFC 3339 UTC with milliseconds")
        }
        guard let envelopeObject = object["envelope"] as? [String: Any] else {
            throw EntryError.malformed(source: source, reason: "no `envelope` object")
        }
        self.index = index
        self.integratedTime = time
        self.envelope = try Envelope(object: envelopeObject, source: source)
        self.bytes = bytes
    }

    public var leafHash: Data { Merkle.leafHash(bytes) }
}

/// An entry that cannot be read.
public enum EntryError: DocketFailure, Equatable {
    case malformed(source: String, reason: String)

    public var category: FailureCategory { .badInput }

    public var description: String {
        switch self {
        case .malformed(let source, let reason): "\(source): \(reason)"
        }
    }
}

/// Who signed an event, as enrolled in the ledger.
public struct Signer: Sendable, Equatable, Codable {
    public var identity: String
    public var keyID: String
    public var roles: [Role]

    public init(identity: String, keyID: String, roles: [Role]) {
        self.identity = identity
        self.keyID = keyID
        self.roles = roles
    }
}

/// An appended, authenticated event: the unit every projection and the gate work on.
public struct LedgerEvent: Sendable {
    public let index: Int
    public let time: Timestamp
    public let signer: Signer
    public let statement: Statement

    public init(index: Int, time: Timestamp, signer: Signer, statement: Statement) {
        self.index = index
        self.time = time
        self.signer = signer
        self.statement = statement
    }

    public var kind: EventKind { statement.kind }
    public var digest: Digest? { statement.digest }
}
