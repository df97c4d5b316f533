import Foundation

/// EventPredicate bodies, one per event kind, with the field names fixed by the design (section 3).
public enum Predicates {
    public struct AdminKey: Codable, Sendable, Equatable {
        public var identity: String
        public var publicKey: String
        public init(identity: String, publicKey: String) {
            self.identity = identity
            self.publicKey = publicKey
        }
    }

    public struct Initialized: Codable, Sendable, Equatable {
        public var logKey: String
        public var admins: [AdminKey]
        public init(logKey: String, admins: [AdminKey]) {
            self.logKey = logKey
            self.admins = admins
        }
    }

    public struct KeyEnrolled: Codable, Sendable, Equatable {
        public var identity: String
        public var publicKey: String
        public var roles: [Role]
        public init(identity: String, publicKey: String, roles: [Role]) {
            self.identity = identity
            self.publicKey = publicKey
            self.roles = roles
        }
    }

    public struct KeyRevoked: Codable, Sendable, Equatable {
        public var identity: String
        public var publicKey: String
        public var reason: String
        public init(identity: String, publicKey: String, reason: String) {
            self.identity = identity
            self.publicKey = publicKey
            self.reason = reason
        }
    }

    public struct PolicySet: Codable, Sendable, Equatable {
        public var policy: JSONValue
        public init(policy: JSONValue) { self.policy = policy }
    }

    public struct Source: Codable, Sendable, Equatable {
        public var repository: String
        public var revision: String
        public init(repository: String, revision: String) {
            self.repository = repository
            self.revision = revision
        }
    }

    public struct Built: Codable, Sendable, Equatable {
        public var tags: [String]?
        public var source: Source?
        public var builder: String?
        public var buildId: String?
        public init(tags: [String]? = nil, source: Source? = nil, builder: String? = nil, buildId: String? = nil) {
            self.tags = tags
            self.source = source
            self.builder = builder
            self.buildId = buildId
        }
    }

    public struct Deployed: Codable, Sendable, Equatable {
        public var environment: String
        public var deployment: String?
        public init(environment: String, deployment: String? = nil) {
            self.environment = environment
            self.deployment = deployment
        }
    }

    public enum CheckResult: String, Codable, Sendable { case pass, fail }

    public struct Check: Codable, Sendable, Equatable {
        public var check: String
        public var result: CheckResult
        public var details: String?
        public init(check: String, result: CheckResult, details: String? = nil) {
            self.check = check
            self.result = result
            self.details = details
        }
    }

    public enum IncidentState: String, Codable, Sendable { case open, resolved }

    public struct Incident: Codable, Sendable, Equatable {
        public var environment: String
        public var incident: String
        public var state: IncidentState
        public var severity: String?
        public var summary: String?
        public init(
            environment: String, incident: String, state: IncidentState, severity: String? = nil, summary: String? = nil
        ) {
            self.environment = environment
            self.incident = incident
            self.state = state
            self.severity = severity
            self.summary = summary
        }
    }

    public struct Approved: Codable, Sendable, Equatable {
        public var environment: String
        public var comment: String?
        public var expiresAt: String?
        public init(environment: String, comment: String? = nil, expiresAt: String? = nil) {
            self.environment = environment
            self.comment = comment
            self.expiresAt = expiresAt
        }
    }

    public struct Withdrawn: Codable, Sendable, Equatable {
        public var environment: String
        public init(environment: String) { self.environment = environment }
    }

    public struct BreakGlass: Codable, Sendable, Equatable {
        public var reason: String
        public var failedRules: [String]
        public init(reason: String, failedRules: [String]) {
            self.reason = reason
            self.failedRules = failedRules
        }
    }

    public struct Promoted: Codable, Sendable, Equatable {
        public var from: String
        public var to: String
        public var tags: [String]?
        public var breakGlass: BreakGlass?
        public init(from: String, to: String, tags: [String]? = nil, breakGlass: BreakGlass? = nil) {
            self.from = from
            self.to = to
            self.tags = tags
            self.breakGlass = breakGlass
        }
    }

    public struct RolledBack: Codable, Sendable, Equatable {
        public var environment: String
        public var from: String
        public var reason: String
        public init(environment: String, from: String, reason: String) {
            self.environment = environment
            self.from = from
            self.reason = reason
        }
    }
}

/// The kind-specific part of a statement's predicate.
public enum EventPredicate: Sendable, Equatable {
    case initialized(Predicates.Initialized)
    case keyEnrolled(Predicates.KeyEnrolled)
    case keyRevoked(Predicates.KeyRevoked)
    case policy(Predicates.PolicySet)
    case built(Predicates.Built)
    case deployed(Predicates.Deployed)
    case check(Predicates.Check)
    case incident(Predicates.Incident)
    case approved(Predicates.Approved)
    case withdrawn(Predicates.Withdrawn)
    case promoted(Predicates.Promoted)
    case rolledBack(Predicates.RolledBack)

