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
        public var teams: [String]?
        public init(identity: String, publicKey: String, roles: [Role], teams: [String]? = nil) {
            self.identity = identity
            self.publicKey = publicKey
            self.roles = roles
            self.teams = teams
        }
    }

    /// A key's roles and teams from this entry on (both replaced).
    public struct KeyUpdated: Codable, Sendable, Equatable {
        public var identity: String
        public var publicKey: String
        public var roles: [Role]
        public var teams: [String]
        public init(identity: String, publicKey: String, roles: [Role], teams: [String]) {
            self.identity = identity
            self.publicKey = publicKey
            self.roles = roles
            self.teams = teams
        }
    }

    public struct KeyRevoked: Codable, Sendable, Equatable {
        public var identity: String
        public var publicKey: String
        public var reason: String
        /// True when the key's standing approvals stop counting from the revocation on (a stolen key).
        public var voidApprovals: Bool?
        public init(identity: String, publicKey: String, reason: String, voidApprovals: Bool? = nil) {
            self.identity = identity
            self.publicKey = publicKey
            self.reason = reason
            self.voidApprovals = voidApprovals
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

    public enum CheckResult: String, Codable, Sendable, CaseIterable { case pass, fail }

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

    public enum IncidentState: String, Codable, Sendable, CaseIterable { case open, resolved }

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
        /// True for an approval of a break-glass promotion (it counts only towards `breakGlass.approvals`).
        public var breakGlass: Bool?
        public init(environment: String, comment: String? = nil, expiresAt: String? = nil, breakGlass: Bool? = nil) {
            self.environment = environment
            self.comment = comment
            self.expiresAt = expiresAt
            self.breakGlass = breakGlass
        }

        public var isBreakGlass: Bool { breakGlass == true }
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

    /// The registry tags a promotion moved (DESIGN.md §9): in which repository, and what each pointed to
    /// before (a tag that did not exist is absent from `previous`).
    public struct RegistryMove: Codable, Sendable, Equatable {
        public var repository: String
        public var tags: [String]
        public var previous: [String: String]
        public init(repository: String, tags: [String], previous: [String: String]) {
            self.repository = repository
            self.tags = tags
            self.previous = previous
        }
    }

    public struct Promoted: Codable, Sendable, Equatable {
        public var from: String
        public var to: String
        public var tags: [String]?
        public var breakGlass: BreakGlass?
        public var registry: RegistryMove?
        public init(
            from: String, to: String, tags: [String]? = nil, breakGlass: BreakGlass? = nil,
            registry: RegistryMove? = nil
        ) {
            self.from = from
            self.to = to
            self.tags = tags
            self.breakGlass = breakGlass
            self.registry = registry
        }
    }

    /// A rollback to a digest with an open incident: why it is restored anyway.
    public struct RollbackBreakGlass: Codable, Sendable, Equatable {
        public var reason: String
        public init(reason: String) { self.reason = reason }
    }

    public struct RolledBack: Codable, Sendable, Equatable {
        public var environment: String
        public var from: String
        public var reason: String
        public var breakGlass: RollbackBreakGlass?
        public init(environment: String, from: String, reason: String, breakGlass: RollbackBreakGlass? = nil) {
            self.environment = environment
            self.from = from
            self.reason = reason
            self.breakGlass = breakGlass
        }
    }
}

/// The kind-specific part of a statement's predicate.
public enum EventPredicate: Sendable, Equatable {
    case initialized(Predicates.Initialized)
    case keyEnrolled(Predicates.KeyEnrolled)
    case keyRevoked(Predicates.KeyRevoked)
    case keyUpdated(Predicates.KeyUpdated)
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
        case .keyUpdated: .keyUpdated
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

    /// The digest a rollback leaves (its `from`), which names the same repository as its subject.
    public var leftDigest: Digest? {
        guard case .rolledBack(let p) = self else { return nil }
        return try? Digest(parsing: p.from)
    }

    var body: any Encodable {
        switch self {
        case .initialized(let p): p
        case .keyEnrolled(let p): p
        case .keyRevoked(let p): p
        case .keyUpdated(let p): p
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

    static func decode(_ kind: EventKind, from decoder: Decoder) throws -> EventPredicate {
        switch kind {
        case .initialized: .initialized(try .init(from: decoder))
        case .keyEnrolled: .keyEnrolled(try .init(from: decoder))
        case .keyRevoked: .keyRevoked(try .init(from: decoder))
        case .keyUpdated: .keyUpdated(try .init(from: decoder))
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
