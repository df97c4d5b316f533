/// The ledger's tables in SQLite (PostgreSQL's are `PostgresSchema`, in its own dialect). The log tables are the
/// record; the projection tables are derived from it and rebuilt by `verify` to prove they match.
enum Schema {
    static let version = "2"

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
        ("keys", "key_id"), ("key_history", "key_id, idx"), ("policies", "idx"), ("digest_entries", "digest, idx"),
        ("digest_repos", "digest"), ("repositories", "name"), ("env_timeline", "environment, repository, idx"),
        ("environments", "name, repository"), ("approvals", "digest, environment, identity"),
        ("incidents", "digest, environment, incident"), ("checks", "digest, name"), ("tags", "repository, tag"),
        ("tag_moves", "idx, repository, tag"), ("tag_history", "repository, tag, idx"), ("drift", "idx"),
        ("break_glass", "idx"), ("gate_evidence", "digest, slot"), ("oidc_issuers", "issuer, idx"),
        ("attested_keys", "key_id"), ("key_lifetimes", "key_id"),
    ]

    /// Each webhook's delivery position (``Ledger/leaseWebhook(_:holder:start:)``); created on open for a ledger
    /// made before positions were rows.
    static let webhooks = """
        CREATE TABLE IF NOT EXISTS webhook_positions(name TEXT PRIMARY KEY, next_index INTEGER NOT NULL,
            holder TEXT NOT NULL, lease_until_ms INTEGER NOT NULL);
        """

    /// State is per (environment, repository): "what runs in production" is a row per service.
    static let projections = """
        CREATE TABLE IF NOT EXISTS keys(key_id TEXT PRIMARY KEY, public_key BLOB NOT NULL, identity TEXT NOT NULL,
            roles TEXT NOT NULL, teams TEXT NOT NULL, enrolled_idx INTEGER NOT NULL, changed_idx INTEGER NOT NULL,
            revoked_idx INTEGER, revoke_reason TEXT, voids_approvals INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS key_history(key_id TEXT NOT NULL, idx INTEGER NOT NULL, roles TEXT NOT NULL,
            teams TEXT NOT NULL, PRIMARY KEY(key_id, idx)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS policies(idx INTEGER PRIMARY KEY, document TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS digest_entries(digest TEXT NOT NULL, idx INTEGER NOT NULL,
            PRIMARY KEY(digest, idx)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS digest_repos(digest TEXT PRIMARY KEY, repository TEXT NOT NULL, idx INTEGER NOT NULL)
            WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS repositories(name TEXT PRIMARY KEY, first_idx INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS env_timeline(environment TEXT NOT NULL, repository TEXT NOT NULL, idx INTEGER NOT NULL,
            digest TEXT NOT NULL, integrated_ms INTEGER NOT NULL, identity TEXT NOT NULL, kind TEXT NOT NULL,
            left_digest TEXT, PRIMARY KEY(environment, repository, idx)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS timeline_by_digest ON env_timeline(environment, digest, idx);
        CREATE INDEX IF NOT EXISTS timeline_rollbacks ON env_timeline(environment, repository, idx)
            WHERE kind = 'rolled-back';
        CREATE TABLE IF NOT EXISTS environments(name TEXT NOT NULL, repository TEXT NOT NULL, first_idx INTEGER NOT NULL,
            PRIMARY KEY(name, repository)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS environments_by_repository ON environments(repository, first_idx);
        CREATE TABLE IF NOT EXISTS approvals(digest TEXT NOT NULL, environment TEXT NOT NULL, identity TEXT NOT NULL,
            idx INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY(digest, environment, identity)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS approvals_by_environment ON approvals(environment, state);
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
        CREATE INDEX IF NOT EXISTS tag_moves_by_repository ON tag_moves(repository, idx);
        CREATE TABLE IF NOT EXISTS tag_history(repository TEXT NOT NULL, tag TEXT NOT NULL, idx INTEGER NOT NULL,
            digest TEXT NOT NULL, PRIMARY KEY(repository, tag, idx)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS drift(idx INTEGER PRIMARY KEY, environment TEXT NOT NULL, repository TEXT NOT NULL,
            digest TEXT NOT NULL, current_digest TEXT, settled_idx INTEGER);
        CREATE INDEX IF NOT EXISTS drift_standing ON drift(environment, repository, idx) WHERE settled_idx IS NULL;
        CREATE TABLE IF NOT EXISTS gate_evidence(digest TEXT NOT NULL, slot TEXT NOT NULL, idx INTEGER NOT NULL,
            PRIMARY KEY(digest, slot)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS break_glass(idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, digest TEXT NOT NULL,
            repository TEXT NOT NULL, environment TEXT NOT NULL, reason TEXT NOT NULL, failed_rules TEXT NOT NULL);
        \(identity)
        """

    /// Workload identity (DESIGN.md §14): each trusted issuer as recorded, and each key an OIDC token attested;
    /// created on open for a ledger made before them (``Ledger/init(connection:logKeyPath:clock:)``).
    static let identity = """
        CREATE TABLE IF NOT EXISTS oidc_issuers(issuer TEXT NOT NULL, idx INTEGER NOT NULL, audience TEXT NOT NULL,
            algorithms TEXT NOT NULL, jwks TEXT NOT NULL, PRIMARY KEY(issuer, idx)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS attested_keys(key_id TEXT PRIMARY KEY, idx INTEGER NOT NULL, issuer TEXT NOT NULL,
            jti TEXT NOT NULL, expires_ms INTEGER NOT NULL, rule TEXT NOT NULL, claims TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS attested_tokens ON attested_keys(issuer, jti);
        CREATE TABLE IF NOT EXISTS key_lifetimes(key_id TEXT PRIMARY KEY, not_before_ms INTEGER, not_after_ms INTEGER,
            source TEXT NOT NULL) WITHOUT ROWID;
        """
}
