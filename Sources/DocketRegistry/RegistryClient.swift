import AsyncHTTPClient
import DocketCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// An OCI distribution client (DESIGN §9) that trusts bytes, never headers: a manifest's digest is what its
/// bytes hash to, a retag puts the same bytes back under the tag, a copy moves children before the index that
/// lists them, and a registry whose `Docker-Content-Digest` disagrees with the bytes is reported, not believed.
///
/// Authentication follows the registry's `WWW-Authenticate` challenge: anonymous first, then basic or a bearer
/// token for the scope asked, with the credential from the user's Docker `config.json`. Plain HTTP is used only
/// for a registry on this machine or one named in `DOCKET_INSECURE_REGISTRIES`.
public final class RegistryClient {
    let client: HTTPClient
    let config: DockerConfig
    /// The most one request may take, whole (`DOCKET_REGISTRY_TIMEOUT` seconds, default 60; blobs get 30 times
    /// as long): a registry that trickles its answer a byte at a time cannot hold a command past it.
    let deadline: TimeAmount
    let insecureHosts: Set<String>
    /// Bearer tokens by host and scope, and the hosts that asked for basic auth.
    var tokens: [String: String] = [:]
    var basicHosts: Set<String> = []

    /// The largest manifest accepted (the OCI distribution spec's recommended minimum for registries).
    public static let manifestLimit = 4 << 20
    /// The largest blob copied through this machine when a registry will not mount it.
    public static let blobLimit = 1 << 31

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        config = try DockerConfig(environment: environment)
        var seconds: Int64 = 60
        if let text = environment["DOCKET_REGISTRY_TIMEOUT"], !text.isEmpty {
            guard let value = Int64(text), (1...3600).contains(value) else {
                throw RegistryError.badInput("DOCKET_REGISTRY_TIMEOUT=\(text): give whole seconds from 1 to 3600")
            }
            seconds = value
        }
        deadline = .seconds(seconds)
        insecureHosts = Set(
            (environment["DOCKET_INSECURE_REGISTRIES"] ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }.filter { !$0.isEmpty })
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(60)))
        if let ca = environment["DOCKET_REGISTRY_CA_FILE"] ?? environment["DOCKET_CA_FILE"], !ca.isEmpty {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    // MARK: Manifests

    /// The manifest the registry serves for a tag or digest, every manifest type accepted, its digest computed
    /// from the bytes. Asked by digest, bytes that hash to anything else are refused. nil when the registry
    /// has no such manifest (404).
    public func manifestIfPresent(_ image: ImageName) throws -> Manifest? {
        let response = try send(
            .GET, image, "manifests/\(image.reference)", headers: [("Accept", ManifestMediaType.accept)],
            limit: Self.manifestLimit)
        if response.status == .notFound { return nil }
        try expect(response, [.ok], "GET \(image) manifest")
        let manifest = try Manifest(
            bytes: response.data, contentType: response.headers.first(name: "Content-Type"), source: "\(image)")
        if let expected = image.digest, manifest.digest != expected {
            throw RegistryError(
                "\(image.host) served \(image.repository)@\(expected) as bytes that hash to \(manifest.digest); the registry or a proxy changed it"
            )
        }
        try checkHeaderDigest(response, against: manifest.digest, what: "GET \(image)")
        return manifest
    }

    public func manifest(_ image: ImageName) throws -> Manifest {
        guard let manifest = try manifestIfPresent(image) else {
            throw RegistryError(
                "\(image): \(image.host) has no such manifest (404); check the name and tag, or push it first",
                category: .badInput, status: 404)
        }
        return manifest
    }

    /// The digest a tag (or digest) resolves to, hashed from the bytes served.
    public func resolve(_ image: ImageName) throws -> Digest { try manifest(image).digest }

    /// Puts a manifest's bytes, unchanged, under a tag or its digest, with its media type as `Content-Type`,
    /// and checks the digest the registry says it stored.
    public func put(_ manifest: Manifest, in repository: Repository, as reference: String) throws {
        let image = ImageName(repository: repository)
        let response = try send(
            .PUT, image, "manifests/\(reference)", headers: [("Content-Type", manifest.mediaType)],
            body: manifest.bytes, push: true)
        try expect(response, [.created, .ok], "PUT \(repository):\(reference)")
        try checkHeaderDigest(response, against: manifest.digest, what: "PUT \(repository):\(reference)")
    }

    /// Points `tag` at `digest` in the same repository, with the very bytes the registry holds for the digest:
    /// fetched by digest (hash checked), put under the tag, then the tag resolved again and checked.
    public func retag(_ repository: Repository, digest: Digest, tag: String) throws {
        let manifest = try self.manifest(ImageName(repository: repository, digest: digest))
        try put(manifest, in: repository, as: tag)
        let now = try resolve(ImageName(repository: repository, tag: tag))
        guard now == digest else {
            throw RegistryError(
                "\(repository):\(tag) resolves to \(now) after being set to \(digest); the registry did not keep the bytes"
            )
        }
    }

    // MARK: HTTP

    struct Answer {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let data: Data
    }

    func scheme(_ image: ImageName) -> String {
        image.isLoopback || insecureHosts.contains(image.host) ? "http" : "https"
    }

    /// One request to the registry's `/v2/<name>/` API, answering its auth challenge once. `path` is relative to
    /// the repository, or with `absolute` an upload `Location` (a path or a URL on the same registry).
    func send(
        _ method: HTTPMethod, _ image: ImageName, _ path: String, headers extra: [(String, String)] = [],
        body: Data? = nil, limit: Int = 1 << 20, push: Bool = false, mountFrom: Repository? = nil,
        absolute: Bool = false
    ) throws -> Answer {
        let base = "\(scheme(image))://\(image.apiHost)"
        var url = absolute ? path : "\(base)/v2/\(image.path)/\(path)"
        if absolute, path.hasPrefix("/") { url = base + path }
        guard absolute == false || url.hasPrefix(base + "/") else {
            throw RegistryError("\(image.host) sent an upload Location on another host (\(path)); not following it")
        }
        var scope = "repository:\(image.path):" + (push ? "pull,push" : "pull")
        if let mountFrom { scope += " repository:\(ImageName(repository: mountFrom).path):pull" }
        var answer = try execute(
            method, url, headers: extra + authorization(image.host, scope), body: body, limit: limit)
        if answer.status == .unauthorized, let challenge = answer.headers.first(name: "WWW-Authenticate") {
            try authenticate(image, challenge: challenge, scope: scope)
            answer = try execute(
                method, url, headers: extra + authorization(image.host, scope), body: body, limit: limit)
        }
        // A blob may be served from elsewhere (a storage bucket): followed without our credentials.
        var hops = 0
        while [301, 302, 303, 307, 308].contains(answer.status.code), method == .GET || method == .HEAD,
            let location = answer.headers.first(name: "Location"), hops < 5
        {
            hops += 1
            let next = location.hasPrefix("/") ? base + location : location
            answer = try execute(method, next, headers: extra, body: nil, limit: limit)
        }
        if answer.status == .unauthorized || answer.status == .forbidden {
            let helper =
                config.usesHelper(for: image.host)
                ? " (the credential is kept by a Docker credential helper, which Docket does not run; put it in `auths` or REGISTRY_AUTH_FILE)"
                : ""
            throw RegistryError(
                "\(image.host) refused \(push ? "push" : "pull") access to \(image.repository) (HTTP \(answer.status.code)); log in with `docker login \(image.host)` (Docket reads \(config.expectedPath))\(helper)",
                status: Int(answer.status.code))
        }
        return answer
    }

    func execute(_ method: HTTPMethod, _ url: String, headers: [(String, String)], body: Data?, limit: Int)
        throws -> Answer
    {
        let allowed = limit > Self.manifestLimit ? deadline * 30 : deadline
        do {
            var fields = HTTPHeaders(headers)
            fields.replaceOrAdd(name: "User-Agent", value: "docket/0.1")
            let request = try HTTPClient.Request(
                url: url, method: method, headers: fields, body: body.map { .data($0) })
            let accumulator = ResponseAccumulator(request: request, maxBodySize: limit)
            let response = try client.execute(request: request, delegate: accumulator, deadline: .now() + allowed)
                .futureResult.wait()
            return Answer(
                status: response.status, headers: response.headers,
                data: response.body.map { Data(buffer: $0) } ?? Data())
        } catch let error as ResponseAccumulator.ResponseTooBigError {
            throw RegistryError("\(method) \(url): the answer is larger than \(error.maxBodySize) bytes; refused")
        } catch let error as RegistryError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw RegistryError(
                "the registry at \(url) did not answer within \(allowed.nanoseconds / 1_000_000_000) s; try again, or raise DOCKET_REGISTRY_TIMEOUT"
            )
        } catch {
            throw RegistryError("cannot reach the registry at \(url): \(transportProblem(error, peer: "the registry"))")
        }
    }

    func expect(_ answer: Answer, _ statuses: [HTTPResponseStatus], _ what: String) throws {
        guard statuses.contains(answer.status) else {
            let detail = Self.registryMessage(answer.data) ?? "HTTP \(answer.status.code)"
            throw RegistryError(
                "\(what): the registry answered \(answer.status.code): \(detail)", status: Int(answer.status.code))
        }
    }

    /// `Docker-Content-Digest`, when present, must be the digest of the bytes: a registry (or a proxy) that
    /// says otherwise is lying about what it stored.
    func checkHeaderDigest(_ answer: Answer, against digest: Digest, what: String) throws {
        guard let header = answer.headers.first(name: "Docker-Content-Digest") else { return }
        guard header == digest.description else {
            throw RegistryError(
                "\(what): the registry's Docker-Content-Digest says \(header), but the manifest's bytes hash to \(digest); not trusting it"
            )
        }
    }

}
