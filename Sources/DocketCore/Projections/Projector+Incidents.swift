import Foundation

extension Projector {
    // MARK: Incidents, approvals, tags

    /// The latest state of one incident against a digest in an environment, if it was ever recorded.
    func incidentState(digest: Digest, environment: String, incident: String) throws -> Predicates.IncidentState? {
        let key = BatchFacts.IncidentKey(digest: digest.description, environment: environment, incident: incident)
        if let known = facts?.incidents[key] { return known }
        return try storedIncidentState(digest: digest.description, environment: environment, incident: incident)
    }

    func storedIncidentState(digest: String, environment: String, incident: String) throws
        -> Predicates.IncidentState?
    {
        try db.row(
            "SELECT state FROM incidents WHERE digest = $1 AND environment = $2 AND incident = $3",
            [.text(digest), .text(environment), .text(incident)])?.text("state").flatMap(
                Predicates.IncidentState.init(rawValue:))
    }

    /// The incidents open against `digest` now (`environment/id`), in the order they were opened.
    func openIncidents(digest: Digest) throws -> [String] {
        try db.rows(
            "SELECT environment, incident FROM incidents WHERE digest = $1 AND state = 'open' ORDER BY idx",
            [.text(digest.description)]
        ).map { "\($0.text("environment") ?? "")/\($0.text("incident") ?? "")" }
    }

    /// Every incident ever recorded (for one repository, or all), latest state each, in the order of that state.
    func incidents(repository: String?) throws -> [IncidentRecord] {
        try db.rows(
            """
            SELECT r.repository, i.digest, i.environment, i.incident, i.state, i.idx FROM incidents i
            JOIN digest_repos r ON r.digest = i.digest WHERE $1 IS NULL OR r.repository = $1 ORDER BY i.idx
            """, [.optionalText(repository)]
        ).map {
            IncidentRecord(
                repository: $0.text("repository") ?? "", digest: $0.text("digest") ?? "",
                environment: $0.text("environment") ?? "", incident: $0.text("incident") ?? "",
                state: $0.text("state") ?? "", index: $0.int("idx") ?? 0)
        }
    }

    /// Incidents open now, in the order they were opened.
    func openIncidents() throws -> [OpenIncident] {
        try db.rows("SELECT digest, environment, incident, idx FROM incidents WHERE state = 'open' ORDER BY idx").map {
            OpenIncident(
                digest: $0.text("digest") ?? "", environment: $0.text("environment") ?? "",
                incident: $0.text("incident") ?? "", index: $0.int("idx") ?? 0)
        }
    }

    /// Whether `identity` has an approval of the digest for `environment` that was not withdrawn.
    func hasStandingApproval(digest: Digest, environment: String, identity: String) throws -> Bool {
        try db.row(
            "SELECT state FROM approvals WHERE digest = $1 AND environment = $2 AND identity = $3",
            [.text(digest.description), .text(environment), .text(identity)])?.text("state") == "approved"
    }

    /// The digest `tag` names in `repository`, if any.
    func digest(tagged tag: String, in repository: String) throws -> Digest? {
        try db.row("SELECT digest FROM tags WHERE repository = $1 AND tag = $2", [.text(repository), .text(tag)])?
            .text("digest").map { text in
                guard let digest = try? Digest(parsing: text) else {
                    throw LedgerError.corrupt(.unreadableRow(table: "tags", index: nil))
                }
                return digest
            }
    }

    /// The digests `tag` of `repository` has named, oldest first.
    func tagHistory(repository: String, tag: String) throws -> [TagHistoryEntry] {
        try db.rows(
            "SELECT idx, digest FROM tag_history WHERE repository = $1 AND tag = $2 ORDER BY idx",
            [.text(repository), .text(tag)]
        ).map { TagHistoryEntry(index: $0.int("idx") ?? 0, digest: $0.text("digest") ?? "") }
    }

    func tags(digest: Digest) throws -> [String] {
        try db.rows("SELECT tag FROM tags WHERE digest = $1 ORDER BY tag", [.text(digest.description)])
            .compactMap { $0.text("tag") }
    }
}
