import Foundation

public struct PolicyError: DocketFailure, Equatable {
    public var source: String
    public var path: String
    public var line: Int?
    public var reason: String

    public var category: FailureCategory { .badInput }

    public var description: String {
        let location = line.map { "\(source):\($0)" } ?? source
        return path.isEmpty ? "\(location): \(reason)" : "\(location): \(path): \(reason)"
    }
}
