import Foundation

/// What a batch's integration reads about the ledger as it was when the batch began, loaded before it starts in
/// one query per kind of fact (DESIGN §11) and kept current by the fold as the batch's own events are applied:
/// the statements already stored, the repository that owns each digest the batch names, and where each tag the
/// batch moves points. Reads the facts do not cover (a promotion's gate evidence, the environment's current
/// digest) go to the store, after the queued writes are written.
struct BatchFacts {
    /// Stored entries by payload hash, for every statement in the batch that is already stored, and every
    /// entry the batch has written so far.
    var entries: [Data: (index: Int, time: Timestamp, signer: String)] = [:]
    /// The owner of each digest the batch names (nil: none yet).
    var owners: [String: String?] = [:]
    /// The digest each (repository, tag) the batch names points at (nil: the tag is not recorded yet).
    var tags: [TagKey: String?] = [:]
    /// What is current in each (environment, repository) the batch deploys, promotes or rolls back in, and
    /// whether a drift stands there.
    var currents: [ServiceKey: TimelineEntry?] = [:]
    var standingDrift: [ServiceKey: Bool] = [:]
    /// The latest state of each incident the batch records.
    var incidents: [IncidentKey: Predicates.IncidentState?] = [:]

    struct TagKey: Hashable {
        var repository: String
        var tag: String
    }

    struct ServiceKey: Hashable {
        var environment: String
        var repository: String
    }

    struct IncidentKey: Hashable {
        var digest: String
        var environment: String
        var incident: String
    }

    /// What `statements` name, by kind of fact.
    struct Keys {
        var digests = Set<String>()
        var tags = Set<TagKey>()
        var services = Set<ServiceKey>()
        var incidents = Set<IncidentKey>()
    }

    static func keys(of statements: [Statement]) -> Keys {
        var keys = Keys()
        for statement in statements where !statement.kind.isGovernance {
            let repository = statement.subjectName
            if let digest = statement.digest { keys.digests.insert(digest.description) }
            if let left = statement.predicate.leftDigest { keys.digests.insert(left.description) }
            var named: [String] = []
            var environments: [String] = []
            switch statement.predicate {
            case .built(let p): named = p.tags ?? []
            case .promoted(let p):
                named = p.tags ?? []
                environments = [p.to, p.from]
            case .deployed(let p): environments = [p.environment]
            case .rolledBack(let p): environments = [p.environment]
            case .incident(let p):
                if let digest = statement.digest {
                    keys.incidents.insert(
                        IncidentKey(digest: digest.description, environment: p.environment, incident: p.incident))
                }
            default: break
            }
            for tag in named { keys.tags.insert(TagKey(repository: repository, tag: tag)) }
            for environment in environments {
                keys.services.insert(ServiceKey(environment: environment, repository: repository))
            }
        }
        return keys
    }
}
