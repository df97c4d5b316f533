import Foundation

// The reads a command makes before it signs: what `promote`, `approve`, `record check`, `rollback`, `key
// revoke|update` and `policy set` need to know of the ledger. Asked of a server, they cost one round trip each.

/// What `docket promote` signs: the `promoted` predicate under the policy in force (with a break-glass reason, the
/// rules that fail now), the registry tags the environment moves, and, when asked, the verdict now.
public struct PromotionQuestion: LedgerQuestion {
    public static let name = "promotion"
    public var image: String
    public var environment: String
    public var tags: [String]
    public var breakGlass: String?
    public var promoterKeyID: String?
    /// Also give the verdict now (a registry move is checked against it before any tag moves).
    public var withVerdict: Bool

    public init(
        image: String, environment: String, tags: [String], breakGlass: String?, promoterKeyID: String?,
        withVerdict: Bool
    ) {
        self.image = image
        self.environment = environment
        self.tags = tags
        self.breakGlass = breakGlass
        self.promoterKeyID = promoterKeyID
        self.withVerdict = withVerdict
    }

    public struct Answer: Codable, Sendable {
        public var repository: String
        public var digest: String
        public var promotion: Predicates.Promoted
        /// The environment's `registry.tags` (empty when the policy names none).
        public var registryTags: [String]
        public var verdict: GateVerdict?
    }

    public func answer(_ reader: QueryReader) throws -> Answer {
        let ledger = reader.ledger
        let (digest, repository) = try ledger.queries.resolve(try ImageReference(parsing: image))
        let promotion = try ledger.queries.promotion(
            of: digest, repository: repository, to: environment, tags: tags, breakGlass: breakGlass,
            promoterKeyID: promoterKeyID, at: reader.time)
        let registryTags = (try? ledger.queries.pipeline(for: repository).environment(environment)?.registryTags) ?? []
        let verdict =
            withVerdict
            ? try ledger.queries.gate(digest: digest, repository: repository, environment: environment, at: reader.time)
            : nil
        return Answer(
            repository: repository, digest: digest.description, promotion: promotion, registryTags: registryTags,
            verdict: verdict)
    }
}

/// What `docket approve` needs: the digest's repository and why the approval may not count.
public struct ApprovalWarningsQuestion: LedgerQuestion {
    public static let name = "approval-warnings"
    public var image: String
    public var environment: String
    public var keyID: String
    public var breakGlass: Bool

    public init(image: String, environment: String, keyID: String, breakGlass: Bool) {
        self.image = image
        self.environment = environment
        self.keyID = keyID
        self.breakGlass = breakGlass
    }

    public struct Answer: Codable, Sendable {
        public var repository: String
        public var warnings: [String]
    }

    public func answer(_ reader: QueryReader) throws -> Answer {
        let reference = try ImageReference(parsing: image)
        let repository = try reader.ledger.queries.resolve(reference).repository
        return Answer(
            repository: repository,
            warnings: try reader.ledger.queries.approvalWarnings(
                digest: reference.digest, environment: environment, keyID: keyID, breakGlass: breakGlass))
    }
}

/// What `docket record check` needs: the digest's repository, and a warning when no gate reads the check.
public struct CheckWarningQuestion: LedgerQuestion {
    public static let name = "check-warning"
    public var image: String
    public var check: String

    public init(image: String, check: String) {
        self.image = image
        self.check = check
    }

    public struct Answer: Codable, Sendable {
        public var repository: String
        public var warning: String?
    }

    public func answer(_ reader: QueryReader) throws -> Answer {
        let repository = try reader.ledger.queries.resolve(try ImageReference(parsing: image)).repository
        return Answer(
            repository: repository,
            warning: try? reader.ledger.queries.unusedCheckWarning(check: check, repository: repository))
    }
}

/// `docket rollback --env E [--repo R] [--to IMAGE] [--list]`: the service, what a rollback restores now, and with
/// `list` every target, newest first.
public struct RollbackQuestion: LedgerQuestion {
    public static let name = "rollback"
    public var environment: String
    public var repository: String?
    public var to: String?
    public var list: Bool

    public init(environment: String, repository: String?, to: String?, list: Bool) {
        self.environment = environment
        self.repository = repository
        self.to = to
        self.list = list
    }

