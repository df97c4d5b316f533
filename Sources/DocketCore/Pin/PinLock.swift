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
        } catch let error as DecodingError {
            throw LockError("\(source) is not a Docket lock file (written by docket pin --lock): \(error.readable)")
        } catch {
            throw LockError("\(source) is not a Docket lock file (written by docket pin --lock): \(error)")
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
