import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append envelopes signed elsewhere (files written with --out, or - for standard input).",
            discussion: "Several files are appended in one transaction with one checkpoint: all or none.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "Envelope files (DSSE JSON), or - for standard input.")
        var files: [String]

        func run() throws {
            guard !files.isEmpty else { throw ValidationError("give at least one envelope file") }
            let items = try files.map { (data: try readLimited($0, limit: Envelope.maximumSize), source: $0) }
            let receipts = try options.open().appendBatch(items)
            if options.json {
                print(try Terminal.json(receipts.count == 1 ? [receipts[0]] : receipts))
            } else {
                for receipt in receipts { try printReceipt(receipt, options: options) }
            }
        }
    }
}