    public struct Answer: Codable, Sendable {
        public var repository: String
        /// What the rollback restores (nil with `list` when nothing can be restored).
        public var choice: RollbackChoice?
        /// With `list`: the targets, newest first (in drift the promoted digest first).
        public var targets: [TimelineEntry]?
    }

    public func answer(_ reader: QueryReader) throws -> Answer {
        let ledger = reader.ledger
        // An environment the policy does not have is a typing mistake (exit 2, naming them), not "nothing runs".
        if let policy = try ledger.queries.policy()?.policy,
            !policy.environmentNames.contains(where: { $0.utf8.elementsEqual(environment.utf8) })
        {
            throw LedgerError.notInPolicy(environment: environment, known: policy.environmentNames)
        }
        var requested: Digest? = nil
        let repository: String
        if let to {
            let resolved = try ledger.queries.resolve(try ImageReference(parsing: to))
            requested = resolved.digest
            repository = resolved.repository
            if let given = self.repository, try Repository(normalising: given).name != repository {
                throw LedgerError.repositoryMismatch(
                    digest: resolved.digest.description, owner: repository,
                    given: try Repository(normalising: given).name)
            }
        } else if let given = self.repository {
            repository = try Repository(normalising: given).name
        } else {
            let running = try ledger.queries.repositories(in: environment)
            guard running.count == 1 else {
                throw QueryFailure.badInput(
                    running.isEmpty
                        ? "nothing runs in \(environment); there is nothing to roll back"
                        : "several services run in \(environment) (\(running.joined(separator: ", "))); name one with --repo"
                )
            }
            repository = running[0]
        }
        guard list else {
            return Answer(
                repository: repository,
                choice: try ledger.queries.rollbackChoice(
                    environment: environment, repository: repository, to: requested))
        }
        let choice = try? ledger.queries.rollbackChoice(environment: environment, repository: repository, to: nil)
        let targets =
            (choice?.drift == nil ? [] : choice.map { [$0.target] } ?? [])
            + (try ledger.queries.rollbackTargets(
                environment: environment, repository: repository, excludingRolledBack: false))
        return Answer(repository: repository, choice: choice, targets: targets)
    }
}

/// The one active key named by an identity or a key ID (`key revoke`, `key update`).
public struct ActiveKeyQuestion: LedgerQuestion {
    public static let name = "active-key"
    public var identity: String?
    public var keyID: String?
    /// How the person named the key (an identity or a FILE.pub), for the messages.
    public var given: String

    public init(identity: String? = nil, keyID: String? = nil, given: String) {
        self.identity = identity
        self.keyID = keyID
        self.given = given
    }

    public func answer(_ reader: QueryReader) throws -> KeyRecord {
        let keys = try reader.ledger.queries.keys()
        if let keyID {
            guard let record = keys.first(where: { $0.keyID == keyID && $0.revokedIndex == nil }) else {
                throw QueryFailure.no("the key in \(given) is not enrolled (or already revoked); see `docket key list`")
            }
            return record
        }
        let identity = self.identity ?? given
        let all = keys.filter { $0.identity.utf8.elementsEqual(identity.utf8) }
        guard !all.isEmpty else {
            throw QueryFailure.badInput(
                "no key of this ledger belongs to \(identity); give an enrolled identity or its FILE.pub (`docket key list`)"
            )
        }
        let active = all.filter { $0.revokedIndex == nil }
        guard active.count == 1 else {
            throw QueryFailure.no(
                active.isEmpty
                    ? "\(identity) has no active key; see `docket key list`"
                    : "\(identity) has \(active.count) active keys; name the one you mean by its FILE.pub")
        }
        return active[0]
    }
}

/// What `docket policy set` checks a new policy against: the active signers and what runs where.
public struct PolicyContextQuestion: LedgerQuestion {
    public static let name = "policy-context"
    public init() {}

    public struct Running: Codable, Sendable {
        public var environment: String
        public var repository: String
    }

    public struct Answer: Codable, Sendable {
        public var signers: [Signer]
        public var running: [Running]
    }

    public func answer(_ reader: QueryReader) throws -> Answer {
        let ledger = reader.ledger
        return Answer(
            signers: try ledger.queries.keys().filter { $0.revokedIndex == nil }.map(\.signer),
            running: try ledger.queries.status().services.filter { $0.current != nil }.map {
                Running(environment: $0.environment, repository: $0.repository)
            })
    }
}
