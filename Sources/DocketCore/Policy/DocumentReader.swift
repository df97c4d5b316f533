import Foundation
import Yams

/// A YAML or JSON file's text as a JSON value, with the line of every field (`a.b[2].c`) so errors can point
/// at it: policies, and the server's configuration file. YAML aliases are refused.
public enum YAMLDocument {
    public static func parse(_ text: String, source: String) throws -> (JSONValue, [String: Int]) {
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
        return (document, lines)
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
                source: source, path: path, line: node.mark?.line, reason: "YAML aliases are not supported")
        }
    }
}

/// Walks a parsed document (``YAMLDocument``) field by field: each failure names the file, the field's path
/// and its line, and an unknown field is refused, so a typo never silently turns a rule off.
public protocol DocumentReader {
    /// The file (or event) the document came from, as errors name it.
    var source: String { get }
    /// The line of every field, by path.
    var lines: [String: Int] { get }
}

extension DocumentReader {
    public func fail(_ path: String, _ reason: String) -> PolicyError {
        PolicyError(source: source, path: path, line: lines[path], reason: reason)
    }

    /// The fields of a mapping, refusing any not in `allowed`.
    public func object(_ value: JSONValue, _ path: String, allowed: [String]) throws -> [String: JSONValue] {
        guard case .object(let fields) = value else { throw fail(path, "expected a mapping of fields") }
        for key in fields.keys.sorted() where !allowed.contains(key) {
            let field = path.isEmpty ? key : "\(path).\(key)"
            throw fail(field, "unknown field `\(key)`; allowed here: \(allowed.joined(separator: ", "))")
        }
        return fields
    }
}
