import Foundation

extension PolicyReader {
    func approvals(_ value: JSONValue, _ path: String) throws -> Approvals {
        let shared = ["maxAge", "separationOfDuties", "distinct", "userPresence", "userVerification"]
        let ruleFields = ["min", "roles", "identities", "teams"]
        guard case .object(let probe) = value else { throw fail(path, "expected a mapping of fields") }
        let o = try object(value, path, allowed: probe["rules"] != nil ? ["rules"] + shared : ruleFields + shared)
        var rules: [ApprovalRule] = []
        if let list = o["rules"] {
            guard case .array(let items) = list, !items.isEmpty else {
                throw fail("\(path).rules", "expected a non-empty list of approval rules")
            }
            for (i, item) in items.enumerated() {
                let rp = "\(path).rules[\(i)]"
                let r = try object(item, rp, allowed: ["name"] + ruleFields)
                let rule = try self.rule(r, rp, name: try string(r["name"], "\(rp).name"))
                if rules.contains(where: { $0.name == rule.name }) {
                    throw fail("\(rp).name", "approval rule `\(rule.name)` is defined twice")
                }
                rules.append(rule)
            }
        } else {
            rules = [try rule(o, path, name: "approvals")]
        }
        var approvals = Approvals(
            rules: rules, maxAge: try duration(o["maxAge"], "\(path).maxAge"),
            separationOfDuties: try bool(o["separationOfDuties"], "\(path).separationOfDuties", default: false),
            distinct: try bool(o["distinct"], "\(path).distinct", default: false))
        approvals.userVerification = try bool(o["userVerification"], "\(path).userVerification", default: false)
        let presence = try bool(o["userPresence"], "\(path).userPresence", default: false)
        approvals.userPresence = presence || approvals.userVerification
        return approvals
    }

    func rule(_ o: [String: JSONValue], _ path: String, name: String) throws -> ApprovalRule {
        if case .number(let n)? = o["min"], n == 0 {
            throw fail("\(path).min", "a rule with `min: 0` requires nothing; remove the rule or require at least 1")
        }
        let roles = try strings(o["roles"], "\(path).roles").enumerated().map { i, r in
            do { return try Role(parsing: r) } catch {
                throw fail(
                    "\(path).roles[\(i)]",
                    "unknown role `\(r)`; roles (lower case) are \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
        }
        return ApprovalRule(
            name: name, min: try int(o["min"], "\(path).min", range: 1...100, what: "the number of approvals"),
            roles: roles, identities: try names(o["identities"], "\(path).identities", what: "identity"),
            teams: try names(o["teams"], "\(path).teams", what: "team"))
    }

    func freeze(_ value: JSONValue?, _ path: String) throws -> [FreezeWindow] {
        guard let value else { return [] }
        guard case .array(let items) = value else { throw fail(path, "expected a list of freeze windows") }
        return try items.enumerated().map { i, item in
            let wp = "\(path)[\(i)]"
            guard case .object(let probe) = item else { throw fail(wp, "expected a mapping of fields") }
            let reason = try string(probe["reason"], "\(wp).reason")
            if let weekly = probe["weekly"] {
                let o = try object(item, wp, allowed: ["weekly", "timeZone", "reason"])
                let w = try object(weekly, "\(wp).weekly", allowed: ["from", "to"])
                func week(_ field: String) throws -> WeekTime {
                    guard let text = try? string(w[field], "\(wp).weekly.\(field)"), let t = WeekTime(parsing: text)
                    else {
                        throw fail(
                            "\(wp).weekly.\(field)",
                            "expected a day and a time such as 'Fri 16:00' (Mon…Sun, 24-hour clock)")
                    }
                    return t
                }
                let (from, to) = (try week("from"), try week("to"))
                guard from != to else {
                    throw fail("\(wp).weekly.to", "the window ends when it starts; give different times")
                }
                let zone = try string(o["timeZone"], "\(wp).timeZone")
                guard TimeZone(identifier: zone) != nil, zone.contains("/") || zone == "UTC" else {
                    throw fail("\(wp).timeZone", "`\(zone)` is not an IANA time zone such as Europe/Berlin or UTC")
                }
                return FreezeWindow(span: .weekly(from: from, to: to, timeZone: zone), reason: reason)
            }
            let o = try object(item, wp, allowed: ["from", "to", "reason"])
            func instant(_ field: String) throws -> Timestamp {
                guard let text = try? string(o[field], "\(wp).\(field)"), let t = Timestamp(lenient: text) else {
                    throw fail(
                        "\(wp).\(field)", "expected an RFC 3339 time such as 2026-12-20T00:00:00Z (or give `weekly`)")
                }
                return t
            }
            let (from, to) = (try instant("from"), try instant("to"))
            guard from < to else { throw fail("\(wp).to", "the window ends before it starts (\(to) ≤ \(from))") }
            return FreezeWindow(span: .range(from: from, to: to), reason: reason)
        }
    }

    /// `true`, `false`, or `{allow: [...], approvals: N}`.
    func breakGlass(_ value: JSONValue?, _ path: String) throws -> BreakGlassRules? {
        guard let value else { return nil }
        if case .bool(let allowed) = value {
            return allowed ? BreakGlassRules(allow: BreakGlassRules.defaultAllow, approvals: 0) : nil
        }
        let o = try object(value, path, allowed: ["allow", "approvals"])
        var allow = BreakGlassRules.defaultAllow
        if o["allow"] != nil {
            allow = try names(o["allow"], "\(path).allow", what: "rule")
            for (i, rule) in allow.enumerated() where !BreakGlassRules.overridable.contains(rule) {
                throw fail(
                    "\(path).allow[\(i)]",
                    "unknown rule `\(rule)`; rules are \(BreakGlassRules.overridable.joined(separator: ", "))")
            }
        }
        let approvals = try o["approvals"].map {
            try int($0, "\(path).approvals", range: 0...100, what: "the number of approvals of a break-glass")
        }
        return BreakGlassRules(allow: allow, approvals: approvals ?? 0)
    }
}
