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
        /// When the key may sign (RFC 3339, ledger time): from `validAfter`, until before `validBefore` (git's
        /// `allowed_signers` `valid-after` and `valid-before`).
        public var validAfter: String?
        public var validBefore: String?
        public init(
            identity: String, publicKey: String, roles: [Role], teams: [String]? = nil, validAfter: String? = nil,
            validBefore: String? = nil
        ) {
            self.identity = identity
            self.publicKey = publicKey
            self.roles = roles
            self.teams = teams
            self.validAfter = validAfter
            self.validBefore = validBefore
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
