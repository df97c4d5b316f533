import Yams

/// A scalar `docket pin` looks at: the `image` of a container, the `reference` of an image volume, or a value
/// marked with a `$docket` comment.
struct PinSite {
    enum Kind: Equatable {
        /// A container image or image volume reference; pinned if its repository is known.
        case image
        /// A marked value, for the marker's repository (normal form).
        case marker(repository: String)
    }

    let kind: Kind
    /// The 0-based document of the file, and the scalar's index in that document's ``ManifestTree``.
    let document: Int
    let index: Int
    let scalar: Node.Scalar
    let line: Int
    let path: String

    var value: String { scalar.string }

    /// The line of the marker this site consumes.
    var markerLine: Int? { if case .marker = kind { line } else { nil } }

    /// Keys whose value is a list of containers, each with an `image`.
    static let containerLists: Set<String> = ["containers", "initContainers", "ephemeralContainers"]

    /// `…containers[i].image` (or an init or ephemeral container), or `…volumes[i].image.reference`.
    static func isImagePath(_ path: [ManifestTree.Step]) -> Bool {
        let n = path.count
        if n >= 3, case .key(let list) = path[n - 3], containerLists.contains(list), case .index = path[n - 2],
            path[n - 1] == .key("image")
        {
            return true
        }
        if n >= 4, path[n - 4] == .key("volumes"), case .index = path[n - 3], path[n - 2] == .key("image"),
            path[n - 1] == .key("reference")
        {
            return true
        }
        return false
    }

    /// The sites of one document, in document order. A value is marked when the first thing after it on its
    /// line is a marker's `#`; a marker on an image of another repository is an error.
    static func find(
        in tree: ManifestTree, number: Int, source: ManifestSource, markers: [Int: HelmMarker], file: String
    ) throws(PinError) -> [PinSite] {
        var sites: [PinSite] = []
        for (index, item) in tree.items.enumerated() where !item.isKey {
            guard let scalar = item.scalar, let line = item.mark?.line else { continue }
            let isImage = isImagePath(item.path)
            func site(_ kind: Kind) -> PinSite {
                PinSite(
                    kind: kind, document: number, index: index, scalar: scalar, line: line,
                    path: ManifestTree.render(item.path))
            }
            if let marker = markers[line] {
                if scalar.style == .literal || scalar.style == .folded {
                    throw .blockScalar(file: file, line: line, image: scalar.string)
                }
                if let span = try? ScalarSpan(locating: scalar, in: source),
                    source.firstNonBlank(from: span.range.upperBound) == marker.hash
                {
                    let repository: Repository
                    do {
                        repository = try Repository(normalising: marker.repository)
                    } catch {
                        throw .badMarker(file: file, line: line, reason: "\(error)")
                    }
                    if isImage, let image = ImageText(scalar.string), image.repository != repository.name {
                        throw .markerConflict(
                            file: file, line: line, marker: repository.name, image: image.repository)
                    }
                    sites.append(site(.marker(repository: repository.name)))
                    continue
                }
            }
            if isImage { sites.append(site(.image)) }
        }
        return sites
    }
}
