import Foundation

/// A `# {"$docket": "<repository>"}` comment (DESIGN §10): it marks the scalar before it on its line, in a
/// file such as Helm values where no `containers` key says which scalar is an image, a tag or a digest.
struct HelmMarker: Equatable {
    /// The 1-based line.
    let line: Int
    /// The offset of the `#`.
    let hash: Int
    /// The repository as the marker writes it (normalised by the pinner).
    let repository: String

    /// A comment that opens with `{` and names `"$docket"` but is not exactly a marker object.
    struct Malformed: Error, Equatable {
        let line: Int
    }

    /// The markers of a file, by line. A comment is one that starts a line or follows a blank; its text, blanks
    /// around it allowed, must be exactly a JSON object with one string member `$docket`. Prose that mentions
    /// `$docket` is not a marker; a comment that opens with `{` and names `"$docket"` but is not one is an error,
    /// so a typo does not leave a value unpinned in silence.
    static func scan(_ source: ManifestSource) throws(Malformed) -> [Int: HelmMarker] {
        var markers: [Int: HelmMarker] = [:]
        let keyword = Array("\"$docket\"".utf8)
        for line in 1...source.lineStarts.count {
            let text = source.lineBytes(line)
            guard contains(text, keyword) else { continue }
            for hash in text.indices where text[hash] == UInt8(ascii: "#") {
                guard hash == text.startIndex || text[hash - 1] == 32 || text[hash - 1] == 9 else { continue }
                let comment = trimmed(text[(hash + 1)...])
                guard comment.first == UInt8(ascii: "{"), contains(comment, keyword) else { continue }
                guard let repository = repository(inObject: comment) else { throw Malformed(line: line) }
                markers[line] = HelmMarker(line: line, hash: hash, repository: repository)
                break
            }
        }
        return markers
    }

    /// The `$docket` member of a JSON object that has no other member.
    private static func repository(inObject bytes: ArraySlice<UInt8>) -> String? {
        guard bytes.last == UInt8(ascii: "}"),
            let object = try? JSONDecoder().decode([String: String].self, from: Data(bytes)),
            object.count == 1
        else { return nil }
        return object["$docket"]
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 32 || first == 9 { slice = slice.dropFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice = slice.dropLast() }
        return slice
    }

    private static func contains(_ bytes: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        return (bytes.startIndex...bytes.endIndex - needle.count).contains {
            bytes[$0..<$0 + needle.count].elementsEqual(needle)
        }
    }
}
