import Testing

@testable import DocketPostgres

@Suite("PostgreSQL dialect")
struct PostgresDialectTests {
    @Test("Placeholders are numbered, SQLite's index hints dropped, column types and collation made PostgreSQL's")
    func translation() {
        #expect(
            PostgresDialect.translate("SELECT a FROM t INDEXED BY t_by_b WHERE b = ? AND c = ?")
                == "SELECT a FROM t WHERE b = $1 AND c = $2")
        #expect(PostgresDialect.translate("UPDATE t SET a = ?2 WHERE b = ?1") == "UPDATE t SET a = $2 WHERE b = $1")
        let created = PostgresDialect.translate(
            "CREATE TABLE t(idx INTEGER PRIMARY KEY, bytes BLOB NOT NULL, name TEXT) WITHOUT ROWID")
        #expect(created.contains("idx BIGINT PRIMARY KEY"))
        #expect(created.contains("bytes BYTEA NOT NULL"))
        #expect(created.contains("name TEXT COLLATE \"C\""))
        #expect(!created.contains("WITHOUT ROWID"))
        #expect(PostgresDialect.translate("SELECT '?' FROM t WHERE a = ?").hasSuffix("a = $1"))
    }

    @Test("Text with U+0000 (gate evidence slots) round-trips, and the escaping keeps the byte order of the text")
    func escaping() {
        let samples = [
            "", "a", "a\u{0}b", "a\u{1}", "\u{1}\u{1}", "\u{0}", "a\u{0}", "a\u{1}b", "ab", "a\u{2}", "é\u{0}x",
        ]
        for s in samples {
            #expect(PostgresDialect.unescape(PostgresDialect.escape(s)) == s)
            #expect(!PostgresDialect.escape(s).contains("\u{0}"))
        }
        for a in samples {
            for b in samples {
                #expect(
                    (Array(a.utf8).lexicographicallyPrecedes(b.utf8))
                        == Array(PostgresDialect.escape(a).utf8).lexicographicallyPrecedes(
                            PostgresDialect.escape(b).utf8),
                    "\(Array(a.utf8)) vs \(Array(b.utf8))")
            }
        }
    }
}
