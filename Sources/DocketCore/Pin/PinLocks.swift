import Foundation

/// Pin lock files (`ledger.pinLocks`): what an environment runs, signed into a file `pin` reads offline, and the
/// check of such a file against the ledger.
public struct PinLocks {
    let ledger: Ledger
}

extension PinLocks {
    /// The lock for `repositories` (normal form) pinned in `environment`, at the latest checkpoint.
    public func make(environment: String, repositories: [String]) throws -> PinLock {
        let (note, checkpoint) = try ledger.latestCheckpoint()
        var pins: [PinLock.Pin] = []
        for repository in Set(repositories).sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard let current = try ledger.queries.current(environment: environment, repository: repository) else {
                throw LedgerError.unknownRepository(repository)
            }
            let proof = try ledger.inclusionProof(index: current.index, size: checkpoint.size, checkpointNote: note)
            pins.append(
                .init(
                    repository: repository, digest: current.digest.description, index: current.index, proof: proof.text)
            )
        }
        return PinLock(
            origin: ledger.origin, ledgerID: try ledger.ledgerID(), environment: environment, checkpoint: note,
            pins: pins)
    }

    /// Proves a lock against this ledger: its checkpoint signed by the log key (the pinned one when given) and
    /// consistent with the ledger now; each pin's entry, read from the ledger, led by the lock's own proof to
    /// the checkpoint's root, and that entry the event that made the digest current in the environment, as
    /// the ledger's state at the checkpoint also says. A pin that is no longer current is reported, not a
    /// failure: the lock records a point in time.
    public func verify(_ lock: PinLock, logKey pinned: NoteVerifierKey? = nil, source: String) throws
        -> LockReport
    {
        guard lock.origin == ledger.origin, lock.ledgerID == (try ledger.ledgerID()) else {
            throw LockError(
                "\(source) was written for ledger \(lock.origin) (\(lock.ledgerID.prefix(12))…), not this one (\(ledger.origin))"
            )
        }
        let logKey = try pinned ?? ledger.logVerifierKey()
        let held = try Checkpoint.verified(text: lock.checkpoint, logKey: logKey, source: "\(source) checkpoint").0
        let size = try ledger.treeSize()
        var problems: [String] = []
        if held.size > size {
            problems.append("the lock's checkpoint has \(held.size) entries; this ledger has only \(size)")
        } else {
            do {
                _ = try ledger.proofs.consistencyProof(from: held).verify(
                    oldCheckpoint: held, logKey: logKey, source: source)
            } catch {
                problems.append("the ledger is not consistent with the lock's checkpoint: \(error)")
            }
        }
        var results: [LockReport.PinResult] = []
        for pin in lock.pins {
            var result = LockReport.PinResult(
                repository: pin.repository, digest: pin.digest, index: pin.index, proved: false, current: false)
            result.problem = try proveLockPin(pin, environment: lock.environment, checkpoint: held, logKey: logKey)
            result.proved = result.problem == nil
            result.current =
                try ledger.queries.current(environment: lock.environment, repository: pin.repository).map {
                    $0.digest.description == pin.digest
                } ?? false
            results.append(result)
        }
        return LockReport(
            environment: lock.environment, checkpointSize: held.size, ledgerSize: size, pins: results,
            problems: problems)
    }

    /// Why one pin does not hold, or nil.
    private func proveLockPin(_ pin: PinLock.Pin, environment: String, checkpoint: Checkpoint, logKey: NoteVerifierKey)
        throws -> String?
    {
        guard pin.index >= 0, pin.index < checkpoint.size, let bytes = try ledger.entryBytes(at: pin.index) else {
            return "entry \(pin.index) is not in the lock's checkpoint of \(checkpoint.size) entries"
        }
        do {
            let proof = try InclusionProof(parsing: pin.proof, source: "pin \(pin.repository)")
            guard proof.index == pin.index else { return "its proof is for entry \(proof.index), not \(pin.index)" }
            let proved = try proof.verify(entryBytes: bytes, logKey: logKey, source: "pin \(pin.repository)")
            guard proved == checkpoint else { return "its proof ends at another checkpoint than the lock's" }
        } catch {
            return "\(error)"
        }
        let event = try ledger.projector.event(at: pin.index)
        guard [.promoted, .deployed, .rolledBack].contains(event.kind), event.repository == pin.repository,
            event.digest?.description == pin.digest, event.statement.predicate.environment == environment
        else {
            return
                "entry \(pin.index) is a \(event.kind.rawValue) of \(event.repository), not what made \(pin.digest) current in \(environment)"
        }
        guard
            let then = try ledger.projector.current(
                environment: environment, repository: pin.repository, before: checkpoint.size),
            then.index == pin.index
        else {
            return "at the lock's checkpoint, entry \(pin.index) was no longer what ran in \(environment)"
        }
        return nil
    }
}
