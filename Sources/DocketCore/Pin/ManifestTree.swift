import Yams

/// One YAML document flattened into its nodes in document order (a mapping, then each key and its value; a
/// sequence, then each item), each with the path that leads to it. The pinner finds images by path, names a
/// node by its index here, and checks its own output by comparing two flattenings node by node.
struct ManifestTree {
    /// A step of a path: a mapping key or a sequence index.
    enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    /// What a node is, without where it is.
    enum Shape: Equatable {
        case scalar(String, Node.Scalar.Style)
        case mapping(count: Int)
        case sequence(count: Int)
    }

    struct Item {
        let shape: Shape
        /// The node's tag, resolved (`tag:yaml.org,2002:str` for a plain `nginx`).
        let tag: String
        let path: [Step]
        /// True for a mapping key.
        let isKey: Bool
        let mark: Mark?
        let anchor: String?
        /// The scalar itself, for locating its bytes.
        let scalar: Node.Scalar?
    }

    let items: [Item]

    /// Flattens `root`. An alias appears as a copy of the node it names (Yams resolves aliases), so call this
    /// while the parser that made `root` is alive: anchors are held weakly and vanish with it. At most `budget`
    /// nodes in all: nested aliases can make a few hundred bytes stand for billions of nodes (a "billion laughs"),
    /// and the count stops before they are made.
    init(_ root: Node, budget: inout Int) throws(ParseFailure) {
        var items: [Item] = []
        try Self.append(root, path: [], isKey: false, to: &items, budget: &budget)
        self.items = items
    }

    private static func append(_ node: Node, path: [Step], isKey: Bool, to items: inout [Item], budget: inout Int)
        throws(ParseFailure)
    {
        budget -= 1
        guard budget >= 0 else {
            throw ParseFailure(
                line: node.mark?.line ?? 1, problem: "its aliases stand for too many nodes", aliasExpansion: true)
        }
        switch node {
        case .scalar(let scalar):
            items.append(
                Item(
                    shape: .scalar(scalar.string, scalar.style), tag: node.tag.rawValue, path: path,
                    isKey: isKey, mark: scalar.mark, anchor: scalar.anchor?.rawValue, scalar: scalar))
        case .mapping(let mapping):
            items.append(
                Item(
                    shape: .mapping(count: mapping.count), tag: node.tag.rawValue, path: path, isKey: isKey,
                    mark: mapping.mark, anchor: mapping.anchor?.rawValue, scalar: nil))
            for (key, value) in mapping {
                try append(key, path: path, isKey: true, to: &items, budget: &budget)
                try append(value, path: path + [.key(key.string ?? "?")], isKey: false, to: &items, budget: &budget)
            }
        case .sequence(let sequence):
            items.append(
                Item(
                    shape: .sequence(count: sequence.count), tag: node.tag.rawValue, path: path,
                    isKey: isKey, mark: sequence.mark, anchor: sequence.anchor?.rawValue, scalar: nil))
            for (index, item) in sequence.enumerated() {
                try append(item, path: path + [.index(index)], isKey: false, to: &items, budget: &budget)
            }
        case .alias(let alias):
            // Not produced by the parser (it resolves aliases), kept for completeness.
            items.append(
                Item(
                    shape: .scalar("*" + alias.anchor.rawValue, .plain), tag: "", path: path, isKey: isKey,
                    mark: alias.mark, anchor: nil, scalar: nil))
        }
    }

    /// `spec.template.spec.containers[0].image`.
    static func render(_ path: [Step]) -> String {
        var text = ""
        for step in path {
            switch step {
            case .key(let key): text += text.isEmpty ? key : "." + key
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}

extension ManifestTree {
    /// Why a text is not YAML, with the line the parser stopped at.
    struct ParseFailure: Error, Equatable {
        let line: Int
        let problem: String
        /// True when the text parsed but its aliases expand past the node budget.
        var aliasExpansion = false
    }

    /// Nodes a file may stand for once its aliases are expanded: 20 per byte of text, at least 10,000. Real
    /// manifests stay far below it (a node takes several bytes); an alias bomb passes it within a few levels.
    static func nodeBudget(_ text: String) -> Int { max(10_000, 20 * text.utf8.count) }

    /// Every document of `text`, in order. Marks are relative to `text`.
    static func parseAll(_ text: String) throws(ParseFailure) -> [ManifestTree] {
        do {
            // UTF-8 explicitly: columns are then counted over the bytes ManifestSource holds.
            let parser = try Parser(yaml: text, resolver: .default, constructor: .default, encoding: .utf8)
            var documents: [ManifestTree] = []
            var budget = nodeBudget(text)
            while let root = try parser.nextRoot() { documents.append(try ManifestTree(root, budget: &budget)) }
            return documents
        } catch let error as ParseFailure {
            throw error
        } catch let error as YamlError {
            throw failure(error, in: text)
        } catch {
            throw ParseFailure(line: 1, problem: "\(error)")
        }
    }

    private static func failure(_ error: YamlError, in text: String) -> ParseFailure {
        func described(_ problem: String, _ context: YamlError.Context?) -> String {
            context.map { "\(problem), \($0.text) at line \($0.mark.line)" } ?? problem
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return ParseFailure(line: mark.line, problem: described(problem, context))
        case .reader(let problem, let offset, _, _):
            // The offset counts characters of `text`.
            let line = offset.map { ManifestSource(Array(text.prefix($0).utf8)).lineStarts.count } ?? 1
            return ParseFailure(line: line, problem: problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ParseFailure(
                line: context.mark.line, problem: "duplicate keys " + duplicates.sorted().joined(separator: ", "))
        default:
            return ParseFailure(line: 1, problem: "\(error)")
        }
    }
}
