import Foundation

/// The one rule for names people and tools compare (incident ids, environments, checks, identities, teams,
/// tags, repositories): Unicode Normalization Form C is required where an event is admitted, and names compare
/// as bytes everywhere after. Swift's `String ==` treats canonically equivalent strings as equal (`K` and
/// U+212A KELVIN SIGN), SQLite compares bytes: requiring NFC makes the two agree, because canonically
/// equivalent strings have one NFC.
public enum Identifier {
    public static func isNFC(_ value: String) -> Bool {
        value.utf8.elementsEqual(value.precomposedStringWithCanonicalMapping.utf8)
    }

    /// Why `value` is not in NFC, naming the first code points that differ and the form to write; `nil` when
    /// it is.
    public static func nfcProblem(_ value: String) -> String? {
        guard !isNFC(value) else { return nil }
        let normal = value.precomposedStringWithCanonicalMapping
        let given = Array(value.unicodeScalars)
        let wanted = Array(normal.unicodeScalars)
        var i = 0
        while i < min(given.count, wanted.count), given[i] == wanted[i] { i += 1 }
        func codes(_ scalars: [Unicode.Scalar]) -> String {
            scalars[i..<min(scalars.count, i + 2)].map { scalar in
                let hex = String(scalar.value, radix: 16, uppercase: true)
                return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            }.joined(separator: " ")
        }
        return
            "`\(value)` is not in Unicode normal form C (\(codes(given)) where NFC has \(codes(wanted))); names are compared as bytes, so write it in NFC: `\(normal)`"
    }

    /// Throws ``ModelError/badField(field:reason:)`` unless `value` is in NFC.
    public static func requireNFC(_ value: String, field: String) throws {
        if let problem = nfcProblem(value) { throw ModelError.badField(field: field, reason: problem) }
    }

    /// A name of environments and teams: 1 to `limit` code points, each a letter or digit (Unicode general
    /// category L or N, judged code point by code point, so a rule another tool can apply exactly), `-`, `_` or
    /// `.`. Combining marks, joiners and symbols that look like letters (U+24B6 Ⓐ) are not name characters.
    public static func isName(_ value: String, limit: Int) -> Bool {
        let scalars = value.unicodeScalars
        guard !scalars.isEmpty, scalars.count <= limit else { return false }
        return scalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
                .letterNumber, .otherNumber:
                true
            default: scalar == "-" || scalar == "_" || scalar == "."
            }
        }
    }

    /// A team name: a name (``isName(_:limit:)``) of at most 64 bytes.
    public static func isTeam(_ value: String) -> Bool { value.utf8.count <= 64 && isName(value, limit: 64) }
}
