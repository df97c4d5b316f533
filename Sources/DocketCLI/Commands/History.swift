import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
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
            let moves = try ledger.tagMoves(digest: digest)
            // Pages of 500 events, printed as they are read: a digest with 20,000 checks never sits in memory.
            let json = Terminal.CompactJSON()
            var next = 0
            var count = 0
            while true {
                let page = try ledger.events(digest: digest, from: next, limit: 500)
                guard let last = page.last else { break }
                if count == 0 {
                    if options.json {
                        print("{\"digest\":\(try json(digest.description)),\"events\":[", terminator: "")
                    } else {
                        Terminal.out("history of \(repository)@\(digest)")
                    }
                }
                for event in page {
                    if options.json {
                        print(
                            (count == 0 ? "\n" : ",\n")
                                + (try json(try EventRecord(event, summary: Render.event(event)))), terminator: "")
                    } else {
                        Terminal.out("  #\(event.index)  \(event.time.rfc3339)  \(Render.event(event))")
                    }
                    count += 1
                }
                next = last.index + 1
            }
            guard count > 0 else { throw CLIError.no("\(digest) is not in the ledger") }
            if options.json {
                print("\n],\"repository\":\(try json(repository)),\"tagMoves\":\(try json(moves))}")
            } else {
                for m in moves { Terminal.out("  entry \(m.index): " + Render.tagMove(m)) }
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
