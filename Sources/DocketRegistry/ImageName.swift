import DocketCore

/// An image as a registry addresses it (`registry.example/team/app:1.4`, `localhost:5000/app@sha256:…`): the
/// repository in Docket's normal form, split into the host the API is served from and the path after `/v2/`,
/// and the reference asked for (a tag, a digest, or both, when the digest wins).
public struct ImageName: Sendable, Equatable, CustomStringConvertible {
    /// The repository in normal form (`docker.io/library/nginx`): what the ledger names.
    public let repository: Repository
    public let tag: String?
    public let digest: Digest?

    /// `REPO`, `REPO:TAG`, `REPO@DIGEST` or `REPO:TAG@DIGEST`.
    public init(parsing text: String) throws {
        var rest = Substring(text)
        var digest: Digest? = nil
        if let at = rest.firstIndex(of: "@") {
            do {
                digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            } catch {
                throw RegistryError.badInput("\(text): the part after @ is not a sha256: digest")
            }
            rest = rest[..<at]
        }
        var tag: String? = nil
        // A colon after the last slash starts the tag; one before it belongs to a host's port.
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let candidate = String(rest[rest.index(after: colon)...])
            guard Statement.isValidTag(candidate) else {
                throw RegistryError.badInput("\(text): `\(candidate)` is not a valid image tag")
            }
            tag = candidate
            rest = rest[..<colon]
        }
        do {
            repository = try Repository(normalising: String(rest))
        } catch {
            throw RegistryError.badInput("\(text): \(error)")
        }
        self.tag = tag
        self.digest = digest
    }

    public init(repository: Repository, tag: String? = nil, digest: Digest? = nil) {
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// The host in the repository's name (`docker.io`, `localhost:5000`).
    public var host: String { String(repository.name.prefix { $0 != "/" }) }

    /// The host that serves the API: Docker Hub's names live at `registry-1.docker.io`.
    public var apiHost: String { host == "docker.io" ? "registry-1.docker.io" : host }

    /// The name after `/v2/` (`library/nginx`).
    public var path: String { String(repository.name.dropFirst(host.count + 1)) }

    /// What to ask the registry for: the digest when there is one, else the tag, else `latest`.
    public var reference: String { digest?.description ?? tag ?? "latest" }

    /// A host on this machine: `localhost` or `127.0.0.0/8`, with any port. (A repository's host is a name or
    /// an IPv4 address: the reference grammar has no IPv6 literal.)
    public var isLoopback: Bool {
        let bare = host.prefix { $0 != ":" }
        if bare == "localhost" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    public var description: String {
        repository.name + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }
}
