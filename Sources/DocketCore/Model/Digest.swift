/// An image digest: `sha256:` and 64 lower-case hex digits. The only identity of an image Docket accepts.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 64 hex digits.
    public let hex: String

    public init(parsing text: String) throws {
        guard text.hasPrefix("sha256:") else {
            if text.contains(":") && !text.contains("@") && text.split(separator: ":").count == 2
                && !text.lowercased().hasPrefix("sha")
            {
                throw ModelError.tagNotDigest(text)
            }
            if text.count == 64, Self.isLowerHex(text) {
                throw ModelError.malformedDigest(text, reason: "the `sha256:` prefix is missing")
            }
            if !text.contains(":") { throw ModelError.tagNotDigest(text) }
            throw ModelError.malformedDigest(text, reason: "only sha256 digests are supported")
        }
        try self.init(hex: String(text.dropFirst(7)), original: text)
    }

    public init(hex: String, original: String? = nil) throws {
        let shown = original ?? hex
        guard hex.utf8.count == 64 else {
            throw ModelError.malformedDigest(shown, reason: "it has \(hex.utf8.count) hex digits, not 64")
        }
        guard Self.isLowerHex(hex) else {
            if Self.isLowerHex(hex.lowercased()) {
                throw ModelError.malformedDigest(shown, reason: "hex digits must be lower case")
            }
            throw ModelError.malformedDigest(shown, reason: "it contains characters that are not hex digits")
        }
        self.hex = hex
    }

    static func isLowerHex(_ s: String) -> Bool {
        var text = s
        return text.withUTF8 { bytes in
            for byte in bytes where !(byte &- 48 < 10 || byte &- 97 < 6) { return false }
            return true
        }
    }

    public var description: String { "sha256:" + hex }

    /// `sha256:` and the first 12 hex digits, for tables.
    public var short: String { "sha256:" + hex.prefix(12) }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }
}

/// `registry.example/app@sha256:…`: a repository name and a digest in one argument. A bare digest is accepted
/// where the repository is already known.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    public let repository: String?
    public let digest: Digest

    public init(repository: String?, digest: Digest) {
        self.repository = repository
        self.digest = digest
    }

    public init(parsing text: String) throws {
        if let at = text.firstIndex(of: "@") {
            let name = String(text[..<at])
            var repository = name
            // `repo:tag@sha256:…` pins the digest; the tag is informative only and dropped.
            if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") {
                repository = String(name[..<colon])
            }
            guard !repository.isEmpty else {
                throw ModelError.malformedDigest(text, reason: "the repository name is empty")
            }
            self.init(repository: repository, digest: try Digest(parsing: String(text[text.index(after: at)...])))
        } else {
            self.init(repository: nil, digest: try Digest(parsing: text))
        }
    }

    public var description: String { repository.map { "\($0)@\(digest)" } ?? digest.description }
}

extension Digest: Codable {
    /// Encoded as its text, `sha256:` and the hex digits.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
