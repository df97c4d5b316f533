import DocketCore

/// Human renderings shared by several commands.
enum Render {
    static func verdict(_ v: GateVerdict) -> String {
        var lines = [
            ("gate \(v.repository)@\(v.digest) → \(v.environment)".terminalSafe(keepNewlines: false)
                + ": \(v.eligible ? Terminal.green("ELIGIBLE") : Terminal.red("NOT ELIGIBLE")) at \(v.evaluatedAt)"
                + (v.pipeline.map { " (pipeline \($0)" }?.terminalSafe(keepNewlines: false) ?? " (")
                + (v.policyIndex.map { ", policy of entry \($0))" } ?? ")"))
        ]
        lines.append(
            Terminal.table(
                v.rules.map { rule in
                    [
                        Terminal.mark(rule.passed),
                        (rule.name.flatMap { $0 == rule.rule ? nil : "\(rule.rule):\($0)" } ?? rule.rule)
                            .terminalSafe(),
                        rule.reason.terminalSafe(keepNewlines: false),
                    ]
                }))
        if let at = v.eligibleAt { lines.append("  only time is missing: eligible at \(at)") }
        if let plan = v.rollbackPlan { lines.append("  rollback plan: " + plan.terminalSafe(keepNewlines: false)) }
        return lines.joined(separator: "\n")
    }

    static func short(_ digest: String?) -> String {
        guard let digest else { return "-" }
        return digest.hasPrefix("sha256:") ? String(digest.prefix(19)) : digest
    }

    static func status(_ s: LedgerStatus, detailed: Bool) -> String {
        var lines = [
            "\(s.origin): \(s.size) entries; "
                + (s.asOfIndex < 0
                    ? "state before the first entry" : "state as of entry \(s.asOfIndex) (\(s.asOfTime))")
                + (s.policyIndex.map { ", policy of entry \($0)" } ?? ", no policy yet")
        ]
        // The services × environments table: one row per repository, one column per environment.
        var cells: [String: [String: ServiceStatus]] = [:]
        for service in s.services { cells[service.repository, default: [:]][service.environment] = service }
        var rows = [["SERVICE"] + s.environments.map { $0.uppercased() }]
        for repository in s.repositories {
            rows.append(
                [repository]
                    + s.environments.map { environment in
                        guard let cell = cells[repository]?[environment] else { return "" }
                        guard let current = cell.current else { return "-" }
                        return short(current.digest.description) + (cell.drift.isEmpty ? "" : " DRIFT")
                    })
        }
        if s.repositories.isEmpty {
            lines.append("no services yet: CI records them with `docket record built`")
        } else {
            lines.append(Terminal.table(rows.map { $0.map { $0.terminalSafe(keepNewlines: false, limit: 200) } }))
        }
        if detailed {
            var detail = [["ENVIRONMENT", "DIGEST", "SINCE", "BY", "VIA", "TAGS", "ROLLBACK TO"]]
            for cell in s.services {
                let current = cell.current
                detail.append(
                    [
                        cell.environment, short(current?.digest.description), current?.time.rfc3339 ?? "-",
                        current?.identity ?? "-", current.map { "\($0.kind.rawValue) #\($0.index)" } ?? "-",
                        cell.tags.isEmpty ? "-" : cell.tags.joined(separator: ","), short(cell.rollbackTarget),
                    ].map { $0.terminalSafe(keepNewlines: false, limit: 200) })
            }
            lines.append(Terminal.table(detail))
            for cell in s.services {
                if let plan = cell.rollbackPlan {
                    lines.append("rollback plan for \(cell.environment): \(plan)".terminalSafe(keepNewlines: false))
                }
            }
        }
        let drift = s.services.flatMap(\.drift)
        if !drift.isEmpty {
            lines.append("drift (observed running, not what the ledger says is current):")
            for d in drift {
                lines.append(
                    "  \(Terminal.red("!")) entry \(d.index): observed \(short(d.digest)) of \(d.repository) in \(d.environment) while \(short(d.currentDigest)) was current"
                        .terminalSafe(keepNewlines: false))
            }
        }
        if !s.activeFreezes.isEmpty {
            lines.append("active freezes:")
            for f in s.activeFreezes {
                lines.append(
                    "  \(f.environment) (pipeline \(f.pipeline)) frozen until \(f.until): \(f.reason)".terminalSafe(
                        keepNewlines: false))
            }
        }
        if !s.openIncidents.isEmpty {
            lines.append("open incidents:")
            for i in s.openIncidents {
                lines.append(
                    "  \(i.incident) in \(i.environment) against \(short(i.digest)) (entry \(i.index))".terminalSafe(
                        keepNewlines: false))
            }
        }
        if !s.tagMoves.isEmpty {
            lines.append("tag moves:")
            for m in s.tagMoves { lines.append("  entry \(m.index): " + tagMove(m)) }
        }
        return lines.joined(separator: "\n")
    }

