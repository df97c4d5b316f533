/// An image as a manifest writes it, `name[:tag][@sha256:hex]`, split into the parts `docket pin` needs: the
/// name exactly as written (kept in the pinned text), its repository in normal form (looked up in the ledger),
/// and the tag and digest it carries (dropped or replaced).
public struct ImageText: Equatable, Sendable {
    /// The whole text, as the scalar's value.
    public let text: String
    /// The name as written, without tag or digest: `nginx`, `Registry.Example:5000/app`.
    public let name: String
    /// The tag, without its colon.
    public let tag: String?
    /// The digest, `sha256:` and 64 hex digits.
    public let digest: String?
    /// The repository in normal form (``Repository/init(normalising:)``).
    public let repository: String

    /// Nil for text that is not an image reference: empty, with spaces, template syntax (`${TAG}`, `{{ … }}`),
    /// a malformed tag, a digest other than sha256, or a name that is not a repository.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.allSatisfy(Self.isReferenceByte) else { return nil }
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        var name = String(parts[0])
        var digest: String?
        if parts.count == 2 {
            guard Self.isDigest(String(parts[1])) else { return nil }
            digest = String(parts[1])
        }
        var tag: String?
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") {
            let candidate = String(name[name.index(after: colon)...])
            guard Self.isTag(candidate) else { return nil }
            tag = candidate
            name = String(name[..<colon])
        }
        guard let repository = try? Repository(normalising: name) else { return nil }
        self.text = text
        self.name = name
        self.tag = tag
        self.digest = digest
        self.repository = repository.name
    }

    /// The text pinned to `digest`: the name as written and the digest, with no tag (a tag beside a digest
    /// misleads: the digest wins, so the tag says nothing true).
    func pinned(to digest: String) -> String { name + "@" + digest }

    /// `sha256:` and 64 lower-case hex digits.
    static func isDigest(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 71, bytes.starts(with: Array("sha256:".utf8)) else { return false }
        return bytes.dropFirst(7).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    static func isTag(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func word(_ byte: UInt8) -> Bool {
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 95
        }
        guard let first = bytes.first, word(first), bytes.count <= 128 else { return false }
        return bytes.allSatisfy { word($0) || $0 == 46 || $0 == 45 }
    }

    /// The bytes a reference can hold: letters, digits and `. _ - / : @`. Anything else (`$`, `{`, spaces)
    /// means template syntax or prose, which is left alone.
    private static func isReferenceByte(_ byte: UInt8) -> Bool {
        (48...58).contains(byte) || (64...90).contains(byte) || (97...122).contains(byte)
            || [45, 46, 47, 95].contains(byte)
    }
}
