import DocketCore
import Foundation

/// The dashboard (DESIGN §12): server-rendered pages from the same questions as the CLI's `status`, `gate`,
/// `pending` and `history` (DocketCore's `Queries/`), read from one snapshot. No JavaScript is needed to read
/// them; a small script reloads a page when the checkpoint grows. Every piece of ledger text goes through
/// ``HTML``'s escaping interpolation.
struct Dashboard {
    let reader: QueryReader
    var ledger: Ledger { reader.ledger }

    // MARK: The overview

    /// `/`: services × environments, what waits for approval, open incidents and freezes in force.
    func overview() throws -> HTML {
        let status = try StatusQuestion(repository: nil).answer(reader).status
        let now = reader.time
        let policy = try PolicyQuestion().answer(reader).map { try $0.parsed() }
        var cells: [String: [String: ServiceStatus]] = [:]
        for service in status.services { cells[service.repository, default: [:]][service.environment] = service }
        let header: HTML =
            "<tr><th scope=\"col\">service</th>\(status.environments.map { environment -> HTML in "<th scope=\"col\"><a href=\"/env/\(path: environment)\">\(environment)</a></th>" })</tr>"
        var rows: [HTML] = []
        for repository in status.repositories {
            let pipeline = (try? Repository(normalized: repository)).flatMap { policy?.pipeline(for: $0) }
            var row: [HTML] = []
            for environment in status.environments {
                guard let cell = cells[repository]?[environment] else {
                    row.append("<td class=\"none\" data-env=\"\(environment)\"></td>")
                    continue
                }
                let rules = pipeline?.environment(environment)
                row.append(try self.cell(cell, rules: rules, now: now))
            }
            rows.append(
                "<tr data-repo=\"\(repository)\"><th scope=\"row\"><a href=\"/service/\(path: repository)\">\(repository)</a>\(pipeline.map { p -> HTML in "<span class=\"pipeline\">\(p.name)</span>" } ?? .empty)</th>\(row)</tr>"
            )
        }
        let grid: HTML =
            status.repositories.isEmpty
            ? "<p class=\"empty\">No services yet: CI records them with <code>docket record built</code>.</p>"
            : "<table class=\"grid\" id=\"grid\"><thead>\(header)</thead><tbody>\(rows)</tbody></table>"
        let body: HTML = """
            <section><h2>Services</h2>\(grid)</section>
            \(try pendingSection())
            \(incidentSection(status.openIncidents))
            \(freezeSection(status.activeFreezes))
            """
        return page(title: "Docket: \(status.origin)", size: status.size, body: summaryLine(status) + body)
    }

    private func summaryLine(_ status: LedgerStatus) -> HTML {
        let asOf: HTML =
            status.asOfIndex < 0
            ? "no entries yet" : "state as of entry \(status.asOfIndex) (<time>\(status.asOfTime)</time>)"
        let policy: HTML = status.policyIndex.map { "policy of entry \($0)" } ?? "no policy yet"
        return "<p class=\"summary\">\(status.size) entries; \(asOf); \(policy)</p>"
    }

    /// One cell of the grid: what runs, since when, its tags, and for a gated environment the candidate waiting
    /// in the environment it is promoted from, with its soak progress and what its gate still needs.
    private func cell(_ cell: ServiceStatus, rules: EnvironmentRules?, now: Timestamp) throws -> HTML {
        var parts: [HTML] = []
        if let current = cell.current {
            parts.append(
                "<a class=\"digest\" href=\"/digest/\(path: current.digest.description)\" title=\"\(current.digest.description)\">\(current.digest.short)</a>"
            )
            if !cell.tags.isEmpty {
                parts.append(
                    "<span class=\"tags\">\(cell.tags.map { tag -> HTML in "<span class=\"tag\">\(tag)</span>" })</span>"
                )
            }
            parts.append(
                "<span class=\"since\">since <time>\(current.time.rfc3339)</time> (\(current.kind.rawValue), entry \(current.index))</span>"
            )
        } else {
            parts.append("<span class=\"nothing\">nothing current</span>")
        }
        if !cell.drift.isEmpty {
            parts.append(
                "<span class=\"drift\">drift: \(cell.drift.map { d -> HTML in "\(Digest.shortened(d.digest)) observed at entry \(d.index) " })</span>"
            )
        }
        if let rules, let from = rules.from,
            let candidate = try ledger.queries.current(environment: from, repository: cell.repository),
            candidate.digest != cell.current?.digest
        {
            let verdict = try ledger.queries.gate(
                digest: candidate.digest, repository: cell.repository, environment: cell.environment, at: now)
            parts.append(gateSummary(verdict, candidate: candidate, soak: rules.soak, now: now))
        }
        return
            "<td data-env=\"\(cell.environment)\" data-digest=\"\(cell.current?.digest.description ?? "")\">\(parts)</td>"
    }

    /// The candidate's gate in a few lines: eligible, or each failing rule's reason; soak as a progress bar.
    private func gateSummary(_ verdict: GateVerdict, candidate: TimelineEntry, soak: PolicyDuration?, now: Timestamp)
        -> HTML
    {
        var parts: [HTML] = []
        let state = verdict.eligible ? "ready" : "waiting"
        parts.append(
            "<span class=\"candidate\">next: <a href=\"/digest/\(path: candidate.digest.description)\">\(candidate.digest.short)</a> from \(candidate.environment)</span>"
        )
        if let soak, soak.seconds > 0 {
            let elapsed = max(0, now.milliseconds - candidate.time.milliseconds) / 1000
            let shown = min(elapsed, soak.seconds)
            parts.append(
                "<span class=\"soak\">soak <progress max=\"\(Int(soak.seconds))\" value=\"\(Int(shown))\"></progress> \(PolicyDuration.format(seconds: shown)) of \(soak.description)</span>"
            )
        }
        if verdict.eligible {
            parts.append("<span class=\"gate eligible\">eligible</span>")
        } else {
            let needs = verdict.rules.filter { !$0.passed }.map { rule -> HTML in
                "<li><b>\(rule.name.map { "\(rule.rule):\($0)" } ?? rule.rule)</b> \(rule.reason)</li>"
            }
            parts.append("<span class=\"gate blocked\">blocked</span><ul class=\"needs\">\(needs)</ul>")
        }
        return "<div class=\"gatebox \(state)\">\(parts)</div>"
    }

    private func pendingSection() throws -> HTML {
        let pending = try PendingQuestion(identity: nil, environment: nil).answer(reader)
        guard !pending.isEmpty else {
            return
                "<section id=\"pending\"><h2>Pending approvals</h2><p class=\"empty\">Nothing waits for approval.</p></section>"
        }
        let items = pending.map { p -> HTML in
            let needs = p.verdict.rules.filter { !$0.passed }.map { rule -> HTML in "<li>\(rule.reason)</li>" }
            return
                "<li data-digest=\"\(p.digest)\" data-env=\"\(p.environment)\"><a href=\"/digest/\(path: p.digest)\">\(p.repository)@\(Digest.shortened(p.digest))</a> → \(p.environment)<ul class=\"needs\">\(needs)</ul></li>"
        }
        return "<section id=\"pending\"><h2>Pending approvals</h2><ul class=\"pending\">\(items)</ul></section>"
    }

    private func incidentSection(_ incidents: [OpenIncident]) -> HTML {
        guard !incidents.isEmpty else {
            return
                "<section id=\"incidents\"><h2>Open incidents</h2><p class=\"empty\">No open incidents.</p></section>"
        }
        let items = incidents.map { i -> HTML in
            "<li><span class=\"incident\">\(i.incident)</span> in \(i.environment) against <a href=\"/digest/\(path: i.digest)\">\(Digest.shortened(i.digest))</a> (entry \(i.index))</li>"
        }
        return "<section id=\"incidents\"><h2>Open incidents</h2><ul>\(items)</ul></section>"
    }

    private func freezeSection(_ freezes: [ActiveFreeze]) -> HTML {
        guard !freezes.isEmpty else {
            return "<section id=\"freezes\"><h2>Freezes</h2><p class=\"empty\">No freeze in force.</p></section>"
        }
        let items = freezes.map { f -> HTML in
            "<li><b>\(f.environment)</b> (\(f.pipeline)) frozen until <time>\(f.until)</time>: \(f.reason)</li>"
        }
        return "<section id=\"freezes\"><h2>Freezes</h2><ul>\(items)</ul></section>"
    }

    // MARK: A digest

    /// `/digest/D`: the digest's timeline (every event naming it, with who and what), its tag moves, and its gate
    /// for every gated environment of its pipeline with each rule's evidence.
    func digest(_ text: String) throws -> HTML? {
        guard let digest = try? Digest(parsing: text), let repository = try ledger.queries.repository(of: digest) else {
            return nil
        }
        var page = try HistoryQuestion(image: digest.description).answer(reader)
        let tagMoves = page.tagMoves ?? []
        var events = page.events
        while let next = page.next, events.count < 10_000 {
            page = try HistoryQuestion(image: digest.description, from: next).answer(reader)
            events += page.events
        }
        let now = reader.time
        let timeline = events.map { event -> HTML in
            "<tr class=\"\(event.kind)\"><td>\(event.index)</td><td><time>\(event.integratedTime)</time></td><td>\(event.kind)</td><td>\(event.signer)</td><td>\(event.summary)</td></tr>"
        }
        let gates = try GateQuestion(image: digest.description, environment: nil).answer(reader).map {
            verdict -> HTML in
            let rules = verdict.rules.map { rule -> HTML in
                "<tr class=\"\(rule.passed ? "pass" : "fail")\"><td>\(rule.passed ? "✓" : "✗")</td><td>\(rule.name.map { "\(rule.rule):\($0)" } ?? rule.rule)</td><td>\(rule.reason)</td></tr>"
            }
            return """
                <h3>→ \(verdict.environment): <span class="gate \(verdict.eligible ? "eligible" : "blocked")">\(verdict.eligible ? "eligible" : "not eligible")</span></h3>
                <table class="rules">\(rules)</table>
                """
        }
        let moves = tagMoves.map { m -> HTML in
            "<li>entry \(m.index): \(m.tag) moved from \(Digest.shortened(m.from)) to \(Digest.shortened(m.to))</li>"
        }
        let body: HTML = """
            <p class="summary"><a href="/service/\(path: repository)">\(repository)</a>@<code>\(digest.description)</code></p>
            <section><h2>Timeline</h2><table class="events"><thead><tr><th>entry</th><th>time</th><th>kind</th><th>signer</th><th>what</th></tr></thead><tbody>\(timeline)</tbody></table></section>
            <section id="gates"><h2>Gates at <time>\(now.rfc3339)</time></h2>\(gates.isEmpty ? "<p class=\"empty\">No gated environment in this digest's pipeline.</p>" : HTML.empty)\(gates)</section>
            \(moves.isEmpty ? HTML.empty : "<section><h2>Tag moves</h2><ul>\(moves)</ul></section>")
            """
        return self.page(title: "\(repository)@\(digest.short)", size: try ledger.treeSize(), body: body)
    }

    // MARK: An environment and a service

    /// `/env/E`: for every repository with something current in E, its history there (newest first) and the
    /// digests a rollback could restore.
    func environment(_ environment: String) throws -> HTML? {
        let status = try StatusQuestion(repository: nil).answer(reader).status
        guard status.environments.contains(environment) else { return nil }
        let services = status.services.filter { $0.environment == environment }
        var sections: [HTML] = []
        for service in services {
            let history = try ledger.queries.timeline(environment: environment, repository: service.repository)
            let targets = try ledger.queries.rollbackTargets(
                environment: environment, repository: service.repository, excludingRolledBack: true)
            let rows = history.map { step -> HTML in
                "<tr><td>\(step.index)</td><td><time>\(step.time.rfc3339)</time></td><td>\(step.kind.rawValue)</td><td><a href=\"/digest/\(path: step.digest.description)\">\(step.digest.short)</a></td><td>\(step.identity)</td></tr>"
            }
            let rollback = targets.prefix(5).map { step -> HTML in
                "<li><a href=\"/digest/\(path: step.digest.description)\">\(step.digest.short)</a> (current from entry \(step.index))</li>"
            }
            sections.append(
                """
                <section data-repo="\(service.repository)"><h2>\(service.repository)</h2>
                <table class="events"><thead><tr><th>entry</th><th>time</th><th>how</th><th>digest</th><th>by</th></tr></thead><tbody>\(rows)</tbody></table>
                <h3>Rollback targets</h3>\(rollback.isEmpty ? HTML("<p class=\"empty\">None.</p>") : HTML("<ol class=\"rollback\">\(rollback)</ol>"))
                \(service.rollbackPlan.map { plan -> HTML in "<p>Rollback plan: \(plan)</p>" } ?? .empty)
                </section>
                """)
        }
        if sections.isEmpty {
            sections.append("<p class=\"empty\">Nothing has been current in \(environment) yet.</p>")
        }
        return page(title: "Environment \(environment)", size: status.size, body: HTML.joined(sections))
    }

    /// `/service/R`: one repository's row of the grid.
    func service(_ repository: String) throws -> HTML? {
        guard let name = try? Repository(normalising: repository).name, try ledger.queries.repositories().contains(name)
        else {
            return nil
        }
        let status = try StatusQuestion(repository: name).answer(reader).status
        let now = reader.time
        let pipeline = try ledger.queries.pipeline(for: name)
        let cells = try status.services.map { service -> HTML in
            let rules = pipeline.environment(service.environment)
            return
                "<tr><th scope=\"row\"><a href=\"/env/\(path: service.environment)\">\(service.environment)</a></th>\(try cell(service, rules: rules, now: now))</tr>"
        }
        let body: HTML =
            "<p class=\"summary\">pipeline \(pipeline.name)</p><table class=\"grid\"><tbody>\(cells)</tbody></table>"
        return page(title: name, size: status.size, body: body)
    }

    // MARK: The page

    func page(title: String, size: Int, body: HTML) -> HTML {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title><style>\(DashboardStyle.css)</style></head>
        <body data-size="\(size)"><header><a class="home" href="/">Docket</a> <h1>\(title)</h1></header><main>
        \(body)
        </main><footer>Tree size \(size). <a href="/checkpoint">checkpoint</a> · <a href="/api/v1/bundle">bundle</a>. This page reloads when the checkpoint grows (with JavaScript; otherwise reload it).</footer>
        <script>\(DashboardStyle.refresh)</script></body></html>
        """
    }
}

extension Digest {
    /// `sha256:` and the first 12 hex digits of a digest given as text; other text as it is.
    static func shortened(_ text: String) -> String {
        text.hasPrefix("sha256:") ? String(text.prefix(19)) : text
    }
}