    static func incidents(_ all: [IncidentRecord]) -> String {
        guard !all.isEmpty else { return "no incidents recorded" }
        return "incidents (latest state of each):\n"
            + Terminal.table(
                [["ENTRY", "SERVICE", "DIGEST", "ENVIRONMENT", "INCIDENT", "STATE"]]
                    + all.map {
                        ["#\($0.index)", $0.repository, short($0.digest), $0.environment, $0.incident, $0.state].map {
                            $0.terminalSafe(keepNewlines: false, limit: 200)
                        }
                    })
    }

    static func tagMove(_ m: TagMove) -> String {
        "tag \(m.tag) of \(m.repository) moved from \(m.from) to \(m.to)".terminalSafe(keepNewlines: false)
    }

    /// One line describing an event. Signed fields are still other people's text: kept to one safe line.
    static func event(_ e: LedgerEvent) -> String { eventText(e).terminalSafe(keepNewlines: false, limit: 400) }

    private static func eventText(_ e: LedgerEvent) -> String {
        let who = e.signer.workload ?? e.signer.identity
        let d = e.statement.digest.map { Render.short($0.description) } ?? e.statement.subjectName
        switch e.statement.predicate {
        case .initialized(let p):
            return "initialized \(e.statement.ledger), admin \(p.admins.map(\.identity).joined(separator: ", "))"
        case .keyEnrolled(let p):
            return "key of \(p.identity) enrolled as \(p.roles.map(\.rawValue).joined(separator: ","))"
                + (p.teams.map { $0.isEmpty ? "" : " in team(s) \($0.joined(separator: ","))" } ?? "") + " by \(who)"
        case .keyUpdated(let p):
            return "key of \(p.identity) now \(p.roles.map(\.rawValue).joined(separator: ","))"
                + (p.teams.isEmpty ? ", no teams" : " in team(s) \(p.teams.joined(separator: ","))") + " (by \(who))"
        case .keyRevoked(let p):
            return "key of \(p.identity) revoked by \(who): \(p.reason)"
                + (p.voidApprovals == true ? " (its approvals voided)" : "")
        case .policy: return "policy set by \(who)"
        case .oidcIssuer(let p):
            return
                "OIDC issuer \(p.issuer) trusted for audience \(p.audience) (\(p.algorithms.joined(separator: ", "))) by \(who)"
        case .keyAttested(let p):
            let token = try? WorkloadToken(parsing: p.token)
            let until = (try? token?.expiry()).map { " until \(Timestamp(milliseconds: $0).rfc3339)" } ?? ""
            return "key attested for \(who) by an OIDC token of \(e.statement.subjectName); it signs\(until)"
        case .built(let p):
            var text = "\(d) built by \(who)"
            if let tags = p.tags { text += " tags \(tags.joined(separator: ","))" }
            if let s = p.source { text += " from \(s.repository)@\(s.revision.prefix(12))" }
            return text
        case .deployed(let p): return "\(d) deployed to \(p.environment) by \(who)"
        case .check(let p): return "\(d) check \(p.check): \(p.result.rawValue) (\(who))"
        case .incident(let p):
            return "\(d) incident \(p.incident) \(p.state.rawValue) in \(p.environment) by \(who)"
                + (p.summary.map { ": \($0)" } ?? "")
        case .approved(let p):
            return "\(d) \(p.isBreakGlass ? "break-glass " : "")approved for \(p.environment) by \(who)"
                + (p.comment.map { ": \($0)" } ?? "")
        case .withdrawn(let p): return "\(d) approval for \(p.environment) withdrawn by \(who)"
        case .promoted(let p):
            var text = "\(d) promoted \(p.from) → \(p.to) by \(who)"
            if let glass = p.breakGlass {
                text += " BREAK-GLASS (\(glass.reason); failed: \(glass.failedRules.joined(separator: ", ")))"
            }
            return text
        case .rolledBack(let p):
            return "\(p.environment) rolled back from \(short(p.from)) to \(d) by \(who): \(p.reason)"
                + (p.breakGlass.map { " BREAK-GLASS (open incident: \($0.reason))" } ?? "")
        }
    }
}
