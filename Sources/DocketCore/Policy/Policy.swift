import Foundation

/// The gate rules of every environment, in promotion order.
public struct Policy: Sendable, Equatable {
    public var environments: [EnvironmentRules]
    /// Patterns of tags that may never move to another digest (top level and every environment's, together).
    public let protectedTags: [String]
    /// The document as written (normalised to JSON), as recorded in the `policy` event.
    public var document: JSONValue
    /// `protectedTags`, compiled once (the parser has already refused patterns that do not compile).
    private let matchers: [NSRegularExpression]

    init(environments: [EnvironmentRules], protectedTags: [String], document: JSONValue) {
        self.environments = environments
        self.protectedTags = protectedTags
        self.document = document
        self.matchers = protectedTags.compactMap { try? NSRegularExpression(pattern: $0) }
    }

    public static func == (a: Policy, b: Policy) -> Bool {
        a.environments == b.environments && a.protectedTags == b.protectedTags && a.document == b.document
    }

    public func environment(_ name: String) -> EnvironmentRules? { environments.first { $0.name == name } }

    public var environmentNames: [String] { environments.map(\.name) }

    /// SHA-256 of the canonical JSON document: the `policy` event's subject digest.
    public var documentHash: String { SHA256.hash(document.canonicalData).hex }

    /// True when `tag` matches a protected pattern.
    public func isProtected(tag: String) -> Bool {
        matchers.contains { $0.firstMatch(in: tag, range: NSRange(tag.startIndex..., in: tag)) != nil }
    }
}

/// One environment's gate.
public struct EnvironmentRules: Sendable, Equatable {
    public var name: String
    /// The environment a digest must be current in before promotion here; `nil` for an entry environment.
    public var from: String?
    public var soak: PolicyDuration?
    public var approvals: ApprovalRule?
    public var checks: [String]
    public var breakGlass: Bool
    public var protectedTags: [String]

    /// An environment with no `from` is entered by `deployed` events, not promotions.
    public var isGated: Bool { from != nil }
}

/// Who must approve, and how many.
public struct ApprovalRule: Sendable, Equatable {
    public var min: Int
    public var roles: [Role]
    public var identities: [String]
    public var maxAge: PolicyDuration?
    public var separationOfDuties: Bool

    /// Roles or identities allowed; with neither given, the `approver` role.
    public func allows(_ signer: Signer) -> Bool {
        if roles.isEmpty && identities.isEmpty { return signer.roles.contains(.approver) }
        return identities.contains(signer.identity) || signer.roles.contains(where: roles.contains)
    }

    /// "role approver", "identity alice@example.com", for reasons.
    public var allowedDescription: String {
        var parts = roles.map { "role \($0.rawValue)" } + identities.map { "identity \($0)" }
        if parts.isEmpty { parts = ["role approver"] }
        return parts.joined(separator: " or ")
    }
}
