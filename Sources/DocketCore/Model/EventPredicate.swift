import Foundation

/// The kind-specific part of a statement's predicate.
public enum EventPredicate: Sendable, Equatable {
    case initialized(Predicates.Initialized)
    case keyEnrolled(Predicates.KeyEnrolled)
    case keyRevoked(Predicates.KeyRevoked)
    case keyUpdated(Predicates.KeyUpdated)
    case policy(Predicates.PolicySet)
    case oidcIssuer(Predicates.OIDCIssuerSet)
    case keyAttested(Predicates.KeyAttested)
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
        case .oidcIssuer: .oidcIssuer
        case .keyAttested: .keyAttested
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
        case .oidcIssuer(let p): p
        case .keyAttested(let p): p
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
        case .oidcIssuer: .oidcIssuer(try .init(from: decoder))
        case .keyAttested: .keyAttested(try .init(from: decoder))
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
