import ArgumentParser
import DocketCore
import Foundation

extension Docket.Key {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write a new Ed25519 key pair: FILE (secret, mode 0600) and FILE.pub.")

        @Option(name: .long, help: "Who the key belongs to (for example alice@example.com).")
        var identity: String

        @Option(name: .long, help: "The secret key file to write; the public key goes to FILE.pub.")
        var out: String

        @Flag(name: .long, help: "Encrypt the secret key with a passphrase (Argon2id + XSalsa20-Poly1305).")
        var encrypt = false

        @Option(name: .long, help: "Name of an environment variable holding the passphrase (implies --encrypt).")
        var passphraseEnv: String?

        @Flag(name: .long, help: "JSON output.")
        var json = false

        func validate() throws {
            guard !identity.isEmpty, !identity.contains(where: \.isWhitespace) else {
                throw ValidationError("--identity must be non-empty with no spaces, for example alice@example.com")
            }
        }

        func run() throws {
            var passphrase: String? = nil
            if encrypt || passphraseEnv != nil {
                passphrase = try Terminal.passphrase(env: passphraseEnv, prompt: "New passphrase for \(out): ")
                if passphraseEnv == nil {
                    let again = try Terminal.passphrase(env: nil, prompt: "Again: ")
                    guard again == passphrase else {
                        throw CLIError.badInput("the passphrases differ; nothing was written")
                    }
                }
            }
            let keyFile = KeyFile(identity: identity, key: try SigningKey.generate())
            try KeyFileFormat.write(keyFile, to: out, passphrase: passphrase)
            let result = [
                "secretKeyFile": out, "publicKeyFile": out + ".pub", "identity": identity,
                "keyid": keyFile.key.publicKey.keyID,
                "publicKey": keyFile.key.publicKey.base64,
            ]
            if json {
                print(try Terminal.json(result))
            } else {
                Terminal.out("wrote \(out) (secret, mode 0600\(passphrase == nil ? "" : ", encrypted")) and \(out).pub")
                Terminal.out("  \(keyFile.publicLine)")
            }
        }
    }
}
