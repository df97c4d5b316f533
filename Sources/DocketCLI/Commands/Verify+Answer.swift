import ArgumentParser
import DocketCore
import Foundation

extension Docket.Verify {
    /// `verify --answer FILE [--bundle B | --ledger L]`: a server's signed answer checked by replaying the log to
    /// its checkpoint. A false answer is exit 1, and the file is the server's own signed evidence.
    func verifyAnswer(_ path: String) throws {
        let signed = try SignedAnswer(parsing: try readLimited(path, limit: 64 << 20), source: path)
        let scratch = NSTemporaryDirectory() + "docket-answer-\(getpid()).db"
        // A false answer throws AnswerError.contradicted: exit 1, the message naming the file as evidence.
        let check: AnswerCheck
        if let bundle {
            check = try Ledger.check(
                signed, source: path, bundleAt: bundle, logKey: try pinnedLogKey(), scratch: scratch,
                summarize: Render.event)
        } else {
            let ledger = try options.open(readOnly: true)
            let logKey = try ledger.logVerifierKey()
            if let pinned = try pinnedLogKey(), pinned != logKey {
                throw CLIError.no("\(options.path) is signed by the log key \(logKey.text), not \(pinned.text)")
            }
            check = try ledger.check(signed, source: path, scratch: scratch, summarize: Render.event)
        }
        try options.output(check) {
            Terminal.green(
                "verified: the log up to entry \(check.size - 1) gives the same \(check.question) answer at \(check.time), signed by its log key"
            )
        }
    }
}
