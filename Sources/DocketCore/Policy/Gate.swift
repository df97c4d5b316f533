/// Everything the gate needs to know about one digest, read from the ledger up to the evaluation point.
public struct GateFacts: Sendable {
    public var digest: Digest
    /// The repository the digest belongs to.
    public var repository: String
    /// Every event that names the digest (as subject, or as the `from` of a rollback), in index order, each
    /// with its signer's roles and teams as they were when it was appended.
    public var events: [LedgerEvent]
    /// What is current for the repository in the `from` environment.
    public var sourceCurrent: TimelineEntry?
    /// Keys among the approvers revoked with `--void-approvals` (key ID → the revocation's entry): their
    /// approvals no longer count.
    public var voidedKeys: [String: Int]
    /// What is current for the repository in the target environment (the `current` rule).
    public var targetCurrent: TimelineEntry?

    public init(
        digest: Digest, repository: String, events: [LedgerEvent], sourceCurrent: TimelineEntry?,
        voidedKeys: [String: Int] = [:], targetCurrent: TimelineEntry? = nil
    ) {
        self.digest = digest
        self.repository = repository
        self.events = events
        self.sourceCurrent = sourceCurrent
        self.voidedKeys = voidedKeys
        self.targetCurrent = targetCurrent
    }
}

/// The gate: a pure function of the facts, the policy in force and the time (DESIGN.md §5,
/// docs/organisation.md "The gate").
///
/// `promote` (inside the append transaction), `gate`, `replay` and `verify` all call this one function, so a
/// promotion re-checked later from the same events reaches the same verdict. Each rule is its own function of
/// a ``Context``; ``evaluate(environment:policy:policyIndex:facts:now:promoter:)`` only puts them in order.
public enum Gate {
    public static func evaluate(
        environment target: String, policy: Policy?, policyIndex: Int?, facts: GateFacts,
        now: Timestamp, promoter: String? = nil
    ) -> GateVerdict {
        var verdict = GateVerdict(
            digest: facts.digest.description, repository: facts.repository, environment: target, pipeline: nil,
            eligible: false, evaluatedAt: now.rfc3339, policyIndex: policyIndex, rules: [], eligibleAt: nil,
            rollbackPlan: nil)
        func refuse(_ rule: String, _ reason: String) -> GateVerdict {
            verdict.rules = [.init(rule: rule, passed: false, reason: reason)]
            return verdict
        }
        guard let policy else {
            return refuse("policy", "no policy is recorded yet; an admin sets one with `docket policy set FILE`")
        }
        guard let repository = try? Repository(normalized: facts.repository),
            let pipeline = policy.pipeline(for: repository)
        else {
            return refuse(
                "pipeline",
                "no pipeline covers \(facts.repository); the policy's patterns are \(policy.patterns.joined(separator: ", "))"
            )
        }
        verdict.pipeline = pipeline.name
        guard let rules = pipeline.environment(target) else {
            return refuse(
                "environment",
                "`\(target)` is not in pipeline \(pipeline.name); its environments are \(pipeline.environmentNames.joined(separator: ", "))"
            )
        }
        verdict.rollbackPlan = rules.rollbackPlan
        guard let source = rules.from else {
            return refuse(
                "environment", "`\(target)` has no gate: digests enter it by a `deployed` event, not a promotion")
        }
        let context = Context(
            target: target, source: source, rules: rules, facts: facts, now: now, promoter: promoter,
            history: History(facts.events, digest: facts.digest, source: source, target: target))
        let soak = soak(context)
        let freeze = freeze(context)
        verdict.rules =
            [built(context), from(context), incidents(context), soak.rule] + approvals(context)
            + [checks(context), freeze.rule, current(context)]
        verdict.eligible = verdict.rules.allSatisfy(\.passed)
        if !verdict.eligible, Set(verdict.failedRules).isSubset(of: ["soak", "freeze"]) {
            verdict.eligibleAt = eligibleAt(after: max(soak.ready ?? now, freeze.until ?? now), rules.freeze).rfc3339
        }
        return verdict
    }

