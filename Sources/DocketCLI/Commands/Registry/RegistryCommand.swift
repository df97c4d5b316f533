import ArgumentParser
import DocketCore
import DocketRegistry

extension Docket {
    struct RegistryCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registry", abstract: "The image registry against the ledger (DESIGN §9).",
            subcommands: [Check.self, Sync.self, Copy.self])
    }
}

extension Docket.RegistryCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract:
                "Report every environment tag in the registry that points elsewhere than the ledger's current digest.",
            discussion:
                "The tags checked for each repository are its pipeline's registry.tags for the environment and those its current promotion moved (in the repository it recorded). Exit 0 when every tag agrees, 1 when one points elsewhere or is missing, 3 when the registry cannot be asked."
        )

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "The environment.") var env: String

        @Option(name: .long, help: "Check only this repository.") var repo: String?

        func run() throws {
            let ledger = try options.open(readOnly: true)
            let rows = try Self.rows(ledger, env: env, repo: repo, registry: try RegistryClient())
            let disagreeing = rows.filter(\.state.disagrees).count
            try options.output(Report(environment: env, tags: rows, ok: disagreeing == 0)) {
                render(rows, disagreeing: disagreeing)
            }
            if disagreeing > 0 { throw ExitCode(ExitStatus.no) }
        }

        /// Every environment tag of `env` (in `repo`, or every repository) against the ledger's current digest.
        static func rows(_ ledger: Ledger, env: String, repo: String?, registry: RegistryClient) throws -> [Row] {
            let repositories = try repo.map { [try Repository(normalising: $0).name] } ?? ledger.queries.repositories()
            var rows: [Row] = []
            for repository in repositories {
                let (where_, tags, current) = try expectations(ledger, repository, env: env)
                for tag in tags {
                    let image = ImageName(repository: where_, tag: tag)
                    let served = try registry.manifestIfPresent(image)?.digest
                    let state: Row.State =
                        served == nil
                        ? (current == nil ? .absent : .missing)
                        : served == current?.digest ? .ok : .drift
                    rows.append(
                        Row(
                            repository: repository, registryRepository: where_.name, tag: tag,
                            registry: served?.description, ledger: current?.digest.description,
                            ledgerIndex: current?.index, state: state))
                }
            }
            return rows
        }

        /// Where a repository's environment tags live, which tags, and what the ledger says runs.
        private static func expectations(_ ledger: Ledger, _ repository: String, env: String) throws -> (
            Repository, [String], TimelineEntry?
        ) {
            let current = try ledger.queries.current(environment: env, repository: repository)
            var tags = (try? ledger.queries.pipeline(for: repository).environment(env)?.registryTags) ?? []
            var target = try Repository(normalized: repository)
            if let current, let event = try ledger.queries.events(from: current.index, limit: 1).first,
                case .promoted(let p) = event.statement.predicate, let move = p.registry
            {
                target = try Repository(normalized: move.repository)
                tags += move.tags.filter { !tags.contains($0) }
            }
            return (target, tags, current)
        }

        private func render(_ rows: [Row], disagreeing: Int) -> String {
            guard !rows.isEmpty else {
                return
                    "no registry tags to check in \(env): no pipeline names registry.tags for it, and no promotion there moved any"
            }
            var lines: [String] = []
            for row in rows {
                let image = "\(row.registryRepository):\(row.tag)"
                switch row.state {
                case .ok:
                    lines.append("\(Terminal.green("ok"))     \(image) → \(row.ledger ?? "")")
                case .absent:
                    lines.append("ok     \(image) is absent, and nothing of \(row.repository) runs in \(env)")
                case .missing:
                    lines.append(
                        "\(Terminal.red("missing")) \(image) does not exist; the ledger's current digest in \(env) is \(row.ledger ?? "") (entry \(row.ledgerIndex ?? 0))"
                    )
                case .drift:
                    lines.append(
                        "\(Terminal.red("drift"))  \(image) → \(row.registry ?? "") but the ledger's current digest in \(env) is \(row.ledger ?? "nothing") \(row.ledgerIndex.map { "(entry \($0))" } ?? "")"
                    )
                }
            }
            lines.append(
                disagreeing == 0
                    ? "every tag agrees with the ledger"
                    : "\(disagreeing) tag(s) disagree with the ledger; `docket registry sync --env \(env)` puts them back where the ledger says, or find who pushed"
            )
            return lines.map { $0.terminalSafe(keepNewlines: false) }.joined(separator: "\n")
        }

        struct Row: Encodable {
            var repository: String
            var registryRepository: String
            var tag: String
            var registry: String?
            var ledger: String?
            var ledgerIndex: Int?
            var state: State

            enum State: String, Encodable {
                /// Names the ledger's current digest.
                case ok
                /// Points elsewhere.
                case drift
                /// No such tag, though something runs.
                case missing
                /// No such tag, and nothing runs.
                case absent

                var disagrees: Bool { self == .drift || self == .missing }
            }
        }

        struct Report: Encodable {
            var environment: String
            var tags: [Row]
            var ok: Bool
        }
    }

    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract:
                "Copy an image by digest to another repository (blobs mounted, else uploaded; children before the index).",
            discussion:
                "The copy has the same digest. Exit 2 for a source the registry does not have, 3 for a registry failure."
        )

        @Flag(name: .long, help: "Machine-readable output (JSON).") var json = false

        @Argument(help: "The source: REPOSITORY@sha256:….") var source: String

        @Argument(help: "The target repository, optionally with :TAG to point at the copy.") var target: String

        func run() throws {
            let from = try ImageName(parsing: source)
            guard let digest = from.digest else {
                throw CLIError.badInput(
                    "\(source): give the source by digest (REPOSITORY@sha256:…); `docket resolve \(source)` prints it")
            }
            let to = try ImageName(parsing: target)
            guard to.digest == nil else { throw CLIError.badInput("\(target): name the target as REPOSITORY[:TAG]") }
            let report = try RegistryClient().copy(digest, from: from.repository, to: to.repository, tag: to.tag)
            if json {
                print(try Terminal.json(report))
            } else {
                Terminal.out(
                    "copied \(from.repository)@\(digest) to \(to.repository)\(to.tag.map { ":" + $0 } ?? ""): \(report.manifests) manifest(s); blobs \(report.blobsMounted) mounted, \(report.blobsUploaded) uploaded, \(report.blobsPresent) already there"
                )
            }
        }
    }
}
