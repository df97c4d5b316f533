import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tell a digest's whole story in order, or the digests a tag has named.",
            discussion: "REPOSITORY:TAG lists the digests the ledger recorded for that tag, oldest first.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "The digest (sha256:…, or REPOSITORY@sha256:…), or REPOSITORY:TAG.")
        var image: String

        func run() throws {
            let ledger = try options.open(readOnly: true)
            if let (repository, tag) = try Self.tagReference(image) {
                return try tagHistory(ledger, repository: repository, tag: tag)
            }
            let (digest, repository) = try ledger.resolve(try ImageReference(parsing: image))
            let events = try ledger.events(digest: digest)
            let moves = try ledger.tagMoves(digest: digest)
            guard !events.isEmpty else { throw CLIError.no("\(digest) is not in the ledger") }
            struct Output: Encodable {
                var digest: String
                var repository: String
                var events: [EventRecord]
                var tagMoves: [TagMove]
            }
            try options.output(
                Output(
                    digest: digest.description, repository: repository, events: try events.map(EventRecord.init),
                    tagMoves: moves)
            ) {
                var lines = ["history of \(repository)@\(digest)".terminalSafe(keepNewlines: false)]
                lines.append(Terminal.table(events.map { ["#\($0.index)", $0.time.rfc3339, Render.event($0)] }))
                for m in moves { lines.append("  entry \(m.index): " + Render.tagMove(m)) }
                return lines.joined(separator: "\n")
            }
        }

        /// `REPOSITORY:TAG` (a colon after the last `/`, no `@`), normalised; nil for a digest reference.
        static func tagReference(_ text: String) throws -> (String, String)? {
            guard !text.contains("@"), !text.hasPrefix("sha256:"), let colon = text.lastIndex(of: ":"),
                !text[colon...].contains("/")
            else { return nil }
            let tag = String(text[text.index(after: colon)...])
            let repository = try Repository(normalising: String(text[..<colon])).name
            guard Statement.isValidTag(tag) else {
                throw CLIError.badInput("\(text): `\(tag)` is not a valid image tag")
            }
            return (repository, tag)
        }

        private func tagHistory(_ ledger: Ledger, repository: String, tag: String) throws {
            let history = try ledger.tagHistory(repository: repository, tag: tag)
            guard !history.isEmpty else {
                throw CLIError.no("the ledger has recorded no digest for \(repository):\(tag)".terminalSafe())
            }
            struct Output: Encodable {
                var repository: String
                var tag: String
                var digests: [TagHistoryEntry]
            }
            try options.output(Output(repository: repository, tag: tag, digests: history)) {
                var lines = [
                    "digests recorded for \(repository):\(tag), oldest first:".terminalSafe(keepNewlines: false)
                ]
                lines.append(Terminal.table(history.map { ["#\($0.index)", $0.digest] }))
                return lines.joined(separator: "\n")
            }
        }
    }
}
