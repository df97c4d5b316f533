/// Why the ledger refused or could not do something. Each case carries the data a caller needs to act on it;
/// descriptions name no command-line flags or commands (the CLI adds those).
public enum LedgerError: DocketFailure, Equatable {
    /// The event is well formed but not allowed: wrong key, wrong role, unknown environment, protected tag…
    case refused(Refusal)
    /// A promotion whose gate did not pass.
    case gateRefused(GateVerdict)
    case noLedger(path: String)
    case alreadyExists(path: String)
    case notALedger(path: String)
    /// The path is a folder, not a ledger file.
    case isFolder(path: String)
    /// The file was written by another version of Docket.
    case schemaMismatch(path: String, found: String, supported: String)
    case badOrigin(String)
    case corrupt(Corruption)
    case logKeyUnavailable(path: String, reason: LogKeyProblem)
    /// An entry index outside the checkpointed tree.
    case notInTree(index: Int, size: Int)
    /// A checkpoint of another ledger.
    case foreignCheckpoint(origin: String, this: String)
    /// A promotion asked for before any policy is recorded.
    case noPolicy
    /// An environment the policy in force does not name.
    case notInPolicy(environment: String, known: [String])
    /// A promotion to an environment digests enter by deployment, not promotion.
    case notGated(environment: String)
    /// A `REPO@DIGEST` naming another repository than the digest's.
    case repositoryMismatch(digest: String, owner: String, given: String)
    /// A digest the ledger does not know, given without its repository.
    case unknownDigest(String)
    case unknownRepository(String)
    /// This machine's clock gives a time no entry can record (before 1970, or after year 9999).
    case clockOutOfRange(Int64)
    /// `migrate` was pointed at a store that already holds entries.
    case migrationTargetNotEmpty(target: String, entries: Int)
    /// A migrated copy that does not prove equal to its source (nothing was committed).
    case migrationMismatch(String)

    public var category: FailureCategory {
        switch self {
        case .refused(let refusal): refusal.isBadInput ? .badInput : .refused
        case .gateRefused: .refused
        case .noLedger, .alreadyExists, .notALedger, .isFolder, .schemaMismatch, .badOrigin, .corrupt,
            .logKeyUnavailable, .notInTree, .foreignCheckpoint, .noPolicy, .notInPolicy, .notGated, .repositoryMismatch,
            .unknownDigest, .unknownRepository, .migrationTargetNotEmpty:
            .badInput
        case .clockOutOfRange, .migrationMismatch: .failure
        }
    }

    public var description: String {
        switch self {
        // A name not in the policy is a typing mistake, worded as other bad input is; the rest are the ledger's "no".
        case .refused(let refusal): refusal.isBadInput ? "\(refusal)" : "refused: \(refusal)"
        case .gateRefused(let verdict):
            "refused: \(verdict.digest) is not eligible for \(verdict.environment) (failed: \(verdict.failedRules.joined(separator: ", ")))"
        case .noLedger(let path): "no ledger at \(path)"
        case .migrationTargetNotEmpty(let target, let entries):
            "\(target) already holds a ledger (\(entries) entries); migrate into an empty database"
        case .migrationMismatch(let reason): "the copy does not match its source, so nothing was kept: \(reason)"
        case .alreadyExists(let path): "a ledger already exists at \(path); choose another path"
        case .notALedger(let path): "\(path) is not a Docket ledger"
        case .isFolder(let path): "\(path) is a folder, not a ledger file"
        case .schemaMismatch(let path, let found, let supported):
            (Int(found) ?? 0) > (Int(supported) ?? 0)
                ? "\(path) was written by a newer Docket (ledger schema \(found); this one reads schema \(supported)); upgrade Docket to use it"
                : "\(path) was written by an older Docket (ledger schema \(found); this one reads schema \(supported)); export it with that version and verify the bundle, or use that version"
        case .badOrigin(let origin):
            "origin `\(origin)` must be non-empty with no spaces or `+` (for example ledger.example.com/app)"
        case .corrupt(let reason): "the ledger is inconsistent: \(reason)"
        case .logKeyUnavailable(let path, let reason): "cannot use the log key \(path): \(reason)"
        case .notInTree(let index, let size): "entry \(index) is not in the checkpointed tree (size \(size))"
        case .foreignCheckpoint(let origin, let this): "the checkpoint is for `\(origin)`, not this ledger `\(this)`"
        case .noPolicy: "no policy is recorded yet"
        case .notInPolicy(let environment, let known):
            "`\(environment)` is not in the policy; environments are \(known.joined(separator: ", "))"
        case .notGated(let environment): "`\(environment)` has no gate: digests enter it by deployment"
        case .repositoryMismatch(let digest, let owner, let given):
            "\(given)@\(digest): the digest belongs to \(owner), not \(given); give it as \(owner)@\(digest)"
        case .unknownDigest(let digest): "\(digest) is not in the ledger; give it as REPOSITORY@\(digest)"
        case .clockOutOfRange(let ms):
            "this machine's clock reads \(ms / 1000) s since 1970, outside what an entry can record (1970 to year 9999); set the clock right"
        case .unknownRepository(let name):
            "no event of the ledger names the repository \(name); `docket status` lists the ledger's services"
        }
    }
}

