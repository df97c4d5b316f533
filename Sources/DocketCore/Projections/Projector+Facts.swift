import Foundation

/// A batch's facts (``BatchFacts``): loaded when a write transaction begins, dropped when it ends.
extension Projector {
    /// Starts integrating a batch at the end of a ledger of `size` entries: reads the facts `statements` need,
    /// one query per kind of fact, and keeps keys and the policy in force in memory until the transaction ends
    /// (the head lock keeps every other writer out meanwhile; the fold updates them as the batch goes).
    func beginBatch(size: Int, statements: [Statement], payloadHashes: [Data], signers: [String] = []) throws {
        forgetTransactionEvents()
        batching = true
        lastApplied = size - 1
        var facts = BatchFacts()
        facts.entries = try log.entries(payloadHashes: payloadHashes)
        let keys = BatchFacts.keys(of: statements)
        for digest in keys.digests { facts.owners[digest] = .some(nil) }
        for (digest, owner) in try owners(of: Array(keys.digests)) { facts.owners[digest] = owner }
        for tag in keys.tags { facts.tags[tag] = .some(nil) }
        for (tag, digest) in try storedDigests(of: Array(keys.tags)) { facts.tags[tag] = digest }
        let services = Array(keys.services)
        for service in services {
            facts.currents[service] = .some(nil)
            facts.standingDrift[service] = false
        }
        for entry in try currents(of: services) {
            facts.currents[.init(environment: entry.environment, repository: entry.repository)] = entry
        }
        for service in try standingDrift(in: services) { facts.standingDrift[service] = true }
        let incidents = Array(keys.incidents)
        for key in incidents { facts.incidents[key] = .some(nil) }
        for (key, state) in try incidentStates(of: incidents) { facts.incidents[key] = state }
        for record in try keyRecords(Array(Set(signers))) { keyCache[record.keyID] = record }
        self.facts = facts
    }

    /// What is current in each of `services`: one query (the latest timeline row of each) when the store binds
    /// arrays.
    private func currents(of services: [BatchFacts.ServiceKey]) throws -> [TimelineEntry] {
        guard !services.isEmpty else { return [] }
        guard db.bindsArrays else {
            return try services.compactMap { try current(environment: $0.environment, repository: $0.repository) }
        }
        return try db.rows(
            "SELECT DISTINCT ON (t.environment, t.repository) \(Self.timelineColumns.split(separator: ",").map { "t." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")) FROM env_timeline t JOIN unnest($1, $2) AS k(environment, repository) ON t.environment = k.environment AND t.repository = k.repository ORDER BY t.environment, t.repository, t.idx DESC",
            [.texts(services.map(\.environment)), .texts(services.map(\.repository))]
        ).map(Self.timelineEntry)
    }

    /// Which of `services` have a drift standing.
    private func standingDrift(in services: [BatchFacts.ServiceKey]) throws -> [BatchFacts.ServiceKey] {
        guard !services.isEmpty else { return [] }
        if db.bindsArrays {
            return try db.rows(
                "SELECT DISTINCT d.environment, d.repository FROM drift d JOIN unnest($1, $2) AS k(environment, repository) ON d.environment = k.environment AND d.repository = k.repository WHERE d.settled_idx IS NULL",
                [.texts(services.map(\.environment)), .texts(services.map(\.repository))]
            ).compactMap { row in
                row.text("environment").flatMap { e in
                    row.text("repository").map { BatchFacts.ServiceKey(environment: e, repository: $0) }
                }
            }
        }
        return try services.filter { service in
            try db.row(
                "SELECT 1 FROM drift WHERE environment = $1 AND repository = $2 AND settled_idx IS NULL LIMIT 1",
                [.text(service.environment), .text(service.repository)]) != nil
        }
    }

    /// The latest state of each of `incidents` that was ever recorded.
    private func incidentStates(of incidents: [BatchFacts.IncidentKey]) throws -> [(
        BatchFacts.IncidentKey, Predicates.IncidentState
    )] {
        guard !incidents.isEmpty else { return [] }
        guard db.bindsArrays else {
            return try incidents.compactMap { key in
                try storedIncidentState(digest: key.digest, environment: key.environment, incident: key.incident)
                    .map { (key, $0) }
            }
        }
        return try db.rows(
            "SELECT i.digest, i.environment, i.incident, i.state FROM incidents i JOIN unnest($1, $2, $3) AS k(digest, environment, incident) ON i.digest = k.digest AND i.environment = k.environment AND i.incident = k.incident",
            [
                .texts(incidents.map(\.digest)), .texts(incidents.map(\.environment)),
                .texts(incidents.map(\.incident)),
            ]
        ).compactMap { row in
            guard let d = row.text("digest"), let e = row.text("environment"), let i = row.text("incident"),
                let state = row.text("state").flatMap(Predicates.IncidentState.init(rawValue:))
            else { return nil }
            return (BatchFacts.IncidentKey(digest: d, environment: e, incident: i), state)
        }
    }

    /// The records of `ids` (the keys a batch is signed by).
    private func keyRecords(_ ids: [String]) throws -> [KeyRecord] {
        guard !ids.isEmpty, db.bindsArrays else { return [] }
        return try db.rows("SELECT \(Self.keyColumns) FROM keys WHERE key_id = ANY($1)", [.texts(ids)])
            .map(Self.keyRecord)
    }

    /// The owner of each of `digests` that has one: one query when the store binds arrays, else one per digest.
    private func owners(of digests: [String]) throws -> [(String, String)] {
        guard !digests.isEmpty else { return [] }
        if db.bindsArrays {
            return try db.rows(
                "SELECT digest, repository FROM digest_repos WHERE digest = ANY($1)", [.texts(digests)]
            ).compactMap { row in row.text("digest").flatMap { d in row.text("repository").map { (d, $0) } } }
        }
        return try digests.compactMap { digest in try repository(of: try Digest(parsing: digest)).map { (digest, $0) } }
    }

    /// Where each of `tags` points, for those recorded.
    private func storedDigests(of tags: [BatchFacts.TagKey]) throws -> [(BatchFacts.TagKey, String)] {
        guard !tags.isEmpty else { return [] }
        if db.bindsArrays {
            return try db.rows(
                "SELECT t.repository, t.tag, t.digest FROM tags t JOIN unnest($1, $2) AS k(repository, tag) ON t.repository = k.repository AND t.tag = k.tag",
                [.texts(tags.map(\.repository)), .texts(tags.map(\.tag))]
            ).compactMap { row in
                guard let r = row.text("repository"), let t = row.text("tag"), let d = row.text("digest") else {
                    return nil
                }
                return (BatchFacts.TagKey(repository: r, tag: t), d)
            }
        }
        return try tags.compactMap { key in
            try digest(tagged: key.tag, in: key.repository).map { (key, $0.description) }
        }
    }

    /// Where `key` points now: from the batch's facts when they cover it.
    func currentTag(_ key: BatchFacts.TagKey) throws -> String? {
        if let known = facts?.tags[key] { return known }
        return try digest(tagged: key.tag, in: key.repository)?.description
    }
}
