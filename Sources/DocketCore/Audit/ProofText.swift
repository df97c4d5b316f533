import Foundation

/// What both proof texts share: header lines, a blank line, then the signed checkpoint.
enum ProofText {
    static func split(_ text: String, source: String) throws -> (lines: [String], checkpointNote: String) {
        guard let blank = text.range(of: "\n\n") else {
            throw NoteError.malformed(source: source, reason: "no blank line before the checkpoint")
        }
        let lines = text[..<blank.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return (lines, String(text[blank.upperBound...]))
    }

    static func hashes(_ lines: ArraySlice<String>, source: String) throws -> [Data] {
        try lines.enumerated().map { i, line in
            guard let hash = Data(base64Encoded: line), hash.count == 32 else {
                throw NoteError.malformed(source: source, reason: "proof hash \(i + 1) is not base64 of 32 bytes")
            }
            return hash
        }
    }
}