    /// The first moment at or after `time` outside every freeze window (bounded: a year of chained windows).
    static func eligibleAt(after time: Timestamp, _ windows: [FreezeWindow]) -> Timestamp {
        var t = time
        for _ in 0..<64 {
            guard let frozen = FreezeWindow.frozenUntil(t, windows: windows) else { break }
            t = frozen.until
        }
        return t
    }

    /// What every rule reads.
    struct Context {
        var target: String
        var source: String
        var rules: EnvironmentRules
        var facts: GateFacts
        var now: Timestamp
        var promoter: String?
        var history: History

        var digest: Digest { facts.digest }
        var events: [LedgerEvent] { facts.events }
        /// When the digest became current in the source environment, if it is current there.
        var arrivedInSource: TimelineEntry? { facts.sourceCurrent.flatMap { $0.digest == digest ? $0 : nil } }
    }

    /// The digest's events folded once for every rule: incidents, approvals, rollbacks, producers.
    struct History {
        /// The latest state of each incident, keyed by environment and id (compared as bytes).
        var latest: [[UInt8]: (name: String, open: Bool)] = [:]
        /// The last incident opened against the digest, in any environment.
        var lastOpened: LedgerEvent?
        /// When the last incident against the digest in the source environment was resolved.
        var lastResolvedInSource: Timestamp?
        /// The last rollback of the digest from the target environment.
        var lastRollbackFrom: LedgerEvent?
        /// Identities that signed the digest's `built` or `deployed` events.
        var producers: Set<[UInt8]> = []
        /// Each identity's standing approval and break-glass approval of (digest, target), and who withdrew.
        var approvals: [[UInt8]: LedgerEvent] = [:]
        var glassApprovals: [[UInt8]: LedgerEvent] = [:]
        var withdrawn: [[UInt8]: (identity: String, index: Int)] = [:]

        init(_ events: [LedgerEvent], digest: Digest, source: String, target: String) {
            let (sourceBytes, targetBytes) = (Array(source.utf8), Array(target.utf8))
            for event in events {
                let who = Array(event.signer.identity.utf8)
                switch event.statement.predicate {
                case .incident(let p):
                    latest[Array("\(p.environment)\u{0}\(p.incident)".utf8)] = (
                        "\(p.environment)/\(p.incident)", p.state == .open
                    )
                    if p.state == .open { lastOpened = event }
                    if p.state == .resolved && Array(p.environment.utf8) == sourceBytes {
                        lastResolvedInSource = event.time
                    }
                case .approved(let p) where Array(p.environment.utf8) == targetBytes:
                    if p.isBreakGlass { glassApprovals[who] = event } else { approvals[who] = event }
                    withdrawn[who] = nil
                case .withdrawn(let p) where Array(p.environment.utf8) == targetBytes:
                    approvals[who] = nil
                    glassApprovals[who] = nil
                    withdrawn[who] = (event.signer.identity, event.index)
                // A rollback's subject is the restored digest; the digest it left is in `from`.
                case .rolledBack(let p) where Array(p.environment.utf8) == targetBytes && p.from == digest.description:
                    lastRollbackFrom = event
                case .built, .deployed:
                    if event.digest == digest { producers.insert(who) }
                default: break
                }
            }
        }

        var open: [String] { latest.values.filter(\.open).map(\.name).sorted() }
    }

    /// 1. built: provenance first.
    static func built(_ c: Context) -> GateVerdict.Rule {
        if let built = c.events.first(where: { $0.kind == .built }) {
            return .init(
                rule: "built", passed: true, reason: "built at entry \(built.index) by \(built.signer.identity)")
        }
        return .init(
            rule: "built", passed: false,
            reason: "no `built` event for \(c.digest.short); CI records provenance with `docket record built`")
    }

    /// 2. from S: the digest is the repository's current one in the source environment.
    static func from(_ c: Context) -> GateVerdict.Rule {
        if let current = c.arrivedInSource {
            return .init(
                rule: "from", passed: true,
                reason: "current in \(c.source) since \(current.time) (entry \(current.index))")
        }
        if let current = c.facts.sourceCurrent {
            return .init(
                rule: "from", passed: false,
                reason:
                    "not current in \(c.source): \(c.facts.repository) runs \(current.digest.short) there since \(current.time)"
            )
        }
        return .init(
            rule: "from", passed: false,
            reason:
                "\(c.facts.repository) has nothing current in \(c.source) yet; \(c.digest.short) must run there first")
    }

