import Foundation

/// What `docket pin --lock FILE` writes (docs and `schemas/pin-lock.schema.json`): the digests a set of
/// manifests was pinned to, each with the ledger entry that made it current in the environment and that
/// entry's inclusion proof, against one checkpoint of the ledger, so `docket verify --lock` can prove later
/// that each pin was the ledger's answer, and whether it still is.
public struct PinLock: Codable, Sendable, Equatable {
    public static let format = "docket-lock/v1"

    public struct Pin: Codable, Sendable, Equatable {
        public var repository: String
        public var digest: String
        /// The entry that made `digest` current (`promoted`, `deployed` or `rolled-back`).
        public var index: Int
        /// Its `c2sp.org/tlog-proof@v1` against the lock's checkpoint.
        public var proof: String
    }

    public var format: String
    public var origin: String
    public var ledgerID: String
    public var environment: String
    /// The signed checkpoint the pins were read at.
    public var checkpoint: String
    public var pins: [Pin]

    public init(parsing data: Data, source: String) throws {
        do {
            self = try JSONDecoder().decode(PinLock.self, from: data)
        } catch {
            throw LockError("\(source) is not a Docket lock file (docs: docket pin --lock): \(error)")
        }
        guard format == Self.format else {
            throw LockError("\(source): format `\(format)` is not \(Self.format)")
        }
    }

    init(origin: String, ledgerID: String, environment: String, checkpoint: String, pins: [Pin]) {
        format = Self.format
        self.origin = origin
        self.ledgerID = ledgerID
        self.environment = environment
        self.checkpoint = checkpoint
        self.pins = pins
    }

    /// Pretty, sorted JSON with a final newline: a lock diffs well in review.
    public var encoded: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(self)) ?? Data()) + Data("\n".utf8)
    }
}

/// A lock file that cannot be read or does not belong to this ledger (bad input, exit 2).
public struct LockError: DocketFailure {
    public var description: String
    public var category: FailureCategory { .badInput }
    init(_ description: String) { self.description = description }
}

/// What `docket verify --lock` found, pin by pin.
public struct LockReport: Codable, Sendable, Equatable {
    public struct PinResult: Codable, Sendable, Equatable {
        public var repository: String
        public var digest: String
        public var index: Int
        /// Proved: the entry is in the checkpointed tree and is the event that made the digest current.
        public var proved: Bool
        /// Still the current digest in the environment now.
        public var current: Bool
        public var problem: String?
    }

    public var environment: String
    public var checkpointSize: Int
    public var ledgerSize: Int
    public var pins: [PinResult]
    public var problems: [String]
    /// Every pin proved and the checkpoint consistent with the ledger.
    public var ok: Bool

    init(environment: String, checkpointSize: Int, ledgerSize: Int, pins: [PinResult], problems: [String]) {
        self.environment = environment
        self.checkpointSize = checkpointSize
        self.ledgerSize = ledgerSize
        self.pins = pins
        self.problems = problems
        ok = problems.isEmpty && pins.allSatisfy(\.proved)
    }
}

extension Ledger {
    /// The lock for `repositories` (normal form) pinned in `environment`, at the latest checkpoint.
    public func pinLock(environment: String, repositories: [String]) throws -> PinLock {
        let (note, checkpoint) = try latestCheckpoint()
        var pins: [PinLock.Pin] = []
        for repository in Set(repositories).sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard let current = try current(environment: environment, repository: repository) else {
                throw LedgerError.unknownRepository(repository)
            }
            let proof = try inclusionProof(index: current.index, size: checkpoint.size, checkpointNote: note)
            pins.append(
                .init(
                    repository: repository, digest: current.digest.description, index: current.index, proof: proof.text)
            )
        }
        return PinLock(
            origin: origin, ledgerID: try ledgerID(), environment: environment, checkpoint: note, pins: pins)
    }

    /// Proves a lock against this ledger: its checkpoint signed by the log key (the pinned one when given) and
    /// consistent with the ledger now; each pin's entry, read from the ledger, led by the lock's own proof to
    /// the checkpoint's root, and that entry the event that made the digest current in the environment, as
    /// the ledger's state at the checkpoint also says. A pin that is no longer current is reported, not a
    /// failure: the lock records a point in time.
    public func verifyLock(_ lock: PinLock, logKey pinned: NoteVerifierKey? = nil, source: String) throws
        -> LockReport
    {
        guard lock.origin == origin, lock.ledgerID == (try ledgerID()) else {
            throw LockError(
                "\(source) was written for ledger \(lock.origin) (\(lock.ledgerID.prefix(12))…), not this one (\(origin))"
            )
        }
        let logKey = try pinned ?? logVerifierKey()
        let held = try Checkpoint.verified(text: lock.checkpoint, logKey: logKey, source: "\(source) checkpoint").0
        let size = try treeSize()
        var problems: [String] = []
        if held.size > size {
            problems.append("the lock's checkpoint has \(held.size) entries; this ledger has only \(size)")
        } else {
            do {
                _ = try consistencyProof(from: held).verify(oldCheckpoint: held, logKey: logKey, source: source)
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
                try current(environment: lock.environment, repository: pin.repository).map {
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
        guard pin.index >= 0, pin.index < checkpoint.size, let bytes = try entryBytes(at: pin.index) else {
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
        let event = try projector.event(at: pin.index)
        guard [.promoted, .deployed, .rolledBack].contains(event.kind), event.repository == pin.repository,
            event.digest?.description == pin.digest, event.statement.predicate.environment == environment
        else {
            return
                "entry \(pin.index) is a \(event.kind.rawValue) of \(event.repository), not what made \(pin.digest) current in \(environment)"
        }
        guard
            let then = try projector.current(
                environment: environment, repository: pin.repository, before: checkpoint.size),
            then.index == pin.index
        else {
            return "at the lock's checkpoint, entry \(pin.index) was no longer what ran in \(environment)"
        }
        return nil
    }
}
