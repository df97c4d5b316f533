/// The ledger's tables. The log tables are the record; the projection tables are derived from it and
/// rebuilt by `verify` to prove they match.
enum Schema {
    static let version = "1"

    static let log = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS entries(
            idx INTEGER PRIMARY KEY,
            integrated_ms INTEGER NOT NULL,
            payload_hash BLOB NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            signer TEXT NOT NULL,
            bytes BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS merkle(level INTEGER NOT NULL, pos INTEGER NOT NULL, hash BLOB NOT NULL,
            PRIMARY KEY(level, pos)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS checkpoint(id INTEGER PRIMARY KEY CHECK(id = 1), size INTEGER NOT NULL, note TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS cosigned(witness TEXT PRIMARY KEY, size INTEGER NOT NULL, note TEXT NOT NULL);
        """

    /// Projection tables, in the order `verify` compares them, each with its key columns for ordering.
    static let projectionTables: [(name: String, orderBy: String)] = [
        ("keys", "key_id"), ("policies", "idx"), ("digest_entries", "digest, idx"),
        ("env_timeline", "environment, idx"), ("environments", "name"),
        ("approvals", "digest, environment, identity"), ("incidents", "digest, environment, incident"),
        ("checks", "digest, name"), ("tags", "repository, tag"), ("tag_moves", "idx, repository, tag"),
        ("drift", "idx"), ("break_glass", "idx"),
    ]

    static let projections = """
        CREATE TABLE IF NOT EXISTS keys(key_id TEXT PRIMARY KEY, public_key BLOB NOT NULL, identity TEXT NOT NULL,
            roles TEXT NOT NULL, enrolled_idx INTEGER NOT NULL, revoked_idx INTEGER, revoke_reason TEXT);
        CREATE TABLE IF NOT EXISTS policies(idx INTEGER PRIMARY KEY, document TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS digest_entries(digest TEXT NOT NULL, idx INTEGER NOT NULL,
            PRIMARY KEY(digest, idx)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS env_timeline(environment TEXT NOT NULL, idx INTEGER NOT NULL, digest TEXT NOT NULL,
            repository TEXT NOT NULL, integrated_ms INTEGER NOT NULL, identity TEXT NOT NULL, kind TEXT NOT NULL,
            left_digest TEXT, PRIMARY KEY(environment, idx)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS timeline_by_digest ON env_timeline(environment, digest, idx);
        CREATE INDEX IF NOT EXISTS timeline_rollbacks ON env_timeline(environment, idx) WHERE kind = 'rolled-back';
        CREATE TABLE IF NOT EXISTS environments(name TEXT PRIMARY KEY, first_idx INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS approvals(digest TEXT NOT NULL, environment TEXT NOT NULL, identity TEXT NOT NULL,
            idx INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY(digest, environment, identity)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS incidents(digest TEXT NOT NULL, environment TEXT NOT NULL, incident TEXT NOT NULL,
            state TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY(digest, environment, incident)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS incidents_open ON incidents(state) WHERE state = 'open';
        CREATE TABLE IF NOT EXISTS checks(digest TEXT NOT NULL, name TEXT NOT NULL, result TEXT NOT NULL,
            idx INTEGER NOT NULL, PRIMARY KEY(digest, name)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS tags(repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
            idx INTEGER NOT NULL, PRIMARY KEY(repository, tag)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS tags_by_digest ON tags(digest);
        CREATE TABLE IF NOT EXISTS tag_moves(idx INTEGER NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,
            from_digest TEXT NOT NULL, to_digest TEXT NOT NULL, PRIMARY KEY(idx, repository, tag)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS drift(idx INTEGER PRIMARY KEY, environment TEXT NOT NULL, digest TEXT NOT NULL,
            current_digest TEXT);
        CREATE TABLE IF NOT EXISTS break_glass(idx INTEGER PRIMARY KEY, digest TEXT NOT NULL, environment TEXT NOT NULL,
            reason TEXT NOT NULL, failed_rules TEXT NOT NULL);
        """
}
