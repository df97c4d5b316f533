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

/// A verifier key given as text (`origin+keyid+base64`) or as a file holding it (such as `LEDGER.logkey.pub`).
func verifierKey(_ text: String) throws -> NoteVerifierKey {
    if !text.contains("+"), FileManager.default.fileExists(atPath: text) {
        return try NoteVerifierKey(parsing: String(decoding: try readLimited(text, limit: 4096), as: UTF8.self))
    }
    return try NoteVerifierKey(parsing: text)
}
