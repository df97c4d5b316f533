/// Everything the gate needs to know about one digest, read from the ledger up to the evaluation point.
public struct GateFacts: Sendable {
    public var digest: Digest
    /// Every event that names the digest (as subject, or as the `from` of a rollback), in index order.
    public var events: [LedgerEvent]
    /// What is current in the `from` environment.
    public var sourceCurrent: TimelineEntry?

    public init(digest: Digest, events: [LedgerEvent], sourceCurrent: TimelineEntry?) {
        self.digest = digest
        self.events = events
        self.sourceCurrent = sourceCurrent
    }
}

/// The gate: a pure function of the facts, the policy in force and the time (DESIGN.md §5).
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
            digest: facts.digest.description, environment: target, eligible: false,
            evaluatedAt: now.rfc3339, policyIndex: policyIndex, rules: [], eligibleAt: nil)
        guard let policy else {
            verdict.rules = [
                .init(
                    rule: "policy", passed: false,
                    reason: "no policy is recorded yet; an admin sets one with `docket policy set FILE`")
            ]
            return verdict
        }
        guard let rules = policy.environment(target) else {
            verdict.rules = [
                .init(
                    rule: "environment", passed: false,
                    reason:
                        "`\(target)` is not in the policy; environments are \(policy.environmentNames.joined(separator: ", "))"
                )
            ]
            return verdict
        }
        guard let source = rules.from else {
            verdict.rules = [
                .init(
                    rule: "environment", passed: false,
                    reason: "`\(target)` has no gate: digests enter it by a `deployed` event, not a promotion")
            ]
            return verdict
        }
        let context = Context(
            target: target, source: source, rules: rules, facts: facts, now: now, promoter: promoter,
            incidents: IncidentHistory(facts.events, source: source))
        let soak = soak(context)
        verdict.rules = [
            built(context), from(context), incidents(context), soak.rule, approvals(context), checks(context),
        ]
        verdict.eligible = verdict.rules.allSatisfy(\.passed)
        if !verdict.eligible, let ready = soak.ready, verdict.failedRules == ["soak"] {
            verdict.eligibleAt = ready.rfc3339
        }
        return verdict
    }

    /// What every rule reads.
    struct Context {
        var target: String
        var source: String
        var rules: EnvironmentRules
        var facts: GateFacts
        var now: Timestamp
        var promoter: String?
        var incidents: IncidentHistory

        var digest: Digest { facts.digest }
        var events: [LedgerEvent] { facts.events }
        /// When the digest became current in the source environment, if it is current there.
        var arrivedInSource: TimelineEntry? { facts.sourceCurrent.flatMap { $0.digest == digest ? $0 : nil } }
    }

    /// The incidents against the digest, folded once for the incident, soak and approval rules.
    struct IncidentHistory {
        /// The latest state of each incident, keyed by `environment/id`.
        var latest: [String: (event: LedgerEvent, open: Bool)] = [:]
        /// The index of the last incident opened against the digest (-1: none).
        var lastOpenedIndex = -1
        /// When the last incident against the digest in the source environment was resolved.
        var lastResolvedInSource: Timestamp?

        init(_ events: [LedgerEvent], source: String) {
            for event in events {
                guard case .incident(let p) = event.statement.predicate else { continue }
                latest["\(p.environment)/\(p.incident)"] = (event, p.state == .open)
                if p.state == .open { lastOpenedIndex = event.index }
                if p.state == .resolved && p.environment == source { lastResolvedInSource = event.time }
            }
        }

        var open: [String] { latest.filter { $0.value.open }.keys.sorted() }
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

    /// 2. from S: the digest is current in the source environment.
    static func from(_ c: Context) -> GateVerdict.Rule {
        if let current = c.arrivedInSource {
            return .init(
                rule: "from", passed: true,
                reason: "current in \(c.source) since \(current.time) (entry \(current.index))")
        }
        if let current = c.facts.sourceCurrent {
            return .init(
                rule: "from", passed: false,
                reason: "not current in \(c.source): \(c.source) runs \(current.digest.short) since \(current.time)")
        }
        return .init(
            rule: "from", passed: false,
            reason: "nothing is current in \(c.source) yet; \(c.digest.short) must run there first")
    }

    /// 4. incidents: none open against the digest, in any environment.
    static func incidents(_ c: Context) -> GateVerdict.Rule {
        let open = c.incidents.open
        if open.isEmpty {
            return .init(
                rule: "incidents", passed: true,
                reason: c.incidents.latest.isEmpty
                    ? "no incidents" : "\(c.incidents.latest.count) incident(s), all resolved")
        }
        return .init(
            rule: "incidents", passed: false,
            reason:
                "open incident(s) \(open.joined(separator: ", ")); resolve with `docket record incident … --state resolved`"
        )
    }

    /// 3. soak: current in the source long enough, counted from the later of arrival and the last resolution
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
        let start = max(arrived, c.incidents.lastResolvedInSource ?? arrived)
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

    /// 5. approvals: enough standing approvals that count.
    static func approvals(_ c: Context) -> GateVerdict.Rule {
        guard let rule = c.rules.approvals else {
            return .init(rule: "approvals", passed: true, reason: "no approvals required")
        }
        let result = count(rule: rule, c)
        return .init(rule: "approvals", passed: result.count >= rule.min, reason: result.reason)
    }

    /// 6. checks: the latest run of each required check passed.
    static func checks(_ c: Context) -> GateVerdict.Rule {
        guard !c.rules.checks.isEmpty else {
            return .init(rule: "checks", passed: true, reason: "no checks required")
        }
        var latest: [String: (Predicates.Check, Int)] = [:]
        for event in c.events {
            if case .check(let p) = event.statement.predicate { latest[p.check] = (p, event.index) }
        }
        var problems: [String] = []
        var passed: [String] = []
        for name in c.rules.checks {
            switch latest[name] {
            case nil: problems.append("\(name) has not run")
            case (let p, let index)? where p.result == .fail: problems.append("\(name) failed (entry \(index))")
            case _?: passed.append(name)
            }
        }
        return .init(
            rule: "checks", passed: problems.isEmpty,
            reason: problems.isEmpty ? "passed: \(passed.joined(separator: ", "))" : problems.joined(separator: "; "))
    }

    /// The approvals that count for `rule`, and why the others do not.
    private static func count(rule: ApprovalRule, _ c: Context) -> (count: Int, reason: String) {
        let (target, digest, now, promoter) = (c.target, c.digest, c.now, c.promoter)
        let lastOpenedIndex = c.incidents.lastOpenedIndex
        var standing: [String: LedgerEvent] = [:]
        var lastRollbackIndex = -1
        var producers: Set<String> = []
        for event in c.events {
            switch event.statement.predicate {
            case .approved(let p) where p.environment == target: standing[event.signer.identity] = event
            case .withdrawn(let p) where p.environment == target: standing[event.signer.identity] = nil
            // A rollback's subject is the restored digest; the digest it left is in `from`.
            case .rolledBack(let p) where p.environment == target && p.from == digest.description:
                lastRollbackIndex = event.index
            case .built, .deployed: producers.insert(event.signer.identity)
            default: break
            }
        }
        var counted: [String] = []
        var discarded: [String] = []
        for (identity, event) in standing.sorted(by: { $0.key < $1.key }) {
            guard case .approved(let p) = event.statement.predicate else { continue }
            if !rule.allows(event.signer) {
                discarded.append("\(identity): not \(rule.allowedDescription)")
            } else if rule.separationOfDuties && producers.contains(identity) {
                discarded.append("\(identity): built or deployed this digest (separation of duties)")
            } else if rule.separationOfDuties && identity == promoter {
                discarded.append("\(identity): is the promoter (separation of duties)")
            } else if event.index < lastOpenedIndex {
                discarded.append("\(identity): given before the incident opened at entry \(lastOpenedIndex)")
            } else if event.index < lastRollbackIndex {
                discarded.append("\(identity): given before the rollback at entry \(lastRollbackIndex)")
            } else if let text = p.expiresAt, Timestamp(lenient: text).map({ $0 <= now }) ?? true {
                discarded.append(
                    Timestamp(lenient: text).map { "\(identity): expired at \($0.rfc3339)" }
                        ?? "\(identity): expiresAt is not a time")
            } else if let maxAge = rule.maxAge, event.time.adding(seconds: maxAge.seconds) <= now {
                discarded.append("\(identity): older than \(maxAge)")
            } else {
                counted.append(identity)
            }
        }
        var reason: String
        if counted.count >= rule.min {
            reason = "\(counted.count) of \(rule.min) required: \(counted.joined(separator: ", "))"
        } else {
            let missing = rule.min - counted.count
            reason = "needs \(missing) more approval\(missing == 1 ? "" : "s") from \(rule.allowedDescription)"
            if !counted.isEmpty { reason += " (has \(counted.joined(separator: ", ")))" }
        }
        if !discarded.isEmpty { reason += "; not counted: " + discarded.joined(separator: "; ") }
        return (counted.count, reason)
    }

}
