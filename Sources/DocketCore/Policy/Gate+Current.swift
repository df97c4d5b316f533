extension Gate {
    /// **current**: D is not already R's current digest in E. Promoting it again would change nothing, and
    /// `promote` refuses it (even with break-glass: the rule is not one `breakGlass.allow` may name), so the
    /// verdict says so rather than calling it eligible.
    static func current(_ c: Context) -> GateVerdict.Rule {
        guard let current = c.facts.targetCurrent, current.digest == c.digest else {
            return .init(rule: "current", passed: true, reason: "not current in \(c.target) yet")
        }
        return .init(
            rule: "current", passed: false,
            reason: "already current in \(c.target) since entry \(current.index); there is nothing to promote")
    }
}
