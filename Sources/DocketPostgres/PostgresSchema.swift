import DocketCore
import Foundation

/// The ledger's tables in PostgreSQL's own dialect (SQLite's are `Schema` in DocketCore; the two hold the same
/// rows under the same names). Integers are `BIGINT` without sequences (the ledger assigns every index itself).
/// Text is `BYTEA`, its UTF-8 bytes as they are: PostgreSQL's `TEXT` cannot hold U+0000, which a statement's
/// free text may, and bytes order as SQLite orders its text, so both stores list rows in one order.
enum PostgresSchema {
    /// Each table by name, with its columns and keys.
    static let tables: [(name: String, columns: String)] = [
        ("meta", "key BYTEA PRIMARY KEY, value BYTEA NOT NULL"),
        (
            "entries",
            "idx BIGINT PRIMARY KEY, integrated_ms BIGINT NOT NULL, payload_hash BYTEA NOT NULL UNIQUE, "
                + "kind BYTEA NOT NULL, signer BYTEA NOT NULL, bytes BYTEA NOT NULL"
        ),
        ("merkle", "level BIGINT NOT NULL, pos BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY(level, pos)"),
        ("checkpoint", "id BIGINT PRIMARY KEY CHECK(id = 1), size BIGINT NOT NULL, note BYTEA NOT NULL"),
        ("cosigned", "witness BYTEA PRIMARY KEY, size BIGINT NOT NULL, note BYTEA NOT NULL"),
        (
            "keys",
            "key_id BYTEA PRIMARY KEY, public_key BYTEA NOT NULL, identity BYTEA NOT NULL, "
                + "roles BYTEA NOT NULL, teams BYTEA NOT NULL, enrolled_idx BIGINT NOT NULL, "
                + "changed_idx BIGINT NOT NULL, revoked_idx BIGINT, revoke_reason BYTEA, "
                + "voids_approvals BIGINT NOT NULL DEFAULT 0"
        ),
        (
            "key_history",
            "key_id BYTEA NOT NULL, idx BIGINT NOT NULL, roles BYTEA NOT NULL, teams BYTEA NOT NULL, "
                + "PRIMARY KEY(key_id, idx)"
        ),
        ("policies", "idx BIGINT PRIMARY KEY, document BYTEA NOT NULL"),
        ("digest_entries", "digest BYTEA NOT NULL, idx BIGINT NOT NULL, PRIMARY KEY(digest, idx)"),
        ("digest_repos", "digest BYTEA PRIMARY KEY, repository BYTEA NOT NULL, idx BIGINT NOT NULL"),
        ("repositories", "name BYTEA PRIMARY KEY, first_idx BIGINT NOT NULL"),
        (
            "env_timeline",
            "environment BYTEA NOT NULL, repository BYTEA NOT NULL, idx BIGINT NOT NULL, "
                + "digest BYTEA NOT NULL, integrated_ms BIGINT NOT NULL, identity BYTEA NOT NULL, "
                + "kind BYTEA NOT NULL, left_digest BYTEA, PRIMARY KEY(environment, repository, idx)"
        ),
        (
            "environments",
            "name BYTEA NOT NULL, repository BYTEA NOT NULL, first_idx BIGINT NOT NULL, "
                + "PRIMARY KEY(name, repository)"
        ),
        (
            "approvals",
            "digest BYTEA NOT NULL, environment BYTEA NOT NULL, identity BYTEA NOT NULL, "
                + "idx BIGINT NOT NULL, state BYTEA NOT NULL, PRIMARY KEY(digest, environment, identity)"
        ),
        (
            "incidents",
            "digest BYTEA NOT NULL, environment BYTEA NOT NULL, incident BYTEA NOT NULL, "
                + "state BYTEA NOT NULL, idx BIGINT NOT NULL, PRIMARY KEY(digest, environment, incident)"
        ),
        (
            "checks",
            "digest BYTEA NOT NULL, name BYTEA NOT NULL, result BYTEA NOT NULL, idx BIGINT NOT NULL, "
                + "PRIMARY KEY(digest, name)"
        ),
        (
            "tags",
            "repository BYTEA NOT NULL, tag BYTEA NOT NULL, digest BYTEA NOT NULL, idx BIGINT NOT NULL, "
                + "PRIMARY KEY(repository, tag)"
        ),
        (
            "tag_moves",
            "idx BIGINT NOT NULL, repository BYTEA NOT NULL, tag BYTEA NOT NULL, from_digest BYTEA NOT NULL, "
                + "to_digest BYTEA NOT NULL, PRIMARY KEY(idx, repository, tag)"
        ),
        (
            "tag_history",
            "repository BYTEA NOT NULL, tag BYTEA NOT NULL, idx BIGINT NOT NULL, digest BYTEA NOT NULL, "
                + "PRIMARY KEY(repository, tag, idx)"
        ),
        (
            "drift",
            "idx BIGINT PRIMARY KEY, environment BYTEA NOT NULL, repository BYTEA NOT NULL, "
                + "digest BYTEA NOT NULL, current_digest BYTEA, settled_idx BIGINT"
        ),
        (
            "gate_evidence",
            "digest BYTEA NOT NULL, slot BYTEA NOT NULL, idx BIGINT NOT NULL, PRIMARY KEY(digest, slot)"
        ),
        (
            "break_glass",
            "idx BIGINT PRIMARY KEY, kind BYTEA NOT NULL, digest BYTEA NOT NULL, repository BYTEA NOT NULL, "
                + "environment BYTEA NOT NULL, reason BYTEA NOT NULL, failed_rules BYTEA NOT NULL"
        ),
        (
            "oidc_issuers",
            "issuer BYTEA NOT NULL, idx BIGINT NOT NULL, audience BYTEA NOT NULL, algorithms BYTEA NOT NULL, "
                + "jwks BYTEA NOT NULL, PRIMARY KEY(issuer, idx)"
        ),
        (
            "attested_keys",
            "key_id BYTEA PRIMARY KEY, idx BIGINT NOT NULL, issuer BYTEA NOT NULL, jti BYTEA NOT NULL, "
                + "expires_ms BIGINT NOT NULL, rule BYTEA NOT NULL, claims BYTEA NOT NULL"
        ),
        (
            "key_lifetimes",
            "key_id BYTEA PRIMARY KEY, not_before_ms BIGINT, not_after_ms BIGINT, source BYTEA NOT NULL"
        ),
        (
            "webhook_positions",
            "name BYTEA PRIMARY KEY, next_index BIGINT NOT NULL, holder BYTEA NOT NULL, "
                + "lease_until_ms BIGINT NOT NULL"
        ),
    ]

    /// The secondary indexes, by name (a migration drops and makes them again).
    static let indexes: [(name: String, definition: String)] = [
        ("timeline_by_digest", "ON env_timeline(environment, digest, idx)"),
        ("timeline_rollbacks", "ON env_timeline(environment, repository, idx) WHERE kind = 'rolled-back'"),
        ("environments_by_repository", "ON environments(repository, first_idx)"),
        ("approvals_by_environment", "ON approvals(environment, state)"),
        ("incidents_open", "ON incidents(state) WHERE state = 'open'"),
        ("tags_by_digest", "ON tags(digest)"),
        ("tag_moves_by_repository", "ON tag_moves(repository, idx)"),
        ("drift_standing", "ON drift(environment, repository, idx) WHERE settled_idx IS NULL"),
        ("attested_tokens", "ON attested_keys(issuer, jti)"),
    ]

    static var statements: [String] {
        tables.map { "CREATE TABLE IF NOT EXISTS \($0.name)(\($0.columns))" }
            + indexes.map { "CREATE INDEX IF NOT EXISTS \($0.name) \($0.definition)" }
    }
}
