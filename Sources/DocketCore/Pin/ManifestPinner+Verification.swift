extension ManifestPinner {
    /// Parses the pinned text again and compares it with the original's documents node by node: the same
    /// structure, keys, values, tags and styles everywhere, except that each replaced scalar holds its new value
    /// in its old style. Anything else is a bug, reported rather than returned.
    static func verify(
        _ original: [ManifestTree], against pinned: String, replacements: [Int: [Int: String]], file: String
    ) throws(PinError) {
        func fail(_ reason: String) -> PinError { .verificationFailed(file: file, reason: reason) }
        let reparsed: [ManifestTree]
        do {
            reparsed = try ManifestTree.parseAll(pinned)
        } catch {
            throw fail("it does not parse: line \(error.line): \(error.problem)")
        }
        guard reparsed.count == original.count else {
            throw fail("it has \(reparsed.count) documents, not \(original.count)")
        }
        for (number, (before, after)) in zip(original, reparsed).enumerated() {
            guard before.items.count == after.items.count else {
                throw fail("document \(number) has \(after.items.count) nodes, not \(before.items.count)")
            }
            let replaced = replacements[number] ?? [:]
            for (index, (old, new)) in zip(before.items, after.items).enumerated() {
                let place = "document \(number) at `\(ManifestTree.render(old.path))`"
                if let value = replaced[index] {
                    guard case .scalar(_, let style) = old.shape, new.shape == .scalar(value, style) else {
                        throw fail("\(place) is not `\(value)` in its old quoting")
                    }
                } else {
                    guard old.shape == new.shape, old.tag == new.tag, old.path == new.path, old.isKey == new.isKey
                    else { throw fail("\(place) changed") }
                }
            }
        }
    }
}
