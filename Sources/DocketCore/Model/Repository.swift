/// An image repository (a service) in its one normal form, so names compare as bytes everywhere
/// (docs/organisation.md "Repositories"): a lower-case registry host (`docker.io` when none is given, with
/// `library/` for a one-part path there) and a path of lower-case OCI name components.
public struct Repository: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The normal form, such as `registry.example/payments` or `docker.io/library/nginx`.
    public let name: String

    /// Normalises what a user typed (`nginx`, `Registry.Example/app`). Throws for a name that is not a
    /// repository at all (an upper-case path, an empty component, odd characters). Only the host is ever
    /// rewritten; the path is checked where it lies, so a name already in normal form costs one pass and one copy
    /// (replay reads one per entry, through ``init(normalized:)``).
    public init(normalising text: String) throws {
        guard !text.isEmpty else { throw ModelError.badRepository(text, reason: "it is empty") }
        var host = "docker.io"
        var path = Substring(text)
        // Cut at the first `/` byte (not Character: a combining mark after it must not hide it).
        let utf8 = text.utf8
        if let slash = utf8.firstIndex(of: UInt8(ascii: "/")) {
            let first = Substring(utf8[..<slash])
            let lowered = first.lowercased()
            if first.utf8.contains(UInt8(ascii: ".")) || first.utf8.contains(UInt8(ascii: ":"))
                || lowered == "localhost"
            {
                host = lowered == "index.docker.io" || lowered == "registry-1.docker.io" ? "docker.io" : lowered
                path = Substring(utf8[utf8.index(after: slash)...])
                guard Self.isHost(host.utf8) else {
                    throw ModelError.badRepository(text, reason: "`\(first)` is not a registry host")
                }
            }
        }
        let components = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for bytes in components where !Self.isComponent(bytes) {
            let component = String(Substring(bytes))
            let lowered = component.lowercased()
            let reason =
                component.isEmpty
                ? "it has an empty path component"
                : lowered != component && Self.isComponent(lowered.utf8)
                    ? "repository paths are lower case (`\(lowered)`, not `\(component)`)"
                    : "`\(component)` is not a repository path component (a-z, 0-9, separated by . _ __ or -)"
            throw ModelError.badRepository(text, reason: reason)
        }
        let library = host == "docker.io" && components.count == 1 ? "library/" : ""
        let name = host + "/" + library + path
        guard name.utf8.count <= 255 else {
            throw ModelError.badRepository(text, reason: "it is longer than 255 bytes")
        }
        self.name = name
    }

    /// Accepts only a name already in normal form (what a signed statement must carry); the error names the
    /// normal form when there is one.
    public init(normalized text: String) throws {
        let normal = try Repository(normalising: text)
        guard normal.name.utf8.elementsEqual(text.utf8) else {
            throw ModelError.badRepository(text, reason: "it is not in normal form; write `\(normal.name)`")
        }
        self = normal
    }

    public var description: String { name }

    public static func < (a: Repository, b: Repository) -> Bool { a.name.utf8.lexicographicallyPrecedes(b.name.utf8) }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, over bytes.
    static func isComponent<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        func alnum(_ b: UInt8) -> Bool { (48...57).contains(b) || (97...122).contains(b) }
        guard let first = bytes.first, alnum(first) else { return false }
        // After an alphanumeric: a separator run (`.`, `_`, `__` or any number of `-`) must be followed by one.
        var run: (byte: UInt8, count: Int)? = nil
        for b in bytes {
            if alnum(b) {
                run = nil
                continue
            }
            guard b == 46 || b == 95 || b == 45 else { return false }
            if let (byte, count) = run {
                guard byte == b, b == 45 || (b == 95 && count == 1) else { return false }
                run = (b, count + 1)
            } else {
                run = (b, 1)
            }
        }
        return run == nil
    }

    /// A host name with an optional port: letters, digits, `.` and `-`, then `:` and digits.
    static func isHost<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        let pieces = bytes.split(separator: UInt8(ascii: ":"), maxSplits: 1, omittingEmptySubsequences: false)
        let host = pieces[0]
        guard !host.isEmpty,
            host.allSatisfy({ (48...57).contains($0) || (97...122).contains($0) || $0 == 46 || $0 == 45 })
        else { return false }
        if pieces.count == 2 {
            guard !pieces[1].isEmpty, pieces[1].count <= 5, pieces[1].allSatisfy({ (48...57).contains($0) })
            else { return false }
        }
        return true
    }
}

/// A repository glob from a policy (docs/organisation.md "Pipelines"): `*` matches within one path component,
/// `**` across components, `?` one character that is not `/`.
public struct RepositoryPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    private let tokens: [Token]

    private enum Token: Equatable {
        case literal(UInt8)
        case one, within, across
    }

    public init(_ text: String) {
        self.text = text
        var tokens: [Token] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case 42 where i + 1 < bytes.count && bytes[i + 1] == 42:
                tokens.append(.across)
                i += 2
            case 42:
                tokens.append(.within)
                i += 1
            case 63:
                tokens.append(.one)
                i += 1
            default:
                tokens.append(.literal(bytes[i]))
                i += 1
            }
        }
        self.tokens = tokens
    }

    public var description: String { text }

    public func matches(_ repository: Repository) -> Bool {
        let name = Array(repository.name.utf8)
        // memo[t][n]: tokens from t match name from n. Patterns and names are short (≤ 255 bytes).
        var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: name.count + 1), count: tokens.count + 1)
        func match(_ t: Int, _ n: Int) -> Bool {
            if let known = memo[t][n] { return known }
            let result: Bool
            if t == tokens.count {
                result = n == name.count
            } else {
                switch tokens[t] {
                case .literal(let b): result = n < name.count && name[n] == b && match(t + 1, n + 1)
                case .one: result = n < name.count && name[n] != 47 && match(t + 1, n + 1)
                case .within:
                    var k = n
                    var found = match(t + 1, k)
                    while !found, k < name.count, name[k] != 47 {
                        k += 1
                        found = match(t + 1, k)
                    }
                    result = found
                case .across: result = (n...name.count).contains { match(t + 1, $0) }
                }
            }
            memo[t][n] = result
            return result
        }
        return match(0, 0)
    }

    /// Whether some repository could match both patterns (checked on samples of each: exact for literal
    /// patterns, a good guess for globs).
    public func overlaps(_ other: RepositoryPattern) -> Bool {
        if text == other.text { return true }
        return samples.contains { other.matches($0) } || other.samples.contains { matches($0) }
    }

    /// Names this pattern matches, each wildcard stood in for by a short filler: `?` by `a`, `*` by `a` or a
    /// host-like `a.a`, `**` by one to three components (the first of them host-like or not), so a pattern
    /// such as `**` or `*/app` finds its normal-form names (`a.a/a`, `a.a/app`).
    private var samples: [Repository] {
        let withinFillers = ["a", "a.a"]
        let acrossFillers = ["a", "a/a", "a.a/a", "a.a/a/a"]
        var found: [Repository] = []
        for within in withinFillers {
            for across in acrossFillers {
                var sample = ""
                for token in tokens {
                    switch token {
                    case .literal(let b): sample.unicodeScalars.append(Unicode.Scalar(b))
                    case .one: sample += "a"
                    case .within: sample += within
                    case .across: sample += across
                    }
                }
                if let repository = try? Repository(normalized: sample), matches(repository),
                    !found.contains(repository)
                {
                    found.append(repository)
                }
            }
        }
        return found
    }

    /// Whether some normalised repository name can match (tried on the samples above).
    public var canMatchSomeRepository: Bool { !samples.isEmpty }
}
