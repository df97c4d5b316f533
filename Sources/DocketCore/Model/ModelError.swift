/// Input that does not describe a valid event: wrong digest, unknown role, bad statement.
public enum ModelError: DocketFailure, Equatable {
    case tagNotDigest(String)
    case malformedDigest(String, reason: String)
    case unknownRole(String)
    case unknownKind(String)
    case badStatement(source: String, reason: String)
    case badField(field: String, reason: String)
    case badRepository(String, reason: String)

    public var category: FailureCategory { .badInput }

    public var description: String {
        switch self {
        case .tagNotDigest(let text):
            "`\(text)` is a tag, and tags move; give the image digest instead (sha256: and 64 hex digits), for example "
                + "from `docker buildx imagetools inspect \(text)` or `crane digest \(text)`"
        case .malformedDigest(let text, let reason):
            "`\(text)` is not an image digest: \(reason); a digest is `sha256:` followed by 64 lower-case hex digits"
        case .unknownRole(let role):
            "unknown role `\(role)`; roles (lower case) are \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
        case .unknownKind(let kind): "unknown event kind `\(kind)`"
        case .badStatement(let source, let reason): "\(source): not a Docket in-toto statement: \(reason)"
        case .badField(let field, let reason): "\(field): \(reason)"
        case .badRepository(let text, let reason): "`\(text)` is not a repository name: \(reason)"
        }
    }
}
