import ArgumentParser
import DocketClient
import DocketCore
import Foundation

extension Docket {
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Append envelopes signed elsewhere (files written with --out, or - for standard input).",
            discussion: "Several files are appended in one transaction with one checkpoint: all or none.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "Envelope files (DSSE JSON), or - for standard input.")
        var files: [String]

        @Option(
            name: .long,
            help:
                "With a server: if it cannot be reached, queue the envelopes in DIR (send later with `docket spool flush DIR`)."
        )
        var spool: String?

        func run() throws {
            guard !files.isEmpty else { throw ValidationError("give at least one envelope file") }
            let items = try files.map { (data: try readLimited($0, limit: Envelope.maximumSize), source: $0) }
            if let spool {
                guard options.isRemote else {
                    throw ValidationError("--spool queues for a server: give --ledger http(s)://HOST[:PORT]")
                }
                for item in items { _ = try Envelope(parsing: item.data, source: item.source) }
                let receipts: [AppendReceipt]
                do {
                    receipts = try options.appendBatch(items)
                } catch let error as RemoteError where error.unreachable {
                    let queued = try Spool.enqueue(items.map(\.data), in: spool)
                    Terminal.warning("\(error.description)")
                    try options.output(["spooled": queued]) {
                        "queued \(queued.count) envelope(s) in \(spool); send them with `docket spool flush \(spool) --ledger \(options.path)`"
                    }
                    return
                }
                return try printReceipts(receipts)
            }
            try printReceipts(try options.appendBatch(items))
        }

        private func printReceipts(_ receipts: [AppendReceipt]) throws {
            if options.json {
                print(try Terminal.json(receipts))
            } else {
                for receipt in receipts { try printReceipt(receipt, options: options) }
            }
        }
    }
}
