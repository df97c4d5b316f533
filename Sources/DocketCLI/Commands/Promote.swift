import ArgumentParser
import DocketCore
import DocketRegistry
import Foundation

extension Docket {
    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "promote",
            abstract: "Promote a digest to an environment if its gate passes (checked inside the append transaction).",
            discussion:
                "Exit 1 with the verdict when the gate does not pass; nothing is appended. --break-glass appends anyway when the policy allows it, recording the reason and the failed rules (only the rules the policy's breakGlass.allow names can be overridden, and breakGlass.approvals other people must have approved the break-glass with `docket approve DIGEST --env E --break-glass`)."
        )

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The digest (sha256:…, or REPOSITORY@sha256:…).")
        var digest: String

        @Option(name: .long, help: "The target environment.")
        var to: String

        @Option(name: .long, help: "A tag to apply (repeatable).")
        var tag: [String] = []

        @Option(
            name: .long, help: "Promote despite a failing gate, for this reason (if the policy allows break-glass).")
        var breakGlass: String?

        @Flag(
            name: .long,
            help:
                "Move the --tag tags (and the environment's registry.tags) to the digest in the registry; implied when the policy names registry.tags."
        )
        var push = false

        @Flag(
            name: .long,
            help:
                "Do not move the registry tags the policy names (the registry then disagrees with the ledger; `docket registry check` reports it)."
        )
        var noPush = false

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Copy the image to this repository first (same digest) and move the tags there.",
                valueName: "REPOSITORY"))
        var pushTo: String?

        func validate() throws {
            if noPush, push || pushTo != nil { throw ValidationError("--no-push excludes --push and --push-to") }
            if let breakGlass, !breakGlass.contains(where: { !$0.isWhitespace }) {
                throw ValidationError("--break-glass needs a reason: say why the gate is being bypassed")
            }
        }

        func run() throws {
            let client = try options.client()
            // An encrypted key asks for its passphrase once: loaded here for break-glass, passed on to sign.
            let key =
                breakGlass == nil
                ? nil : try signing.load(for: client, ledger: LedgerIdentity(try client.identity()), json: options.json)
            let plan = try client.ask(
                PromotionQuestion(
                    image: digest, environment: to, tags: tag, breakGlass: breakGlass,
                    promoterKeyID: key?.publicKey.keyID, withVerdict: movesTags && breakGlass == nil))
            var promotion = plan.promotion
            let emitter = EventEmitter(ledgerOptions: options, signing: signing)
            var move: RegistryMove? = nil
            do {
                move = try registryMove(plan)
                if let move {
                    do {
                        promotion.registry = try move.apply()
                    } catch let error as RegistryError where error.category == .failure {
                        throw RegistryError(
                            error.description
                                + "; nothing was appended (to record the promotion without moving the registry's tags, run it again with --no-push)",
                            status: error.status)
                    }
                }
                try emitter.run(
                    subjectName: plan.repository, subjectDigest: try Digest(parsing: plan.digest).hex,
                    predicate: .promoted(promotion), client: client, key: key)
                if let glass = promotion.breakGlass, !options.json {
                    Terminal.out(
                        "  break-glass: the gate failed on \(glass.failedRules.joined(separator: ", ")); the reason is recorded and `docket verify` lists it"
                    )
                }
            } catch {
                // The ledger did not take it: the registry must not say otherwise.
                move?.putBack(because: "the ledger did not take the promotion")
                if case LedgerError.gateRefused(let verdict) = error {
                    try options.output(verdict) { Render.verdict(verdict) }
                    Terminal.error("not promoted: the gate did not pass; nothing was appended")
                    throw ExitCode(ExitStatus.no)
                }
                throw error
            }
        }

        /// Whether the promotion may move registry tags (the policy may still name none).
        private var movesTags: Bool { !noPush }

        /// The registry tags this promotion moves, when the environment names `registry.tags` or `--push` is
        /// given; checked against the gate first, so a promotion that will be refused moves nothing.
        private func registryMove(_ plan: PromotionQuestion.Answer) throws -> RegistryMove? {
            guard !noPush, push || pushTo != nil || !plan.registryTags.isEmpty else { return nil }
            var tags = plan.registryTags
            if push || pushTo != nil { tags += self.tag.filter { !tags.contains($0) } }
            guard !tags.isEmpty else {
                throw CLIError.badInput(
                    "--push: name the tags to move with --tag T, or in the policy (the environment's registry.tags)")
            }
            if plan.promotion.breakGlass == nil, let verdict = plan.verdict, !verdict.eligible {
                throw LedgerError.gateRefused(verdict)
            }
            let source = try Repository(normalized: plan.repository)
            let target = try pushTo.map { try Repository(normalising: $0) } ?? source
            return RegistryMove(
                client: try RegistryClient(), digest: try Digest(parsing: plan.digest), source: source, target: target,
                tags: tags, quiet: options.json)
        }
    }
}

/// A promotion's tag moves in the registry: made after the gate passes and before the ledger appends, and
/// put back if the ledger then refuses, so the registry and the ledger never disagree silently.
final class RegistryMove {
    let client: RegistryClient
    let digest: Digest
    let source: Repository
    let target: Repository
    let tags: [String]
    let quiet: Bool
    /// What each tag pointed to before (nil: it did not exist), as ``apply()`` moves them.
    private var previous: [String: Digest?] = [:]

    init(client: RegistryClient, digest: Digest, source: Repository, target: Repository, tags: [String], quiet: Bool) {
        self.client = client
        self.digest = digest
        self.source = source
        self.target = target
        self.tags = tags
        self.quiet = quiet
    }

    /// Copies the image when the target is another repository, then moves each tag, recording what it named.
    func apply() throws -> Predicates.RegistryMove {
        if target != source {
            let report = try client.copy(digest, from: source, to: target)
            if !quiet {
                Terminal.note(
                    "copied \(source)@\(digest.short) to \(target): blobs \(report.blobsMounted) mounted, \(report.blobsUploaded) uploaded, \(report.blobsPresent) already there"
                )
            }
        }
        for tag in tags {
            do {
                // Noted before the move: a registry may take the bytes and then answer wrongly, and the tag
                // must still be put back.
                previous[tag] = .some(try client.manifestIfPresent(ImageName(repository: target, tag: tag))?.digest)
                try client.retag(target, digest: digest, tag: tag)
            } catch {
                putBack(because: "the registry failed while the tags were moved")
                throw error
            }
            if !quiet { Terminal.note("moved \(target):\(tag) to \(digest.short)") }
        }
        var before: [String: String] = [:]
        for (tag, digest) in previous { if let digest { before[tag] = digest.description } }
        return Predicates.RegistryMove(repository: target.name, tags: tags, previous: before)
    }

    /// Points every tag moved so far back where it was. A tag that did not exist before cannot be removed
    /// through the distribution API; the user is told which.
    func putBack(because reason: String) {
        for (tag, before) in previous {
            guard let before else {
                Terminal.warning(
                    "\(target):\(tag) did not exist before and may now name \(digest.short), but \(reason); delete it in the registry"
                )
                continue
            }
            do {
                try client.retag(target, digest: before, tag: tag)
                Terminal.warning("put \(target):\(tag) back to \(before.short): \(reason)")
            } catch {
                Terminal.warning(
                    "could not put \(target):\(tag) back to \(before): \(error); the registry now disagrees with the ledger (`docket registry check`)"
                )
            }
        }
        previous = [:]
    }
}
