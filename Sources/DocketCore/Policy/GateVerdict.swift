/// The answer to "may digest D of repository R be promoted to environment E now?", rule by rule.
public struct GateVerdict: Sendable, Codable, Equatable {
    public struct Rule: Sendable, Codable, Equatable {
        /// `built`, `from`, `incidents`, `soak`, `approvals`, `checks`, `freeze` (or `environment`, `policy`,
        /// `pipeline`).
        public var rule: String
        /// For `approvals`, the approval rule's name (one entry per rule).
        public var name: String?
        public var passed: Bool
        /// Why, in words a person can act on.
        public var reason: String

        public init(rule: String, name: String? = nil, passed: Bool, reason: String) {
            self.rule = rule
            self.name = name
            self.passed = passed
            self.reason = reason
        }
    }

    public var digest: String
    public var repository: String
    public var environment: String
    /// The pipeline whose rules applied.
    public var pipeline: String?
    public var eligible: Bool
    /// The ledger time the rules were evaluated at.
    public var evaluatedAt: String
    /// The index of the `policy` entry in force, if any.
    public var policyIndex: Int?
    public var rules: [Rule]
    /// When only time is missing (soak, freeze), the moment the digest becomes eligible.
    public var eligibleAt: String?
    /// The environment's rollback plan, if the policy gives one.
    public var rollbackPlan: String?

    /// The failing rules, each name once, in order (what a break-glass promotion lists).
    public var failedRules: [String] {
        var seen: Set<String> = []
        return rules.filter { !$0.passed }.map(\.rule).filter { seen.insert($0).inserted }
    }
}

/// One step of an environment's history for a repository: a digest became current.
public struct TimelineEntry: Sendable, Codable, Equatable {
    public var environment: String
    public var digest: Digest
    public var repository: String
    public var index: Int
    public var time: Timestamp
    public var identity: String
    /// The event kind that made it current: `deployed`, `promoted` or `rolled-back`.
    public var kind: EventKind
}
