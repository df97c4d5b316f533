/// The projection tables' rows, as the fold writes them (``Schema/projections``): what a stored key does is the
/// projection's rule (the first entry of a digest is kept; a check's latest run replaces the one before).
extension RowShape {
    static let digestEntry = RowShape(
        table: "digest_entries", columns: [.text("digest"), .integer("idx")], key: ["digest", "idx"], conflict: .keep)
    static let digestRepository = RowShape(
        table: "digest_repos", columns: [.text("digest"), .text("repository"), .integer("idx")], key: ["digest"],
        conflict: .keep)
    static let repository = RowShape(
        table: "repositories", columns: [.text("name"), .integer("first_idx")], key: ["name"], conflict: .keep)
    static let key = RowShape(
        table: "keys",
        columns: [
            .text("key_id"), .blob("public_key"), .text("identity"), .text("roles"), .text("teams"),
            .integer("enrolled_idx"), .integer("changed_idx"), .optionalInteger("revoked_idx"),
            .optionalText("revoke_reason"), .integer("voids_approvals"),
        ],
        key: ["key_id"], conflict: .replace)
    static let keyHistory = RowShape(
        table: "key_history", columns: [.text("key_id"), .integer("idx"), .text("roles"), .text("teams")],
        key: ["key_id", "idx"], conflict: .replace)
    static let policy = RowShape(
        table: "policies", columns: [.integer("idx"), .text("document")], key: ["idx"], conflict: .fail)
    static let drift = RowShape(
        table: "drift",
        columns: [
            .integer("idx"), .text("environment"), .text("repository"), .text("digest"),
            .optionalText("current_digest"),
        ],
        key: ["idx"], conflict: .fail)
    static let check = RowShape(
        table: "checks", columns: [.text("digest"), .text("name"), .text("result"), .integer("idx")],
        key: ["digest", "name"], conflict: .replace)
    static let incident = RowShape(
        table: "incidents",
        columns: [.text("digest"), .text("environment"), .text("incident"), .text("state"), .integer("idx")],
        key: ["digest", "environment", "incident"], conflict: .replace)
    static let approval = RowShape(
        table: "approvals",
        columns: [.text("digest"), .text("environment"), .text("identity"), .integer("idx"), .text("state")],
        key: ["digest", "environment", "identity"], conflict: .replace)
    static let breakGlass = RowShape(
        table: "break_glass",
        columns: [
            .integer("idx"), .text("kind"), .text("digest"), .text("repository"), .text("environment"),
            .text("reason"), .text("failed_rules"),
        ],
        key: ["idx"], conflict: .fail)
    static let timeline = RowShape(
        table: "env_timeline",
        columns: [
            .text("environment"), .text("repository"), .integer("idx"), .text("digest"), .integer("integrated_ms"),
            .text("identity"), .text("kind"), .optionalText("left_digest"),
        ],
        key: ["environment", "repository", "idx"], conflict: .fail)
    static let environment = RowShape(
        table: "environments", columns: [.text("name"), .text("repository"), .integer("first_idx")],
        key: ["name", "repository"], conflict: .keep)
    static let tag = RowShape(
        table: "tags", columns: [.text("repository"), .text("tag"), .text("digest"), .integer("idx")],
        key: ["repository", "tag"], conflict: .replace)
    static let tagMove = RowShape(
        table: "tag_moves",
        columns: [.integer("idx"), .text("repository"), .text("tag"), .text("from_digest"), .text("to_digest")],
        key: ["idx", "repository", "tag"], conflict: .fail)
    static let tagHistory = RowShape(
        table: "tag_history", columns: [.text("repository"), .text("tag"), .integer("idx"), .text("digest")],
        key: ["repository", "tag", "idx"], conflict: .fail)
    static let oidcIssuer = RowShape(
        table: "oidc_issuers",
        columns: [.text("issuer"), .integer("idx"), .text("audience"), .text("algorithms"), .text("jwks")],
        key: ["issuer", "idx"], conflict: .fail)
    static let attestedKey = RowShape(
        table: "attested_keys",
        columns: [
            .text("key_id"), .integer("idx"), .text("issuer"), .text("jti"), .integer("expires_ms"), .text("rule"),
            .text("claims"),
        ],
        key: ["key_id"], conflict: .replace)
    static let keyLifetime = RowShape(
        table: "key_lifetimes",
        columns: [
            .text("key_id"), .optionalInteger("not_before_ms"), .optionalInteger("not_after_ms"), .text("source"),
        ],
        key: ["key_id"], conflict: .replace)
    /// The first event of a slot is kept (the first `built`, each producer's first event).
    static let firstEvidence = RowShape(
        table: "gate_evidence", columns: [.text("digest"), .text("slot"), .integer("idx")], key: ["digest", "slot"],
        conflict: .keep)
    /// The latest event of a slot replaces the one before (a check's latest run, an incident's latest state).
    static let latestEvidence = RowShape(
        table: "gate_evidence", columns: [.text("digest"), .text("slot"), .integer("idx")], key: ["digest", "slot"],
        conflict: .replace)
}
