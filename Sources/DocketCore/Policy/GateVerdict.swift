/// The answer to "may digest D be promoted to environment E now?", rule by rule.
public struct GateVerdict: Sendable, Codable, Equatable {
    public struct Rule: Sendable, Codable, Equatable {
        /// `built`, `from`, `soak`, `incidents`, `approvals`, `checks` (or `environment`, `policy`).
        public var rule: String
        public var passed: Bool
        /// Why, in words a person can act on.
        public var reason: String
    }

    public var digest: String
    public var environment: String
    public var eligible: Bool
    /// The ledger time the rules were evaluated at.
    public var evaluatedAt: String
    /// The index of the `policy` entry in force, if any.
    public var policyIndex: Int?
    public var rules: [Rule]
    /// When only time is missing (soak), the moment the digest becomes eligible.
    public var eligibleAt: String?

    public var failedRules: [String] { rules.filter { !$0.passed }.map(\.rule) }
}

/// One step of an environment's history: a digest became current.
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
