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
            if let (repository, tag) = try Self.tagReference(image) {
                return try tagHistory(repository: repository, tag: tag)
            }
            // Pages of 500 events, printed as they are read: a digest with 20,000 checks never sits in memory.
            let json = Terminal.CompactJSON()
            var page = try options.ask(HistoryQuestion(image: image))
            let (digest, repository, moves) = (page.digest, page.repository, page.tagMoves ?? [])
            if options.json {
                print("{\"digest\":\(try json(digest)),\"events\":[", terminator: "")
            } else {
                Terminal.out("history of \(repository)@\(digest)")
            }
            var count = 0
            while true {
                for event in page.events {
                    if options.json {
                        print((count == 0 ? "\n" : ",\n") + (try json(event)), terminator: "")
                    } else {
                        Terminal.out("  #\(event.index)  \(event.integratedTime)  \(event.summary)")
                    }
                    count += 1
                }
                guard let next = page.next else { break }
                page = try options.client().ask(HistoryQuestion(image: image, from: next))
            }
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

        private func tagHistory(repository: String, tag: String) throws {
            let history = try options.ask(TagHistoryQuestion(repository: repository, tag: tag))
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
