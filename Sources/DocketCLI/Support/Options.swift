import ArgumentParser
import DocketClient
import DocketCore
import Foundation

/// `--ledger` and `--json`, shared by every command.
struct LedgerOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The ledger file, a server's http(s)://HOST[:PORT], or a shared postgres://USER@HOST/DB (with $DOCKET_LOG_KEY to append) (default: $DOCKET_LEDGER, else ./docket.db)."
    )
    var ledger: String?

    @Flag(name: .long, help: "Machine-readable output (JSON; schemas in schemas/).")
    var json = false

    @Flag(
        name: .long,
        help:
            "With a server: keep a full verified replica of its log and answer from it (default: $DOCKET_MIRROR=1; otherwise the server answers, signed)."
    )
    var mirror = false

    @Option(
        name: .long,
        help: "With a server: keep its signed answer in FILE (check it later with `docket verify --answer FILE`).")
    var saveAnswer: String?

    var path: String { ledger ?? ProcessInfo.processInfo.environment["DOCKET_LEDGER"] ?? "docket.db" }

    /// Whether the ledger is a server (`http://` or `https://`).
    var isRemote: Bool { path.hasPrefix("http://") || path.hasPrefix("https://") }

    /// Whether a server's log is replicated here (`--mirror`, `DOCKET_MIRROR=1`).
    var mirrors: Bool { mirror || ProcessInfo.processInfo.environment["DOCKET_MIRROR"] == "1" }

    /// The ledger as the client protocol (DESIGN §13): a ledger at hand, or a server that answers signed.
    func client(readOnly: Bool = false) throws -> any LedgerClient {
        if let session = ClientSession.current { return session }
        try checkScheme()
        let client: any LedgerClient
        if isRemote {
            if mirrors {
                let replica = try ServerReplica(client: try server())
                client = MirroredClient(ledger: try replica.sync(), server: try server())
            } else {
                client = try server()
            }
        } else {
            client = LocalLedgerClient(ledger: try open(readOnly: readOnly), summarize: Render.event)
        }
        ClientSession.current = client
        return client
    }

    /// The whole ledger, for the commands that read every entry (export, verify, replay, prove, pin…): the file,
    /// the database, or for a server a verified replica of its log, brought up to date.
    func open(readOnly: Bool = false) throws -> Ledger {
        try checkScheme()
        if isRemote { return try ServerReplica(client: try server()).sync() }
        if SharedStore.isPostgres(path) { return try SharedStore.ledger(path) }
        return try Ledger(path: path, readOnly: readOnly)
    }

    /// An address of a kind Docket does not speak (`ftp://…`) is bad input, not a missing file.
    func checkScheme() throws {
        guard let colon = path.range(of: "://"), !isRemote, !SharedStore.isPostgres(path) else { return }
        let scheme = path[..<colon.lowerBound]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) else { return }
        throw CLIError.badInput(
            "--ledger \(path): Docket speaks no \(scheme):// ledgers; give a file path, http(s)://HOST[:PORT] or postgres://USER@HOST/DB"
        )
    }

    /// The server behind `--ledger http(s)://…` (one per process).
    func server() throws -> ServerClient {
        if let session = ServerSession.current,
            session.url.hasPrefix(path.hasSuffix("/") ? String(path.dropLast()) : path)
        {
            return session
        }
        let session = try ServerClient(url: path)
        session.onFirstContact = { Terminal.note($0) }
        session.saveAnswer = saveAnswer
        ServerSession.current = session
        return session
    }

    /// Asks the ledger a question. From a server, says on stderr which checkpoint the signed answer was computed
    /// at, so stdout is the same as a local ledger's.
    func ask<Q: LedgerQuestion>(_ question: Q, readOnly: Bool = true) throws -> Q.Answer {
        let client = try self.client(readOnly: readOnly)
        let answer = try client.ask(question)
        if let size = client.answeredAt, !json {
            Terminal.note("as of entry \(size - 1) (answer signed by \(path))")
        }
        return answer
    }

    /// Appends one envelope: to the file, or posted to the server with its receipt proved.
    func append(_ envelope: Data, source: String) throws -> AppendReceipt {
        try client().submit([(envelope, source)])[0]
    }

    /// Appends envelopes: to a file in one transaction (all or none); to a server one after another, in order,
    /// each with its own receipt (a server's batches are its own; a refusal stops the rest).
    func appendBatch(_ items: [(data: Data, source: String)]) throws -> [AppendReceipt] {
        try client().submit(items)
    }

    /// Prints `value` as JSON, or `human()` for people.
    func output<T: Encodable>(_ value: T, human: () -> String) throws {
        if json {
            print(try Terminal.json(value))
        } else {
            let text = human()
            if !text.isEmpty { Terminal.out(text) }
        }
    }
}

/// A server whose log is replicated here: questions are answered from the verified replica by the same code as a
/// local ledger's; envelopes are posted to the server.
final class MirroredClient: LedgerClient {
    let local: LocalLedgerClient
    let server: ServerClient

    init(ledger: Ledger, server: ServerClient) {
        local = LocalLedgerClient(ledger: ledger, summarize: Render.event)
        self.server = server
    }

    func identity() throws -> LedgerDescription { try local.identity() }
    func submit(_ envelopes: [(data: Data, source: String)]) throws -> [AppendReceipt] {
        try server.submit(envelopes)
    }
    func ask<Q: LedgerQuestion>(_ question: Q) throws -> Q.Answer { try local.ask(question) }
    func checkpoint() throws -> String { try server.checkpoint() }
    var answeredAt: Int? { nil }
}

/// The CLI runs one command per process, on one thread: the ledger client and server session it opened, kept for
/// the command.
enum ClientSession {
    nonisolated(unsafe) static var current: (any LedgerClient)?

    /// Drops the command's client and server session (closing a ledger file's connection).
    static func end() {
        current = nil
        ServerSession.current = nil
    }
}

enum ServerSession {
    nonisolated(unsafe) static var current: ServerClient?
}

/// `--key` and `--passphrase-env`: where the signing key comes from.
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

/// A verifier key given as text (`origin+keyid+base64`) or as a file holding it (such as `LEDGER.logkey.pub`).
func verifierKey(_ text: String) throws -> NoteVerifierKey {
    if !text.contains("+"), FileManager.default.fileExists(atPath: text) {
        return try NoteVerifierKey(parsing: String(decoding: try readLimited(text, limit: 4096), as: UTF8.self))
    }
    return try NoteVerifierKey(parsing: text)
}
