import Foundation

/// An in-toto Statement v1 carrying one Docket event.
public struct Statement: Sendable, Equatable {
    public static let type = "https://in-toto.io/Statement/v1"

    /// The repository (image events) or the governed thing's name (identity, `policy`, origin).
    public var subjectName: String
    /// The subject's sha256 in hex: the image digest, or the hash of the governed key, policy or log key.
    public var subjectDigest: String
    /// The ledger origin the event was signed for.
    public var ledger: String
    /// The ledger's ID (the hex leaf hash of its genesis entry): in every predicate after the genesis, so two
    /// ledgers with the same origin refuse each other's envelopes.
    public var ledgerID: String?
    /// The signer's clock (RFC 3339). Informative only: the entry's integratedTime is what counts.
    public var time: String
    /// Random, so that each signed envelope is unique.
    public var nonce: String
    public var predicate: EventPredicate

    public var kind: EventKind { predicate.kind }

    public init(
        subjectName: String, subjectDigest: String, ledger: String, ledgerID: String? = nil, time: String,
        nonce: String, predicate: EventPredicate
    ) {
        self.subjectName = subjectName
        self.subjectDigest = subjectDigest
        self.ledger = ledger
        self.ledgerID = ledgerID
        self.time = time
        self.nonce = nonce
        self.predicate = predicate
    }

    /// The image digest, for non-governance events.
    public var digest: Digest? { predicate.kind.isGovernance ? nil : try? Digest(hex: subjectDigest) }

    /// The payload bytes: compact JSON with sorted keys.
    public func encoded() -> Data {
        // Every field is a string, a string array or a JSON value, which always encode.
        do {
            return try JSONText.encoder().encode(Wire(self))
        } catch {
            preconditionFailure("a statement failed to encode: \(error)")
        }
    }

    /// Foundation's decoder over the same shape: the reference ``init(parsing:source:)`` is tested against.
    public init(decoding payload: Data, source: String) throws {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: payload)
        } catch let error as DecodingError {
            throw ModelError.badStatement(source: source, reason: error.readable)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError.badStatement(source: source, reason: "invalid JSON")
        }
        self = wire.statement
    }

    private struct Wire: Codable {
        var statement: Statement

        init(_ statement: Statement) { self.statement = statement }

        enum Keys: String, CodingKey {
            case type = "_type"
            case subject, predicateType, predicate
        }
        struct Subject: Codable {
            var name: String
            var digest: [String: String]
        }
        struct Common: Codable {
            var ledger: String
            var ledgerID: String?
            var time: String
            var nonce: String
        }
        struct PredicateBox: Encodable {
            var kind: EventKind
            var common: Common
            var body: EventPredicate

            init(kind: EventKind, common: Common, body: EventPredicate) {
                self.kind = kind
                self.common = common
                self.body = body
            }

            func encode(to encoder: Encoder) throws {
                try common.encode(to: encoder)
                try body.body.encode(to: encoder)
            }
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            guard try c.decode(String.self, forKey: .type) == Statement.type else {
                throw DecodingError.dataCorruptedError(
                    forKey: .type, in: c, debugDescription: "expected \(Statement.type)")
            }
            let subjects = try c.decode([Subject].self, forKey: .subject)
            guard subjects.count == 1, let hex = subjects[0].digest["sha256"] else {
                throw DecodingError.dataCorruptedError(
                    forKey: .subject, in: c, debugDescription: "expected one subject with a sha256 digest")
            }
            let type = try c.decode(String.self, forKey: .predicateType)
            guard let kind = EventKind(predicateType: type) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .predicateType, in: c,
                    debugDescription: "`\(type)` is not a Docket predicate type (\(EventKind.namespace)<kind>/v1)")
            }
            let nested = try c.superDecoder(forKey: .predicate)
            let common = try Common(from: nested)
            let body = try EventPredicate.decode(kind, from: nested)
            statement = Statement(
                subjectName: subjects[0].name, subjectDigest: hex, ledger: common.ledger, ledgerID: common.ledgerID,
                time: common.time, nonce: common.nonce, predicate: body)
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(Statement.type, forKey: .type)
            try c.encode(
                [Subject(name: statement.subjectName, digest: ["sha256": statement.subjectDigest])], forKey: .subject)
            try c.encode(statement.kind.predicateType, forKey: .predicateType)
            try c.encode(
                PredicateBox(
                    kind: statement.kind,
                    common: Common(
                        ledger: statement.ledger, ledgerID: statement.ledgerID, time: statement.time,
                        nonce: statement.nonce),
                    body: statement.predicate), forKey: .predicate)
        }
    }
}
