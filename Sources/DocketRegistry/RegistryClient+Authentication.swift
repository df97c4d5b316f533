import AsyncHTTPClient
import DocketCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

extension RegistryClient {
    // MARK: Authentication

    func authorization(_ host: String, _ scope: String) -> [(String, String)] {
        if let token = tokens[host + " " + scope] { return [("Authorization", "Bearer " + token)] }
        if basicHosts.contains(host), case .basic(let user, let password) = config.credential(for: host) {
            return [("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
        }
        return []
    }

    /// Answers a `WWW-Authenticate` challenge: `Basic` with the configured user, or `Bearer` by asking the
    /// challenge's realm for a token for the scope (with the user's password or identity token, or anonymously).
    func authenticate(_ image: ImageName, challenge: String, scope: String) throws {
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

    func token(realm: String, service: String?, scope: String, credential: Credential, host: String) throws
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
