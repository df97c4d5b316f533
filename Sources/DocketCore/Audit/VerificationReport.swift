/// The digest current for a repository in an environment.
public struct ServiceDigest: Sendable, Codable, Equatable {
    public var environment: String
    public var repository: String
    public var digest: String
}

/// What `verify` found. `ok` is true only when there are no problems.
public struct VerificationReport: Sendable, Codable, Equatable {
    public struct Problem: Sendable, Codable, Equatable {
        /// The entry at fault, when one can be named.
        public var index: Int?
        /// A short category: `entry`, `signature`, `authorization`, `order`, `time`, `merkle`, `checkpoint`,
        /// `projection`, `promotion`, `consistency`, `witness`.
        public var kind: String
        public var message: String
    }

    public var source: String
    public var origin: String
    public var entries: Int
    public var root: String
    public var checkpointSize: Int?
    public var logKey: String
    /// True when the log key was given by the auditor (`--log-key`), false when taken from the ledger itself.
    public var logKeyPinned: Bool
    public var promotionsChecked: Int
    public var breakGlass: [BreakGlassRecord]
    public var drift: [DriftRecord]
    public var tagMoves: [TagMove]
    /// Final state of every (environment, repository) as recomputed from the entries.
    public var environments: [ServiceDigest]
    public var problems: [Problem]
    public var notes: [String]

    public var ok: Bool { problems.isEmpty }

    enum CodingKeys: String, CodingKey {
        case source, origin, entries, root, checkpointSize, logKey, logKeyPinned, promotionsChecked, breakGlass, drift,
            tagMoves, environments, problems, notes, ok
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(origin, forKey: .origin)
        try c.encode(entries, forKey: .entries)
        try c.encode(root, forKey: .root)
        try c.encodeIfPresent(checkpointSize, forKey: .checkpointSize)
        try c.encode(logKey, forKey: .logKey)
        try c.encode(logKeyPinned, forKey: .logKeyPinned)
        try c.encode(promotionsChecked, forKey: .promotionsChecked)
        try c.encode(breakGlass, forKey: .breakGlass)
        try c.encode(drift, forKey: .drift)
        try c.encode(tagMoves, forKey: .tagMoves)
        try c.encode(environments, forKey: .environments)
        try c.encode(problems, forKey: .problems)
        try c.encode(notes, forKey: .notes)
        try c.encode(ok, forKey: .ok)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(String.self, forKey: .source)
        origin = try c.decode(String.self, forKey: .origin)
        entries = try c.decode(Int.self, forKey: .entries)
        root = try c.decode(String.self, forKey: .root)
        checkpointSize = try c.decodeIfPresent(Int.self, forKey: .checkpointSize)
        logKey = try c.decode(String.self, forKey: .logKey)
        logKeyPinned = try c.decode(Bool.self, forKey: .logKeyPinned)
        promotionsChecked = try c.decode(Int.self, forKey: .promotionsChecked)
        breakGlass = try c.decode([BreakGlassRecord].self, forKey: .breakGlass)
        drift = try c.decode([DriftRecord].self, forKey: .drift)
        tagMoves = try c.decode([TagMove].self, forKey: .tagMoves)
        environments = try c.decode([ServiceDigest].self, forKey: .environments)
        problems = try c.decode([Problem].self, forKey: .problems)
        notes = try c.decode([String].self, forKey: .notes)
    }

    init(source: String) {
        self.source = source
        origin = ""
        entries = 0
        root = ""
        logKey = ""
        logKeyPinned = false
        promotionsChecked = 0
        breakGlass = []
        drift = []
        tagMoves = []
        environments = []
        problems = []
        notes = []
    }

    mutating func problem(_ index: Int?, _ kind: String, _ message: String) {
        // Past a few hundred problems the report stops growing: the first ones say what is wrong.
        guard problems.count < 500 else { return }
        problems.append(Problem(index: index, kind: kind, message: message))
    }
}
