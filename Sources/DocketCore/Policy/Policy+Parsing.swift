import Foundation
import Yams

/// A policy that cannot be used, naming the field (and line, for files) at fault.
extension Policy {
    /// Parses a YAML or JSON policy file's text. Errors name the file, the line and the field.
    public init(parsing text: String, source: String) throws {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PolicyError(
                source: source, path: "", line: Self.line(of: error),
                reason: "not valid YAML or JSON: \(Self.summary(of: error))")
        }
        guard let node else { throw PolicyError(source: source, path: "", line: nil, reason: "the file is empty") }
        var lines: [String: Int] = [:]
        let document = try Self.value(of: node, path: "", lines: &lines, source: source)
        try self.init(document: document, source: source, lines: lines)
    }

    /// Builds and validates a policy from its JSON document (as recorded in a `policy` event).
    public init(document: JSONValue, source: String, lines: [String: Int] = [:]) throws {
        var reader = PolicyReader(source: source, lines: lines)
        self = try reader.policy(document)
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    private static func summary(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }

    /// YAML node → JSON value, remembering the line of every field so errors can point at it.
    private static func value(of node: Node, path: String, lines: inout [String: Int], source: String) throws
        -> JSONValue
    {
        lines[path] = node.mark?.line
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if let b = Bool.construct(from: scalar) { return .bool(b) }
                if let i = Int.construct(from: scalar) { return .number(Double(i)) }
                if scalar.string == "null" || scalar.string == "~" { return .null }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            return .array(
                try sequence.enumerated().map {
                    try value(of: $1, path: "\(path)[\($0)]", lines: &lines, source: source)
                })
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, child) in mapping {
                guard let name = key.string else {
                    throw PolicyError(source: source, path: path, line: key.mark?.line, reason: "keys must be strings")
                }
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                guard object[name] == nil else {
                    throw PolicyError(
                        source: source, path: childPath, line: key.mark?.line, reason: "field given twice")
                }
                object[name] = try value(of: child, path: childPath, lines: &lines, source: source)
            }
            return .object(object)
        case .alias:
            throw PolicyError(
                source: source, path: path, line: node.mark?.line, reason: "YAML aliases are not supported in policies")
        }
    }
}

/// Walks a policy document, checking every field.
private struct PolicyReader {
    let source: String
    let lines: [String: Int]

    func fail(_ path: String, _ reason: String) -> PolicyError {
        PolicyError(source: source, path: path, line: lines[path], reason: reason)
    }

    func object(_ value: JSONValue, _ path: String, allowed: [String]) throws -> [String: JSONValue] {
        guard case .object(let o) = value else { throw fail(path, "expected a mapping of fields") }
        for key in o.keys.sorted() where !allowed.contains(key) {
            let field = path.isEmpty ? key : "\(path).\(key)"
            throw fail(field, "unknown field `\(key)`; allowed here: \(allowed.joined(separator: ", "))")
        }
        return o
    }

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

    mutating func policy(_ document: JSONValue) throws -> Policy {
        let root = try object(document, "", allowed: ["environments", "protectedTags"])
        guard case .array(let list)? = root["environments"], !list.isEmpty else {
            throw fail("environments", "expected a non-empty list of environments")
        }
        var environments: [EnvironmentRules] = []
        for (i, item) in list.enumerated() {
            environments.append(try environment(item, "environments[\(i)]"))
        }
        var seen: Set<String> = []
        for (i, env) in environments.enumerated() {
            guard seen.insert(env.name).inserted else {
                throw fail("environments[\(i)].name", "environment `\(env.name)` is defined twice")
            }
        }
        for (i, env) in environments.enumerated() {
            guard let from = env.from else { continue }
            guard seen.contains(from) else {
                throw fail(
                    "environments[\(i)].from",
                    "unknown environment `\(from)`; defined: \(environments.map(\.name).joined(separator: ", "))")
            }
            guard from != env.name else {
                throw fail("environments[\(i)].from", "`\(env.name)` cannot be promoted from itself")
            }
        }
        // A cycle leaves no entry environment on some chain: follow `from` links and stop at a repeat.
        for (i, env) in environments.enumerated() {
            var visited: [String] = [env.name]
            var current = env
            while let from = current.from, let next = environments.first(where: { $0.name == from }) {
                if visited.contains(from) {
                    throw fail(
                        "environments[\(i)].from", "promotion cycle: \((visited + [from]).joined(separator: " → "))")
                }
                visited.append(from)
                current = next
            }
        }
        if !environments.contains(where: { !$0.isGated }) {
            throw fail("environments", "no entry environment: at least one environment needs no `from`")
        }
        let topLevel = try strings(root["protectedTags"], "protectedTags")
        let patterns = topLevel + environments.flatMap(\.protectedTags)
        for (i, pattern) in patterns.enumerated() where (try? NSRegularExpression(pattern: pattern)) == nil {
            throw fail(
                i < topLevel.count ? "protectedTags[\(i)]" : "protectedTags",
                "`\(pattern)` is not a valid regular expression")
        }
        return Policy(environments: environments, protectedTags: patterns, document: document)
    }

    func environment(_ value: JSONValue, _ path: String) throws -> EnvironmentRules {
        let o = try object(
            value, path, allowed: ["name", "from", "soak", "approvals", "checks", "breakGlass", "protectedTags"])
        let name = try string(o["name"], "\(path).name")
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw fail("\(path).name", "environment names use letters, digits, - _ and .")
        }
        let from = try o["from"].map { try string($0, "\(path).from") }
        var approvals: ApprovalRule? = nil
        if let a = o["approvals"] {
            let ap = "\(path).approvals"
            let ao = try object(a, ap, allowed: ["min", "roles", "identities", "maxAge", "separationOfDuties"])
            guard case .number(let n)? = ao["min"], n >= 1, n <= 100, n == n.rounded() else {
                throw fail("\(ap).min", "expected a whole number of approvals from 1 to 100")
            }
            let roles = try strings(ao["roles"], "\(ap).roles").enumerated().map { i, r in
                do { return try Role(parsing: r) } catch {
                    throw fail(
                        "\(ap).roles[\(i)]",
                        "unknown role `\(r)`; roles (lower case) are \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
            }
            approvals = ApprovalRule(
                min: Int(n), roles: roles, identities: try strings(ao["identities"], "\(ap).identities"),
                maxAge: try duration(ao["maxAge"], "\(ap).maxAge"),
                separationOfDuties: try bool(ao["separationOfDuties"], "\(ap).separationOfDuties", default: false))
        }
        let rules = EnvironmentRules(
            name: name, from: from, soak: try duration(o["soak"], "\(path).soak"), approvals: approvals,
            checks: try strings(o["checks"], "\(path).checks"),
            breakGlass: try bool(o["breakGlass"], "\(path).breakGlass", default: false),
            protectedTags: try strings(o["protectedTags"], "\(path).protectedTags"))
        if from == nil {
            for field in ["soak", "approvals", "checks", "breakGlass"] where o[field] != nil {
                throw fail(
                    "\(path).\(field)", "`\(name)` has no `from`, so it has no gate; digests enter it by `deployed`")
            }
        }
        return rules
    }
}
