import Foundation

extension AuditReport {
    // MARK: HTML

    /// One self-contained HTML document (inline style, no script, nothing fetched) that prints well: each
    /// promotion stays on one page, break-glass stands out in colour and in words.
    public var html: String {
        let v = verification
        let result: HTML =
            v.ok
            ? "<p class=\"result pass\" id=\"verification\">Verification passed: no problems found.</p>"
            : "<p class=\"result fail\" id=\"verification\">Verification FAILED: \(v.problems.count) problem(s).</p><ul class=\"problems\">\(v.problems.map { p -> HTML in "<li>[\(p.kind)] \(p.index.map { "entry \($0): " } ?? "")\(p.message)</li>" })</ul>"
        let facts: HTML = """
            <table class="facts">
            <tr><th>Bundle</th><td>\(bundle)</td></tr>
            <tr><th>Origin</th><td>\(v.origin)</td></tr>
            <tr><th>Entries</th><td>\(v.entries)</td></tr>
            <tr><th>Merkle root</th><td><code>\(v.root)</code></td></tr>
            <tr><th>Log key</th><td><code>\(v.logKey)</code> (\(v.logKeyPinned ? "pinned by the auditor" : "taken from the bundle itself: pin it with --log-key"))</td></tr>
            <tr><th>Promotions re-evaluated</th><td>\(v.promotionsChecked)</td></tr>
            <tr><th>Report written</th><td>\(generatedAt)</td></tr>
            </table>
            """
        var history: [HTML] = []
        if let historyProblem {
            history.append(
                "<p class=\"fail\">The history is not shown: the bundle's entries do not replay (\(historyProblem)).</p>"
            )
        }
        for h in histories {
            let rows = h.steps.map { s -> HTML in
                "<tr><td>\(s.index)</td><td>\(s.time)</td><td>\(s.kind)</td><td><code>\(s.digest)</code></td><td>\(s.identity)</td></tr>"
            }
            // Typed: a ternary of bare literals would be two Strings, and the rows would be escaped as text.
            let table: HTML =
                rows.isEmpty
                ? "<p class=\"muted\">Nothing has been current here.</p>"
                : "<table><thead><tr><th>entry</th><th>time</th><th>how</th><th>digest</th><th>by</th></tr></thead><tbody>\(rows)</tbody></table>"
            history.append(
                """
                <section class="history" data-env="\(h.environment)" data-repo="\(h.repository)"><h3>\(h.environment) · \(h.repository)</h3>
                \(table)
                </section>
                """)
        }
        let moves = self.moves.map { m -> HTML in
            let title: HTML =
                m.kind == EventKind.promoted.rawValue
                ? "Entry \(m.index): promoted \(m.repository)@<code>\(m.digest)</code> \(m.from ?? "?") → \(m.to)"
                : "Entry \(m.index): rolled back \(m.to) of \(m.repository) to <code>\(m.digest)</code>"
            var lines: [HTML] = [
                "<p>By \(m.identity) at \(m.time)\(m.tags.isEmpty ? "" : "; tags \(m.tags.joined(separator: ", "))")\(m.policyIndex.map { "; policy of entry \($0)" } ?? "; no policy")\(m.policyHash.map { " (sha256 \(String($0.prefix(16))))" } ?? "").</p>"
            ]
            if let replaced = m.replaced {
                lines.append("<p>Replaced <code>\(replaced)</code>. Reason: \(m.reason ?? "")</p>")
            }
            if let drift = driftLine(m) { lines.append("<p class=\"drift\">\(drift)</p>") }
            if let glass = m.breakGlass {
                lines.append(
                    "<p class=\"glass\">BREAK-GLASS: \(glass) (overriding: \(m.overriding.joined(separator: ", ")))</p>"
                )
            }
            if let approvers = approversLine(m) { lines.append("<p class=\"approvers\">\(approvers)</p>") }
            if let verdict = m.verdict {
                let rules = verdict.rules.map { r -> HTML in
                    "<tr class=\"\(r.passed ? "pass" : "fail")\"><td>\(r.passed ? "✓" : "✗")</td><td>\(r.name.map { "\(r.rule):\($0)" } ?? r.rule)</td><td>\(r.reason)</td></tr>"
                }
                lines.append(
                    "<p>The gate at this entry: <b>\(verdict.eligible ? "eligible" : "not eligible")</b> (evaluated at \(verdict.evaluatedAt)).</p><table class=\"rules\">\(rules)</table>"
                )
            }
            return
                "<section class=\"move \(m.kind)\(m.breakGlass == nil ? "" : " breakglass")\" data-index=\"\(m.index)\" data-digest=\"\(m.digest)\"><h3>\(title)</h3>\(lines)</section>"
        }
        let document: HTML = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Docket audit report: \(v.origin)</title>
            <style>\(Self.css)</style></head><body>
            <h1>Audit report: \(v.origin)</h1>
            \(result)
            \(facts)
            \(summaryHTML)
            \(openIncidentsHTML)
            <h2>Environments</h2>
            \(history)
            <h2>Promotions and rollbacks (\(self.moves.count))</h2>
            \(moves.isEmpty ? "<p class=\"muted\">None.</p>" : HTML.empty)\(moves)
            \(workloadsHTML)
            \(driftAndTags)
            </body></html>
            """
        return document.markup + "\n"
    }

    private var driftAndTags: HTML {
        let v = verification
        var parts: [HTML] = []
        if !v.drift.isEmpty {
            let items = v.drift.map { d -> HTML in
                "<li>entry \(d.index): observed <code>\(d.digest)</code> of \(d.repository) in \(d.environment) while \(d.currentDigest ?? "nothing") was current\(d.settledIndex.map { "; settled at entry \($0)" } ?? "; still standing")</li>"
            }
            parts.append("<h2>Drift</h2><ul>\(items)</ul>")
        }
        if !v.tagMoves.isEmpty {
            let items = v.tagMoves.map { m -> HTML in
                "<li>entry \(m.index): \(m.repository):\(m.tag) moved from <code>\(m.from)</code> to <code>\(m.to)</code></li>"
            }
            parts.append("<h2>Tag moves</h2><ul>\(items)</ul>")
        }
        return HTML.joined(parts)
    }

    static let css = HTML(
        trusted: """
            body{font:11pt/1.4 system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#111}
            h1{font-size:1.5rem} h2{font-size:1.2rem;margin-top:1.6rem;border-bottom:1px solid #ccc} h3{font-size:1rem;margin:.8rem 0 .3rem}
            table{border-collapse:collapse;margin:.3rem 0} th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left;vertical-align:top}
            code{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
            .result{font-weight:700;padding:.5rem .7rem;border-radius:.3rem} .pass{color:#1a7f37} .fail{color:#cf222e}
            .result.pass{background:#dafbe1} .result.fail{background:#ffebe9}
            .move{border:1px solid #ccc;border-radius:.3rem;padding:.2rem .8rem .5rem;margin:.7rem 0;break-inside:avoid}
            .breakglass{border:2px solid #cf222e;background:#fff5f5} .glass{color:#cf222e;font-weight:700}
            tr.fail td{color:#cf222e} .muted{color:#666} table.workloads{table-layout:fixed;width:100%} table.workloads td{overflow-wrap:anywhere}
            @media print{body{margin:0;max-width:none} .move,.history{break-inside:avoid}}
            @page{margin:1.5cm}
            """)

    // MARK: Markdown

    /// The same report as Markdown, for a change ticket. Ledger text is escaped so it cannot add markup or break
    /// a table.
    public var markdown: String {
        let v = verification
        var out: [String] = ["# Audit report: \(md(v.origin))", ""]
        if v.ok {
            out.append("**Verification passed**: no problems found.")
        } else {
            out.append("**Verification FAILED**: \(v.problems.count) problem(s).")
            out.append("")
            for p in v.problems {
                out.append("- [\(md(p.kind))] \(p.index.map { "entry \($0): " } ?? "")\(md(p.message))")
            }
        }
        out += [
            "", "| | |", "|---|---|", "| Bundle | \(md(bundle)) |", "| Entries | \(v.entries) |",
            "| Merkle root | `\(v.root)` |",
            "| Log key | \(code(v.logKey)) (\(v.logKeyPinned ? "pinned" : "from the bundle itself")) |",
            "| Promotions re-evaluated | \(v.promotionsChecked) |", "| Report written | \(generatedAt) |", "",
        ]
        out += summaryMarkdown(md)
        out += ["## Environments", ""]
        if let historyProblem {
            out += ["The history is not shown: the bundle's entries do not replay (\(md(historyProblem))).", ""]
        }
        for h in histories {
            out += ["### \(md(h.environment)) · \(md(h.repository))", ""]
            if h.steps.isEmpty {
                out += ["Nothing has been current here.", ""]
                continue
            }
            out += ["| entry | time | how | digest | by |", "|---:|---|---|---|---|"]
            for s in h.steps {
                out.append("| \(s.index) | \(s.time) | \(md(s.kind)) | \(code(s.digest)) | \(md(s.identity)) |")
            }
            out.append("")
        }
        out += ["## Promotions and rollbacks (\(moves.count))", ""]
        for m in moves {
            out.append(
                m.kind == EventKind.promoted.rawValue
                    ? "### Entry \(m.index): promoted \(md(m.repository))@\(code(m.digest)) \(md(m.from ?? "?")) → \(md(m.to))"
                    : "### Entry \(m.index): rolled back \(md(m.to)) of \(md(m.repository)) to \(code(m.digest))")
            out.append("")
            out.append(
                "By \(md(m.identity)) at \(m.time)\(m.tags.isEmpty ? "" : "; tags \(md(m.tags.joined(separator: ", ")))")\(m.policyIndex.map { "; policy of entry \($0)" } ?? "; no policy")."
            )
            if let replaced = m.replaced { out += ["", "Replaced \(code(replaced)). Reason: \(md(m.reason ?? ""))"] }
            if let drift = driftLine(m) { out += ["", md(drift)] }
            if let glass = m.breakGlass {
                out += [
                    "", "> **BREAK-GLASS**: \(md(glass)) (overriding: \(md(m.overriding.joined(separator: ", "))))",
                ]
            }
            if let approvers = approversLine(m) { out += ["", md(approvers)] }
            if let verdict = m.verdict {
                out += [
                    "", "The gate at this entry: **\(verdict.eligible ? "eligible" : "not eligible")**.", "",
                    "| | rule | evidence |", "|---|---|---|",
                ]
                for r in verdict.rules {
                    out.append(
                        "| \(r.passed ? "✓" : "✗") | \(md(r.name.map { "\(r.rule):\($0)" } ?? r.rule)) | \(md(r.reason)) |"
                    )
                }
            }
            out.append("")
        }
        out += workloadsMarkdown(md)
        out += driftAndTagsMarkdown(md)
        return out.joined(separator: "\n") + "\n"
    }

    /// A code span: its text is taken literally by Markdown, so only backticks and line breaks are removed.
    private func code(_ text: String) -> String {
        "`" + HTML.escape(text).replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "\n", with: " ") + "`"
    }

    /// Markdown's special characters backslash-escaped, `<` and `>` as entities, line breaks as spaces.
    private func md(_ text: String) -> String {
        var out = ""
        for character in HTML.escape(text).replacingOccurrences(of: "\n", with: " ") {
            if "\\`*_[]|~".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
