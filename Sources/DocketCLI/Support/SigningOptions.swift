import ArgumentParser
import DocketClient
import DocketCore
import Foundation

/// Where a signature comes from: a Docket key file (`--key`, `$DOCKET_KEY`), an SSH key (`--ssh-key`, `--ssh-agent`)
/// or a CI job's OIDC token (`--oidc-token`, `$DOCKET_OIDC_TOKEN`, `--oidc github`).
struct SigningOptions: ParsableArguments {
    @Option(name: .long, help: "Secret key file (default: $DOCKET_KEY, base64 of the key's seed).")
    var key: String?

    @Option(name: .long, help: "Name of an environment variable holding the key file's passphrase.")
    var passphraseEnv: String?

    @Option(
        name: .long,
        help:
            "Sign as this CI job: its OIDC token in FILE (default: $DOCKET_OIDC_TOKEN, the token itself). The first command enrols an ephemeral key with it (key-attested); later ones reuse the key until the token expires."
    )
    var oidcToken: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Ask the CI runner for the job's OIDC token: github (ACTIONS_ID_TOKEN_REQUEST_URL).", valueName: "github"))
    var oidc: String?

    @Option(name: .long, help: "The audience to ask the runner for with --oidc (default: the ledger's origin).")
    var oidcAudience: String?

    @Option(
        name: .long,
        help:
            "Sign with an SSH key (ssh-ed25519 or sk-ssh-ed25519) through ssh-keygen: its private key FILE (with --ssh-agent, FILE.pub picks the agent's key)."
    )
    var sshKey: String?

    @Flag(
        name: .long, help: "Sign through ssh-agent ($SSH_AUTH_SOCK) with the agent's key that the ledger has enrolled.")
    var sshAgent = false

    /// The key to sign with: a key file or `DOCKET_KEY`, or the CI job's key attested by its OIDC token (enrolled
    /// through `client` on first use).
    func load(for client: (any LedgerClient)?, ledger: LedgerIdentity, json: Bool) throws -> any EnvelopeSigner {
        if let ssh = try sshSigner(client: client) { return ssh }
        guard let source = try workloadSource(audience: ledger.origin) else { return try load() }
        guard let client else {
            throw CLIError.badInput(
                "--oidc-token: the job's key is enrolled in the ledger, so give --ledger (not --out)")
        }
        return try WorkloadKey.load(source, client: client, ledger: ledger, json: json)
    }

    /// Where the job's OIDC token comes from, when the key is to come from one: `--oidc-token`, `--oidc github`, or
    /// (with no key given) `$DOCKET_OIDC_TOKEN`.
    func workloadSource(audience: String) throws -> WorkloadKey.Source? {
        let environment = ProcessInfo.processInfo.environment
        if let oidc {
            guard oidc == "github" else { throw CLIError.badInput("--oidc \(oidc): Docket asks `github` runners") }
            let audience = oidcAudience ?? audience
            return .runner(job: try GitHubRunner.job(environment) + "\n" + audience) {
                try GitHubRunner.token(audience: audience, environment: environment)
            }
        }
        if let oidcToken {
            let text = String(
                decoding: try readLimited(oidcToken, limit: WorkloadToken.maximumLength + 64), as: UTF8.self)
            return .given(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard key == nil, environment["DOCKET_KEY"]?.isEmpty ?? true,
            let inline = environment["DOCKET_OIDC_TOKEN"], !inline.isEmpty
        else { return nil }
        return .given(inline.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// An SSH key's signer: `--ssh-agent` (the agent's key `--ssh-key FILE.pub` names, else the one the ledger has
    /// enrolled, else its only one), or `--ssh-key FILE` through ssh-keygen.
    func sshSigner(client: (any LedgerClient)?) throws -> (any EnvelopeSigner)? {
        if sshAgent {
            guard let socket = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !socket.isEmpty else {
                throw CLIError.badInput("--ssh-agent: SSH_AUTH_SOCK is not set; start ssh-agent and ssh-add your key")
            }
            let keys = try SSHAgentSigner.keys(socket)
            var chosen: SSHPublicKey?
            if let sshKey {
                let named = try SSHPublicKey(
                    line: String(decoding: try readLimited(sshKey, limit: 16384), as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines))
                chosen = keys.first { $0 == named }
            } else if let client {
                let enrolled = Swift.Set(try client.ask(KeysQuestion()).filter { $0.revokedIndex == nil }.map(\.keyID))
                chosen = keys.first { enrolled.contains($0.key.keyID) }
            } else if keys.count == 1 {
                chosen = keys[0]
            }
            guard let chosen else {
                throw CLIError.badInput(
                    "--ssh-agent: none of the agent's \(keys.count) Ed25519 key(s) is \(sshKey.map { "the key of \($0)" } ?? "enrolled in the ledger"); enrol one with `docket key enroll ~/.ssh/id_ed25519.pub --identity ID --role R`"
                )
            }
            return SSHAgentSigner(socket: socket, key: chosen)
        }
        return try sshKey.map { try SSHKeyFileSigner(path: $0) }
    }

    func validate() throws {
        if key != nil, oidc != nil || oidcToken != nil {
            throw ValidationError("give --key, or --oidc-token / --oidc, not both")
        }
        if (sshKey != nil || sshAgent) && (key != nil || oidc != nil || oidcToken != nil) {
            throw ValidationError("give one way to sign: --key, --ssh-key / --ssh-agent, or --oidc-token / --oidc")
        }
        if oidc != nil, oidcToken != nil { throw ValidationError("give --oidc-token FILE or --oidc github, not both") }
    }

    func load() throws -> SigningKey {
        if sshKey != nil || sshAgent {
            throw CLIError.badInput(
                "--ssh-key and --ssh-agent sign events; this command needs a Docket key (--key FILE)")
        }
        if oidc != nil || oidcToken != nil {
            throw CLIError.badInput(
                "--oidc-token and --oidc sign events a CI job appends; this command needs --key FILE")
        }
        if let key { return try Self.loadFile(key, passphraseEnv: passphraseEnv).key }
        if let inline = ProcessInfo.processInfo.environment["DOCKET_KEY"], !inline.isEmpty {
            return try KeyFileFormat.fromEnvironmentValue(inline, variable: "DOCKET_KEY")
        }
        throw ValidationError("no signing key: pass --key FILE or set DOCKET_KEY")
    }

    /// The key file itself, with its identity (`DOCKET_KEY` holds only the secret): for `init`, whose admin's
    /// identity comes from the file.
    func loadKeyFile(for whom: String) throws -> KeyFile {
        guard let key else {
            throw ValidationError("\(whom)'s key file is needed: pass --key FILE (with its identity)")
        }
        return try Self.loadFile(key, passphraseEnv: passphraseEnv)
    }

    static func loadFile(_ path: String, passphraseEnv: String?) throws -> KeyFile {
        guard try KeyFileFormat.isEncrypted(path: path) else {
            return try KeyFileFormat.read(path: path, passphrase: nil)
        }
        return try KeyFileFormat.read(
            path: path, passphrase: try Terminal.passphrase(env: passphraseEnv, prompt: "Passphrase for \(path): "))
    }
}
