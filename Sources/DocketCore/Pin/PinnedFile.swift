/// One manifest file pinned by ``ManifestPinner``: its text before and after, and every image it found.
public struct PinnedFile: Sendable, Equatable {
    /// The name the caller gave, for messages and the diff's headers.
    public let file: String
    public let original: String
    /// The original with each image in ``changes`` replaced, byte for byte otherwise.
    public let pinned: String
    /// Images that change (`from` ≠ `to`), in file order.
    public let changes: [PinChange]
    /// Images of known repositories already at their current digest.
    public let unchanged: [PinChange]
    /// Images of known repositories (or named by a marker) with no digest current in the environment. The
    /// caller must not write such a file: ``requirePromoted()`` throws for it. The other images are pinned in
    /// ``pinned`` all the same, so a report can show them.
    public let missing: [MissingPin]
    /// Image texts left alone: their repository is not in the ledger, or they are not references at all
    /// (template syntax such as `${IMAGE}`, a sha512 digest), in file order.
    public let ignored: [String]

    /// True when something would change.
    public var changed: Bool { !changes.isEmpty }

    /// The change as a unified diff (`--- a/FILE`, `+++ b/FILE`, hunks with 3 lines of context); empty when
    /// nothing changes.
    public var diff: String { UnifiedDiff(original: original, changed: pinned, file: file).text }

    /// Throws ``PinError/notPromoted(_:)`` listing every image with no current digest.
    public func requirePromoted() throws(PinError) {
        guard missing.isEmpty else { throw .notPromoted(missing) }
    }
}

/// One image pinned, or already at its pin.
public struct PinChange: Sendable, Equatable, Codable {
    public let file: String
    /// The 1-based line of the scalar.
    public let line: Int
    /// The 0-based document of the file.
    public let document: Int
    /// Where the scalar is in its document: `spec.template.spec.containers[0].image`.
    public let path: String
    /// The repository, in normal form.
    public let repository: String
    /// The scalar's value before and after (unquoted).
    public let from: String
    public let to: String

    public init(file: String, line: Int, document: Int, path: String, repository: String, from: String, to: String) {
        self.file = file
        self.line = line
        self.document = document
        self.path = path
        self.repository = repository
        self.from = from
        self.to = to
    }
}

/// An image of a repository the ledger knows with no digest current in the environment.
public struct MissingPin: Sendable, Equatable, Codable {
    public let file: String
    public let line: Int
    public let path: String
    /// The repository, in normal form.
    public let repository: String
    /// The scalar's value (unquoted).
    public let image: String

    public init(file: String, line: Int, path: String, repository: String, image: String) {
        self.file = file
        self.line = line
        self.path = path
        self.repository = repository
        self.image = image
    }
}
