import Foundation

/// `docket status [--repo R] [--incidents]`.
public struct StatusQuestion: LedgerQuestion {
    public static let name = "status"
    public var repository: String?
    public var incidents: Bool
    /// `docket replay --at`: the state as of an entry index or a time.
    public var at: String?

    public init(repository: String?, incidents: Bool = false, at: String? = nil) {
        self.repository = repository
        self.incidents = incidents
        self.at = at
    }

    public struct Answer: Codable, Sendable {
        public var status: LedgerStatus
        public var incidents: [IncidentRecord]?
    }

    public func answer(_ reader: QueryReader) throws -> Answer {
        let repository = try self.repository.map { try Repository(normalising: $0).name }
        let ledger = reader.ledger
        if let at {
            let point = try LedgerPoint(at, in: ledger, now: reader.time)
            return Answer(
                status: try ledger.queries.status(before: point.bound, at: point.time, repository: repository))
        }
        return Answer(
            status: try ledger.queries.status(repository: repository),
            incidents: incidents ? try ledger.queries.incidents(repository: repository) : nil)
    }
}

/// `docket gate IMAGE [--env E] [--at INDEX|TIME] [--promoter ID]`: one verdict with an environment, else one per
/// gated environment of the digest's pipeline.
public struct GateQuestion: LedgerQuestion {
    public static let name = "gate"
    public var image: String
    public var environment: String?
    public var at: String?
    public var promoter: String?

    public init(image: String, environment: String?, at: String? = nil, promoter: String? = nil) {
        self.image = image
        self.environment = environment
        self.at = at
        self.promoter = promoter
    }

    public func answer(_ reader: QueryReader) throws -> [GateVerdict] {
        let ledger = reader.ledger
        let (digest, repository) = try ledger.queries.resolve(try ImageReference(parsing: image))
        let point = try LedgerPoint(at, in: ledger, now: reader.time)
        guard let environment else {
            return try ledger.queries.gates(
                digest: digest, repository: repository, before: point.bound, at: point.time, promoter: promoter)
        }
        // An environment the pipeline does not have is a typing mistake, not a "no".
        if let pipeline = try? ledger.queries.pipeline(for: repository, before: point.bound),
            pipeline.environment(environment) == nil
        {
            throw LedgerError.notInPolicy(environment: environment, known: pipeline.environmentNames)
        }
        return [
            try ledger.queries.gate(
                digest: digest, repository: repository, environment: environment, before: point.bound,
                at: point.time, promoter: promoter)
        ]
    }
}

/// `docket pending [--for ME] [--env E]`.
public struct PendingQuestion: LedgerQuestion {
    public static let name = "pending"
    public var identity: String?
    public var environment: String?

    public init(identity: String?, environment: String?) {
        self.identity = identity
        self.environment = environment
    }

    public func answer(_ reader: QueryReader) throws -> [PendingApproval] {
        let ledger = reader.ledger
        // Names the ledger does not know are typing mistakes, not an empty answer.
        if let identity, try ledger.queries.keys(identity: identity).isEmpty {
            throw QueryFailure.badInput("no key of this ledger belongs to \(identity); see `docket key list`")
        }
        if let environment, let policy = try ledger.queries.policy()?.policy,
            !policy.environmentNames.contains(where: { $0.utf8.elementsEqual(environment.utf8) })
        {
            throw LedgerError.notInPolicy(environment: environment, known: policy.environmentNames)
        }
        return try ledger.queries.pending(for: identity, environment: environment, at: reader.time)
    }
}

/// One page of `docket history IMAGE`: the digest's events from an entry on (the CLI asks page after page, so a
/// digest with 20,000 checks never sits in memory), and its tag moves with the first page.
public struct HistoryQuestion: LedgerQuestion {
    public static let name = "history"
    public static let pageLimit = 500
    public var image: String
    public var from: Int
    public var limit: Int

    public init(image: String, from: Int = 0, limit: Int = HistoryQuestion.pageLimit) {
        self.image = image
        self.from = from
        self.limit = limit
    }

