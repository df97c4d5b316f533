/// What to do with one ``PinSite``.
enum PinDecision: Equatable {
    /// Not an image of a known repository: left alone.
    case ignore
    /// No digest is current for the repository.
    case missing(repository: String)
    /// The scalar's new value (equal to the old one when already pinned).
    case pin(repository: String, to: String)
}

/// The outcome of one file, gathered site by site: the lists a ``PinnedFile`` reports and the scalars to edit.
struct PinPlan {
    /// One scalar's bytes and what replaces them.
    struct Edit: Equatable {
        let range: Range<Int>
        let replacement: String
    }

    let file: String
    private(set) var changes: [PinChange] = []
    private(set) var unchanged: [PinChange] = []
    private(set) var missing: [MissingPin] = []
    private(set) var ignored: [String] = []
    /// Document, then node index in its ``ManifestTree``, to the scalar's new value: what the check after the
    /// edit expects to differ.
    private(set) var replacements: [Int: [Int: String]] = [:]
    /// The sites that change, with their new values.
    private var pending: [(site: PinSite, value: String)] = []

    init(file: String) { self.file = file }

    /// Decides each site of one document. A document with anything to pin must have no anchors.
    mutating func add(_ sites: [PinSite], of document: ManifestTree, pinner: ManifestPinner) throws(PinError) {
        var pins = false
        for site in sites {
            switch try pinner.decision(site) {
            case .ignore:
                ignored.append(site.value)
            case .missing(let repository):
                pins = true
                missing.append(
                    MissingPin(file: file, line: site.line, path: site.path, repository: repository, image: site.value))
            case .pin(let repository, let value):
                pins = true
                let change = PinChange(
                    file: file, line: site.line, document: site.document, path: site.path, repository: repository,
                    from: site.value, to: value)
                if value.utf8.elementsEqual(site.value.utf8) {
                    unchanged.append(change)
                } else {
                    changes.append(change)
                    pending.append((site, value))
                    replacements[site.document, default: [:]][site.index] = value
                }
            }
        }
        if pins, let anchored = document.items.first(where: { $0.anchor != nil }) {
            throw .anchor(file: file, line: anchored.mark?.line ?? 1, name: anchored.anchor ?? "")
        }
    }

    /// The byte edits for the changes, in file order. Throws for an image that cannot be edited in place.
    func edits(in source: ManifestSource) throws(PinError) -> [Edit] {
        var edits: [Edit] = []
        for (site, value) in pending {
            let span: ScalarSpan
            do {
                span = try ScalarSpan(locating: site.scalar, in: source)
            } catch {
                switch error {
                case .blockScalar: throw .blockScalar(file: file, line: site.line, image: site.value)
                case .multiLine: throw .multiLine(file: file, line: site.line, image: site.value)
                case .notFound: throw .unlocatable(file: file, line: site.line, image: site.value)
                }
            }
            edits.append(Edit(range: span.range, replacement: span.replacement(value)))
        }
        edits.sort { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(edits, edits.dropFirst()) where a.range.overlaps(b.range) {
            throw .verificationFailed(file: file, reason: "two images share bytes \(b.range.lowerBound)")
        }
        return edits
    }
}
