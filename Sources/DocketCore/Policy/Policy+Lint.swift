/// Warnings for a policy about to be recorded: things that are allowed but probably not meant
/// (docs/organisation.md; the refusals are in the parser). Each names what to look at.
extension Policy {
    /// - Parameters:
    ///   - signers: every enrolled, unrevoked key, as it is now.
    ///   - running: the (environment, repository) pairs that have something current.
    public func warnings(signers: [Signer], running: [(environment: String, repository: String)]) -> [String] {
        var out: [String] = []
        let approvers = signers.filter { $0.roles.contains(.approver) }
        for pipeline in pipelines {
            for environment in pipeline.environments {
                let place = "pipeline \(pipeline.name), environment \(environment.name)"
                for rule in environment.approvals?.rules ?? [] {
                    for identity in rule.identities
                    where !signers.contains(where: { $0.identity.utf8.elementsEqual(identity.utf8) }) {
                        out.append("\(place), rule \(rule.name): no enrolled key has identity \(identity)")
                    }
                    for team in rule.teams
                    where !signers.contains(where: { $0.teams.contains { $0.utf8.elementsEqual(team.utf8) } }) {
                        out.append(
                            "\(place), rule \(rule.name): no enrolled key is in team \(team) (enrol with --team \(team))"
                        )
                    }
                    var able: Set<[UInt8]> = []
                    for signer in approvers where rule.allows(signer) { able.insert(Array(signer.identity.utf8)) }
                    if able.count < rule.min {
                        out.append(
                            "\(place), rule \(rule.name): needs \(rule.min) approval\(rule.min == 1 ? "" : "s") from \(rule.allowedDescription), but only \(able.count) enrolled approver\(able.count == 1 ? "" : "s") can give one"
                        )
                    }
                }
            }
        }
        // Overlapping pipelines: a later pipeline's pattern that an earlier one already covers.
        for (i, later) in pipelines.enumerated() {
            for pattern in later.repositories {
                for earlier in pipelines[..<i] where earlier.repositories.contains(where: { $0.overlaps(pattern) }) {
                    out.append(
                        "pipelines \(earlier.name) and \(later.name) overlap (\(pattern)): a repository both match follows \(earlier.name), the first"
                    )
                }
            }
        }
        // Services left outside the policy by this change.
        var stranded: [String: [String]] = [:]
        for (environment, repository) in running {
            guard let name = try? Repository(normalized: repository) else { continue }
            guard let pipeline = pipeline(for: name) else {
                stranded[repository, default: []].append(environment)
                continue
            }
            if pipeline.environment(environment) == nil {
                out.append(
                    "\(repository) runs in \(environment), which pipeline \(pipeline.name) no longer has: its state stays in the ledger, but nothing more can be recorded or promoted there"
                )
            }
        }
        for (repository, environments) in stranded.sorted(by: { $0.key < $1.key }) {
            out.append(
                "\(repository) runs in \(environments.joined(separator: ", ")) but no pipeline covers it any more: every later event for it will be refused"
            )
        }
        return out
    }
}
