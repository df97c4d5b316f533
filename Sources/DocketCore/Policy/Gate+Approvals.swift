/// Rule 5, approvals, and the approvals of a break-glass (docs/organisation.md "Approvals", "Break-glass").
extension Gate {
    /// One result per approval rule of the environment, in policy order.
    static func approvals(_ c: Context) -> [GateVerdict.Rule] {
        guard let approvals = c.rules.approvals else {
            return [.init(rule: "approvals", passed: true, reason: "no approvals required")]
        }
        var counting: [(identity: String, signer: Signer)] = []
        var notCounted: [String] = []
        for event in c.history.approvals.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }).map(\.value) {
            if let why = disqualification(event, c, approvals) {
                notCounted.append("\(event.signer.identity): \(why)")
            } else {
                counting.append((event.signer.identity, event.signer))
            }
        }
        for (identity, index) in c.history.withdrawn.values.sorted(by: { $0.index < $1.index }) {
            notCounted.append("\(identity): withdrawn at entry \(index)")
        }
        let rules = approvals.rules
        // Who may count for each rule; with `distinct`, each person for one rule only (a maximum assignment).
        let allowed = rules.map { rule in counting.indices.filter { rule.allows(counting[$0].signer) } }
        let assigned: [[Int]] = approvals.distinct ? assign(allowed, capacity: rules.map(\.min)) : allowed
        var results: [GateVerdict.Rule] = []
        for (r, rule) in rules.enumerated() {
            let names = assigned[r].prefix(approvals.distinct ? rule.min : Int.max).map { counting[$0].identity }
            var reason: String
            let passed = names.count >= rule.min
            // The one unnamed rule of the short form is called `approvals`; say "rule NAME" only for named ones.
            let label = rule.name == "approvals" ? "" : "rule \(rule.name): "
            if passed {
                reason = "\(label)\(names.count) of \(rule.min) required: \(names.joined(separator: ", "))"
            } else {
                let missing = rule.min - names.count
                reason =
                    "\(label)needs \(missing) more approval\(missing == 1 ? "" : "s") from \(rule.allowedDescription)"
                if !names.isEmpty { reason += " (has \(names.joined(separator: ", ")))" }
                let elsewhere = allowed[r].filter { !assigned[r].contains($0) }.map { counting[$0].identity }
                if !elsewhere.isEmpty {
                    reason += "; counted for another rule (distinct): \(elsewhere.joined(separator: ", "))"
                }
            }
            let others = counting.indices.filter { !allowed[r].contains($0) }.map {
                "\(counting[$0].identity): not \(rule.allowedDescription)"
            }
            let unlisted = notCounted + (passed ? [] : others)
            if !unlisted.isEmpty { reason += "; not counted: " + unlisted.joined(separator: "; ") }
            results.append(.init(rule: "approvals", name: rule.name, passed: passed, reason: reason))
        }
        return results
    }

    /// Why a standing approval does not count at the evaluation time, or `nil` when it does (before the rules'
    /// own constraints): expired, older than maxAge, signed or given before the last incident or rollback, or
    /// by someone separation of duties excludes.
    static func disqualification(_ event: LedgerEvent, _ c: Context, _ approvals: Approvals?) -> String? {
        guard case .approved(let p) = event.statement.predicate else { return "not an approval" }
        if let at = c.facts.voidedKeys[event.signer.keyID] {
            return "its key was revoked at entry \(at) with its approvals voided"
        }
        let flags = event.authenticatorFlags ?? 0
        if approvals?.userVerification == true, flags & 0x05 != 0x05 {
            return "not signed with a security key that verified the approver (userVerification)"
        }
        if approvals?.userPresence == true, flags & 0x01 == 0 {
            return "not signed with a security key the approver touched (userPresence)"
        }
        let who = Array(event.signer.identity.utf8)
        if approvals?.separationOfDuties == true {
            if c.history.producers.contains(who) { return "built or deployed this digest (separation of duties)" }
            if let promoter = c.promoter, Array(promoter.utf8) == who {
                return "is the promoter (separation of duties)"
            }
        }
        let signed = Timestamp(lenient: event.statement.time)
        for (what, earlier) in [("incident opened", c.history.lastOpened), ("rollback", c.history.lastRollbackFrom)] {
            guard let earlier else { continue }
            if event.index < earlier.index {
                return "given before the \(what) at entry \(earlier.index)"
            }
            guard let signed, signed > earlier.time else {
                return
                    "signed at \(event.statement.time), before the \(what) at entry \(earlier.index) (\(earlier.time.rfc3339))"
            }
        }
        if let text = p.expiresAt {
            guard let expiry = Timestamp(lenient: text) else { return "expiresAt is not a time" }
            if expiry <= c.now { return "expired at \(expiry.rfc3339)" }
        }
        if let maxAge = approvals?.maxAge {
            let base = min(signed ?? event.time, event.time)
            if base.adding(seconds: maxAge.seconds) <= c.now { return "older than \(maxAge)" }
        }
        return nil
    }

    /// A maximum assignment of people to rules: each person to at most one rule, rule r taking up to
    /// `capacity[r]`. People are tried in order and moved along augmenting paths (Kuhn's algorithm), so the
    /// rules can all be met exactly when some assignment meets them all.
    static func assign(_ allowed: [[Int]], capacity: [Int]) -> [[Int]] {
        var holder: [Int: Int] = [:]  // person → rule
        var members = [[Int]](repeating: [], count: allowed.count)
        let people = Set(allowed.flatMap { $0 }).sorted()
        func place(_ person: Int, _ visited: inout Set<Int>) -> Bool {
            for r in allowed.indices where allowed[r].contains(person) && visited.insert(r).inserted {
                if members[r].count < capacity[r] {
                    members[r].append(person)
                    holder[person] = r
                    return true
                }
                for other in members[r] where place(other, &visited) {
                    members[r].removeAll { $0 == other }
                    members[r].append(person)
                    holder[person] = r
                    return true
                }
            }
            return false
        }
        for person in people {
            var visited: Set<Int> = []
            _ = place(person, &visited)
        }
        return members.map { $0.sorted() }
    }

    /// The approvals of a break-glass promotion of the digest to `environment` that count now: standing, fresh,
    /// not expired, within maxAge, by people other than the promoter.
    public static func breakGlassApprovals(
        environment target: String, rules: EnvironmentRules, facts: GateFacts, now: Timestamp, promoter: String?
    ) -> (counted: [String], reason: String) {
        let c = Context(
            target: target, source: rules.from ?? "", rules: rules, facts: facts, now: now, promoter: promoter,
            history: History(facts.events, digest: facts.digest, source: rules.from ?? "", target: target))
        var counted: [String] = []
        var notCounted: [String] = []
        for event in c.history.glassApprovals.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }).map(\.value) {
            if let promoter, event.signer.identity.utf8.elementsEqual(promoter.utf8) {
                notCounted.append("\(event.signer.identity): is the promoter")
            } else if let why = disqualification(event, c, rules.approvals) {
                notCounted.append("\(event.signer.identity): \(why)")
            } else {
                counted.append(event.signer.identity)
            }
        }
        let needed = rules.breakGlass?.approvals ?? 0
        var reason =
            counted.count >= needed
            ? "break-glass approved by \(counted.isEmpty ? "no one (none required)" : counted.joined(separator: ", "))"
            : "break-glass needs \(needed - counted.count) more approval\(needed - counted.count == 1 ? "" : "s") of the break-glass by people other than the promoter"
        if !notCounted.isEmpty { reason += "; not counted: " + notCounted.joined(separator: "; ") }
        return (counted, reason)
    }
}
