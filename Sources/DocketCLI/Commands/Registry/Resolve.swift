import ArgumentParser
import DocketCore
import DocketRegistry

extension Docket {
    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resolve",
            abstract: "Ask the registry which digest a tag names (the bytes served are hashed; no header is trusted).",
            discussion:
                "Credentials come from the Docker config.json ($DOCKER_CONFIG, ~/.docker, or $REGISTRY_AUTH_FILE). Plain HTTP only for a registry on this machine or one named in $DOCKET_INSECURE_REGISTRIES. Exit 2 for a name the registry does not have, 3 when it cannot be reached or serves bytes that do not match."
        )

        @Flag(name: .long, help: "Machine-readable output (JSON).") var json = false

        @Argument(help: "The image: REPOSITORY:TAG (or REPOSITORY@sha256:…, checked).") var image: String

        func run() throws {
            let name = try ImageName(parsing: image)
            let manifest = try RegistryClient().manifest(name)
            let answer = Resolved(
                image: name.description, repository: name.repository.name, tag: name.tag,
                digest: manifest.digest.description, mediaType: manifest.mediaType)
            if json {
                print(try Terminal.json(answer))
            } else {
                Terminal.out(answer.digest)
            }
        }

        struct Resolved: Encodable {
            var image: String
            var repository: String
            var tag: String?
            var digest: String
            var mediaType: String
        }
    }
}
