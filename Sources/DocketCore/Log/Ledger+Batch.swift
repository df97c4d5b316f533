import Foundation

/// The keys an envelope's signature may be checked against before it reaches the ledger: every enrolled key, by
/// key ID (revocation and roles are decided inside the append transaction).
public struct KnownKeys: Sendable {
    let keys: [String: PublicKey]
}

/// An envelope from a client, checked as far as it can be without the ledger's state, cheapest checks first:
/// its size, its JSON, its statement, that it is signed for this ledger, that its keyid names an enrolled key,
/// and only then its one Ed25519 signature. The server prepares each request on the request's own task, so
/// signatures are checked in parallel before the envelope queues for the writer.
public struct PreparedEnvelope: Sendable {
    let candidate: AppendPipeline.Candidate

    /// Why an envelope was turned away before it queued.
    public enum Problem: Error, Sendable, CustomStringConvertible {
        /// Not an envelope or not a statement: HTTP 400.
        case malformed(String)
        /// Signed for another ledger (origin or ledger ID): HTTP 400, `wrong-ledger`.
        case wrongLedger(String)
        /// The keyid names no enrolled key: HTTP 403.
        case unknownKey(String)
        /// The signature does not verify under the key its keyid names: HTTP 400.
        case badSignature(String)

        public var description: String {
            switch self {
            case .malformed(let reason), .wrongLedger(let reason): reason
            case .unknownKey(let keyID):
                "the envelope's keyid \(keyID) is not a key enrolled in this ledger; enrol it with `docket key enroll`"
            case .badSignature(let keyID):
                "the envelope's signature does not verify under the key \(keyID) it names"
            }
        }
    }

    /// The origin and ledger ID an envelope must be signed for, and the keys it may be signed by.
    public struct Expectation: Sendable {
        public var origin: String
        public var ledgerID: String
        public var keys: KnownKeys

        public init(origin: String, ledgerID: String, keys: KnownKeys) {
            self.origin = origin
            self.ledgerID = ledgerID
            self.keys = keys
        }
    }

    public init(parsing data: Data, source: String, expecting expected: Expectation) throws {
        let envelope: Envelope
        let statement: Statement
        do {
            envelope = try Envelope(parsing: data, source: source)
            statement = try Statement(parsing: envelope.payload, source: source)
        } catch {
            throw Problem.malformed("\(error)")
        }
        guard statement.ledger == expected.origin else {
            throw Problem.wrongLedger(
                "\(source) is signed for the ledger `\(statement.ledger)`, not this one (`\(expected.origin)`)")
        }
        guard statement.ledgerID == expected.ledgerID else {
            throw Problem.wrongLedger(
                "\(source) names the ledger ID \(statement.ledgerID ?? "(none)"), not this ledger's \(expected.ledgerID); sign it again for this ledger"
            )
        }
        let hint = envelope.signatures.first?.keyID.lowercased() ?? ""
        // A `key-attested` is signed by the key it attests, which is not enrolled yet: proof of possession here,
        // the token inside the append transaction (against the issuer and policy as recorded).
        if case .keyAttested(let p) = statement.predicate {
            guard let raw = Data(anyBase64: p.publicKey), let key = try? PublicKey(raw: raw),
                envelope.isSigned(by: key)
            else { throw Problem.badSignature(hint) }
            candidate = AppendPipeline.Candidate(envelope: envelope, statement: statement, knownKeys: [:])
            return
        }
        guard let key = expected.keys.keys[hint] else { throw Problem.unknownKey(hint) }
        guard envelope.isSigned(by: key) else { throw Problem.badSignature(hint) }
        candidate = AppendPipeline.Candidate(envelope: envelope, statement: statement, signedBy: hint)
    }

    public var kind: EventKind { candidate.statement.kind }
    /// The key that signed it: an enrolled key, or the key a `key-attested` attests.
    public var keyID: String {
        if let known = candidate.signedBy { return known }
        guard case .keyAttested(let p) = candidate.statement.predicate, let raw = Data(anyBase64: p.publicKey) else {
            return ""
        }
        return SHA256.hash(raw).hex
    }
    /// The length of the entry this envelope would be stored as, at most (tlog-tiles entry bundles prefix each
    /// entry with a 16-bit length, so the server refuses what would not fit).
    public var entryLengthBound: Int {
        candidate.envelope.compactJSON.count + #"{"index":,"integratedTime":"","envelope":}"#.utf8.count + 20 + 24
    }
}

