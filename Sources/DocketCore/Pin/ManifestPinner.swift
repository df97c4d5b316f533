import Foundation

/// Rewrites Kubernetes manifests so every image of a repository the ledger knows names that repository's
/// current digest in one environment (`docket pin`, DESIGN §10).
///
/// It looks at `image` in `containers`, `initContainers` and `ephemeralContainers` at any depth (Pods,
/// workload templates, CronJob `jobTemplate`, `List` items, custom resources that embed pod templates), at
/// `volumes[].image.reference`, and at the value before a `# {"$docket": "<repo>"}` comment (Helm values), in
/// every document of a file. Only the bytes of each pinned scalar change, in the quoting they had; everything
/// else (comments, blank lines, `---`, CRLF, a byte order mark, key order) stays byte for byte, and the result
/// is parsed again and compared with the original before it is returned.
///
/// A document with an anchor is refused when it has images to pin (an alias would make one edit change two
/// places, or hide an image); anchors in other documents of the file are left alone.
public struct ManifestPinner: Sendable {
    /// Repositories the ledger has, in normal form.
    let known: Set<String>
    /// Normal-form repository to its current digest in the environment.
    let current: [String: String]

    /// `known`: the repositories the ledger has (`registry.example/payments`, `docker.io/library/nginx`).
    /// `current`: repository to the `sha256:…` digest current in the environment. Names are normalised, so
    /// `nginx` works as well as `docker.io/library/nginx`; a repository in `current` counts as known.
    public init(known: Set<String>, current: [String: String]) {
        let current = Dictionary(
            current.map { (Self.normalised($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.current = current
        self.known = Set(known.map(Self.normalised)).union(current.keys)
    }

    /// Pins a file's bytes, which must be UTF-8. `file` names it in messages and the diff.
    public func pin(_ data: Data, file: String) throws(PinError) -> PinnedFile {
        let bytes = Array(data)
        if let bad = ManifestSource.firstInvalidUTF8(bytes) {
            throw .notUTF8(file: file, line: ManifestSource(Array(bytes[..<bad])).lineStarts.count)
        }
        return try pin(String(decoding: bytes, as: UTF8.self), file: file)
    }

    /// Pins one file's text. `file` names it in messages and the diff. Throws ``PinError`` for YAML it will
    /// not touch; images with no current digest are reported in ``PinnedFile/missing``, not thrown.
    public func pin(_ text: String, file: String) throws(PinError) -> PinnedFile {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        var bytes = Array(text.utf8)
        let hasBOM = bytes.starts(with: bom)
        if hasBOM { bytes.removeFirst(bom.count) }
        let source = ManifestSource(bytes)
        let documents = try Self.parse(String(decoding: bytes, as: UTF8.self), file: file)
        let markers: [Int: HelmMarker]
        do {
            markers = try HelmMarker.scan(source)
        } catch {
            throw .badMarker(file: file, line: error.line, reason: "its comment is not a JSON object with one member")
        }

        var plan = PinPlan(file: file)
        var marked: Set<Int> = []
        for (number, document) in documents.enumerated() {
            if let line = Self.mergedImageLine(document) { throw .mergeKey(file: file, line: line) }
            let sites = try PinSite.find(
                in: document, number: number, source: source, markers: markers, file: file)
            marked.formUnion(sites.compactMap(\.markerLine))
            try plan.add(sites, of: document, pinner: self)
        }
        if let orphan = markers.keys.filter({ !marked.contains($0) }).min() {
            throw .markerWithoutValue(file: file, line: orphan)
        }

        let edits = try plan.edits(in: source)
        var pinned = bytes
        for edit in edits.reversed() { pinned.replaceSubrange(edit.range, with: edit.replacement.utf8) }
        let pinnedText = String(decoding: (hasBOM ? bom : []) + pinned, as: UTF8.self)
        if !edits.isEmpty {
            try Self.verify(
                documents, against: String(decoding: pinned, as: UTF8.self), replacements: plan.replacements,
                file: file)
        }
        return PinnedFile(
            file: file, original: text, pinned: pinnedText, changes: plan.changes, unchanged: plan.unchanged,
            missing: plan.missing, ignored: plan.ignored)
    }

    /// What to do with one site.
    func decision(_ site: PinSite) throws(PinError) -> PinDecision {
        let repository: String
        let image = ImageText(site.value)
        switch site.kind {
        case .image:
            guard let image, known.contains(image.repository) else { return .ignore }
            repository = image.repository
        case .marker(let named):
            repository = named
        }
        guard let digest = current[repository] else { return .missing(repository: repository) }
        guard ImageText.isDigest(digest) else { throw .badDigest(repository: repository, digest: digest) }
        // A marker on a `tag:` or `digest:` value takes the bare digest; on an image, the pinned image.
        if let image, image.repository == repository {
            return .pin(repository: repository, to: image.pinned(to: digest))
        }
        return .pin(repository: repository, to: digest)
    }

    /// The documents of a file, or the parser's complaint as a ``PinError``.
    static func parse(_ text: String, file: String) throws(PinError) -> [ManifestTree] {
        do {
            return try ManifestTree.parseAll(text)
        } catch  where error.aliasExpansion {
            throw .aliasExpansion(file: file, line: error.line, limit: ManifestTree.nodeBudget(text))
        } catch {
            throw .notYAML(file: file, line: error.line, problem: error.problem)
        }
    }

    /// The line of the first merge key (`<<`) whose merged mapping holds an `image` or a `reference` key at any
    /// depth, or nil: an image there would run, and no path pin reads leads to it.
    static func mergedImageLine(_ document: ManifestTree) -> Int? {
        for item in document.items where item.isKey {
            guard case .scalar("<<", _) = item.shape else { continue }
            let merged = item.path + [.key("<<")]
            let hidesImage = document.items.contains { inner in
                guard inner.isKey, inner.path.starts(with: merged), case .scalar(let key, _) = inner.shape else {
                    return false
                }
                return key == "image" || key == "reference"
            }
            if hidesImage { return item.mark?.line ?? 1 }
        }
        return nil
    }

    static func normalised(_ name: String) -> String { (try? Repository(normalising: name))?.name ?? name }
}
