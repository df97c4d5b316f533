import ArgumentParser
import DocketCore
import Foundation

/// One event as `history` and `log` print it in JSON.
struct EventRecord: Encodable {
    var index: Int
    var integratedTime: String
    var kind: String
    var signer: String
    var keyid: String
    var subject: String
    var digest: String?
    var summary: String
    var predicate: JSONValue?

    init(_ event: LedgerEvent) {
        index = event.index
        integratedTime = event.time.rfc3339
        kind = event.kind.rawValue
        signer = event.signer.identity
        keyid = event.signer.keyID
        subject = event.statement.subjectName
        digest = event.digest?.description
        summary = Render.event(event)
        predicate = (try? JSONDecoder().decode([String: JSONValue].self, from: event.statement.encoded()))?["predicate"]
    }
}

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
                Output(digest: reference.digest.description, events: events.map(EventRecord.init), tagMoves: moves)
            ) {
                var lines = ["history of \(reference.digest)"]
                lines.append(Terminal.table(events.map { ["#\($0.index)", $0.time.rfc3339, Render.event($0)] }))
                for m in moves { lines.append("  entry \(m.index): " + Render.tagMove(m)) }
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List entries in order.")

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "Start at this entry index.")
        var since: Int = 0

        @Option(name: .long, help: "At most this many entries (default: all of them).")
        var limit: Int?

        func run() throws {
            guard since >= 0, (limit ?? 1) > 0 else { throw ValidationError("--since must be ≥ 0 and --limit > 0") }
            let ledger = try options.open(readOnly: true)
            // Pages of 1,000, printed as they are read, so a million entries never sit in memory at once.
            var next = since
            var remaining = limit ?? Int.max
            var first = true
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if options.json { print("[", terminator: "") }
            while remaining > 0 {
                let events = try ledger.events(from: next, limit: min(1000, remaining))
                guard let last = events.last else { break }
                for event in events {
                    if options.json {
                        print(
                            (first ? "\n" : ",\n")
                                + String(decoding: try encoder.encode(EventRecord(event)), as: UTF8.self),
                            terminator: "")
                    } else {
                        print(
                            "#\(event.index)  \(event.time.rfc3339)  \(event.kind.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0))  \(Render.event(event))"
                        )
                    }
                    first = false
                }
                remaining -= events.count
                next = last.index + 1
            }
            if options.json { print(first ? "]" : "\n]") }
        }
    }
}
