import DocketCore
import Foundation

/// The manifest media types Docket asks for, all at once, so a registry never has to choose one for it (a
/// registry answers a request without the list type with one platform's manifest, and one without the OCI
/// index type with 404).
public enum ManifestMediaType {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"

    public static let all = [ociIndex, dockerList, ociManifest, dockerManifest]
    public static let indexes: Set<String> = [ociIndex, dockerList]

    /// The `Accept` header: every type above.
    public static var accept: String { all.joined(separator: ", ") }
}

/// A manifest as a registry served it: the bytes exactly as received, what they hash to, and its media type.
/// Never re-serialised: a retag or a copy puts these bytes back.
public struct Manifest: Sendable, Equatable {
    public let bytes: Data
    /// SHA-256 of ``bytes``: the manifest's digest, computed here, never taken from a header.
    public let digest: Digest
    public let mediaType: String

    /// Reads the media type from the registry's `Content-Type` (parameters dropped), falling back to the
    /// manifest's own `mediaType` field, and refuses a body that is not one of the four manifest types.
    public init(bytes: Data, contentType: String?, source: String) throws {
        self.bytes = bytes
        guard let digest = try? Digest(hex: SHA256.hash(bytes).hex) else {
            throw RegistryError("\(source): could not hash the manifest")
        }
        self.digest = digest
        let header = contentType.map { String($0.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces) }
        let declared = (try? JSONSerialization.jsonObject(with: bytes) as? [String: Any])?["mediaType"] as? String
        guard let type = [header, declared].compactMap({ $0 }).first(where: ManifestMediaType.all.contains) else {
            throw RegistryError(
                "\(source): the registry served `\(header ?? "no Content-Type")`, not an image manifest or index")
        }
        mediaType = type
    }

    public var isIndex: Bool { ManifestMediaType.indexes.contains(mediaType) }

    /// An index's child manifests, or an image manifest's config and layer blobs, as the manifest lists them.
    public func descriptors() throws -> (manifests: [Descriptor], blobs: [Descriptor]) {
        guard let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
            throw RegistryError("manifest \(digest) is not a JSON object")
        }
        func list(_ value: Any?, _ field: String) throws -> [Descriptor] {
            guard let value else { return [] }
            guard let items = value as? [[String: Any]] else {
                throw RegistryError("manifest \(digest): `\(field)` is not a list of descriptors")
            }
            return try items.map { try Descriptor($0, in: "manifest \(digest) \(field)") }
        }
        if isIndex { return (try list(object["manifests"], "manifests"), []) }
        guard let config = object["config"] else {
            throw RegistryError("manifest \(digest) has no config descriptor")
        }
        return ([], try list([config], "config") + list(object["layers"], "layers"))
    }
}

/// An OCI content descriptor: what a manifest says another object is.
public struct Descriptor: Sendable, Equatable {
    public let digest: Digest
    public let size: Int64
    public let mediaType: String?

    init(_ object: [String: Any], in source: String) throws {
        guard let text = object["digest"] as? String, let digest = try? Digest(parsing: text) else {
            throw RegistryError("\(source): a descriptor without a sha256: digest (Docket copies sha256 content only)")
        }
        guard let size = (object["size"] as? NSNumber)?.int64Value, size >= 0 else {
            throw RegistryError("\(source): descriptor \(digest) has no size")
        }
        self.digest = digest
        self.size = size
        mediaType = object["mediaType"] as? String
    }
}
