/// What a key may sign. A key may hold several roles.
public enum Role: String, CaseIterable, Sendable, Codable, Comparable {
    case admin, ci, checker, monitor, approver, releaser

    public init(parsing text: String) throws {
        guard let role = Role(rawValue: text) else { throw ModelError.unknownRole(text) }
        self = role
    }

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

/// The kinds of event, each with its own predicate type URI.
public enum EventKind: String, CaseIterable, Sendable, Codable {
    case initialized
    case keyEnrolled = "key-enrolled"
    case keyRevoked = "key-revoked"
    case keyUpdated = "key-updated"
    case policy
    case oidcIssuer = "oidc-issuer"
    case keyAttested = "key-attested"
    case built, deployed, check, incident, approved, withdrawn, promoted
    case rolledBack = "rolled-back"

    /// The namespace of Docket's predicate types; a kind's URI is `<namespace><kind>/v1`.
    public static let namespace = "https://docket.dev/"

    public var predicateType: String { Self.namespace + rawValue + "/v1" }

    public init?(predicateType: String) {
        guard predicateType.hasPrefix(Self.namespace), predicateType.hasSuffix("/v1") else { return nil }
        let name = predicateType.dropFirst(Self.namespace.count).dropLast(3)
        guard let kind = EventKind(rawValue: String(name)) else { return nil }
        self = kind
    }

    /// The role a signer must hold to append this kind; none for `key-attested`, which the key it attests signs.
    public var requiredRole: Role? {
        switch self {
        case .keyAttested: nil
        case .initialized, .keyEnrolled, .keyRevoked, .keyUpdated, .policy, .oidcIssuer: .admin
        case .built, .deployed: .ci
        case .check: .checker
        case .incident: .monitor
        case .approved, .withdrawn: .approver
        case .promoted, .rolledBack: .releaser
        }
    }

    /// Governance events have no image subject.
    public var isGovernance: Bool { requiredRole == .admin || self == .keyAttested }
}
