import Foundation

extension PolicyReader {
    /// The policy's `workloads:` list: each rule named once, checked as ``WorkloadRule`` says.
    func workloads(_ value: JSONValue?, _ path: String) throws -> [WorkloadRule] {
        guard let value else { return [] }
        guard case .array(let items) = value else { throw fail(path, "expected a list of workload rules") }
        var rules: [WorkloadRule] = []
        for (i, item) in items.enumerated() {
            let rule = try workload(item, "\(path)[\(i)]")
            if rules.contains(where: { $0.name == rule.name }) {
                throw fail("\(path)[\(i)].name", "workload rule `\(rule.name)` is defined twice")
            }
            rules.append(rule)
        }
        return rules
    }

    private func workload(_ value: JSONValue, _ path: String) throws -> WorkloadRule {
        let o = try object(value, path, allowed: ["name", "issuer", "claims", "identity", "roles"])
        let name = try string(o["name"], "\(path).name")
        let issuer = try string(o["issuer"], "\(path).issuer")
        do { try OIDCIssuer.check(url: issuer) } catch { throw fail("\(path).issuer", error.reason) }
        guard case .object(let fields)? = o["claims"], !fields.isEmpty else {
            throw fail("\(path).claims", "expected a mapping of claim names to the values a token must carry")
        }
        var claims: [String: String] = [:]
        for (claim, expected) in fields.sorted(by: { $0.key < $1.key }) {
            let at = "\(path).claims.\(claim)"
            if WorkloadRule.reservedClaims.contains(claim) {
                throw fail(
                    at,
                    claim == "sub"
                        ? "a rule may not match on `sub`: issuers change its format (GitHub did for repositories created after 2026-07-15); match `repository`, `ref`, `job_workflow_ref`… instead"
                        : "`\(claim)` is checked for every token against the trusted issuer; a rule may not name it")
            }
            let text = try string(expected, at)
            if text.contains("*") && !WorkloadRule.globClaims.contains(claim) {
                throw fail(
                    at,
                    "a glob is allowed only on ref-like claims (\(WorkloadRule.globClaims.sorted().joined(separator: ", "))); `\(claim)` must match exactly"
                )
            }
            claims[claim] = text
        }
        let identity = try string(o["identity"], "\(path).identity")
        if let problem = Identifier.nfcProblem(identity) { throw fail("\(path).identity", problem) }
        for placeholder in Self.placeholders(identity) where claims[placeholder] == nil {
            throw fail(
                "\(path).identity",
                "`{\(placeholder)}` is not a claim this rule matches on; the identity may use only checked claims")
        }
        let roleNames = try strings(o["roles"], "\(path).roles")
        guard !roleNames.isEmpty else { throw fail("\(path).roles", "expected a non-empty list of roles") }
        var roles: [Role] = []
        for (i, text) in roleNames.enumerated() {
            guard let role = Role(rawValue: text) else {
                throw fail("\(path).roles[\(i)]", "unknown role `\(text)`")
            }
            guard role != .admin else {
                throw fail(
                    "\(path).roles[\(i)]", "a workload may not hold the admin role; admins sign with their own keys")
            }
            if !roles.contains(role) { roles.append(role) }
        }
        return WorkloadRule(name: name, issuer: issuer, claims: claims, identity: identity, roles: roles.sorted())
    }

    /// The `{name}` placeholders of an identity template.
    static func placeholders(_ template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }
}
