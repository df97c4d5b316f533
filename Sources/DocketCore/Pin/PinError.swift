/// Why `docket pin` will not pin a manifest (DESIGN §10). Each message names the file and line and says what
/// to do; nothing of a file that fails is written.
public enum PinError: DocketFailure, Equatable {
    /// The bytes are not UTF-8; `line` holds the first bad byte.
    case notUTF8(file: String, line: Int)
    /// A YAML parser does not read the file.
    case notYAML(file: String, line: Int, problem: String)
    /// A document with images to pin has an anchor (and so perhaps aliases): one edit could change several
    /// places, or an alias hide an image.
    case anchor(file: String, line: Int, name: String)
    /// An image written as a literal or folded block scalar.
    case blockScalar(file: String, line: Int, image: String)
    /// An image in quotes that goes on past its line.
    case multiLine(file: String, line: Int, image: String)
    /// An image whose bytes are not where the parser says (for example a tag on the line before it).
    case unlocatable(file: String, line: Int, image: String)
    /// A `$docket` marker with no scalar value just before it on its line.
    case markerWithoutValue(file: String, line: Int)
    /// A comment that looks like a `$docket` marker but is not one, or names no repository.
    case badMarker(file: String, line: Int, reason: String)
    /// A marker on an image of another repository.
    case markerConflict(file: String, line: Int, marker: String, image: String)
    /// The ledger's current digest for a repository is not a digest (a caller's bug).
    case badDigest(repository: String, digest: String)
    /// Images of repositories with no digest current in the environment (``PinnedFile/missing``).
    case notPromoted([MissingPin])
    /// The pinned text did not parse back to the original with only the pinned scalars changed. A bug:
    /// the file is not returned.
    case verificationFailed(file: String, reason: String)
    /// Aliases nested to stand for more nodes than the text could reasonably hold (an alias bomb).
    case aliasExpansion(file: String, line: Int, limit: Int)
    /// A merge key (`<<`) brings in an image: Kubernetes applies it, and pin does not rewrite through it.
    case mergeKey(file: String, line: Int)

    public var category: FailureCategory {
        switch self {
        case .badDigest, .verificationFailed: .failure
        default: .badInput
        }
    }

    public var description: String {
        switch self {
        case .notUTF8(let file, let line):
            "\(file):\(line): not UTF-8 text; docket pin reads UTF-8 manifests (convert it, e.g. with iconv)"
        case .notYAML(let file, let line, let problem):
            "\(file):\(line): not valid YAML (\(problem)); fix it: docket pin edits only what it can parse"
        case .anchor(let file, let line, let name):
            "\(file):\(line): anchor `&\(name)` in a document with images to pin; write the aliased parts out "
                + "in full there (an alias would make one edit change two places, or hide an image)"
        case .blockScalar(let file, let line, let image):
            "\(file):\(line): image `\(image)` is a block scalar (`|` or `>`); write it on one line, plain or quoted"
        case .multiLine(let file, let line, let image):
            "\(file):\(line): image `\(image)` goes on past its line; write it on one line"
        case .unlocatable(let file, let line, let image):
            "\(file):\(line): cannot find the text of `\(image)` on its line; write it on one line, plain or quoted"
        case .markerWithoutValue(let file, let line):
            "\(file):\(line): the `$docket` marker follows no value; put it after the `key: value` it pins, on "
                + "the same line"
        case .badMarker(let file, let line, let reason):
            "\(file):\(line): bad `$docket` marker: \(reason); write `# {\"$docket\": \"REPOSITORY\"}`"
        case .markerConflict(let file, let line, let marker, let image):
            "\(file):\(line): the `$docket` marker names \(marker) but the image is of \(image); correct one of them"
        case .badDigest(let repository, let digest):
            "the current digest of \(repository) is `\(digest)`, not `sha256:` and 64 lower-case hex digits"
        case .notPromoted(let missing):
            "no digest is current in the environment for "
                + missing.map { "\($0.file):\($0.line) \($0.repository) (`\($0.image)`)" }.joined(separator: ", ")
                + "; promote them there first, or take them out of the manifests (nothing was written)"
        case .aliasExpansion(let file, let line, let limit):
            "\(file):\(line): its YAML aliases stand for more than \(limit) nodes (an alias bomb?); docket pin "
                + "refuses it without expanding them: write the document without nested aliases"
        case .mergeKey(let file, let line):
            "\(file):\(line): a merge key (`<<`) brings in an image; Kubernetes applies merge keys and docket pin "
                + "does not rewrite through them: write the image in the container itself"
        case .verificationFailed(let file, let reason):
            "\(file): internal error: the pinned text does not read back as the original with only the images "
                + "changed (\(reason)); the file was left alone, please report this"
        }
    }
}
