import Foundation

/// The ledger's SQL as PostgreSQL spells it. Statements are written once for both stores; what differs is
/// translated here, once per statement text (the adapter caches the result):
/// - placeholders: `?` (in order) and `?N` (numbered) become `$N`;
/// - `INDEXED BY name` (a hint for SQLite's planner) is dropped;
/// - in `CREATE TABLE`, SQLite's `INTEGER`, `BLOB` and `TEXT` become `BIGINT`, `BYTEA` and `TEXT COLLATE "C"`
///   (ordered by bytes, as SQLite orders text, so both stores list and compare rows in the same order), and
///   `WITHOUT ROWID` is dropped. No column gets a sequence: the ledger assigns every index itself.
///
/// PostgreSQL's text holds no U+0000, which SQLite's does (the gate's evidence slots join their parts with it).
/// Text is stored escaped: U+0000 as U+0001 U+0001 and U+0001 as U+0001 U+0002. The code is prefix-free and
/// keeps byte order, so both stores sort and compare the same strings the same way.
enum PostgresDialect {
    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 <= 1 }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0: out.append(contentsOf: ["\u{1}", "\u{1}"])
            case 1: out.append(contentsOf: ["\u{1}", "\u{2}"])
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    static func unescape(_ text: String) -> String {
        guard text.utf8.contains(1) else { return text }
        var out = String.UnicodeScalarView()
        var escaped = false
        for scalar in text.unicodeScalars {
            if escaped {
                out.append(scalar.value == 1 ? "\u{0}" : "\u{1}")
                escaped = false
            } else if scalar.value == 1 {
                escaped = true
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    static func translate(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var ordinal = 0
        var inString = false
        var scalars = sql.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = scalars.next()
        while let c = pending {
            pending = scalars.next()
            if c == "'" { inString.toggle() }
            guard c == "?", !inString else {
                out.unicodeScalars.append(c)
                continue
            }
            var digits = ""
            while let d = pending, ("0"..."9").contains(d) {
                digits.unicodeScalars.append(d)
                pending = scalars.next()
            }
            if digits.isEmpty {
                ordinal += 1
                out += "$\(ordinal)"
            } else {
                out += "$" + digits
            }
        }
        out = out.replacingOccurrences(of: #"\s+INDEXED BY \w+"#, with: "", options: .regularExpression)
        if out.range(of: #"^\s*CREATE TABLE"#, options: .regularExpression) != nil {
            out = out.replacingOccurrences(of: #"\bINTEGER\b"#, with: "BIGINT", options: .regularExpression)
            out = out.replacingOccurrences(of: #"\bBLOB\b"#, with: "BYTEA", options: .regularExpression)
            out = out.replacingOccurrences(of: #"\bTEXT\b"#, with: #"TEXT COLLATE "C""#, options: .regularExpression)
            out = out.replacingOccurrences(of: #"\s*WITHOUT ROWID"#, with: "", options: .regularExpression)
        }
        return out
    }
}
