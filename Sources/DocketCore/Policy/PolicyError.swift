import Foundation

public struct PolicyError: DocketFailure, Equatable {
    public var source: String
    public var path: String
    public var line: Int?
    public var reason: String

    public var category: FailureCategory { .badInput }

    public init(source: String, path: String, line: Int?, reason: String) {
        self.source = source
        self.path = path
        self.line = line
        self.reason = reason
    }

    public var description: String {
        let location = line.map { "\(source):\($0)" } ?? source
        return path.isEmpty ? "\(location): \(reason)" : "\(location): \(path): \(reason)"
    }
}
