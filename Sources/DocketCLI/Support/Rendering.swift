import DocketCore

/// Human renderings shared by several commands.
enum Render {
    static func verdict(_ v: GateVerdict) -> String {
        var lines = [
            "gate \(v.digest) → \(v.environment): \(v.eligible ? Terminal.green("ELIGIBLE") : Terminal.red("NOT ELIGIBLE")) at \(v.evaluatedAt)"
                + (v.policyIndex.map { " (policy of entry \($0))" } ?? "")
        ]
        lines.append(
            Terminal.table(
                v.rules.map { [Terminal.mark($0.passed), $0.rule, $0.reason.terminalSafe(keepNewlines: false)] }))
        if let at = v.eligibleAt { lines.append("  only time is missing: eligible at \(at)") }
        return lines.joined(separator: "\n")
    }

    static func short(_ digest: String?) -> String {
        guard let digest else { return "-" }
        return digest.hasPrefix("sha256:") ? String(digest.prefix(19)) : digest
    }

    static func status(_ s: LedgerStatus) -> String {
        var lines = [
            "\(s.origin): \(s.size) entries; "
                + (s.asOfIndex < 0
                    ? "state before the first entry" : "state as of entry \(s.asOfIndex) (\(s.asOfTime))")
                + (s.policyIndex.map { ", policy of entry \($0)" } ?? ", no policy yet")
        ]
        var rows = [["ENVIRONMENT", "DIGEST", "SINCE", "BY", "VIA", "TAGS", "ROLLBACK TO"]]
        for env in s.environments {
            let current = env.current
            let row: [String] = [
                env.environment, short(current?.digest.description), current?.time.rfc3339 ?? "-",
                current?.identity ?? "-", current.map { "\($0.kind.rawValue) #\($0.index)" } ?? "-",
                env.tags.isEmpty ? "-" : env.tags.joined(separator: ","), short(env.rollbackTarget),
            ]
            rows.append(row.map { $0.terminalSafe(keepNewlines: false, limit: 200) })
        }
        lines.append(Terminal.table(rows))
        let drift = s.environments.flatMap(\.drift)
        if !drift.isEmpty {
            lines.append("drift (deployed but never promoted there):")
            for d in drift {
                lines.append(
                    "  \(Terminal.red("!")) entry \(d.index): \(d.digest) deployed to \(d.environment), which runs \(short(d.currentDigest))"
                )
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

    static func tagMove(_ m: TagMove) -> String {
        "tag \(m.tag) of \(m.repository) moved from \(m.from) to \(m.to)".terminalSafe(keepNewlines: false)
    }

    /// One line describing an event. Signed fields are still other people's text: kept to one safe line.
    static func event(_ e: LedgerEvent) -> String { eventText(e).terminalSafe(keepNewlines: false, limit: 400) }

    private static func eventText(_ e: LedgerEvent) -> String {
        let who = e.signer.identity
        let d = e.statement.digest.map { Render.short($0.description) } ?? e.statement.subjectName
        switch e.statement.predicate {
        case .initialized(let p):
            return "initialized \(e.statement.ledger), admin \(p.admins.map(\.identity).joined(separator: ", "))"
        case .keyEnrolled(let p):
            return "key of \(p.identity) enrolled as \(p.roles.map(\.rawValue).joined(separator: ",")) by \(who)"
        case .keyRevoked(let p): return "key of \(p.identity) revoked by \(who): \(p.reason)"
        case .policy: return "policy set by \(who)"
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
            return "\(d) approved for \(p.environment) by \(who)" + (p.comment.map { ": \($0)" } ?? "")
        case .withdrawn(let p): return "\(d) approval for \(p.environment) withdrawn by \(who)"
        case .promoted(let p):
            var text = "\(d) promoted \(p.from) → \(p.to) by \(who)"
            if let glass = p.breakGlass {
                text += " BREAK-GLASS (\(glass.reason); failed: \(glass.failedRules.joined(separator: ", ")))"
            }
            return text
        case .rolledBack(let p):
            return "\(p.environment) rolled back from \(short(p.from)) to \(d) by \(who): \(p.reason)"
        }
    }
}
