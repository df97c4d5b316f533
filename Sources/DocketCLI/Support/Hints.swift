import DocketCore

/// What to do next, for failures from the core. The core says what went wrong and with which input; only the
/// command line knows its flags and commands, so the advice that names them is added here.
enum Hints {
    /// The failure's description followed by the advice for it, if there is any.
    static func message(for failure: DocketFailure) -> String {
        guard let hint = hint(for: failure) else { return failure.description }
        return failure.description + "; " + hint
    }

    static func hint(for failure: DocketFailure) -> String? {
        switch failure {
        case let error as LedgerError: hint(for: error)
        case let error as DatabaseError where error.resultCode == .notADatabase: "check --ledger / DOCKET_LEDGER"
        case let error as CryptoError: hint(for: error)
        case EnvelopeError.notJSON: "expected the JSON written by `docket … --out FILE`"
        default: nil
        }
    }

    private static func hint(for error: LedgerError) -> String? {
        switch error {
        case .noLedger: "create one with `docket init`, or point --ledger / DOCKET_LEDGER at it"
        case .notALedger: "check --ledger / DOCKET_LEDGER"
        case .isFolder: "point --ledger / DOCKET_LEDGER at the ledger's file"
        case .corrupt: "run `docket verify`"
        case .logKeyUnavailable: "appends need the log key created by `docket init` beside the ledger"
        case .noPolicy: "set one with `docket policy set FILE`"
        case .notGated: "record them with `docket record deployed`"
        case .refused(let refusal): hint(for: refusal)
        default: nil
        }
    }

    private static func hint(for refusal: Refusal) -> String? {
        switch refusal {
        case .missingRole(_, _, let kind):
            "an admin can give the key the role (`docket key update IDENTITY --role \(kind.requiredRole?.rawValue ?? "ci")`, with its other roles) or enrol one with it"
        case .unknownSigner: "if the key is new, an admin enrols it with `docket key enroll FILE.pub --role ROLE`"
        case .breakGlassNotNeeded: "promote without --break-glass"
        case .signedInTheFuture: "set the signing machine's clock right (NTP) and sign again"
        case .signedTooLongAgo: "sign it again now; an admin can allow longer with `maxSubmitDelay` in the policy"
        case .lastAdmin:
            "enrol another admin key first (`docket key enroll FILE.pub --role admin`), then revoke this one"
        case .noDefaultRollbackTarget: "name one with --to"
        case .breakGlassApprovalsMissing:
            "an approver other than the promoter signs one with `docket approve DIGEST --env ENV --break-glass`"
        case .rollbackTargetIncident: "restore it anyway with --break-glass REASON, or name another with --to"
        case .repositoryMismatch(let digest, let owner, _): "give it as \(owner)@\(digest)"
        case .noPipeline: "an admin adds a pipeline for it with `docket policy set FILE`"
        case .ledgerIDMissing, .foreignLedgerID:
            "sign for this ledger: with --out away from it, pass --ledger-id FILE from `docket ledger describe --out FILE`"
        default: nil
        }
    }

    private static func hint(for error: CryptoError) -> String? {
        switch error {
        case .malformedKeyFile: "create one with `docket key generate`"
        case .passphraseRequired:
            "type it at a terminal, or name an environment variable holding it with --passphrase-env"
        default: nil
        }
    }
}
