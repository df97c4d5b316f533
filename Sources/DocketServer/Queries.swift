import DocketCore
import Foundation

/// The JSON queries, answering in the shapes of the CLI's `--json` (the same schemas in schemas/): each runs the
/// same ledger reads the command does, on a reader connection.
enum Queries {
    typealias Query = @Sendable (Ledger, [String: String], @Sendable (LedgerEvent) -> String) throws -> Data

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let all: [(String, Query)] = [
        ("status", status), ("gate", gate), ("history", history), ("log", log), ("pending", pending),
    ]

    /// `status [repo=R]`: LedgerStatus (schemas/status.schema.json).
    static let status: Query = { ledger, query, _ in
        let repository = try query["repo"].map { try Repository(normalising: $0).name }
        return try encoder.encode(try ledger.status(repository: repository))
    }

    /// `gate digest=D [env=E] [promoter=ID]`: one verdict with `env`, else one per gated environment.
    static let gate: Query = { ledger, query, _ in
        let (digest, repository) = try ledger.resolve(try ImageReference(parsing: try required("digest", query)))
        let time = try ledger.ledgerTime()
        if let env = query["env"] {
            let pipeline = try ledger.pipeline(for: repository)
            guard pipeline.environment(env) != nil else {
                throw LedgerError.notInPolicy(environment: env, known: pipeline.environmentNames)
            }
            return try encoder.encode(
                try ledger.gate(
                    digest: digest, repository: repository, environment: env, before: Int.max, at: time,
                    promoter: query["promoter"]))
        }
        return try encoder.encode(
            try ledger.gates(
                digest: digest, repository: repository, before: Int.max, at: time, promoter: query["promoter"]))
    }

    /// `history digest=D`: the digest's events and tag moves (at most 10,000 events; the CLI streams more).
    static let history: Query = { ledger, query, summarize in
        struct Output: Encodable {
            var digest: String
            var events: [EventRecord]
            var repository: String
            var tagMoves: [TagMove]
        }
        let (digest, repository) = try ledger.resolve(try ImageReference(parsing: try required("digest", query)))
        let events = try ledger.events(digest: digest, from: 0, limit: 10_000)
        guard !events.isEmpty else { throw LedgerError.unknownDigest(digest.description) }
        return try encoder.encode(
            Output(
                digest: digest.description, events: try events.map { try EventRecord($0, summary: summarize($0)) },
                repository: repository, tagMoves: try ledger.tagMoves(digest: digest)))
    }

    /// `log [since=N] [limit=M]`: at most 1,000 events a page.
    static let log: Query = { ledger, query, summarize in
        let since = try number("since", query) ?? 0
        let limit = min(try number("limit", query) ?? 100, 1000)
        guard since >= 0, limit > 0 else {
            throw QueryError("since must be ≥ 0 and limit between 1 and 1000")
        }
        return try encoder.encode(
            try ledger.events(from: since, limit: limit).map { try EventRecord($0, summary: summarize($0)) })
    }

    /// `pending [for=ID] [env=E]`.
    static let pending: Query = { ledger, query, _ in
        if let who = query["for"], try ledger.keys(identity: who).isEmpty {
            throw QueryError("no key of this ledger belongs to \(who)")
        }
        return try encoder.encode(try ledger.pending(for: query["for"], environment: query["env"]))
    }

    static func required(_ name: String, _ query: [String: String]) throws -> String {
        guard let value = query[name], !value.isEmpty else { throw QueryError("give \(name)=…") }
        return value
    }

    static func number(_ name: String, _ query: [String: String]) throws -> Int? {
        guard let text = query[name] else { return nil }
        guard let value = Int(text) else { throw QueryError("\(name)=\(text) is not a whole number") }
        return value
    }
}

/// A query parameter that cannot be used (400).
struct QueryError: DocketFailure {
    var description: String
    var category: FailureCategory { .badInput }
    init(_ description: String) { self.description = description }
}
