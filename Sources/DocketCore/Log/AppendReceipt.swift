import Foundation

/// What an append did.
public struct AppendReceipt: Sendable, Codable, Equatable {
    public var index: Int
    public var integratedTime: String
    public var kind: String
    /// The subject's name: the repository, or the identity or origin a governance event is about.
    public var subject: String
    public var digest: String?
    /// True when the same envelope was already in the ledger: nothing was appended, `index` is the existing entry.
    public var duplicate: Bool
    /// The tree size after the append (the new checkpoint's size).
    public var treeSize: Int

    public init(
        index: Int, integratedTime: String, kind: String, subject: String, digest: String?, duplicate: Bool,
        treeSize: Int
    ) {
        self.index = index
        self.integratedTime = integratedTime
        self.kind = kind
        self.subject = subject
        self.digest = digest
        self.duplicate = duplicate
        self.treeSize = treeSize
    }
}
