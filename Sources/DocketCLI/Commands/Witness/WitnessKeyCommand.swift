import ArgumentParser
import DocketCore
import Foundation

extension Docket.Witness {
    struct KeyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key",
            abstract: "Print a witness's verifier key (for `docket verify --witness`) from its FILE.pub.")

        @Argument(help: "The witness's public key file (FILE.pub).")
        var publicKeyFile: String

        @Option(name: .long, help: "The witness's name.")
        var name: String

        func run() throws {
            let line = try PublicKeyLine(
                parsing: String(decoding: try readLimited(publicKeyFile, limit: 4096), as: UTF8.self),
                source: publicKeyFile)
            Terminal.out(NoteVerifierKey(name: name, type: NoteVerifierKey.cosignatureV1, publicKey: line.key).text)
        }
    }
}
