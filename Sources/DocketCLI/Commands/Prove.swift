import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Prove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prove",
            abstract: "Print C2SP tlog-proof@v1 inclusion proofs for an entry index, or for every entry about a digest."
        )

        @OptionGroup var options: LedgerOptions

        @Argument(help: "An entry index, or a digest.")
        var target: String

        @Option(
            name: .long, help: "Write each proof to DIR/<index>.tlog-proof and the entry to DIR/<index>.entry.",
            transform: { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 })
        var outDir: String?

        func run() throws {
            let ledger = try options.open(readOnly: true)
            let indexes: [Int]
            if let index = Int(target) {
                indexes = [index]
            } else if !target.isEmpty, target.allSatisfy(\.isASCII), target.allSatisfy(\.isNumber) {
                throw CLIError.badInput("there is no entry \(target)")
            } else {
                let digest = try ImageReference(parsing: target).digest
                indexes = try ledger.queries.events(digest: digest).map(\.index)
                guard !indexes.isEmpty else { throw CLIError.no("\(digest) is not in the ledger") }
            }
            struct Item: Encodable {
                var index: Int
                var proof: String
                var entry: String
            }
            var items: [Item] = []
            for index in indexes {
                let proof = try ledger.proofs.inclusionProof(index: index)
                guard let entry = try ledger.entry(at: index) else { throw CLIError.badInput("no entry \(index)") }
                items.append(Item(index: index, proof: proof.text, entry: String(decoding: entry.bytes, as: UTF8.self)))
                if let outDir {
                    do {
                        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
                        try Data(proof.text.utf8).write(to: URL(fileURLWithPath: "\(outDir)/\(index).tlog-proof"))
                        try (entry.bytes + Data("\n".utf8)).write(to: URL(fileURLWithPath: "\(outDir)/\(index).entry"))
                    } catch {
                        throw CLIError.badInput(
                            "cannot write proofs into \(outDir): it must be a folder you can write to")
                    }
                }
            }
            if options.json {
                print(try Terminal.json(items))
            } else if let outDir {
                Terminal.out(
                    "wrote \(items.count) proof(s) to \(outDir)/ (check one with `docket verify-proof \(outDir)/\(indexes[0]).tlog-proof \(outDir)/\(indexes[0]).entry --log-key VKEY`)"
                )
            } else {
                Terminal.out(items.map(\.proof).joined(separator: "\n"), terminator: "")
            }
        }
    }
}