/// Why an event, or a request about the log, was refused.
public enum Refusal: Sendable, Equatable, CustomStringConvertible {
    /// A name that is not in the policy (a typing mistake, not a "no"): exit 2 like every other bad input.
    public var isBadInput: Bool {
        switch self {
        case .unknownEnvironment: true
        default: false
        }
    }

    case genesisNotInitialized
    case genesisNotSignedByAdmin
    case alreadyInitialized
    case genesisLogKeyMismatch
    case keyRevoked(identity: String, keyID: String, at: Int, reason: String?)
    case missingRole(identity: String, holds: [Role], kind: EventKind)
    case unknownSigner(keyIDHint: String?)
    /// An OIDC token, issuer or attested key refused (DESIGN.md §14): the reason names the claim or the key.
    case workload(String)
    case foreignLedger(signedFor: String, this: String)
    case unknownEnvironment(String, pipeline: String?, known: [String])
    case noPipeline(repository: String, patterns: [String])
    case repositoryMismatch(digest: String, owner: String, given: String)
    case ledgerIDMissing(this: String)
    case foreignLedgerID(signedFor: String, this: String)
    case breakGlassRulesNotAllowed(environment: String, rules: [String], allow: [String])
    case breakGlassApprovalsMissing(String)
    case rollbackTargetIncident(digest: String, incidents: [String])
    case rollbackBreakGlassNotNeeded(digest: String)
    case noRoles
    case keyAlreadyEnrolled(identity: String, at: Int)
    case keyRevokedForever(at: Int)
    case noSuchKey(identity: String)
    case keyOfAnotherIdentity(owner: String, claimed: String)
    case lastAdmin(identity: String)
    case signedInTheFuture(signed: String, ledgerTime: String, skew: String)
    case signedTooLongAgo(signed: String, ledgerTime: String, delay: String)
    case policyHashMismatch
    case badPublicKey(identity: String)
    case publicKeySubjectMismatch(identity: String)
    case protectedTag(tag: String, repository: String, current: String)
    case notAnImageEvent(EventKind)
    case wrongSource(environment: String, required: String, given: String)
    case alreadyCurrent(digest: String, environment: String)
    case breakGlassNotNeeded
    case breakGlassNotAllowed(environment: String, failedRules: [String])
    case breakGlassRulesMismatch(listed: [String], failing: [String])
    case nothingCurrent(environment: String, repository: String)
    case rollbackFromMismatch(environment: String, current: String, claimed: String)
    case neverCurrent(digest: String, environment: String, validTargets: [String])
    case noEarlierDigest(environment: String, repository: String)
    case noDefaultRollbackTarget(environment: String, named: [String])
    case incidentNotOpen(incident: String, environment: String)
    case incidentAlreadyOpen(incident: String, environment: String)
    case nothingToWithdraw(identity: String, environment: String)
    case forgedDuplicate(entry: Int)
    case checkpointTruncated(oldSize: Int, size: Int)
    case checkpointNotIssued(size: Int)

