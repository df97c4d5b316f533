import DocketCore
import Foundation

extension ServerClient {
    /// The state held for this server, made on first contact at a cost of O(log n): entry 0 and its inclusion
    /// proof against the latest checkpoint. Entry 0's `logKey` (or `DOCKET_LOG_KEY`, which it must equal) signs the
    /// checkpoint; the ledger ID is entry 0's leaf hash.
    func knownState() throws -> ServerState {
        if let cachedState { return cachedState }
        if let held = stateFile.read() {
            try checkPinned(held)
            cachedState = held
            return held
        }
        let receipt: EntryReceipt
        do {
            receipt = try JSONDecoder().decode(EntryReceipt.self, from: try transport.get("/api/v1/entries/0"))
        } catch let error as RemoteError {
            throw error
        } catch {
            throw untrusted("its entry 0 is not readable (\(error))")
        }
        let entryBytes = Data(receipt.entry.utf8)
        let genesis: Predicates.Initialized
        do {
            let entry = try Entry(bytes: entryBytes, source: "\(url) entry 0")
            let statement = try Statement(parsing: entry.envelope.payload, source: "\(url) entry 0")
            guard entry.index == 0, case .initialized(let initialized) = statement.predicate else {
                throw untrusted("its entry 0 is not a genesis entry")
            }
            genesis = initialized
        }
        let logKey = try NoteVerifierKey(parsing: genesis.logKey)
        if let pinnedLogKey, pinnedLogKey != logKey {
            throw RemoteError(
                description:
                    "\(url)'s log key is \(logKey.text), not the pinned DOCKET_LOG_KEY \(pinnedLogKey.text): this is not the ledger you pinned",
                category: .failure)
        }
        let proof = try InclusionProof(parsing: receipt.inclusionProof, source: "\(url)'s proof of entry 0")
        let checkpoint: Checkpoint
        do {
            guard proof.index == 0 else { throw untrusted("its proof of entry 0 is for entry \(proof.index)") }
            checkpoint = try proof.verify(entryBytes: entryBytes, logKey: logKey, source: "\(url)'s proof of entry 0")
        } catch let error as RemoteError {
            throw error
        } catch {
            throw untrusted("its entry 0 is not in the log its checkpoint signs (\(error))")
        }
        let fresh = ServerState(
            url: url, origin: checkpoint.origin, ledgerID: Merkle.leafHash(entryBytes).hex, logKey: logKey.text,
            checkpoint: proof.checkpointNote)
        // Another process may have got there first: then its state stands, and this checkpoint is checked against it.
        let (state, first) = try stateFile.update { held -> (ServerState?, (ServerState, Bool)) in
            guard let held else { return (fresh, (fresh, true)) }
            return (nil, (held, false))
        }
        guard state.logKey == fresh.logKey, state.ledgerID == fresh.ledgerID else {
            throw untrusted(
                "it now serves the ledger \(fresh.ledgerID) under the log key \(fresh.logKey), after \(state.ledgerID) under \(state.logKey) (held in \(stateFile.path))"
            )
        }
        cachedState = state
        if !first { try accept(proof.checkpointNote, checkpoint: checkpoint) }
        if first, pinnedLogKey == nil {
            onFirstContact?(
                "trusting \(url)'s log key \(logKey.text) from now on (pin it with DOCKET_LOG_KEY); state: \(stateFile.path)"
            )
        }
        return state
    }

    private func checkPinned(_ held: ServerState) throws {
        guard let pinnedLogKey, pinnedLogKey.text != held.logKey else { return }
        throw RemoteError(
            description:
                "\(stateFile.path) holds \(url)'s log key \(held.logKey), not DOCKET_LOG_KEY \(pinnedLogKey.text); remove it if the server's key really changed",
            category: .failure)
    }