    /// 3. incidents: none open against the digest, in any environment.
    static func incidents(_ c: Context) -> GateVerdict.Rule {
        let open = c.history.open
        if open.isEmpty {
            return .init(
                rule: "incidents", passed: true,
                reason: c.history.latest.isEmpty
                    ? "no incidents" : "\(c.history.latest.count) incident(s), all resolved")
        }
        return .init(
            rule: "incidents", passed: false,
            reason:
                "open incident(s) \(open.joined(separator: ", ")); resolve with `docket record incident … --state resolved`"
        )
    }

    /// 4. soak: current in the source long enough, counted from the later of arrival and the last resolution
    /// of an incident there. Also returns when it will be ready, if it is not yet.
    static func soak(_ c: Context) -> (rule: GateVerdict.Rule, ready: Timestamp?) {
        guard let soak = c.rules.soak, soak.seconds > 0 else {
            return (.init(rule: "soak", passed: true, reason: "no soak required"), nil)
        }
        guard let current = c.arrivedInSource else {
            return (
                .init(
                    rule: "soak", passed: false,
                    reason: "soak of \(soak) in \(c.source) has not started: \(c.digest.short) is not current there"),
                nil
            )
        }
        let arrived = current.time
        let start = max(arrived, c.history.lastResolvedInSource ?? arrived)
        let ready = start.adding(seconds: soak.seconds)
        let elapsed = max(0, (c.now.milliseconds - start.milliseconds) / 1000)
        let restart = start > arrived ? " (counted from the incident resolved at \(start.rfc3339))" : ""
        if c.now >= ready {
            return (
                .init(
                    rule: "soak", passed: true,
                    reason: "soaked \(PolicyDuration.format(seconds: elapsed)) of \(soak) in \(c.source)\(restart)"),
                nil
            )
        }
        return (
            .init(
                rule: "soak", passed: false,
                reason:
                    "soak \(PolicyDuration.format(seconds: elapsed)) of \(soak) in \(c.source)\(restart), eligible at \(ready.rfc3339)"
            ),
            ready
        )
    }

    /// 6. checks: the latest run of each required check passed.
    static func checks(_ c: Context) -> GateVerdict.Rule {
        guard !c.rules.checks.isEmpty else {
            return .init(rule: "checks", passed: true, reason: "no checks required")
        }
        var latest: [[UInt8]: (Predicates.Check, Int)] = [:]
        for event in c.events {
            if case .check(let p) = event.statement.predicate { latest[Array(p.check.utf8)] = (p, event.index) }
        }
        var problems: [String] = []
        var passed: [String] = []
        for name in c.rules.checks {
            switch latest[Array(name.utf8)] {
            case nil: problems.append("\(name) has not run")
            case (let p, let index)? where p.result == .fail: problems.append("\(name) failed (entry \(index))")
            case _?: passed.append(name)
            }
        }
        return .init(
            rule: "checks", passed: problems.isEmpty,
            reason: problems.isEmpty ? "passed: \(passed.joined(separator: ", "))" : problems.joined(separator: "; "))
    }

    /// 7. freeze: the ledger time is outside every freeze window of the environment.
    static func freeze(_ c: Context) -> (rule: GateVerdict.Rule, until: Timestamp?) {
        let windows = c.rules.freeze
        guard !windows.isEmpty else { return (.init(rule: "freeze", passed: true, reason: "no freeze windows"), nil) }
        guard let frozen = FreezeWindow.frozenUntil(c.now, windows: windows) else {
            return (
                .init(
                    rule: "freeze", passed: true,
                    reason: "not frozen (\(windows.count) window\(windows.count == 1 ? "" : "s"))"),
                nil
            )
        }
        let local: String
        switch frozen.window.span {
        case .weekly(_, let to, let zone): local = "\(to) \(zone), "
        case .range: local = ""
        }
        return (
            .init(
                rule: "freeze", passed: false,
                reason: "frozen until \(local)\(frozen.until.rfc3339) (\(frozen.window.reason))"),
            frozen.until
        )
    }
}
