import Foundation

/// The parts of the report an auditor reads first or asks next: one line per promotion and rollback at the top,
/// the incidents still open, who approved a break-glass, and a rollback out of drift worded as the CLI words it.
extension AuditReport {
    /// One line per move: entry, time, what, by whom, and how the gate stood.
    func summaryLine(_ m: Move) -> String {
        let what =
            m.kind == EventKind.promoted.rawValue
            ? "promoted \(m.repository)@\(m.digest.prefix(19))… \(m.from ?? "?") → \(m.to)"
            : "rolled back \(m.to) of \(m.repository) to \(m.digest.prefix(19))…"
        let how: String
        if let glass = m.breakGlass {
            how = "BREAK-GLASS (\(glass))"
        } else if let verdict = m.verdict {
            how = verdict.eligible ? "eligible" : "NOT eligible"
        } else {
            how = m.reason.map { "reason: \($0)" } ?? ""
        }
        return "entry \(m.index) · \(m.time) · \(what) · by \(m.identity) · \(how)"
    }

    /// Who approved a break-glass promotion, in words.
    func approversLine(_ m: Move) -> String? {
        guard m.breakGlass != nil, m.kind == EventKind.promoted.rawValue else { return nil }
        return m.breakGlassApprovers.isEmpty
            ? "Break-glass approvals counted at this entry: none."
            : "Break-glass approved by \(m.breakGlassApprovers.joined(separator: ", "))."
    }

    /// A rollback out of drift, as `docket rollback` says it.
    func driftLine(_ m: Move) -> String? {
        guard let observed = m.driftObserved, let replaced = m.replaced else { return nil }
        return "Out of drift: \(replaced) was observed at entry \(observed); the promoted digest is restored."
    }

    func openIncidentLine(_ i: OpenIncident) -> String {
        "entry \(i.index): \(i.environment)/\(i.incident) open against \(i.digest)"
    }

    var summaryHTML: HTML {
        guard !moves.isEmpty else { return .empty }
        let items = moves.map { m -> HTML in
            "<li class=\"\(m.breakGlass == nil ? "" : "glass")\" data-index=\"\(m.index)\">\(summaryLine(m))</li>"
        }
        return "<h2>Summary</h2><ol class=\"summary\">\(items)</ol>"
    }

    var openIncidentsHTML: HTML {
        let items = openIncidents.map { i -> HTML in "<li>\(openIncidentLine(i))</li>" }
        return openIncidents.isEmpty
            ? "<h2>Open incidents</h2><p class=\"muted\">None.</p>"
            : "<h2>Open incidents (\(openIncidents.count))</h2><ul class=\"incidents\">\(items)</ul>"
    }

    /// The summary and the open incidents, for the top of the Markdown report.
    func summaryMarkdown(_ md: (String) -> String) -> [String] {
        var out: [String] = []
        if !moves.isEmpty {
            out += ["## Summary", ""] + moves.map { "1. \(md(summaryLine($0)))" } + [""]
        }
        out += ["## Open incidents", ""]
        out += openIncidents.isEmpty ? ["None.", ""] : openIncidents.map { "- \(md(openIncidentLine($0)))" } + [""]
        return out
    }

    /// Drift and tag moves, as the HTML report shows them.
    func driftAndTagsMarkdown(_ md: (String) -> String) -> [String] {
        let v = verification
        var out: [String] = []
        if !v.drift.isEmpty {
            out += ["## Drift", ""]
            for d in v.drift {
                out.append(
                    md(
                        "- entry \(d.index): observed \(d.digest) of \(d.repository) in \(d.environment) while \(d.currentDigest ?? "nothing") was current\(d.settledIndex.map { "; settled at entry \($0)" } ?? "; still standing")"
                    ))
            }
            out.append("")
        }
        if !v.tagMoves.isEmpty {
            out += ["## Tag moves", ""]
            for m in v.tagMoves {
                out.append(md("- entry \(m.index): \(m.repository):\(m.tag) moved from \(m.from) to \(m.to)"))
            }
            out.append("")
        }
        return out
    }
}
