import Foundation

/// `--at`: an entry index, or an RFC 3339 time (the last entry at or before it). The state it names is that of
/// the entries before `bound`, at ledger time `time`.
public struct LedgerPoint: Sendable {
    public var bound: Int
    public var time: Timestamp

    /// The end of the ledger, at `now`, when `text` is nil.
    public init(_ text: String?, in ledger: Ledger, now: Timestamp) throws {
        let size = try ledger.treeSize()
        guard let text else {
            self.init(bound: size, time: now)
            return
        }
        if let index = Int(text) {
            guard index >= 0, index < size else {
                throw QueryFailure.badInput("--at \(text): the ledger has entries 0 to \(size - 1)")
            }
            guard let entry = try ledger.entry(at: index) else { throw LedgerError.corrupt(.missingEntry(index)) }
            self.init(bound: index + 1, time: entry.integratedTime)
            return
        }
        guard let time = Timestamp(lenient: text) else {
            throw QueryFailure.badInput(
                "--at \(text): give an entry index or an RFC 3339 time such as 2026-11-29T12:00:00Z")
        }
        self.init(bound: (try ledger.lastIndex(atOrBefore: time) ?? -1) + 1, time: time)
    }

    public init(bound: Int, time: Timestamp) {
        self.bound = bound
        self.time = time
    }
}
