import Foundation

/// The rules of every pipeline: which repositories it covers and their environments' gates
/// (DESIGN.md §5, docs/organisation.md).
public struct Policy: Sendable, Equatable {
    public var pipelines: [Pipeline]
    /// Patterns of tags that may never move to another digest: the top level's, for every repository.
    public let protectedTags: [String]
    /// How far after the ledger time a signer's clock may run (DESIGN.md §5 "Signers' clocks"): 5 minutes.
    public var maxClockSkew = Policy.defaultClockSkew
    /// How long before the ledger time an envelope may have been signed: 24 hours.
    public var maxSubmitDelay = Policy.defaultSubmitDelay
    /// Which CI workloads' OIDC tokens attest keys, as whom and with which roles (DESIGN.md §14).
    public var workloads: [WorkloadRule] = []
    public static let defaultClockSkew = PolicyDuration(seconds: 300)
    public static let defaultSubmitDelay = PolicyDuration(seconds: 86_400)
    /// The document as written (normalised to JSON), as recorded in the `policy` event.
    public var document: JSONValue
    /// `protectedTags`, and each pipeline's environments' (by pipeline name), compiled once (the parser has
    /// already refused patterns that do not compile).
    private let matchers: [NSRegularExpression]
    private let pipelineMatchers: [String: [NSRegularExpression]]

    init(pipelines: [Pipeline], protectedTags: [String], document: JSONValue) {
        self.pipelines = pipelines
        self.protectedTags = protectedTags
        self.document = document
        func compile(_ patterns: [String]) -> [NSRegularExpression] {
            patterns.compactMap { try? NSRegularExpression(pattern: $0) }
        }
        self.matchers = compile(protectedTags)
        self.pipelineMatchers = Dictionary(
            pipelines.map { ($0.name, compile($0.environments.flatMap(\.protectedTags))) },
            uniquingKeysWith: { first, _ in first })
    }

    public static func == (a: Policy, b: Policy) -> Bool {
        a.pipelines == b.pipelines && a.protectedTags == b.protectedTags && a.document == b.document
            && a.maxClockSkew == b.maxClockSkew && a.maxSubmitDelay == b.maxSubmitDelay
    }

    /// The first pipeline whose pattern matches the repository.
    public func pipeline(for repository: Repository) -> Pipeline? {
        pipelines.first { $0.matches(repository) }
    }

    /// The rules of `environment` in the repository's pipeline.
    public func environment(_ name: String, repository: Repository) -> EnvironmentRules? {
        pipeline(for: repository)?.environment(name)
    }

    /// Every environment name of every pipeline, each once, in policy order.
    public var environmentNames: [String] {
        var seen: Set<String> = []
        return pipelines.flatMap(\.environments).map(\.name).filter { seen.insert($0).inserted }
    }

    /// Every pipeline's patterns, for errors.
    public var patterns: [String] { pipelines.flatMap(\.repositories).map(\.text) }

    /// SHA-256 of the canonical JSON document: the `policy` event's subject digest.
    public var documentHash: String { SHA256.hash(document.canonicalData).hex }

    /// True when `tag` of `repository` matches a protected pattern: the top level's, or one of an environment
    /// of the repository's pipeline (a pipeline's release tags are its own services' business).
    public func isProtected(tag: String, repository: Repository) -> Bool {
        let range = NSRange(tag.startIndex..., in: tag)
        if matchers.contains(where: { $0.firstMatch(in: tag, range: range) != nil }) { return true }
        guard let pipeline = pipeline(for: repository) else { return false }
        return pipelineMatchers[pipeline.name, default: []].contains { $0.firstMatch(in: tag, range: range) != nil }
    }
}

/// The environments and gates of a set of repositories.
public struct Pipeline: Sendable, Equatable {
    public var name: String
    public var repositories: [RepositoryPattern]
    /// In promotion order as written; the first environment without `from` is where digests enter.
    public var environments: [EnvironmentRules]

    public func matches(_ repository: Repository) -> Bool { repositories.contains { $0.matches(repository) } }

    public func environment(_ name: String) -> EnvironmentRules? {
        environments.first { $0.name.utf8.elementsEqual(name.utf8) }
    }

    public var environmentNames: [String] { environments.map(\.name) }
}

/// One environment's gate.
public struct EnvironmentRules: Sendable, Equatable {
    public var name: String
    /// The environment a digest must be current in before promotion here; `nil` for an entry environment.
    public var from: String?
    public var soak: PolicyDuration?
    public var approvals: Approvals?
    public var checks: [String]
    public var freeze: [FreezeWindow]
    public var breakGlass: BreakGlassRules?
    public var protectedTags: [String]
    /// Registry tags a promotion here moves (DESIGN.md §9).
    public var registryTags: [String]
    /// What to do if the promoted image fails here (shown by `status` and `gate`).
    public var rollbackPlan: String?

    /// An environment with no `from` is entered by `deployed` events, not promotions.
    public var isGated: Bool { from != nil }
}

/// An environment's approval rules and the settings they share.
public struct Approvals: Sendable, Equatable {
    public var rules: [ApprovalRule]
    public var maxAge: PolicyDuration?
    public var separationOfDuties: Bool
    /// One person counts for one rule only.
    public var distinct: Bool
    /// An approval counts only when its signature proves the signer touched a security key (the authenticator's
    /// user-present flag), or also verified themselves to it (user-verified: a PIN or biometric).
    public var userPresence = false
    public var userVerification = false
}

/// Who must approve, and how many: every constraint given must hold.
public struct ApprovalRule: Sendable, Equatable {
    public var name: String
    public var min: Int
    public var roles: [Role]
    public var identities: [String]
    public var teams: [String]

    /// Every constraint given holds for the signer (as the key was when it signed); with none, the
    /// `approver` role.
    public func allows(_ signer: Signer) -> Bool {
        if roles.isEmpty && identities.isEmpty && teams.isEmpty { return signer.roles.contains(.approver) }
        if !roles.isEmpty && !signer.roles.contains(where: roles.contains) { return false }
        if !identities.isEmpty && !identities.contains(where: { $0.utf8.elementsEqual(signer.identity.utf8) }) {
            return false
        }
        if !teams.isEmpty
            && !signer.teams.contains(where: { team in teams.contains { $0.utf8.elementsEqual(team.utf8) } })
        {
            return false
        }
        return true
    }

    /// "role approver and team security", for reasons.
    public var allowedDescription: String {
        var parts: [String] = []
        if !roles.isEmpty { parts.append(roles.map { "role \($0.rawValue)" }.joined(separator: " or ")) }
        if !identities.isEmpty { parts.append(identities.map { "identity \($0)" }.joined(separator: " or ")) }
        if !teams.isEmpty { parts.append(teams.map { "team \($0)" }.joined(separator: " or ")) }
        return parts.isEmpty ? "role approver" : parts.joined(separator: " and ")
    }
}

/// Which failing rules a break-glass promotion may override, and how many other people must approve it.
public struct BreakGlassRules: Sendable, Equatable {
    public static let defaultAllow = ["soak", "approvals", "checks", "freeze"]
    /// Every rule name `allow` may list.
    public static let overridable = ["built", "from", "incidents", "soak", "approvals", "checks", "freeze"]

    public var allow: [String]
    public var approvals: Int
}
