import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "List entries in order.")

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "Start at this entry index.")
        var since: Int = 0

        @Option(name: .long, help: "At most this many entries (default: all of them).")
        var limit: Int?

        func run() throws {
            guard since >= 0, (limit ?? 1) > 0 else { throw ValidationError("--since must be ≥ 0 and --limit > 0") }
            // Pages of 1,000, printed as they are read, so a million entries never sit in memory at once.
            var next = since
            var remaining = limit ?? Int.max
            var first = true
            let json = Terminal.CompactJSON()
            if options.json { print("[", terminator: "") }
            while remaining > 0 {
                let question = LogQuestion(since: next, limit: min(LogQuestion.pageLimit, remaining))
                let events = try first ? options.ask(question) : options.client().ask(question)
                guard let last = events.last else { break }
                for event in events {
                    if options.json {
                        print((first ? "\n" : ",\n") + (try json(event)), terminator: "")
                    } else {
                        Terminal.out(
                            "#\(event.index)  \(event.integratedTime)  \(event.kind.padding(toLength: 12, withPad: " ", startingAt: 0))  \(event.summary)"
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
