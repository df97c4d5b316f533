import Foundation

extension DecodingError {
    /// "at predicate.environment: …" for people.
    var readable: String {
        func path(_ context: Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at \(p.replacingOccurrences(of: ".[", with: "["))"
        }
        switch self {
        case .keyNotFound(let key, let context): return "missing field `\(key.stringValue)`\(path(context))"
        case .typeMismatch(let type, let context): return "wrong type\(path(context)), expected \(type)"
        case .valueNotFound(_, let context): return "missing value\(path(context))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "invalid JSON" : "invalid value\(path(context)): \(context.debugDescription)"
        @unknown default: return "cannot decode"
        }
    }
}
