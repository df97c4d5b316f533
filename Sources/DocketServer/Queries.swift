import DocketCore
import Foundation

/// `GET /api/v1/NAME?…`: the questions of `POST /api/v1/ask/NAME` with their parameters in the query string,
/// answering in the shapes of the CLI's `--json` (the same schemas in schemas/). Each maps its parameters to the
/// question; the answer comes from the one implementation in DocketCore's `Queries/`.
enum Queries {
    typealias Query = @Sendable ([String: String], QueryReader) throws -> Data

    static let encoder = Questions.encoder

    static let all: [(String, Query)] = [
        ("status", status), ("gate", gate), ("history", history), ("log", log), ("pending", pending),
    ]

    /// `status [repo=R]`: LedgerStatus (schemas/status.schema.json).
    static let status: Query = { query, reader in
        try encoder.encode(try StatusQuestion(repository: query["repo"]).answer(reader).status)
    }

    /// `gate digest=D [env=E] [promoter=ID]`: one verdict with `env`, else one per gated environment.
    static let gate: Query = { query, reader in
        let verdicts = try GateQuestion(
            image: try required("digest", query), environment: query["env"], promoter: query["promoter"]
        ).answer(reader)
        if query["env"] != nil, let verdict = verdicts.first { return try encoder.encode(verdict) }
        return try encoder.encode(verdicts)
    }

    /// `history digest=D`: the digest's events and tag moves (at most 10,000 events; the CLI asks page by page).
    static let history: Query = { query, reader in
        struct Output: Encodable {
            var digest: String
            var events: [EventRecord]
            var repository: String
            var tagMoves: [TagMove]
        }
        let image = try required("digest", query)
        var page = try HistoryQuestion(image: image).answer(reader)
        var output = Output(
            digest: page.digest, events: page.events, repository: page.repository, tagMoves: page.tagMoves ?? [])
        while let next = page.next, output.events.count < 10_000 {
            page = try HistoryQuestion(image: image, from: next).answer(reader)
            output.events += page.events
        }
        return try encoder.encode(output)
    }

    /// `log [since=N] [limit=M]`: at most 1,000 events a page.
    static let log: Query = { query, reader in
        try encoder.encode(
            try LogQuestion(since: try number("since", query) ?? 0, limit: min(try number("limit", query) ?? 100, 1000))
                .answer(reader))
    }

    /// `pending [for=ID] [env=E]`.
    static let pending: Query = { query, reader in
        try encoder.encode(try PendingQuestion(identity: query["for"], environment: query["env"]).answer(reader))
    }

    static func required(_ name: String, _ query: [String: String]) throws -> String {
        guard let value = query[name], !value.isEmpty else { throw QueryFailure.badInput("give \(name)=…") }
        return value
    }

    static func number(_ name: String, _ query: [String: String]) throws -> Int? {
        guard let text = query[name] else { return nil }
        guard let value = Int(text) else { throw QueryFailure.badInput("\(name)=\(text) is not a whole number") }
        return value
    }
}
