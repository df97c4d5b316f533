import Foundation

extension Statement {
    /// A statement with a fresh random nonce (128 bits, hex) and the signer's current time. The model takes
    /// the nonce as given; drawing it is Crypto's job.
    public static func make(
        subjectName: String, subjectDigest: String, ledger: String, ledgerID: String?, predicate: EventPredicate,
        clock: any LedgerClock = SystemClock()
    ) throws -> Statement {
        Statement(
            subjectName: subjectName, subjectDigest: subjectDigest, ledger: ledger, ledgerID: ledgerID,
            time: clock.now().rfc3339, nonce: try Sodium.randomBytes(16).hex, predicate: predicate)
    }
}
