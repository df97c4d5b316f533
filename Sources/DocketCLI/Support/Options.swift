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

    var path: String { ledger ?? ProcessInfo.processInfo.environment["DOCKET_LEDGER"] ?? "docket.db" }

    /// Whether the ledger is a server (`http://` or `https://`).
    var isRemote: Bool { path.hasPrefix("http://") || path.hasPrefix("https://") }

    /// The ledger: the file, or for a server its verified local mirror, brought up to date.
    func open(readOnly: Bool = false) throws -> Ledger {
        if isRemote { return try remote().sync() }
        if SharedStore.isPostgres(path) { return try SharedStore.ledger(path) }
        return try Ledger(path: path, readOnly: readOnly)
    }

    /// The server behind `--ledger http(s)://…` (one per process).
    func remote() throws -> RemoteLedger {
        if let session = RemoteSession.current, session.url == path { return session }
        let session = try RemoteLedger(url: path)
        session.onFirstContact = { Terminal.note($0) }
        RemoteSession.current = session
        return session
    }

    /// Appends one envelope: to the file, or posted to the server with its receipt proved.
    func append(_ envelope: Data, source: String, to ledger: Ledger) throws -> AppendReceipt {
        if isRemote { return try remote().submit(envelope, source: source) }
        return try ledger.append(envelope, source: source)
    }

    /// Appends envelopes: to a file in one transaction (all or none); to a server one after another, in order,
    /// each with its own receipt (a server's batches are its own; a refusal stops the rest).
    func appendBatch(_ items: [(data: Data, source: String)]) throws -> [AppendReceipt] {
        if isRemote { return try items.map { try remote().submit($0.data, source: $0.source) } }
        return try open().appendBatch(items)
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

/// The CLI runs one command per process, on one thread: the server session it opened, kept for the command.
enum RemoteSession {
    nonisolated(unsafe) static var current: RemoteLedger?
}

/// `--key` and `--passphrase-env`: where the signing key comes from.
struct SigningOptions: ParsableArguments {
    @Option(name: .long, help: "Secret key file (default: $DOCKET_KEY, base64 of the key's seed).")
    var key: String?

    @Option(name: .long, help: "Name of an environment variable holding the key file's passphrase.")
    var passphraseEnv: String?

    func load() throws -> SigningKey {
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

/// `--at`: an entry index, or an RFC 3339 time (the last entry at or before it). The state it names is that of
/// the entries before `bound`, at ledger time `time`.
struct LedgerPoint {
    var bound: Int
    var time: Timestamp

    /// The end of the ledger when `text` is nil.
    init(_ text: String?, in ledger: Ledger) throws {
        let size = try ledger.treeSize()
        guard let text else {
            self.init(bound: size, time: try ledger.ledgerTime())
            return
        }
        if let index = Int(text) {
            guard index >= 0, index < size else {
                throw CLIError.badInput("--at \(text): the ledger has entries 0 to \(size - 1)")
            }
            guard let entry = try ledger.entry(at: index) else {
                throw LedgerError.corrupt(.missingEntry(index))
            }
            self.init(bound: index + 1, time: entry.integratedTime)
            return
        }
        guard let time = Timestamp(lenient: text) else {
            throw CLIError.badInput(
                "--at \(text): give an entry index or an RFC 3339 time such as 2026-11-29T12:00:00Z")
        }
        self.init(bound: (try ledger.lastIndex(atOrBefore: time) ?? -1) + 1, time: time)
    }

    init(bound: Int, time: Timestamp) {
        self.bound = bound
        self.time = time
    }
}
