import AsyncHTTPClient
import DocketCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

extension RegistryClient {
    // MARK: Copy

    /// What a copy did: blobs the target already had, mounted from the source, or uploaded through here.
    public struct CopyReport: Sendable, Equatable, Codable {
        public var manifests = 0
        public var blobsPresent = 0
        public var blobsMounted = 0
        public var blobsUploaded = 0
    }

    /// Copies `digest` from one repository to another (on the same registry or another): each blob by
    /// cross-repository mount, uploaded when the registry will not mount it; an index's children by digest
    /// before the index; then, if given, the tag. The copy has the same digest, because the bytes are the same.
    @discardableResult
    public func copy(_ digest: Digest, from source: Repository, to target: Repository, tag: String? = nil) throws
        -> CopyReport
    {
        var report = CopyReport()
        try copyManifest(digest, from: source, to: target, report: &report, depth: 0)
        if let tag { try retag(target, digest: digest, tag: tag) }
        return report
    }

    func copyManifest(
        _ digest: Digest, from source: Repository, to target: Repository, report: inout CopyReport, depth: Int
    ) throws {
        guard depth < 4 else { throw RegistryError("\(source)@\(digest): indexes nest deeper than Docket follows") }
        guard let manifest = try manifestIfPresent(ImageName(repository: source, digest: digest)) else {
            throw RegistryError(
                depth == 0
                    ? "\(source)@\(digest): \(ImageName(repository: source).host) does not have it (404)"
                    : "an index in \(source) lists \(digest), which \(source) does not have (404); push the missing platform first",
                category: depth == 0 ? .badInput : .failure, status: 404)
        }
        let (children, blobs) = try manifest.descriptors()
        for child in children {
            try copyManifest(child.digest, from: source, to: target, report: &report, depth: depth + 1)
        }
        for blob in blobs { try copyBlob(blob, from: source, to: target, report: &report) }
        try put(manifest, in: target, as: digest.description)
        report.manifests += 1
    }

    func copyBlob(_ blob: Descriptor, from source: Repository, to target: Repository, report: inout CopyReport)
        throws
    {
        let targetImage = ImageName(repository: target)
        let sourceImage = ImageName(repository: source)
        let head = try send(.HEAD, targetImage, "blobs/\(blob.digest)", push: true)
        if head.status == .ok {
            report.blobsPresent += 1
            return
        }
        var query = ""
        if sourceImage.apiHost == targetImage.apiHost {
            query = "?mount=\(blob.digest)&from=\(sourceImage.path)"
        }
        let start = try send(
            .POST, targetImage, "blobs/uploads/\(query)", push: true, mountFrom: query.isEmpty ? nil : source)
        if start.status == .created {
            report.blobsMounted += 1
            return
        }
        try expect(start, [.accepted], "POST \(target) blob upload")
        guard let location = start.headers.first(name: "Location") else {
            throw RegistryError("\(targetImage.host) started an upload for \(target) without a Location")
        }
        guard blob.size <= Self.blobLimit else {
            throw RegistryError(
                "\(source)@\(blob.digest) is \(blob.size) bytes and \(targetImage.host) will not mount it; Docket uploads blobs up to 2 GiB"
            )
        }
        let got = try send(.GET, sourceImage, "blobs/\(blob.digest)", limit: Int(blob.size))
        try expect(got, [.ok], "GET \(source) blob \(blob.digest)")
        let bytes = got.data
        guard bytes.count == blob.size, SHA256.hash(bytes).hex == blob.digest.hex else {
            throw RegistryError(
                "\(sourceImage.host) served blob \(blob.digest) of \(source) as other bytes; nothing was uploaded")
        }
        let separator = location.contains("?") ? "&" : "?"
        let put = try send(
            .PUT, targetImage, location + separator + "digest=" + blob.digest.description,
            headers: [("Content-Type", "application/octet-stream")], body: bytes, push: true, absolute: true)
        try expect(put, [.created], "PUT \(target) blob \(blob.digest)")
        report.blobsUploaded += 1
    }
}
