import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tell a digest's whole story, in order.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "The digest (sha256:…, or REPOSITORY@sha256:…).")
        var digest: String

        func run() throws {
            let reference = try ImageReference(parsing: digest)
            let ledger = try options.open(readOnly: true)
            let events = try ledger.events(digest: reference.digest)
            let moves = try ledger.tagMoves(digest: reference.digest)
            guard !events.isEmpty else { throw CLIError.no("\(reference.digest) is not in the ledger") }
            struct Output: Encodable {
                var digest: String
                var events: [EventRecord]
                var tagMoves: [TagMove]
            }
            try options.output(
                Output(digest: reference.digest.description, events: try events.map(EventRecord.init), tagMoves: moves)
            ) {
                var lines = ["history of \(reference.digest)"]
                lines.append(Terminal.table(events.map { ["#\($0.index)", $0.time.rfc3339, Render.event($0)] }))
                for m in moves { lines.append("  entry \(m.index): " + Render.tagMove(m)) }
                return lines.joined(separator: "\n")
            }
        }
    }
}
