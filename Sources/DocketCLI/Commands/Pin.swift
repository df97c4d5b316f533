import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pin",
            abstract: "Point every image in Kubernetes manifests at its repository's current digest in an environment.",
            discussion: """
                Rewrites `image` in containers, initContainers and ephemeralContainers at any depth, \
                volumes[].image.reference, and lines marked # {"$docket": "REPO"} (Helm values), in every document. \
                Only the image text changes: comments, quotes, order, CRLF stay as they were. Images of repositories \
                the ledger does not know are left alone. Without --write it prints the diff (a dry run).
                Exit 0 done (or nothing to change); 1 with --check when something would change, or when an image's \
                repository has no current digest in the environment (all listed, nothing written); 2 bad input.
                """)

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "The environment whose current digests to pin.") var env: String

        @Flag(name: .long, help: "Write the files in place (with `-`, the result goes to stdout).") var write = false

        @Flag(name: .long, help: "Change nothing; exit 1 if anything would change.") var check = false

        @Option(
            name: .long,
            help: "Write a lock: each pinned digest with its ledger entry and inclusion proof (`docket verify --lock`)."
        )
        var lock: String?

        @Argument(help: "Manifest files (YAML or JSON), or - for standard input.") var files: [String]

        func validate() throws {
            if write, check { throw ValidationError("--write and --check exclude each other") }
            if files.isEmpty { throw ValidationError("give the manifest files to pin, or - for standard input") }
            if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("- (standard input) may be given once") }
        }

        func run() throws {
            let ledger = try options.open(readOnly: true)
            let known = try ledger.queries.repositories()
            guard let policy = try ledger.queries.policy()?.policy else {
                throw CLIError.badInput("--env \(env): no policy is recorded yet, so the ledger has no environments")
            }
            guard policy.pipelines.contains(where: { $0.environment(env) != nil }) else {
                // As `gate` words it: the environments the policy has.
                throw LedgerError.notInPolicy(environment: env, known: policy.environmentNames)
            }
            var current: [String: String] = [:]
            for repository in known {
                if let entry = try ledger.queries.current(environment: env, repository: repository) {
                    current[repository] = entry.digest.description
                }
            }
            let pinner = ManifestPinner(known: Set(known), current: current)
            var results: [(file: String, result: PinnedFile)] = []
            for file in files {
                let data = try readLimited(file, limit: 16 << 20)
                results.append((file, try pinner.pin(data, file: file == "-" ? "<stdin>" : file)))
            }
            let missing = results.flatMap(\.result.missing)
            if !missing.isEmpty {
                if options.json {
                    print(try Terminal.json(Failure(error: "not pinned", environment: env, missing: missing)))
                }
                for pin in missing {
                    Terminal.error(
                        "no current digest in \(env): \(pin.file):\(pin.line): \(pin.image) (\(pin.repository))"
                            .terminalSafe(keepNewlines: false))
                }
                throw CLIError.no(
                    "\(missing.count) image(s) have no current digest in \(env); nothing was written (promote them first, or remove them)"
                )
            }
            let changed = results.filter { !$0.result.changes.isEmpty }
            if write {
                for (file, result) in changed where file != "-" { try save(result.pinned, to: file) }
                if let stdin = results.first(where: { $0.file == "-" }) {
                    FileHandle.standardOutput.write(Data(stdin.result.pinned.utf8))
                }
            }
            if let lock {
                let repositories = results.flatMap { $0.result.changes + $0.result.unchanged }.map(\.repository)
                let file = try ledger.pinLocks.make(environment: env, repositories: repositories)
                do {
                    try file.encoded.write(to: URL(fileURLWithPath: lock), options: .atomic)
                } catch {
                    throw CLIError.badInput("--lock \(lock): cannot write it: \(error.localizedDescription)")
                }
            }
            report(results, changed: changed)
            if check, !changed.isEmpty { throw ExitCode(ExitStatus.no) }
        }

        private func report(
            _ results: [(file: String, result: PinnedFile)], changed: [(file: String, result: PinnedFile)]
        ) {
            let count = changed.reduce(0) { $0 + $1.result.changes.count }
            if options.json {
                let files = results.map {
                    FileReport(
                        file: $0.file, changes: $0.result.changes, unchanged: $0.result.unchanged.count,
                        ignored: $0.result.ignored)
                }
                print((try? Terminal.json(Report(environment: env, written: write, lock: lock, files: files))) ?? "{}")
                return
            }
            if write {
                for (file, result) in changed {
                    for change in result.changes {
                        Terminal.note("\(file):\(change.line): \(change.from) → \(change.to)")
                    }
                }
            } else {
                FileHandle.standardOutput.write(Data(changed.map(\.result.diff).joined().utf8))
            }
            let pinned = results.reduce(0) { $0 + $1.result.unchanged.count }
            let ignored = results.reduce(0) { $0 + $1.result.ignored.count }
            var summary =
                count == 0
                ? "every image is already pinned to its current digest in \(env) (\(pinned) image(s))"
                : "\(count) image(s) in \(changed.count) file(s) \(write ? "pinned" : check ? "would change" : "would be pinned (dry run; --write to write)") to their current digest in \(env)"
            if ignored > 0 { summary += "; \(ignored) image(s) of repositories the ledger does not know left alone" }
            if let lock { summary += "; lock written to \(lock)" }
            Terminal.note(summary)
        }

        /// Replaces a file atomically, keeping its permissions. A symbolic link is written through: its target is
        /// replaced (with the target's mode) and the link stays a link.
        private func save(_ text: String, to file: String) throws {
            let url = URL(fileURLWithPath: file).resolvingSymlinksInPath()
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            do {
                try Data(text.utf8).write(to: url, options: .atomic)
                if let mode = attributes?[.posixPermissions] {
                    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
                }
            } catch {
                throw CLIError.failure("cannot write \(file): \(error.localizedDescription)")
            }
        }

        struct FileReport: Encodable {
            var file: String
            var changes: [PinChange]
            var unchanged: Int
            var ignored: [String]
        }

        struct Report: Encodable {
            var environment: String
            var written: Bool
            var lock: String?
            var files: [FileReport]
        }

        struct Failure: Encodable {
            var error: String
            var environment: String
            var missing: [MissingPin]
        }
    }
}
