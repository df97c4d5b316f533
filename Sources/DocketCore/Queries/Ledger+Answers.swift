import Foundation

extension Ledger {
    /// Answers `question` (JSON text, of the kind named `name`) from one read snapshot, so the answer and the
    /// checkpoint it is signed with cover exactly the same entries; signed with the log key.
    public func signedAnswer(
        name: String, parameters: Data, summarize: @escaping (LedgerEvent) -> String
    ) throws -> SignedAnswer {
        guard let handler = Questions.handler(named: name) else {
            throw QueryFailure.badInput(
                "no question is named \(name); the questions are \(Questions.all.map { $0.name }.joined(separator: ", "))"
            )
        }
        let key = try logKey()
        return try log.readSnapshot {
            let note = try checkpointNote()
            let time = try ledgerTime()
            let answer = try handler(parameters, QueryReader(ledger: self, time: time, summarize: summarize))
            return SignedAnswer(
                question: name, parameters: parameters, answer: answer, time: time, checkpoint: note, key: key)
        }
    }

    /// Answers `question` locally, in one read snapshot (a local ledger's answers need no signature).
    public func answer<Q: LedgerQuestion>(_ question: Q, summarize: @escaping (LedgerEvent) -> String) throws
        -> Q.Answer
    {
        try read(summarize: summarize) { try question.answer($0) }
    }

    /// Runs `body` with a reader over one read snapshot, at the ledger time now.
    public func read<T>(summarize: @escaping (LedgerEvent) -> String, _ body: (QueryReader) throws -> T) throws -> T {
        try log.readSnapshot {
            try body(QueryReader(ledger: self, time: try ledgerTime(), summarize: summarize))
        }
    }
}