    public var description: String {
        switch self {
        case .genesisNotInitialized: "the first entry of a ledger must be `initialized`"
        case .genesisNotSignedByAdmin: "the genesis entry is not signed by one of the admins it enrols"
        case .alreadyInitialized: "the ledger is already initialized"
        case .genesisLogKeyMismatch: "the genesis entry's log key does not match its subject"
        case .keyRevoked(let identity, let keyID, let at, let reason):
            "the signing key of \(identity) (\(keyID.prefix(16))…) was revoked at entry \(at)"
                + (reason.map { " (\($0))" } ?? "")
        case .missingRole(let identity, let holds, let kind):
            "\(identity) holds \(holds.map(\.rawValue).joined(separator: ", ")) but `\(kind.rawValue)` events need the \(kind.requiredRole?.rawValue ?? "attested key's own") role"
        case .workload(let reason): "workload identity: \(reason)"
        case .unknownSigner(let hint):
            "the envelope's signature does not verify under any key enrolled in this ledger (keyid hint \(hint.map { String($0.prefix(16)) + "…" } ?? "none"))"
        case .foreignLedger(let signedFor, let this):
            "the event was signed for ledger `\(signedFor)`, not this ledger `\(this)`"
        case .unknownEnvironment(let name, let pipeline, let known):
            "`\(name)` is not in the policy\(pipeline.map { $0 == "default" ? "" : " (pipeline \($0))" } ?? ""); environments are \(known.joined(separator: ", "))"
        case .noPipeline(let repository, let patterns):
            "no pipeline of the policy in force covers \(repository); its repository patterns are \(patterns.joined(separator: ", "))"
        case .repositoryMismatch(let digest, let owner, let given):
            "\(digest) belongs to \(owner) (its first event names it so), not \(given); give it as \(owner)@\(digest)"
        case .ledgerIDMissing(let this):
            "the event names no ledgerID; it must be signed for this ledger's ID \(this) (see the ledger's description)"
        case .foreignLedgerID(let signedFor, let this):
            "the event was signed for ledger ID \(signedFor.prefix(16))…, not this ledger's \(this.prefix(16))… (a ledger with the same origin is another ledger)"
        case .breakGlassRulesNotAllowed(let environment, let rules, let allow):
            "break-glass to \(environment) may override only \(allow.joined(separator: ", ")); failing and not overridable: \(rules.joined(separator: ", "))"
        case .breakGlassApprovalsMissing(let reason): reason
        case .rollbackTargetIncident(let digest, let incidents):
            "\(digest) has open incident(s) \(incidents.joined(separator: ", ")); restoring it needs a break-glass reason"
        case .rollbackBreakGlassNotNeeded(let digest):
            "\(digest) has no open incident, so this rollback is not a break-glass one"
        case .noRoles: "a key must be enrolled with at least one role"
        case .keyAlreadyEnrolled(let identity, let at): "this key is already enrolled for \(identity) (entry \(at))"
        case .keyRevokedForever(let at):
            "this key was revoked at entry \(at) and cannot be enrolled again; generate a new key"
        case .noSuchKey(let identity): "no enrolled, unrevoked key matches \(identity)'s public key"
        case .keyOfAnotherIdentity(let owner, let claimed): "that key belongs to \(owner), not \(claimed)"
        case .signedInTheFuture(let signed, let ledgerTime, let skew):
            "the envelope was signed at \(signed), more than \(skew) (maxClockSkew) after the ledger time \(ledgerTime): the signer's clock runs ahead"
        case .signedTooLongAgo(let signed, let ledgerTime, let delay):
            "the envelope was signed at \(signed), more than \(delay) (maxSubmitDelay) before the ledger time \(ledgerTime)"
        case .lastAdmin(let identity):
            "the key of \(identity) is the last unrevoked admin key; without one no one could revoke a leaked key or change the policy"
        case .policyHashMismatch:
            "the policy event's subject digest is not the SHA-256 of its canonical document"
        case .badPublicKey(let identity): "the public key of \(identity) is not base64 of 32 bytes"
        case .publicKeySubjectMismatch(let identity):
            "the subject digest is not the SHA-256 of \(identity)'s public key"
        case .protectedTag(let tag, let repository, let current):
            "tag \(tag) of \(repository) is protected and already names \(current); release tags never move: use a new tag"
        case .notAnImageEvent(let kind):
            kind == .rolledBack ? "a rollback needs the image digest to restore" : "a promotion needs an image digest"
        case .wrongSource(let environment, let required, let given):
            "\(environment) is promoted to from \(required), not from \(given)"
        case .alreadyCurrent(let digest, let environment): "\(digest) is already current in \(environment)"
        case .breakGlassNotNeeded:
            "the gate passes, so this is not a break-glass promotion"
        case .breakGlassNotAllowed(let environment, let failed):
            "the policy does not allow break-glass promotions to \(environment); the gate failed: \(failed.joined(separator: ", "))"
        case .breakGlassRulesMismatch(let listed, let failing):
            "the break-glass promotion lists failed rules [\(listed.joined(separator: ", "))] but the rules failing now are [\(failing.joined(separator: ", "))]; sign it again"
        case .nothingCurrent(let environment, let repository):
            "\(repository) has nothing current in \(environment); there is nothing to roll back"
        case .rollbackFromMismatch(let environment, let current, let claimed):
            "\(environment) runs \(current), not \(claimed); a rollback leaves the current digest"
        case .neverCurrent(let digest, let environment, let valid):
            "\(digest) was never current in \(environment) before; valid rollback targets: "
                + (valid.isEmpty ? "none" : valid.joined(separator: ", "))
        case .noEarlierDigest(let environment, let repository):
            "\(repository) has no earlier digest in \(environment) to roll back to"
        case .noDefaultRollbackTarget(let environment, let named):
            "\(environment) has no default rollback target (the earlier digests were rolled back from: \(named.joined(separator: ", ")))"
        case .incidentNotOpen(let incident, let environment):
            "incident \(incident) against this digest in \(environment) is not open; there is nothing to resolve"
        case .incidentAlreadyOpen(let incident, let environment):
            "incident \(incident) against this digest in \(environment) is already open"
        case .nothingToWithdraw(let identity, let environment):
            "\(identity) has no standing approval of this digest for \(environment) to withdraw"
        case .forgedDuplicate(let entry):
            "this statement is already in the ledger as entry \(entry), but this envelope's signature does not verify under the key that signed it"
        case .checkpointTruncated(let oldSize, let size):
            "the old checkpoint has size \(oldSize) but the ledger has only \(size) entries: it was truncated"
        case .checkpointNotIssued(let size):
            "the checkpoint's root is not this ledger's root at size \(size): the ledger was rewritten after that checkpoint, or the checkpoint is not one it issued"
        }
    }
}

