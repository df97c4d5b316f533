import Foundation

/// A batch's facts (``BatchFacts``): loaded when a write transaction begins, dropped when it ends.
extension Projector {
    /// Starts integrating a batch at the end of a ledger of `size` entries: reads the facts `statements` need,
    /// one query per kind of fact, and keeps keys and the policy in force in memory until the transaction ends
    /// (the head lock keeps every other writer out meanwhile; the fold updates them as the batch goes).
    func beginBatch(size: Int, statements: [Statement], payloadHashes: [Data]) throws {
        forgetTransactionEvents()
        batching = true
        lastApplied = size - 1
        var facts = BatchFacts()
        facts.entries = try log.entries(payloadHashes: payloadHashes)
        let (digests, tags) = BatchFacts.keys(of: statements)
        for digest in digests { facts.owners[digest] = .some(nil) }
        for (digest, owner) in try owners(of: Array(digests)) { facts.owners[digest] = owner }
        for tag in tags { facts.tags[tag] = .some(nil) }
        for (tag, digest) in try storedDigests(of: Array(tags)) { facts.tags[tag] = digest }
        self.facts = facts
    }

    /// The owner of each of `digests` that has one: one query when the store binds arrays, else one per digest.
    private func owners(of digests: [String]) throws -> [(String, String)] {
        guard !digests.isEmpty else { return [] }
        if db.bindsArrays {
            return try db.rows(
                "SELECT digest, repository FROM digest_repos WHERE digest = ANY(?)", [.texts(digests)]
            ).compactMap { row in row.text(0).flatMap { d in row.text(1).map { (d, $0) } } }
        }
        return try digests.compactMap { digest in try repository(of: try Digest(parsing: digest)).map { (digest, $0) } }
    }

    /// Where each of `tags` points, for those recorded.
    private func storedDigests(of tags: [BatchFacts.TagKey]) throws -> [(BatchFacts.TagKey, String)] {
        guard !tags.isEmpty else { return [] }
        if db.bindsArrays {
            return try db.rows(
                "SELECT t.repository, t.tag, t.digest FROM tags t JOIN unnest(?, ?) AS k(repository, tag) ON t.repository = k.repository AND t.tag = k.tag",
                [.texts(tags.map(\.repository)), .texts(tags.map(\.tag))]
            ).compactMap { row in
                guard let r = row.text(0), let t = row.text(1), let d = row.text(2) else { return nil }
                return (BatchFacts.TagKey(repository: r, tag: t), d)
            }
        }
        return try tags.compactMap { key in try storedTag(key).map { (key, $0) } }
    }

    func storedTag(_ key: BatchFacts.TagKey) throws -> String? {
        try db.row("SELECT digest FROM tags WHERE repository = ? AND tag = ?", [.text(key.repository), .text(key.tag)])?
            .text(0)
    }

    /// Where `key` points now: from the batch's facts when they cover it.
    func currentTag(_ key: BatchFacts.TagKey) throws -> String? {
        if let known = facts?.tags[key] { return known }
        return try storedTag(key)
    }
}
