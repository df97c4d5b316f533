import DocketCore
import Foundation
import NIOFoundationCompat

/// A Docket server as a ledger (DESIGN §13), at a cost per command that does not grow with the ledger: signing
/// stays on this machine, writes are posted and their receipts proved, questions are answered by the server's
/// copy of the same query code and come back signed and bound to a checkpoint. The client keeps only the server's
/// identity and the latest checkpoint it accepted (``ServerStateFile``); every checkpoint it sees after that is
/// proved consistent with the one held, in whichever direction, so many processes sharing one cache never raise
/// a false alarm, and a server that forks its log or signs two roots for one size is caught with its own notes.
public final class ServerClient: LedgerClient {
    public var url: String { transport.url }
    let transport: HTTPTransport
    let pinnedLogKey: NoteVerifierKey?
    let stateFile: ServerStateFile
    let evidenceFolder: String
    let cacheFolder: String
    /// Said once, on the first contact without a pinned key: the log key this client now trusts.
    public var onFirstContact: ((String) -> Void)?
    /// Where to keep every signed answer this command receives (`--save-answer FILE`).
    public var saveAnswer: String?
    /// The last signed answer received.
    public private(set) var lastAnswer: SignedAnswer?
    var cachedState: ServerState?

    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        transport = try HTTPTransport(url: url, environment: environment)
        pinnedLogKey = try DocketClient.pinnedLogKey(environment)
        let cache = try cacheDirectory(environment)
        stateFile = ServerStateFile(folder: cache, name: transport.cacheName)
        evidenceFolder = cache + "/evidence"
        cacheFolder = cache
    }

    /// Retries: at most this many tries and this long (`DOCKET_RETRY_SECONDS`).
    public var maxAttempts: Int {
        get { transport.maxAttempts }
        set { transport.maxAttempts = newValue }
    }

    // MARK: LedgerClient

    public func identity() throws -> LedgerDescription {
        let state = try knownState()
        let size = (try? Checkpoint(note: SignedNote(parsing: state.checkpoint, source: "state"), source: "state"))?
            .size
        return LedgerDescription(
            origin: state.origin, ledgerID: state.ledgerID, logKey: state.logKey, size: size ?? 0)
    }

    /// The identity as held, without asking the server (nil: never contacted): for signing to a file while the
    /// server cannot be reached.
    public func heldIdentity() -> LedgerDescription? {
        stateFile.read().map { LedgerDescription(origin: $0.origin, ledgerID: $0.ledgerID, logKey: $0.logKey, size: 0) }
    }

    public func ask<Q: LedgerQuestion>(_ question: Q) throws -> Q.Answer {
        let state = try knownState()
        let body = try Questions.encoder.encode(question)
        let response = try transport.send(method: .POST, path: "/api/v1/ask/\(Q.name)", body: body)
        guard response.status == .ok else { throw transport.refusal(response, what: nil) }
        let source = "\(url)'s answer to \(Q.name)"
        let signed = try SignedAnswer(parsing: response.body.map { Data(buffer: $0) } ?? Data(), source: source)
        let logKey = try NoteVerifierKey(parsing: state.logKey)
        let checkpoint: Checkpoint
        do {
            checkpoint = try signed.verified(logKey: logKey, source: source)
        } catch {
            throw untrusted("it answered \(Q.name) with an answer its log key did not sign (\(error))")
        }
        guard signed.question == Q.name, signed.parameters == String(decoding: body, as: UTF8.self) else {
            throw untrusted("it answered another question than the \(Q.name) asked")
        }
        try accept(signed.checkpoint, checkpoint: checkpoint)
        lastAnswer = signed
        if let saveAnswer { try save(signed, to: saveAnswer) }
        return try signed.decoded(Q.self, source: source)
    }

    public var answeredAt: Int? {
        lastAnswer.flatMap { try? Checkpoint(note: SignedNote(parsing: $0.checkpoint, source: ""), source: "") }?.size
    }

    public func checkpoint() throws -> String { try acceptedCheckpoint().note }

    /// The server's latest checkpoint, its signature checked and accepted against the one held (and parsed).
    func acceptedCheckpoint() throws -> (note: String, checkpoint: Checkpoint) {
        let state = try knownState()
        let note = String(decoding: try transport.get("/checkpoint"), as: UTF8.self)
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.verified(
                text: note, logKey: try NoteVerifierKey(parsing: state.logKey), source: "\(url)/checkpoint"
            ).0
        } catch {
            throw untrusted("its checkpoint is not signed by its log key (\(error))")
        }
        try accept(note, checkpoint: checkpoint)
        return (note, checkpoint)
    }

    /// Posts each envelope and proves its receipt: the checkpoint signed by the log key and consistent with the
    /// one held, the inclusion proof leading from the entry to it, and the entry carrying this envelope's payload.
    /// A retry after a lost answer resends the same bytes, which the server answers as a duplicate.
    public func submit(_ envelopes: [(data: Data, source: String)]) throws -> [AppendReceipt] {
        try envelopes.map { try submit($0.data, source: $0.source) }
    }

    public func submit(_ envelope: Data, source: String) throws -> AppendReceipt {
        let state = try knownState()
        let logKey = try NoteVerifierKey(parsing: state.logKey)
        let response = try transport.send(method: .POST, path: "/api/v1/entries", body: envelope)
        guard response.status == .created || response.status == .ok, let body = response.body else {
            throw transport.refusal(response, what: source)
        }
        let bad = { (why: String) in
            RemoteError(
                description: "\(self.url) answered \(source) with a receipt that does not hold: \(why)",
                category: .failure)
        }
        guard let receipt = try? JSONDecoder().decode(EntryReceipt.self, from: Data(buffer: body)) else {
            throw bad("it is not a receipt")
        }
        let entryBytes = Data(receipt.entry.utf8)
        let proof = try InclusionProof(parsing: receipt.inclusionProof, source: "the receipt's inclusion proof")
        guard proof.index == receipt.index, Merkle.leafHash(entryBytes).hex == receipt.leafHash else {
            throw bad("its index or leaf hash is not the entry's")
        }
        let checkpoint: Checkpoint
        do {
            checkpoint = try proof.verify(entryBytes: entryBytes, logKey: logKey, source: "the receipt")
        } catch {
            throw bad("\(error)")
        }
        let sent = try Envelope(parsing: envelope, source: source)
        let entry = try Entry(bytes: entryBytes, source: "the receipt's entry")
        guard entry.index == receipt.index, entry.envelope.payload == sent.payload else {
            throw bad("its entry is not the envelope sent")
        }
        try accept(proof.checkpointNote, checkpoint: checkpoint)
        return AppendReceipt(
            index: receipt.index, integratedTime: entry.integratedTime.rfc3339, kind: receipt.kind,
            subject: receipt.subject, digest: receipt.digest, duplicate: response.status == .ok,
            treeSize: checkpoint.size)
    }

    private func save(_ answer: SignedAnswer, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            try (encoder.encode(answer) + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw RemoteError(
                description: "cannot write the answer to \(path): \(error.localizedDescription)", category: .badInput)
        }
    }
}
