import Foundation

/// A policy that cannot be used, naming the field (and line, for files) at fault.
extension Policy {
    /// Tag patterns must mean the same to every reader (ICU here, Python's `re` in the independent verifier), so
    /// they keep to what both read alike: ASCII literals, `. ^ $ [ ] ( ) | ? * + { } , -`, `(?:`, and backslash
    /// only before `d` or punctuation. Tags are ASCII, so nothing more is needed; the reason, or `nil`.
    public static func unportable(_ pattern: String) -> String? {
        let bytes = Array(pattern.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\\"):
                guard i + 1 < bytes.count else { return "ends with a lone backslash" }
                let next = bytes[i + 1]
                let alnum = (48...57).contains(next) || (65...90).contains(next) || (97...122).contains(next)
                guard next == UInt8(ascii: "d") || (!alnum && next >= 0x21 && next < 0x7F) else {
                    return
                        "`\\\(Character(Unicode.Scalar(next)))` is read differently by other tools; use `\\d`, `[...]` or escape punctuation only"
                }
                i += 2
                continue
            case UInt8(ascii: "("):
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "?") {
                    guard i + 2 < bytes.count, bytes[i + 2] == UInt8(ascii: ":") else {
                        return "`(?` groups other than `(?:` are read differently by other tools"
                    }
                    i += 3
                    continue
                }
            case 48...57, 65...90, 97...122: break
            default:
                guard Array("_-.^$[]()|?*+{},".utf8).contains(b) else {
                    return "keep to ASCII letters, digits and `_ - . ^ $ [ ] ( ) | ? * + { } ,` (tags are ASCII)"
                }
            }
            i += 1
        }
        return nil
    }

    /// Parses a YAML or JSON policy file's text. Errors name the file, the line and the field.
    public init(parsing text: String, source: String) throws {
        let (document, lines) = try YAMLDocument.parse(text, source: source)
        try self.init(document: document, source: source, lines: lines)
    }

    /// Builds and validates a policy from its JSON document (as recorded in a `policy` event).
    public init(document: JSONValue, source: String, lines: [String: Int] = [:]) throws {
        var reader = PolicyReader(source: source, lines: lines)
        self = try reader.policy(document)
    }
}

/// Walks a policy document, checking every field.
struct PolicyReader: DocumentReader {
    let source: String
    let lines: [String: Int]

    func string(_ value: JSONValue?, _ path: String) throws -> String {
        guard case .string(let s)? = value, !s.isEmpty else { throw fail(path, "expected a non-empty string") }
        return s
    }

    func strings(_ value: JSONValue?, _ path: String) throws -> [String] {
        guard let value else { return [] }
        guard case .array(let items) = value else { throw fail(path, "expected a list") }
        return try items.enumerated().map { try string($1, "\(path)[\($0)]") }
    }

    func bool(_ value: JSONValue?, _ path: String, default fallback: Bool) throws -> Bool {
        guard let value else { return fallback }
        guard case .bool(let b) = value else { throw fail(path, "expected true or false") }
        return b
    }

    func duration(_ value: JSONValue?, _ path: String) throws -> PolicyDuration? {
        guard let value else { return nil }
        guard case .string(let s) = value, let d = PolicyDuration(parsing: s) else {
            throw fail(path, "expected a duration such as 30m, 24h or 7d (units s, m, h, d; at most 100 years)")
        }
        return d
    }

