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
/// promotion re-checked later from the same events reaches the same verdict.
public enum Gate {
    public static func evaluate(
        environment target: String, policy: Policy?, policyIndex: Int?, facts: GateFacts,
        now: Timestamp, promoter: String? = nil
    ) -> GateVerdict {
        var verdict = GateVerdict(
            digest: facts.digest.description, environment: target, eligible: false,
            evaluatedAt: now.rfc3339, policyIndex: policyIndex, rules: [], eligibleAt: nil)
        func add(_ rule: String, _ passed: Bool, _ reason: String) {
            verdict.rules.append(.init(rule: rule, passed: passed, reason: reason))
        }
        guard let policy else {
            add("policy", false, "no policy is recorded yet; an admin sets one with `docket policy set FILE`")
            return verdict
        }
        guard let rules = policy.environment(target) else {
            add(
                "environment", false,
                "`\(target)` is not in the policy; environments are \(policy.environmentNames.joined(separator: ", "))")
            return verdict
        }
        guard let source = rules.from else {
            add(
                "environment", false, "`\(target)` has no gate: digests enter it by a `deployed` event, not a promotion"
            )
            return verdict
        }
        let digest = facts.digest
        let events = facts.events

        // 1. built
        if let built = events.first(where: { $0.kind == .built }) {
            add("built", true, "built at entry \(built.index) by \(built.signer.identity)")
        } else {
            add(
                "built", false, "no `built` event for \(digest.short); CI records provenance with `docket record built`"
            )
        }

        // 2. from S
        let current = facts.sourceCurrent
        let inSource = current?.digest == digest.description
        if inSource, let current {
            add("from", true, "current in \(source) since \(current.time) (entry \(current.index))")
        } else if let current {
            add(
                "from", false,
                "not current in \(source): \(source) runs \(Self.short(current.digest)) since \(current.time)")
        } else {
            add("from", false, "nothing is current in \(source) yet; \(digest.short) must run there first")
        }

        // 4. incidents (computed before soak: resolutions restart the soak clock)
        var incidents: [String: (event: LedgerEvent, open: Bool)] = [:]
        var lastOpenedIndex = -1
        var lastResolvedInSource: Timestamp? = nil
        for event in events {
            guard case .incident(let p) = event.statement.predicate else { continue }
            incidents["\(p.environment)/\(p.incident)"] = (event, p.state == .open)
            if p.state == .open { lastOpenedIndex = event.index }
            if p.state == .resolved && p.environment == source { lastResolvedInSource = event.time }
        }
        let open = incidents.filter { $0.value.open }.keys.sorted()
        if open.isEmpty {
            add("incidents", true, incidents.isEmpty ? "no incidents" : "\(incidents.count) incident(s), all resolved")
        } else {
            add(
                "incidents", false,
                "open incident(s) \(open.joined(separator: ", ")); resolve with `docket record incident … --state resolved`"
            )
        }

        // 3. soak
        var soakReady: Timestamp? = nil
        if let soak = rules.soak, soak.seconds > 0 {
            if inSource, let current, let arrived = Timestamp(rfc3339: current.time) {
                let start = max(arrived, lastResolvedInSource ?? arrived)
                let ready = start.adding(seconds: soak.seconds)
                let elapsed = max(0, (now.milliseconds - start.milliseconds) / 1000)
                let restart = start > arrived ? " (counted from the incident resolved at \(start.rfc3339))" : ""
                if now >= ready {
                    add(
                        "soak", true,
                        "soaked \(PolicyDuration.format(seconds: elapsed)) of \(soak) in \(source)\(restart)")
                } else {
                    soakReady = ready
                    add(
                        "soak", false,
                        "soak \(PolicyDuration.format(seconds: elapsed)) of \(soak) in \(source)\(restart), eligible at \(ready.rfc3339)"
                    )
                }
            } else {
                add("soak", false, "soak of \(soak) in \(source) has not started: \(digest.short) is not current there")
            }
        } else {
            add("soak", true, "no soak required")
        }

        // 5. approvals
        if let rule = rules.approvals {
            let result = approvals(
                rule: rule, target: target, digest: digest, events: events, lastOpenedIndex: lastOpenedIndex, now: now,
                promoter: promoter)
            add("approvals", result.count >= rule.min, result.reason)
        } else {
            add("approvals", true, "no approvals required")
        }

        // 6. checks
        if rules.checks.isEmpty {
            add("checks", true, "no checks required")
        } else {
            var latest: [String: (Predicates.Check, Int)] = [:]
            for event in events {
                if case .check(let p) = event.statement.predicate { latest[p.check] = (p, event.index) }
            }
            var problems: [String] = []
            var passed: [String] = []
            for name in rules.checks {
                switch latest[name] {
                case nil: problems.append("\(name) has not run")
                case (let p, let index)? where p.result == .fail: problems.append("\(name) failed (entry \(index))")
                case _?: passed.append(name)
                }
            }
            add(
                "checks", problems.isEmpty,
                problems.isEmpty ? "passed: \(passed.joined(separator: ", "))" : problems.joined(separator: "; "))
        }

        verdict.eligible = verdict.rules.allSatisfy(\.passed)
        if !verdict.eligible, let soakReady, verdict.failedRules == ["soak"] {
            verdict.eligibleAt = soakReady.rfc3339
        }
        return verdict
    }

    private static func approvals(
        rule: ApprovalRule, target: String, digest: Digest, events: [LedgerEvent], lastOpenedIndex: Int,
        now: Timestamp, promoter: String?
    ) -> (count: Int, reason: String) {
        var standing: [String: LedgerEvent] = [:]
        var lastRollbackIndex = -1
        var producers: Set<String> = []
        for event in events {
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

    static func short(_ digest: String) -> String {
        digest.hasPrefix("sha256:") ? String(digest.prefix(19)) : digest
    }
}
