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
        if let canonical = Self.parseCanonical(bytes) {
            (index, integratedTime, envelope) = canonical
            self.bytes = bytes
            return
        }
        guard !JSONText.hasDuplicateKeys(bytes) else {
            throw EntryError.malformed(source: source, reason: "an object repeats a key")
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

    /// Reads the exact form the ledger writes (see ``init(index:integratedTime:envelope:)``) without a general
    /// JSON parser: verification reads every entry, and this is most of its parsing time. Anything that is not
    /// byte for byte that form returns `nil` and goes through the general parser, which gives the errors.
    static func parseCanonical(_ bytes: Data) -> (Int, Timestamp, Envelope)? {
        bytes.withUnsafeBytes { raw -> (Int, Timestamp, Envelope)? in
            let b = raw.bindMemory(to: UInt8.self)
            guard let base = b.baseAddress else { return nil }
            var i = 0
            func literal(_ text: StaticString) -> Bool {
                let count = text.utf8CodeUnitCount
                guard i + count <= b.count, memcmp(base + i, text.utf8Start, count) == 0 else { return false }
                i += count
                return true
            }
            /// A string with no escapes, up to the closing quote (the opening one already read).
            func plain(_ allowed: (UInt8) -> Bool) -> Range<Int>? {
                let start = i
                while i < b.count, b[i] != UInt8(ascii: "\"") {
                    guard allowed(b[i]) else { return nil }
                    i += 1
                }
                guard i < b.count else { return nil }
                defer { i += 1 }
                return start..<i
            }
            func base64(_ c: UInt8) -> Bool {
                (65...90).contains(c) || (97...122).contains(c) || (48...57).contains(c) || c == 43 || c == 47
                    || c == 61
            }
            func hex(_ c: UInt8) -> Bool { (48...57).contains(c) || (97...102).contains(c) }
            func data(_ range: Range<Int>) -> Data { Data(UnsafeRawBufferPointer(rebasing: raw[range])) }

            guard literal("{\"index\":") else { return nil }
            let digitsStart = i
            while i < b.count, (48...57).contains(b[i]) { i += 1 }
            guard i > digitsStart, i - digitsStart <= 18, b[digitsStart] != 48 || i - digitsStart == 1,
                let index = Int(String(decoding: data(digitsStart..<i), as: UTF8.self)),
                literal(",\"integratedTime\":\""), let timeRange = plain({ _ in true }),
                let time = Timestamp(rfc3339: String(decoding: data(timeRange), as: UTF8.self)),
                literal(",\"envelope\":{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\""),
                let payloadRange = plain(base64), let payload = Data(base64Encoded: data(payloadRange)),
                literal(",\"signatures\":[{\"keyid\":\""), let keyRange = plain(hex),
                literal(",\"sig\":\""), let sigRange = plain(base64), let sig = Data(base64Encoded: data(sigRange)),
                literal("}]}}"), i == b.count
            else { return nil }
            let envelope = Envelope(
                payloadType: Envelope.inTotoPayloadType, payload: payload,
                signatures: [.init(keyID: String(decoding: data(keyRange), as: UTF8.self), sig: sig)])
            return (index, time, envelope)
        }
    }
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
