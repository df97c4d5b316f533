import DocketCore
import Foundation

/// What to log in to one registry host with, from the Docker `config.json` the user already has.
public enum Credential: Sendable, Equatable {
    case anonymous
    /// `auths.<host>.auth` (base64 of `user:password`) or `username` and `password`.
    case basic(username: String, password: String)
    /// `auths.<host>.identitytoken`: an OAuth2 refresh token, exchanged at the token endpoint.
    case identityToken(String)
}

/// The Docker client's credential file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), or the
/// containers tools' `$REGISTRY_AUTH_FILE` in the same format. Read once; only `auths` is used: a
/// `credsStore` or `credHelpers` entry means the secret lives in a helper program Docket does not run, which
/// the error for a refused login says.
public struct DockerConfig: Sendable {
    public let path: String?
    /// The file read, or the one Docket would read (for messages that tell the user where to log in).
    public let expectedPath: String
    private let auths: [String: Credential]
    private let helpers: Set<String>

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var candidates: [String] = []
        if let file = environment["REGISTRY_AUTH_FILE"], !file.isEmpty { candidates.append(file) }
        if let folder = environment["DOCKER_CONFIG"], !folder.isEmpty {
            candidates.append(folder + "/config.json")
        } else if let home = environment["HOME"], !home.isEmpty {
            candidates.append(home + "/.docker/config.json")
        }
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            self.init(path: nil, auths: [:], helpers: [], expected: candidates.first ?? "~/.docker/config.json")
            return
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else {
            throw RegistryError.badInput("\(path): cannot read it (or it is over 1 MiB); fix or move the file")
        }
        try self.init(parsing: data, path: path)
    }

    public init(parsing data: Data, path: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw RegistryError.badInput("\(path) is not a JSON object; fix it or point DOCKER_CONFIG elsewhere")
        }
        var auths: [String: Credential] = [:]
        for (key, value) in object["auths"] as? [String: Any] ?? [:] {
            guard let entry = value as? [String: Any] else {
                throw RegistryError.badInput("\(path): auths.\(key) is not an object")
            }
            let host = Self.host(of: key)
            if let token = entry["identitytoken"] as? String, !token.isEmpty {
                auths[host] = .identityToken(token)
            } else if let encoded = entry["auth"] as? String, !encoded.isEmpty {
                guard let decoded = Data(base64Encoded: encoded).flatMap({ String(data: $0, encoding: .utf8) }),
                    let colon = decoded.firstIndex(of: ":")
                else {
                    throw RegistryError.badInput(
                        "\(path): auths.\(key).auth is not base64 of user:password; log in again")
                }
                auths[host] = .basic(
                    username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
            } else if let user = entry["username"] as? String, let password = entry["password"] as? String {
                auths[host] = .basic(username: user, password: password)
            }
        }
        var helpers = Set((object["credHelpers"] as? [String: Any] ?? [:]).keys.map(Self.host(of:)))
        if object["credsStore"] is String { helpers.insert("*") }
        self.init(path: path, auths: auths, helpers: helpers, expected: path)
    }

    private init(path: String?, auths: [String: Credential], helpers: Set<String>, expected: String) {
        expectedPath = expected
        self.path = path
        self.auths = auths
        self.helpers = helpers
    }

    /// The credential for a registry host as Docket names it (`docker.io`, `localhost:5000`).
    public func credential(for host: String) -> Credential { auths[host] ?? .anonymous }

    /// Whether the secret for a host is kept by a credential helper (so an anonymous attempt was expected).
    public func usesHelper(for host: String) -> Bool {
        auths[host] == nil && (helpers.contains(host) || helpers.contains("*"))
    }

    /// `https://index.docker.io/v1/`, `registry.example:5000`, `http://localhost:5000/` → Docket's host name.
    static func host(of key: String) -> String {
        var text = Substring(key.lowercased())
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) { text = text.dropFirst(scheme.count) }
        let host = String(text.prefix { $0 != "/" })
        return ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"].contains(host)
            ? "docker.io" : host
    }
}