/// What one batch of the server's writer came to.
public struct BatchOutcome {
    /// One per envelope, in order: its receipt (with `duplicate` set for an exact repeat), or why it was refused.
    public var results: [Result<AppendReceipt, any Error>]
    /// The tree size after the batch, and the checkpoint over it (a batch of duplicates only: the latest one).
    public var size: Int
    public var checkpointNote: String
    /// Whether the batch changed who may sign (an enrolment, revocation or key update): the writer then
    /// hands the request tasks a new ``KnownKeys``.
    public var changedKeys: Bool
    /// On a store where each statement is a round trip (PostgreSQL), each receipt's entry bytes and inclusion
    /// proof against ``checkpointNote``, by index, read with the batch (the nodes of all of them in one query)
    /// instead of twice per request afterwards. Empty on SQLite, where readers build them off the writer.
    public var proven: [Int: (entry: Data, proof: InclusionProof)] = [:]
}

extension Ledger {
    /// Every enrolled key (revoked ones too: a revoked key's envelope is refused inside the transaction, with the
    /// reason, rather than as unknown).
    public func knownKeys() throws -> KnownKeys {
        KnownKeys(keys: Dictionary(try projector.keys().compactMap { r in r.key.map { (r.keyID, $0) } }) { a, _ in a })
    }

    /// The server's group commit: every envelope appended in arrival order in one transaction, with one fsync and
    /// one checkpoint, each refused or accepted on its own (a promotion's gate is decided at its place in the
    /// batch, after the events before it). If the transaction itself fails, it rolls back and this throws.
    public func appendEach(_ envelopes: [PreparedEnvelope]) throws -> BatchOutcome {
        let pipeline = AppendPipeline(log: log, projector: projector, origin: origin, ledgerID: try ledgerID())
        defer { projector.forgetTransactionEvents() }
        var outcome = try log.writeTransaction {
            projector.forgetTransactionEvents()  // a retried attempt starts from what is stored
            let results = try pipeline.append(
                envelopes.map(\.candidate), now: clock.now, origin: origin, logKey: logKey, eachOnItsOwn: true)
            let changedKeys = zip(envelopes, results).contains { envelope, result in
                envelope.kind.isGovernance && (try? result.get())?.duplicate == false
            }
            // A batch that appended signed a checkpoint; one of duplicates only answers with the stored one.
            var outcome: BatchOutcome
            if let sealed = pipeline.sealed {
                outcome = BatchOutcome(
                    results: results, size: sealed.size, checkpointNote: sealed.note, changedKeys: changedKeys)
            } else {
                guard let note = try log.checkpointNote() else { throw LedgerError.corrupt(.noCheckpoint) }
                outcome = BatchOutcome(
                    results: results, size: try log.treeSize(), checkpointNote: note, changedKeys: changedKeys)
            }
            return outcome
        }
        // After the commit, off the head lock: the nodes are stored for good, so other servers' batches need not
        // wait for these reads. If they fail, readers build each receipt as on SQLite.
        if log.db.bindsArrays {
            outcome.proven = (try? proofs(of: outcome.results, in: outcome, written: pipeline.written)) ?? [:]
        }
        return outcome
    }

    /// Each receipt's entry and its inclusion proof in the batch's tree.
    private func proofs(
        of results: [Result<AppendReceipt, any Error>], in outcome: BatchOutcome, written: [Int: Data]
    ) throws -> [Int: (entry: Data, proof: InclusionProof)] {
        let indexes = Set(results.compactMap { try? $0.get().index })
        var proven: [Int: (entry: Data, proof: InclusionProof)] = [:]
        for (index, hashes) in try log.inclusionProofs(indexes: Array(indexes), size: outcome.size) {
            guard let entry = try written[index] ?? log.storedEntry(at: index)?.bytes else {
                throw LedgerError.corrupt(.missingEntry(index))
            }
            proven[index] = (
                entry, InclusionProof(index: index, hashes: hashes, checkpointNote: outcome.checkpointNote)
            )
        }
        return proven
    }

    /// The stored bytes of entry `index`, if it exists.
    public func entryBytes(at index: Int) throws -> Data? { try log.storedEntry(at: index)?.bytes }

    /// The inclusion proof of entry `index` in the tree of `size` entries, against `checkpointNote`, the
    /// checkpoint the caller holds for that size (a server's writer hands each batch's to its readers).
    public func inclusionProof(index: Int, size: Int, checkpointNote: String) throws -> InclusionProof {
        guard index >= 0, index < size else { throw LedgerError.notInTree(index: index, size: size) }
        return InclusionProof(
            index: index, hashes: try log.inclusionProof(index: index, size: size), checkpointNote: checkpointNote)
    }
}
