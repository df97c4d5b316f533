import DocketCore
import Foundation
import Testing

@testable import DocketRegistry

/// The parts of the registry client that need no registry: names, credentials, challenges and manifests.
/// Everything that talks to one runs against Debian's `docker-registry` in tools/tests/test_registry.py.
@Suite struct ImageNameTests {
    @Test func splitsHostPathTagAndDigest() throws {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let name = try ImageName(parsing: "localhost:5000/team/app:1.4@\(digest)")
        #expect(name.repository.name == "localhost:5000/team/app")
        #expect(name.host == "localhost:5000")
        #expect(name.path == "team/app")
        #expect(name.tag == "1.4")
        #expect(name.reference == digest)
        #expect(name.isLoopback)
    }

    @Test func dockerHubNamesUseItsAPIHost() throws {
        let name = try ImageName(parsing: "nginx:1.25")
        #expect(name.repository.name == "docker.io/library/nginx")
        #expect(name.apiHost == "registry-1.docker.io")
        #expect(name.path == "library/nginx")
        #expect(!name.isLoopback)
        #expect(try ImageName(parsing: "registry.example/app").reference == "latest")
    }

    @Test func loopbackIsOnlyThisMachine() throws {
        #expect(try ImageName(parsing: "127.0.0.1:5000/app").isLoopback)
        #expect(try ImageName(parsing: "127.9.9.9/app").isLoopback)
        #expect(try !ImageName(parsing: "127.0.0.1.example/app").isLoopback)
        #expect(try !ImageName(parsing: "localhost.example:5000/app").isLoopback)
    }

    @Test func refusesWhatIsNotAnImage() {
        #expect(throws: RegistryError.self) { try ImageName(parsing: "app@sha256:12") }
        #expect(throws: RegistryError.self) { try ImageName(parsing: "registry.example/App:1") }
        #expect(throws: RegistryError.self) { try ImageName(parsing: "registry.example/app:-bad") }
    }
}

@Suite struct CredentialTests {
    @Test func readsAuthUsernameAndIdentityToken() throws {
        let json = """
            {"auths": {
              "https://index.docker.io/v1/": {"auth": "\(Data("hub:secret:with:colons".utf8).base64EncodedString())"},
              "localhost:5000": {"username": "ci", "password": "pw"},
              "registry.example": {"identitytoken": "refresh-me"}
            }, "credHelpers": {"helper.example": "ecr-login"}}
            """
        let config = try DockerConfig(parsing: Data(json.utf8), path: "config.json")
        #expect(config.credential(for: "docker.io") == .basic(username: "hub", password: "secret:with:colons"))
        #expect(config.credential(for: "localhost:5000") == .basic(username: "ci", password: "pw"))
        #expect(config.credential(for: "registry.example") == .identityToken("refresh-me"))
        #expect(config.credential(for: "other.example") == .anonymous)
        #expect(config.usesHelper(for: "helper.example"))
        #expect(!config.usesHelper(for: "other.example"))
    }

    @Test func badFilesAreNamed() {
        #expect {
            try DockerConfig(parsing: Data("[]".utf8), path: "/home/u/.docker/config.json")
        } throws: { error in
            "\(error)".contains("/home/u/.docker/config.json") && (error as? RegistryError)?.category == .badInput
        }
        #expect(throws: RegistryError.self) {
            try DockerConfig(parsing: Data(#"{"auths":{"h":{"auth":"bm9jb2xvbg=="}}}"#.utf8), path: "c.json")
        }
    }

    @Test func findsTheFileTheUserHas() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("docker-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"auths":{"localhost:5000":{"username":"u","password":"p"}}}"#.utf8).write(
            to: folder.appendingPathComponent("config.json"))
        let config = try DockerConfig(environment: ["DOCKER_CONFIG": folder.path, "HOME": "/nonexistent"])
        #expect(config.credential(for: "localhost:5000") == .basic(username: "u", password: "p"))
        #expect(try DockerConfig(environment: ["HOME": "/nonexistent"]).path == nil)
    }
}

@Suite struct ChallengeTests {
    @Test func parsesBearerChallenges() {
        let (kind, fields) = RegistryClient.parseChallenge(
            #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#)
        #expect(kind == "bearer")
        #expect(fields["realm"] == "https://auth.example/token")
        #expect(fields["service"] == "registry.example")
        #expect(fields["scope"] == "repository:a/b:pull,push")
        #expect(RegistryClient.parseChallenge(#"Basic realm="Registry Realm""#).0 == "basic")
        #expect(RegistryClient.parseChallenge(#"Bearer realm="a\"b""#).1["realm"] == #"a"b"#)
    }
}

@Suite struct ManifestTests {
    @Test func digestIsTheHashOfTheBytes() throws {
        let bytes = Data(
            #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.utf8)
        let manifest = try Manifest(
            bytes: bytes, contentType: "application/vnd.oci.image.index.v1+json; x=y", source: "t")
        #expect(manifest.digest.hex == SHA256.hash(bytes).hex)
        #expect(manifest.isIndex)
        #expect(try manifest.descriptors().manifests.isEmpty)
        // A Content-Type that is not a manifest type falls back to the body's own mediaType.
        let fallback = try Manifest(bytes: bytes, contentType: "application/json", source: "t")
        #expect(fallback.mediaType == ManifestMediaType.ociIndex)
    }

    @Test func refusesWhatIsNotAManifest() {
        #expect(throws: RegistryError.self) {
            try Manifest(bytes: Data("<html>".utf8), contentType: "text/html", source: "proxy")
        }
        let noConfig = Data(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#.utf8)
        #expect(throws: RegistryError.self) {
            try Manifest(bytes: noConfig, contentType: nil, source: "t").descriptors()
        }
    }
}
