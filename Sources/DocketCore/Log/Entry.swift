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
            var scan = CanonicalScanner(raw)
            guard scan.literal("{\"index\":"), let index = scan.integer(), scan.literal(",\"integratedTime\":\""),
                let timeText = scan.string({ _ in true }), let time = Timestamp(rfc3339: timeText),
                scan.literal(",\"envelope\":"), let envelope = scan.envelope(), scan.literal("}"), scan.atEnd
            else { return nil }
            return (index, time, envelope)
        }
    }
}

extension Envelope {
    /// Reads the compact form Docket writes (``compactJSON``, optionally followed by a newline) without a general
    /// JSON parser; `nil` for anything else, which then goes through the general parser.
    static func parseCanonical(_ bytes: Data) -> Envelope? {
        bytes.withUnsafeBytes { raw -> Envelope? in
            var scan = CanonicalScanner(raw)
            guard let envelope = scan.envelope() else { return nil }
            _ = scan.literal("\n")
            return scan.atEnd ? envelope : nil
        }
    }
}

/// Byte-level reading of the fixed JSON shapes Docket writes. Every method returns `nil`/`false` on the
/// slightest difference; callers then use a general parser.
struct CanonicalScanner {
    private let raw: UnsafeRawBufferPointer
    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0

    init(_ raw: UnsafeRawBufferPointer) {
        self.raw = raw
        self.b = raw.bindMemory(to: UInt8.self)
    }

    var atEnd: Bool { i == b.count }

    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard let base = b.baseAddress, i + count <= b.count, memcmp(base + i, text.utf8Start, count) == 0 else {
            return false
        }
        i += count
        return true
    }

    /// A non-negative decimal integer without leading zeros.
    mutating func integer() -> Int? {
        let start = i
        while i < b.count, (48...57).contains(b[i]) { i += 1 }
        guard i > start, i - start <= 18, b[start] != 48 || i - start == 1 else { return nil }
        return Int(String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<i]), as: UTF8.self))
    }

    /// The bytes of a string with no escapes up to its closing quote (the opening one already read).
    private mutating func stringBytes(_ allowed: (UInt8) -> Bool) -> UnsafeRawBufferPointer? {
        let start = i
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            guard allowed(b[i]), b[i] >= 0x20, b[i] != UInt8(ascii: "\\"), b[i] < 0x80 else { return nil }
            i += 1
        }
        guard i < b.count else { return nil }
        defer { i += 1 }
        return UnsafeRawBufferPointer(rebasing: raw[start..<i])
    }

    mutating func string(_ allowed: (UInt8) -> Bool) -> String? {
        stringBytes(allowed).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func base64(_ c: UInt8) -> Bool {
        (65...90).contains(c) || (97...122).contains(c) || (48...57).contains(c) || c == 43 || c == 47 || c == 61
    }

    private static func hex(_ c: UInt8) -> Bool { (48...57).contains(c) || (97...102).contains(c) }

    /// `{"payloadType":"application/vnd.in-toto+json","payload":"…","signatures":[{"keyid":"…","sig":"…"}]}`
    mutating func envelope() -> Envelope? {
        guard literal("{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\""),
            let payloadText = stringBytes(Self.base64), let payload = Data(base64Encoded: Data(payloadText)),
            literal(",\"signatures\":[{\"keyid\":\""), let keyID = string(Self.hex),
            literal(",\"sig\":\""), let sigText = stringBytes(Self.base64),
            let sig = Data(base64Encoded: Data(sigText)),
            literal("}]}")
        else { return nil }
        return Envelope(
            payloadType: Envelope.inTotoPayloadType, payload: payload, signatures: [.init(keyID: keyID, sig: sig)])
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