    func int(_ value: JSONValue?, _ path: String, range: ClosedRange<Int>, what: String) throws -> Int {
        guard case .number(let n)? = value, n == n.rounded(), n >= Double(range.lowerBound),
            n <= Double(range.upperBound)
        else { throw fail(path, "expected \(what): a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return Int(n)
    }

    /// Names people write in rules (teams, checks, identities): non-empty, NFC, each given once.
    func names(_ value: JSONValue?, _ path: String, what: String) throws -> [String] {
        let list = try strings(value, path)
        var seen: Set<[UInt8]> = []
        for (i, name) in list.enumerated() {
            if let problem = Identifier.nfcProblem(name) { throw fail("\(path)[\(i)]", problem) }
            guard seen.insert(Array(name.utf8)).inserted else {
                throw fail("\(path)[\(i)]", "\(what) `\(name)` is listed twice")
            }
        }
        return list
    }

    mutating func policy(_ document: JSONValue) throws -> Policy {
        let root = try object(
            document, "",
            allowed: [
                "pipelines", "environments", "protectedTags", "maxClockSkew", "maxSubmitDelay", "workloads",
            ])
        var pipelines: [Pipeline] = []
        switch (root["pipelines"], root["environments"]) {
        case (.some, .some):
            throw fail("environments", "give either `pipelines` or the older top-level `environments`, not both")
        case (nil, nil):
            throw fail("pipelines", "expected a non-empty list of pipelines (or the older top-level `environments`)")
        case (nil, let environments?):
            pipelines = [
                Pipeline(
                    name: "default", repositories: [RepositoryPattern("**")],
                    environments: try self.environments(environments, "environments"))
            ]
        case (let list?, nil):
            guard case .array(let items) = list, !items.isEmpty else {
                throw fail("pipelines", "expected a non-empty list of pipelines")
            }
            for (i, item) in items.enumerated() {
                let pipeline = try self.pipeline(item, "pipelines[\(i)]")
                if pipelines.contains(where: { $0.name == pipeline.name }) {
                    throw fail("pipelines[\(i)].name", "pipeline `\(pipeline.name)` is defined twice")
                }
                pipelines.append(pipeline)
            }
        }
        let topLevel = try strings(root["protectedTags"], "protectedTags")
        let patterns = topLevel + pipelines.flatMap(\.environments).flatMap(\.protectedTags)
        for (i, pattern) in patterns.enumerated() {
            let path = i < topLevel.count ? "protectedTags[\(i)]" : "protectedTags"
            if let problem = Policy.unportable(pattern) { throw fail(path, "`\(pattern)`: \(problem)") }
            if (try? NSRegularExpression(pattern: pattern)) == nil {
                throw fail(path, "`\(pattern)` is not a valid regular expression")
            }
        }
        var policy = Policy(pipelines: pipelines, protectedTags: topLevel, document: document)
        if let skew = try duration(root["maxClockSkew"], "maxClockSkew") { policy.maxClockSkew = skew }
        if let delay = try duration(root["maxSubmitDelay"], "maxSubmitDelay") { policy.maxSubmitDelay = delay }
        policy.workloads = try workloads(root["workloads"], "workloads")
        return policy
    }

    func pipeline(_ value: JSONValue, _ path: String) throws -> Pipeline {
        let o = try object(value, path, allowed: ["name", "repositories", "environments"])
        let name = try string(o["name"], "\(path).name")
        let globs = try strings(o["repositories"], "\(path).repositories")
        guard !globs.isEmpty else {
            throw fail("\(path).repositories", "expected a non-empty list of repository patterns")
        }
        let patterns = try globs.enumerated().map { i, glob in
            let pattern = RepositoryPattern(glob)
            guard pattern.canMatchSomeRepository else {
                let hint = (try? Repository(normalising: glob)).map { "; write it in normal form, `\($0)`" } ?? ""
                throw fail(
                    "\(path).repositories[\(i)]",
                    "`\(glob)` can match no repository name (names are normalised: lower-case host, docker.io/library/ for Docker Hub)\(hint)"
                )
            }
            return pattern
        }
        return Pipeline(
            name: name, repositories: patterns,
            environments: try environments(o["environments"], "\(path).environments"))
    }

    func environments(_ value: JSONValue?, _ path: String) throws -> [EnvironmentRules] {
        guard case .array(let list)? = value, !list.isEmpty else {
            throw fail(path, "expected a non-empty list of environments")
        }
        let environments = try list.enumerated().map { i, item in try environment(item, "\(path)[\(i)]") }
        var seen: Set<String> = []
        for (i, env) in environments.enumerated() {
            guard seen.insert(env.name).inserted else {
                throw fail("\(path)[\(i)].name", "environment `\(env.name)` is defined twice")
            }
        }
        for (i, env) in environments.enumerated() {
            guard let from = env.from else { continue }
            guard seen.contains(from) else {
                throw fail(
                    "\(path)[\(i)].from",
                    "unknown environment `\(from)`; defined: \(environments.map(\.name).joined(separator: ", "))")
            }
            guard from != env.name else {
                throw fail("\(path)[\(i)].from", "`\(env.name)` cannot be promoted from itself")
            }
        }
        // A cycle leaves no entry environment on some chain: follow `from` links and stop at a repeat.
        for (i, env) in environments.enumerated() {
            var visited: [String] = [env.name]
            var current = env
            while let from = current.from, let next = environments.first(where: { $0.name == from }) {
                if visited.contains(from) {
                    throw fail("\(path)[\(i)].from", "promotion cycle: \((visited + [from]).joined(separator: " → "))")
                }
                visited.append(from)
                current = next
            }
        }
        if !environments.contains(where: { !$0.isGated }) {
            throw fail(path, "no entry environment: at least one environment needs no `from`")
        }
        return environments
    }

    func environment(_ value: JSONValue, _ path: String) throws -> EnvironmentRules {
        let o = try object(
            value, path,
            allowed: [
                "name", "from", "soak", "approvals", "checks", "freeze", "breakGlass", "protectedTags", "registry",
                "rollback",
            ])
        let name = try string(o["name"], "\(path).name")
        if let problem = Identifier.nfcProblem(name) { throw fail("\(path).name", problem) }
        guard Identifier.isName(name, limit: 128) else {
            throw fail("\(path).name", "environment names use letters, digits, - _ and .")
        }
        let from = try o["from"].map { try string($0, "\(path).from") }
        if from == nil {
            for field in ["soak", "approvals", "checks", "breakGlass", "freeze"] where o[field] != nil {
                throw fail(
                    "\(path).\(field)", "`\(name)` has no `from`, so it has no gate; digests enter it by `deployed`")
            }
        }
        var registryTags: [String] = []
        if let registry = o["registry"] {
            let r = try object(registry, "\(path).registry", allowed: ["tags"])
            registryTags = try names(r["tags"], "\(path).registry.tags", what: "tag")
            for (i, tag) in registryTags.enumerated() where !Statement.isValidTag(tag) {
                throw fail("\(path).registry.tags[\(i)]", "`\(tag)` is not a valid image tag")
            }
        }
        var plan: String? = nil
        if let rollback = o["rollback"] {
            let r = try object(rollback, "\(path).rollback", allowed: ["plan"])
            plan = try string(r["plan"], "\(path).rollback.plan")
        }
        return EnvironmentRules(
            name: name, from: from, soak: try duration(o["soak"], "\(path).soak"),
            approvals: try o["approvals"].map { try approvals($0, "\(path).approvals") },
            checks: try names(o["checks"], "\(path).checks", what: "check"),
            freeze: try freeze(o["freeze"], "\(path).freeze"),
            breakGlass: try breakGlass(o["breakGlass"], "\(path).breakGlass"),
            protectedTags: try strings(o["protectedTags"], "\(path).protectedTags"), registryTags: registryTags,
            rollbackPlan: plan)
    }

    /// `{rules: [...], maxAge, separationOfDuties, distinct}`, or the older single rule `{min, roles, ...}`.
}
