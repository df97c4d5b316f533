import Foundation

/// What a batch's integration reads about the ledger as it was when the batch began, loaded before it starts in
/// one query per kind of fact (DESIGN §11) and kept current by the fold as the batch's own events are applied:
/// the statements already stored, the repository that owns each digest the batch names, and where each tag the
/// batch moves points. Reads the facts do not cover (a promotion's gate evidence, the environment's current
/// digest) go to the store, after the queued writes are written.
struct BatchFacts {
    /// Stored entries by payload hash, for every statement in the batch that is already stored, and every
    /// entry the batch has written so far.
    var entries: [Data: (index: Int, time: Timestamp, signer: String)] = [:]
    /// The owner of each digest the batch names (nil: none yet).
    var owners: [String: String?] = [:]
    /// The digest each (repository, tag) the batch names points at (nil: the tag is not recorded yet).
    var tags: [TagKey: String?] = [:]

    struct TagKey: Hashable {
        var repository: String
        var tag: String
    }

    /// The digests and tags `statements` name.
    static func keys(of statements: [Statement]) -> (digests: Set<String>, tags: Set<TagKey>) {
        var digests = Set<String>()
        var tags = Set<TagKey>()
        for statement in statements where !statement.kind.isGovernance {
            if let digest = statement.digest { digests.insert(digest.description) }
            if let left = statement.predicate.leftDigest { digests.insert(left.description) }
            let named: [String]
            switch statement.predicate {
            case .built(let p): named = p.tags ?? []
            case .promoted(let p): named = p.tags ?? []
            default: named = []
            }
            for tag in named { tags.insert(TagKey(repository: statement.subjectName, tag: tag)) }
        }
        return (digests, tags)
    }
}
