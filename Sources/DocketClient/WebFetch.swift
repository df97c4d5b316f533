import AsyncHTTPClient
import DocketCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// One bounded GET to a service that is not a Docket server: an OIDC issuer's discovery document and key set
/// (`docket trust oidc refresh --fetch`), or a CI runner's token endpoint (`--oidc github`). A 10-second deadline,
/// no retries, at most `limit` bytes, and anything but 200 is an error that names the URL.
public enum WebFetch {
    public static func get(_ url: String, headers: [(String, String)] = [], limit: Int = 1 << 20) throws -> Data {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(10)))
        configuration.redirectConfiguration = .disallow
        if let ca = ProcessInfo.processInfo.environment["DOCKET_CA_FILE"], !ca.isEmpty {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            configuration.tlsConfiguration = tls
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { try? client.syncShutdown() }
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.add(name: name, value: value) }
        let response: HTTPClient.Response
        do {
            let request = try HTTPClient.Request(url: url, method: .GET, headers: fields)
            response = try client.execute(request: request, deadline: .now() + .seconds(10)).wait()
        } catch {
            throw RemoteError(
                description: "cannot GET \(url): \(transportProblem(error, peer: "it"))", category: .failure)
        }
        guard response.status == .ok else {
            throw RemoteError(
                description: "GET \(url) answered HTTP \(response.status.code), not 200", category: .failure,
                status: Int(response.status.code))
        }
        let body = response.body.map { Data(buffer: $0) } ?? Data()
        guard body.count <= limit else {
            throw RemoteError(description: "GET \(url) answered more than \(limit) bytes", category: .failure)
        }
        return body
    }
}