    /// Accepts a checkpoint the server signed (its signature already checked) against the one held, under the
    /// lock: the same size must have the same root; a larger one replaces the held one once a consistency proof
    /// from the held one holds; a smaller one (a lagging server, or another process that got further first) must
    /// be proved consistent the other way and is kept as it is. The only alarms are a proof that does not hold and
    /// two roots for one size, and both signed notes are saved as evidence.
    func accept(_ note: String, checkpoint: Checkpoint) throws {
        try stateFile.update { held -> (ServerState?, Void) in
            guard var state = held ?? cachedState else { return (nil, ()) }
            let heldCheckpoint = try Checkpoint(
                note: try SignedNote(parsing: state.checkpoint, source: stateFile.path), source: stateFile.path)
            guard checkpoint.origin == state.origin else {
                throw untrusted("it signed a checkpoint for \(checkpoint.origin), not \(state.origin)")
            }
            if checkpoint.size == heldCheckpoint.size {
                guard checkpoint.root == heldCheckpoint.root else {
                    throw alarm(
                        "it signed two different logs of \(checkpoint.size) entries", held: state.checkpoint,
                        served: note)
                }
                return (nil, ())
            }
            let (old, new) =
                checkpoint.size > heldCheckpoint.size ? (heldCheckpoint, checkpoint) : (checkpoint, heldCheckpoint)
            if old.size > 0 {
                guard let hashes = try consistencyHashes(from: old.size, to: new.size) else {
                    throw untrusted(
                        "it signed a checkpoint of \(checkpoint.size) entries and gave no consistency proof between it and the one of \(heldCheckpoint.size) held here (a server that lags behind a load balancer cannot prove a size it has not reached: try again)"
                    )
                }
                guard
                    Merkle.verifyConsistency(
                        size1: old.size, size2: new.size, root1: old.root, root2: new.root, proof: hashes)
                else {
                    throw alarm(
                        "its checkpoint of \(new.size) entries is not an extension of the one of \(old.size) it signed",
                        held: state.checkpoint, served: note)
                }
            }
            guard checkpoint.size > heldCheckpoint.size else { return (nil, ()) }
            state.checkpoint = note
            cachedState = state
            return (state, ())
        }
    }

    /// The consistency proof between two sizes, or nil when the server has none to give (it has not reached
    /// `to` yet, or answered something unreadable): not evidence of anything.
    func consistencyHashes(from: Int, to: Int) throws -> [Data]? {
        struct Proof: Decodable {
            var from: Int
            var to: Int
            var hashes: [String]
        }
        let response = try transport.send(
            method: .GET, path: "/api/v1/proof/consistency?from=\(from)&to=\(to)", body: nil)
        guard response.status == .ok, let body = response.body,
            let proof = try? JSONDecoder().decode(Proof.self, from: Data(buffer: body)), proof.from == from,
            proof.to == to
        else { return nil }
        let hashes = proof.hashes.compactMap { Data(base64Encoded: $0) }
        return hashes.count == proof.hashes.count ? hashes : nil
    }

    /// A server that answered what its own signed log rules out, without evidence to keep.
    func untrusted(_ reason: String) -> RemoteError {
        RemoteError(
            description: "\(url) cannot be trusted: \(reason); nothing was changed here, tell the ledger's operators",
            category: .failure)
    }

    /// A server caught signing two logs: both notes are saved and named.
    func alarm(_ reason: String, held: String, served: String) -> RemoteError {
        let stamp = Timestamp.now().rfc3339.replacingOccurrences(of: ":", with: "")
        let base = evidenceFolder + "/" + transport.cacheName + "-" + stamp + "-\(getpid())"
        var saved: [String] = []
        try? FileManager.default.createDirectory(atPath: evidenceFolder, withIntermediateDirectories: true)
        for (suffix, note) in [("held", held), ("served", served)] {
            let path = "\(base)-\(suffix).note"
            if (try? Data(note.utf8).write(to: URL(fileURLWithPath: path))) != nil { saved.append(path) }
        }
        return RemoteError(
            description:
                "ALARM: \(url) \(reason); both checkpoints are signed by its log key, so this is proof that it forked its log. Evidence: \(saved.joined(separator: " and ")). Nothing was changed here; tell the ledger's operators",
            category: .failure)
    }
}
