import Foundation

/// The first line of a bundle.
public struct BundleHeader: Codable, Sendable, Equatable {
    public static let format = "docket-bundle/v1"

    public var format: String
    public var origin: String
    /// The log's verifier key text (`origin+keyid+base64`).
    public var logKey: String
    /// The signed checkpoint note covering exactly the entries that follow.
    public var checkpoint: String
    public var size: Int
    /// Checkpoints cosigned by witnesses (signed notes), if any.
    public var witnessed: [String]?
}

extension BundleHeader {
    /// The header as its bundle line: sorted keys, then a newline.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }
}