    public var kind: EventKind {
        switch self {
        case .initialized: .initialized
        case .keyEnrolled: .keyEnrolled
        case .keyRevoked: .keyRevoked
        case .policy: .policy
        case .built: .built
        case .deployed: .deployed
        case .check: .check
        case .incident: .incident
        case .approved: .approved
        case .withdrawn: .withdrawn
        case .promoted: .promoted
        case .rolledBack: .rolledBack
        }
    }

    /// The environment the event is about, where it has one (for `promoted`, the target).
    public var environment: String? {
        switch self {
        case .deployed(let p): p.environment
        case .incident(let p): p.environment
        case .approved(let p): p.environment
        case .withdrawn(let p): p.environment
        case .promoted(let p): p.to
        case .rolledBack(let p): p.environment
        default: nil
        }
    }

    fileprivate var body: any Encodable {
        switch self {
        case .initialized(let p): p
        case .keyEnrolled(let p): p
        case .keyRevoked(let p): p
        case .policy(let p): p
        case .built(let p): p
        case .deployed(let p): p
        case .check(let p): p
        case .incident(let p): p
        case .approved(let p): p
        case .withdrawn(let p): p
        case .promoted(let p): p
        case .rolledBack(let p): p
        }
    }

    fileprivate static func decode(_ kind: EventKind, from decoder: Decoder) throws -> EventPredicate {
        switch kind {
        case .initialized: .initialized(try .init(from: decoder))
        case .keyEnrolled: .keyEnrolled(try .init(from: decoder))
        case .keyRevoked: .keyRevoked(try .init(from: decoder))
        case .policy: .policy(try .init(from: decoder))
        case .built: .built(try .init(from: decoder))
        case .deployed: .deployed(try .init(from: decoder))
        case .check: .check(try .init(from: decoder))
        case .incident: .incident(try .init(from: decoder))
        case .approved: .approved(try .init(from: decoder))
        case .withdrawn: .withdrawn(try .init(from: decoder))
        case .promoted: .promoted(try .init(from: decoder))
        case .rolledBack: .rolledBack(try .init(from: decoder))
        }
    }
}

/// An in-toto Statement v1 carrying one Docket event.
public struct Statement: Sendable, Equatable {
    public static let type = "https://in-toto.io/Statement/v1"

    /// The repository (image events) or the governed thing's name (identity, `policy`, origin).
    public var subjectName: String
    /// The subject's sha256 in hex: the image digest, or the hash of the governed key, policy or log key.
    public var subjectDigest: String
    /// The ledger origin the event was signed for.
    public var ledger: String
    /// The signer's clock (RFC 3339). Informative only: the entry's integratedTime is what counts.
    public var time: String
    /// Random, so that each signed envelope is unique.
    public var nonce: String
    public var predicate: EventPredicate

    public var kind: EventKind { predicate.kind }

    public init(
        subjectName: String, subjectDigest: String, ledger: String, time: String, nonce: String,
        predicate: EventPredicate
    ) {
        self.subjectName = subjectName
        self.subjectDigest = subjectDigest
        self.ledger = ledger
        self.time = time
        self.nonce = nonce
        self.predicate = predicate
    }

    /// A statement with a fresh nonce and the signer's current time.
    public static func make(
        subjectName: String, subjectDigest: String, ledger: String, predicate: EventPredicate,
        clock: any LedgerClock = SystemClock()
    ) throws -> Statement {
        Statement(
            subjectName: subjectName, subjectDigest: subjectDigest, ledger: ledger, time: clock.now().rfc3339,
            nonce: try Sodium.randomBytes(16).hex, predicate: predicate)
    }

    /// The image digest, for non-governance events.
    public var digest: Digest? { predicate.kind.isGovernance ? nil : try? Digest(hex: subjectDigest) }

    /// The payload bytes: compact JSON with sorted keys.
    public func encoded() -> Data {
        (try? JSONText.encoder().encode(Wire(self))) ?? Data()
    }

    /// Parses a payload from untrusted bytes. `source` names the input in errors.
    public init(parsing payload: Data, source: String) throws {
        // The fast reader refuses repeated keys itself; only the general path needs the separate scan.
        if let fast = Statement.fastDecode(payload) {
            self = fast
        } else {
            guard !JSONText.hasDuplicateKeys(payload) else {
                throw ModelError.badStatement(
                    source: source, reason: "an object repeats a key; verifiers disagree on which one counts")
            }
            self = try Statement(decoding: payload, source: source)
        }
        guard !ledger.isEmpty else {
            throw ModelError.badStatement(source: source, reason: "predicate.ledger is empty")
        }
        guard subjectDigest.utf8.count == 64, Digest.isLowerHex(subjectDigest) else {
            throw ModelError.badStatement(
                source: source, reason: "subject digest sha256 must be 64 lower-case hex digits")
        }
    }

    /// The general path: Foundation's decoder, with errors a person can read.
    init(decoding payload: Data, source: String) throws {
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
                subjectName: subjects[0].name, subjectDigest: hex, ledger: common.ledger,
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
                    common: Common(ledger: statement.ledger, time: statement.time, nonce: statement.nonce),
                    body: statement.predicate), forKey: .predicate)
        }
    }
}
