import ArgumentParser
import DocketClient
import DocketCore
import Foundation

extension Docket {
    struct Spool: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "spool",
            abstract: "Send envelopes that `submit --spool DIR` queued while the server was unreachable.",
            subcommands: [Flush.self])

        /// Writes each envelope to `dir` under a name that sorts in queueing order and is unique to its payload
        /// (a second spooling of the same envelope replaces the first). Returns the file names.
        static func enqueue(_ envelopes: [Data], in dir: String) throws -> [String] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let stamp = String(format: "%013lld", Int64(Date().timeIntervalSince1970 * 1000))
            return try envelopes.enumerated().map { i, data in
                let name = "\(stamp)-\(String(format: "%04d", i))-\(SHA256.hash(data).hex.prefix(16)).json"
                let path = dir + "/" + name
                do {
                    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
                } catch {
                    throw CLIError.failure("cannot write \(path): \(error.localizedDescription)")
                }
                return name
            }
        }

        struct Flush: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "flush",
                abstract: "Submit every queued envelope in order; each one the server acknowledged is removed.",
                discussion: """
                    An envelope the server refuses is moved to DIR/refused/ and reported (exit 1 at the end); if the \
                    server cannot be reached, flushing stops and the rest stay queued (exit 3).
                    """)

            @OptionGroup var options: LedgerOptions

            @Argument(help: "The spool folder.")
            var dir: String

            func run() throws {
                guard options.isRemote else {
                    throw ValidationError("spool flush sends to a server: give --ledger http(s)://HOST[:PORT]")
                }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue
                else { throw CLIError.badInput("\(dir) is not a spool folder") }
                let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }
                    .sorted()
                var sent: [AppendReceipt] = []
                var refused: [String] = []
                for name in names {
                    let path = dir + "/" + name
                    let data = try readLimited(path, limit: Envelope.maximumSize)
                    do {
                        sent.append(try options.server().submit(data, source: path))
                        try FileManager.default.removeItem(atPath: path)
                    } catch let error as DocketFailure where error.category != .failure {
                        let rejected = dir + "/refused"
                        try FileManager.default.createDirectory(atPath: rejected, withIntermediateDirectories: true)
                        try FileManager.default.moveItem(atPath: path, toPath: rejected + "/" + name)
                        Terminal.error("\(error.description); moved to \(rejected)/\(name)")
                        refused.append(name)
                    }
                }
                if options.json {
                    struct Output: Encodable {
                        var sent: [AppendReceipt]
                        var refused: [String]
                    }
                    print(try Terminal.json(Output(sent: sent, refused: refused)))
                } else {
                    for receipt in sent { try printReceipt(receipt, options: options) }
                    Terminal.out("sent \(sent.count), refused \(refused.count), left 0 in \(dir)")
                }
                if !refused.isEmpty { throw ExitCode(ExitStatus.no) }
            }
        }
    }
}
