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
    private var tokens: [String: String] = [:]
    private var basicHosts: Set<String> = []

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

    private func copyManifest(
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

    private func copyBlob(_ blob: Descriptor, from source: Repository, to target: Repository, report: inout CopyReport)
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

    // MARK: HTTP

    struct Answer {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let data: Data
    }

    private func scheme(_ image: ImageName) -> String {
        image.isLoopback || insecureHosts.contains(image.host) ? "http" : "https"
    }

    /// One request to the registry's `/v2/<name>/` API, answering its auth challenge once. `path` is relative to
    /// the repository, or with `absolute` an upload `Location` (a path or a URL on the same registry).
    private func send(
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

    private func execute(_ method: HTTPMethod, _ url: String, headers: [(String, String)], body: Data?, limit: Int)
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

    private func expect(_ answer: Answer, _ statuses: [HTTPResponseStatus], _ what: String) throws {
        guard statuses.contains(answer.status) else {
            let detail = Self.registryMessage(answer.data) ?? "HTTP \(answer.status.code)"
            throw RegistryError(
                "\(what): the registry answered \(answer.status.code): \(detail)", status: Int(answer.status.code))
        }
    }

    /// `Docker-Content-Digest`, when present, must be the digest of the bytes: a registry (or a proxy) that
    /// says otherwise is lying about what it stored.
    private func checkHeaderDigest(_ answer: Answer, against digest: Digest, what: String) throws {
        guard let header = answer.headers.first(name: "Docker-Content-Digest") else { return }
        guard header == digest.description else {
            throw RegistryError(
                "\(what): the registry's Docker-Content-Digest says \(header), but the manifest's bytes hash to \(digest); not trusting it"
            )
        }
    }

    // MARK: Authentication

    private func authorization(_ host: String, _ scope: String) -> [(String, String)] {
        if let token = tokens[host + " " + scope] { return [("Authorization", "Bearer " + token)] }
        if basicHosts.contains(host), case .basic(let user, let password) = config.credential(for: host) {
            return [("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
        }
        return []
    }

    /// Answers a `WWW-Authenticate` challenge: `Basic` with the configured user, or `Bearer` by asking the
    /// challenge's realm for a token for the scope (with the user's password or identity token, or anonymously).
    private func authenticate(_ image: ImageName, challenge: String, scope: String) throws {
        let (kind, parameters) = Self.parseChallenge(challenge)
        let credential = config.credential(for: image.host)
        switch kind {
        case "basic":
            guard case .basic = credential else {
                throw RegistryError(
                    "\(image.host) asks for a user name and password; log in with `docker login \(image.host)` (Docket reads \(config.expectedPath))",
                    status: 401)
            }
            basicHosts.insert(image.host)
        case "bearer":
            guard let realm = parameters["realm"], let realmURL = URL(string: realm), let realmHost = realmURL.host,
                ["https", "http"].contains(realmURL.scheme ?? "")
            else {
                throw RegistryError("\(image.host) sent a bearer challenge without a usable realm: \(challenge)")
            }
            let realmName = try ImageName(parsing: realmHost + (realmURL.port.map { ":\($0)" } ?? "") + "/token")
            if realmURL.scheme == "http", !realmName.isLoopback, !insecureHosts.contains(realmName.host),
                credential != .anonymous
            {
                throw RegistryError(
                    "\(image.host) wants credentials sent to \(realm) over plain HTTP; refused (name the host in DOCKET_INSECURE_REGISTRIES to allow it)"
                )
            }
            tokens[image.host + " " + scope] = try token(
                realm: realm, service: parameters["service"], scope: scope, credential: credential, host: image.host)
        default:
            throw RegistryError("\(image.host) asks for `\(kind)` authentication, which Docket does not speak")
        }
    }

    private func token(realm: String, service: String?, scope: String, credential: Credential, host: String) throws
        -> String
    {
        var query: [(String, String)] = []
        if let service { query.append(("service", service)) }
        for one in scope.split(separator: " ") { query.append(("scope", String(one))) }
        let answer: Answer
        let encoded = query.map { "\($0)=\(Self.formEncode($1))" }.joined(separator: "&")
        switch credential {
        case .identityToken(let refresh):
            let form = encoded + "&grant_type=refresh_token&client_id=docket&refresh_token=" + Self.formEncode(refresh)
            answer = try execute(
                .POST, realm, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(form.utf8),
                limit: 1 << 16)
        case .basic, .anonymous:
            var headers: [(String, String)] = []
            if case .basic(let user, let password) = credential {
                headers.append(("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()))
            }
            answer = try execute(
                .GET, realm + (realm.contains("?") ? "&" : "?") + encoded, headers: headers, body: nil, limit: 1 << 16)
        }
        guard answer.status == .ok,
            let object = try? JSONSerialization.jsonObject(with: answer.data) as? [String: Any],
            let token = (object["token"] as? String) ?? (object["access_token"] as? String), !token.isEmpty
        else {
            throw RegistryError(
                "\(host)'s token service \(realm) gave no token (HTTP \(answer.status.code)); log in with `docker login \(host)`",
                status: Int(answer.status.code))
        }
        return token
    }

    /// `Bearer realm="https://auth.example/token",service="registry.example",scope="…"` → ("bearer", fields).
    static func parseChallenge(_ text: String) -> (String, [String: String]) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let kind = String(trimmed.prefix { $0 != " " }).lowercased()
        var fields: [String: String] = [:]
        var rest = Substring(trimmed.dropFirst(kind.count))
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let c = rest.first, c != "\"" {
                    if c == "\\", let next = rest.dropFirst().first {
                        value.append(next)
                        rest = rest.dropFirst(2)
                    } else {
                        value.append(c)
                        rest = rest.dropFirst()
                    }
                }
                rest = rest.dropFirst()
            } else {
                value = String(rest.prefix { $0 != "," })
                rest = rest.dropFirst(value.count)
            }
            fields[key] = value.trimmingCharacters(in: .whitespaces)
        }
        return (kind, fields)
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The first `errors[].message` of an OCI error body.
    static func registryMessage(_ data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let errors = object["errors"] as? [[String: Any]], let first = errors.first
        else { return nil }
        return [first["code"] as? String, first["message"] as? String].compactMap { $0 }.joined(separator: ": ")
    }

}