    public struct Answer: Codable, Sendable {
        public var repository: String
        public var digest: String
        public var events: [EventRecord]
        /// With the first page only.
        public var tagMoves: [TagMove]?
        /// The entry to ask from for the next page; nil at the end.
        public var next: Int?
    }

    public func answer(_ reader: QueryReader) throws -> Answer {
        guard from >= 0, (1...Self.pageLimit).contains(limit) else {
            throw QueryFailure.badInput("history: from must be ≥ 0 and limit between 1 and \(Self.pageLimit)")
        }
        let ledger = reader.ledger
        let (digest, repository) = try ledger.queries.resolve(try ImageReference(parsing: image))
        let events = try ledger.queries.events(digest: digest, from: from, limit: limit)
        if from == 0, events.isEmpty { throw QueryFailure.no("\(digest) is not in the ledger") }
        return Answer(
            repository: repository, digest: digest.description, events: try reader.records(events),
            tagMoves: from == 0 ? try ledger.queries.tagMoves(digest: digest) : nil,
            next: events.count == limit ? events.last.map { $0.index + 1 } : nil)
    }
}

/// `docket history REPOSITORY:TAG`: the digests the tag has named, oldest first.
public struct TagHistoryQuestion: LedgerQuestion {
    public static let name = "tag-history"
    public var repository: String
    public var tag: String

    public init(repository: String, tag: String) {
        self.repository = repository
        self.tag = tag
    }

    public func answer(_ reader: QueryReader) throws -> [TagHistoryEntry] {
        try reader.ledger.queries.tagHistory(repository: try Repository(normalising: repository).name, tag: tag)
    }
}

/// One page of `docket log [--since N] [--limit N]`.
public struct LogQuestion: LedgerQuestion {
    public static let name = "log"
    public static let pageLimit = 1000
    public var since: Int
    public var limit: Int

    public init(since: Int, limit: Int) {
        self.since = since
        self.limit = limit
    }

    public func answer(_ reader: QueryReader) throws -> [EventRecord] {
        guard since >= 0, (1...Self.pageLimit).contains(limit) else {
            throw QueryFailure.badInput("log: since must be ≥ 0 and limit between 1 and \(Self.pageLimit)")
        }
        return try reader.records(try reader.ledger.queries.events(from: since, limit: limit))
    }
}

/// `docket policy show`: the policy in force and the entry that recorded it (nil: none yet).
public struct PolicyQuestion: LedgerQuestion {
    public static let name = "policy"
    public init() {}

    public struct Recorded: Codable, Sendable {
        public var index: Int
        public var policy: JSONValue

        /// The policy, read from its document by the same parser `policy set` uses.
        public func parsed() throws -> Policy { try Policy(document: policy, source: "the policy of entry \(index)") }
    }

    public func answer(_ reader: QueryReader) throws -> Recorded? {
        try reader.ledger.queries.policy().map { Recorded(index: $0.index, policy: $0.policy.document) }
    }
}

/// `docket key list`.
public struct KeysQuestion: LedgerQuestion {
    public static let name = "keys"
    public init() {}
    public func answer(_ reader: QueryReader) throws -> [KeyRecord] { try reader.ledger.queries.keys() }
}

/// `docket ledger describe`: origin, ledger ID, log key and size.
public struct DescribeQuestion: LedgerQuestion {
    public static let name = "describe"
    public init() {}
    public func answer(_ reader: QueryReader) throws -> LedgerDescription { try reader.ledger.describe() }
}

/// A digest and the repository it belongs to, from `REPO@DIGEST` or a bare digest (``Ledger/resolve(_:)``).
public struct ResolveQuestion: LedgerQuestion {
    public static let name = "resolve"
    public var image: String

    public init(image: String) { self.image = image }

    public struct Answer: Codable, Sendable {
        public var digest: String
        public var repository: String
    }

    public func answer(_ reader: QueryReader) throws -> Answer {
        let (digest, repository) = try reader.ledger.queries.resolve(try ImageReference(parsing: image))
        return Answer(digest: digest.description, repository: repository)
    }
}