/// What is inconsistent in a ledger file (verify finds the cause).
public enum Corruption: Sendable, Equatable, CustomStringConvertible {
    case noCheckpoint
    case noGenesis
    case genesisNotInitialized
    case missingEntry(Int)
    case badSignature(entry: Int)
    case unreadablePolicy(entry: Int)
    case missingMerkleNode(level: Int, index: Int)
    /// An entry longer than a tlog-tiles entry bundle can carry (65,535 bytes).
    case entryTooLongForTiles(index: Int)
    case unreadableKey(keyID: String)
    case unreadableRow(table: String, index: Int?)

    public var description: String {
        switch self {
        case .noCheckpoint: "no checkpoint is stored"
        case .noGenesis: "the ledger has no genesis entry"
        case .genesisNotInitialized: "entry 0 is not the genesis entry"
        case .missingEntry(let index): "entry \(index) is missing"
        case .badSignature(let index): "entry \(index)'s signature does not verify"
        case .unreadablePolicy(let index): "the policy recorded at entry \(index) cannot be read"
        case .missingMerkleNode(let level, let index): "Merkle node (\(level), \(index)) is missing"
        case .entryTooLongForTiles(let index):
            "entry \(index) is longer than 65,535 bytes, more than a tlog-tiles entry bundle can carry"
        case .unreadableKey(let keyID): "the stored key \(keyID.prefix(16))… is not a public key"
        case .unreadableRow(let table, let index):
            "a row of table \(table)\(index.map { " (entry \($0))" } ?? "") cannot be read"
        }
    }
}

/// Why the log key beside a ledger cannot sign its checkpoints.
public enum LogKeyProblem: Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)
    case notTheGenesisKey(recorded: String)

    public var description: String {
        switch self {
        case .unreadable(let reason): reason
        case .notTheGenesisKey(let recorded): "it is not the log key recorded in the genesis entry (\(recorded))"
        }
    }
}
