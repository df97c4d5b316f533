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

    /// Parses stored or bundled bytes with the strict reader. `source` names them in errors ("entry 41",
    /// "bundle line 43").
    public init(bytes: Data, source: String) throws {
        guard bytes.count <= Envelope.maximumSize + 4096 else {
            throw EntryError.malformed(source: source, reason: "larger than the entry size limit")
        }
        let root: JSONValue
        do {
            root = try StrictJSON.parse(bytes)
        } catch {
            throw EntryError.malformed(source: source, reason: "not a JSON entry (\(error); truncated or edited?)")
        }
        do {
            let fields = try JSONFields(root, path: "")
            guard case .number(let number) = try fields.value("index"), let index = Int(exactly: number), index >= 0
            else { throw EntryError.malformed(source: source, reason: "no valid `index`") }
            guard let time = Timestamp(rfc3339: try fields.string("integratedTime")) else {
                throw EntryError.malformed(
                    source: source, reason: "`integratedTime` is not RFC 3339 UTC with milliseconds")
            }
            self.index = index
            self.integratedTime = time
            self.envelope = try Envelope(json: try fields.value("envelope"), source: source)
            self.bytes = bytes
        } catch let error as FieldError {
            throw EntryError.malformed(source: source, reason: error.description)
        }
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
