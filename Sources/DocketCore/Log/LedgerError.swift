/// Why the ledger refused or could not do something.
public enum LedgerError: DocketFailure {
    /// The event is well formed but not allowed: wrong key, wrong role, unknown environment, protected tag…
    case refused(String)
    /// A promotion whose gate did not pass.
    case gateRefused(GateVerdict)
    case noLedger(path: String)
    case alreadyExists(path: String)
    case notALedger(path: String)
    case corrupt(String)
    case logKeyUnavailable(path: String, reason: String)
    case badArgument(String)

    public var category: FailureCategory {
        switch self {
        case .refused, .gateRefused: .refused
        case .noLedger, .alreadyExists, .notALedger, .logKeyUnavailable, .badArgument, .corrupt: .badInput
        }
    }

    public var description: String {
        switch self {
        case .refused(let reason): "refused: \(reason)"
        case .gateRefused(let verdict):
            "refused: \(verdict.digest) is not eligible for \(verdict.environment) (failed: \(verdict.failedRules.joined(separator: ", ")))"
        case .noLedger(let path):
            "no ledger at \(path); create one with `docket init`, or point --ledger / DOCKET_LEDGER at it"
        case .alreadyExists(let path): "a ledger already exists at \(path); choose another path"
        case .notALedger(let path): "\(path) is not a Docket ledger; check --ledger / DOCKET_LEDGER"
        case .corrupt(let reason): "the ledger is inconsistent: \(reason)"
        case .logKeyUnavailable(let path, let reason):
            "cannot use the log key \(path): \(reason); appends need the log key created by `docket init` beside the ledger"
        case .badArgument(let reason): reason
        }
    }
}

/// What an append did.
public struct AppendReceipt: Sendable, Codable, Equatable {
    public var index: Int
    public var integratedTime: String
    public var kind: String
    /// The subject's name: the repository, or the identity or origin a governance event is about.
    public var subject: String
    public var digest: String?
    /// True when the same envelope was already in the ledger: nothing was appended, `index` is the existing entry.
    public var duplicate: Bool
    /// The tree size after the append (the new checkpoint's size).
    public var treeSize: Int
}
