import Foundation

extension LedgerQueries {
    /// Why an approval of `digest` for `environment` by the key `keyID` would not count (or count for nothing)
    /// now: unknown digest, no gate or approval rule there, no rule that allows the signer, separation of
    /// duties, already current there. Empty when it can count. `approve` prints these as warnings.
    public func approvalWarnings(digest: Digest, environment: String, keyID: String, breakGlass: Bool) throws
        -> [String]
    {
        guard let repository = try repository(of: digest) else {
            return ["\(digest) is not in the ledger yet: the approval counts only once CI records it"]
        }
        guard let policy = try policy()?.policy else { return ["no policy is recorded yet, so nothing needs approval"] }
        guard let name = try? Repository(normalized: repository), let pipeline = policy.pipeline(for: name) else {
            return ["no pipeline covers \(repository): the approval is refused or counts for nothing"]
        }
        guard let rules = pipeline.environment(environment), rules.isGated else {
            return ["\(environment) has no gate in pipeline \(pipeline.name): approvals there count for nothing"]
        }
        var out: [String] = []
        if try current(environment: environment, repository: repository)?.digest == digest {
            out.append("\(digest) is already current in \(environment)")
        }
        let record = try projector.key(id: keyID)
        if breakGlass {
            if (rules.breakGlass?.approvals ?? 0) == 0 {
                out.append("break-glass promotions to \(environment) need no approvals of the break-glass")
            }
            return out
        }
        guard let approvals = rules.approvals else {
            return out + [
                "\(environment) in pipeline \(pipeline.name) has no approval rule: approvals there count for nothing"
            ]
        }
        if let signer = record?.signer {
            if !approvals.rules.contains(where: { $0.allows(signer) }) {
                out.append(
                    "no approval rule of \(environment) allows \(signer.identity): "
                        + approvals.rules.map { "\($0.name) needs \($0.allowedDescription)" }.joined(separator: "; "))
            }
            if approvals.separationOfDuties,
                try events(digest: digest).contains(where: {
                    ($0.kind == .built || $0.kind == .deployed) && $0.signer.identity == signer.identity
                })
            {
                out.append(
                    "\(signer.identity) built or deployed \(digest.short): separation of duties discards the approval")
            }
        }
        return out
    }

    /// The `promoted` predicate for `digest` (of `repository`) → `environment` under the policy in force: its
    /// source environment, and with a break-glass `reason`, the rules that fail now for `promoterKeyID`'s identity
    /// (admission checks them again inside the append transaction). Throws when the environment cannot be
    /// promoted to at all.
    public func promotion(
        of digest: Digest, repository: String, to environment: String, tags: [String], breakGlass reason: String?,
        promoterKeyID: String?, at time: Timestamp? = nil
    ) throws -> Predicates.Promoted {
        guard let (_, policy) = try policy() else { throw LedgerError.noPolicy }
        let name = try Repository(normalized: repository)
        guard let pipeline = policy.pipeline(for: name) else {
            throw LedgerError.refused(.noPipeline(repository: repository, patterns: policy.patterns))
        }
        guard let rules = pipeline.environment(environment) else {
            throw LedgerError.notInPolicy(environment: environment, known: pipeline.environmentNames)
        }
        guard let from = rules.from else { throw LedgerError.notGated(environment: environment) }
        var glass: Predicates.BreakGlass? = nil
        if let reason {
            let promoter = try promoterKeyID.flatMap { id in try projector.key(id: id)?.identity }
            let verdict = try gate(
                digest: digest, repository: repository, environment: environment, at: try time ?? ledger.ledgerTime(),
                promoter: promoter)
            glass = Predicates.BreakGlass(reason: reason, failedRules: verdict.failedRules)
        }
        return Predicates.Promoted(from: from, to: environment, tags: tags.isEmpty ? nil : tags, breakGlass: glass)
    }
}
