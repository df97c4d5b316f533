import Foundation

/// Reading statements from untrusted payloads: ``StrictJSON`` reads the text, then each field is taken by name
/// with `Codable`'s rules (a required field present with its type; an optional one absent or null; unknown
/// fields ignored), and a failure names the field's path. A test holds the result to `Codable`'s
/// (``init(decoding:source:)``) on every kind and on malformed variants.
extension Statement {
    /// Parses a payload from untrusted bytes. `source` names the input in errors.
    public init(parsing payload: Data, source: String) throws {
        let root: JSONValue
        do {
            root = try StrictJSON.parse(payload)
        } catch {
            throw ModelError.badStatement(source: source, reason: "invalid JSON: \(error)")
        }
        do {
            self = try Self.read(root)
        } catch let error as FieldError {
            throw ModelError.badStatement(source: source, reason: error.description)
        }
        guard !ledger.isEmpty else {
            throw ModelError.badStatement(source: source, reason: "predicate.ledger is empty")
        }
        guard subjectDigest.utf8.count == 64, Digest.isLowerHex(subjectDigest) else {
            throw ModelError.badStatement(
                source: source, reason: "subject digest sha256 must be 64 lower-case hex digits")
        }
    }

    private static func read(_ root: JSONValue) throws -> Statement {
        let statement = try JSONFields(root, path: "")
        guard try statement.string("_type") == Statement.type else {
            throw FieldError(path: "_type", reason: "expected \(Statement.type)")
        }
        let subjects = try statement.array("subject")
        guard subjects.count == 1 else {
            throw FieldError(path: "subject", reason: "expected one subject with a sha256 digest")
        }
        let subject = try JSONFields(subjects[0], path: "subject[0]")
        let digests = try subject.object("digest")
        for key in digests.object.keys { _ = try digests.string(key) }
        guard let hex = try digests.optionalString("sha256") else {
            throw FieldError(path: "subject", reason: "expected one subject with a sha256 digest")
        }
        let type = try statement.string("predicateType")
        guard let kind = EventKind(predicateType: type) else {
            throw FieldError(
                path: "predicateType",
                reason: "`\(type)` is not a Docket predicate type (\(EventKind.namespace)<kind>/v1)")
        }
        let p = try statement.object("predicate")
        return Statement(
            subjectName: try subject.string("name"), subjectDigest: hex, ledger: try p.string("ledger"),
            ledgerID: try p.optionalString("ledgerID"), time: try p.string("time"), nonce: try p.string("nonce"),
            predicate: try predicate(kind, p))
    }

    private static func predicate(_ kind: EventKind, _ p: JSONFields) throws -> EventPredicate {
        switch kind {
        case .initialized:
            let admins = try p.array("admins").enumerated().map { i, item in
                let admin = try JSONFields(item, path: p.path("admins") + "[\(i)]")
                return Predicates.AdminKey(
                    identity: try admin.string("identity"), publicKey: try admin.string("publicKey"))
            }
            return .initialized(.init(logKey: try p.string("logKey"), admins: admins))
        case .keyEnrolled:
            let roles = try roles(p)
            return .keyEnrolled(
                .init(
                    identity: try p.string("identity"), publicKey: try p.string("publicKey"), roles: roles,
                    teams: try p.optionalStrings("teams"), validAfter: try p.optionalString("validAfter"),
                    validBefore: try p.optionalString("validBefore")))
        case .keyUpdated:
            return .keyUpdated(
                .init(
                    identity: try p.string("identity"), publicKey: try p.string("publicKey"), roles: try roles(p),
                    teams: try p.strings("teams")))
        case .keyRevoked:
            return .keyRevoked(
                .init(
                    identity: try p.string("identity"), publicKey: try p.string("publicKey"),
                    reason: try p.string("reason"), voidApprovals: try p.optionalBool("voidApprovals")))
        case .policy:
            return .policy(.init(policy: try p.value("policy")))
        case .oidcIssuer:
            return .oidcIssuer(
                .init(
                    issuer: try p.string("issuer"), audience: try p.string("audience"),
                    algorithms: try p.strings("algorithms"), jwks: try p.value("jwks")))
        case .keyAttested:
            return .keyAttested(.init(token: try p.string("token"), publicKey: try p.string("publicKey")))
        case .built:
            let source = try p.optionalObject("source").map {
                Predicates.Source(repository: try $0.string("repository"), revision: try $0.string("revision"))
            }
            return .built(
                .init(
                    tags: try p.optionalStrings("tags"), source: source, builder: try p.optionalString("builder"),
                    buildId: try p.optionalString("buildId")))
        case .deployed:
            return .deployed(
                .init(environment: try p.string("environment"), deployment: try p.optionalString("deployment")))
        case .check:
            return .check(
                .init(
                    check: try p.string("check"), result: try p.choice("result"),
                    details: try p.optionalString("details")))
        case .incident:
            return .incident(
                .init(
                    environment: try p.string("environment"), incident: try p.string("incident"),
                    state: try p.choice("state"), severity: try p.optionalString("severity"),
                    summary: try p.optionalString("summary")))
        case .approved:
            return .approved(
                .init(
                    environment: try p.string("environment"), comment: try p.optionalString("comment"),
                    expiresAt: try p.optionalString("expiresAt"), breakGlass: try p.optionalBool("breakGlass")))
        case .withdrawn:
            return .withdrawn(.init(environment: try p.string("environment")))
        case .promoted:
            let glass = try p.optionalObject("breakGlass").map {
                Predicates.BreakGlass(reason: try $0.string("reason"), failedRules: try $0.strings("failedRules"))
            }
            let registry = try p.optionalObject("registry").map {
                Predicates.RegistryMove(
                    repository: try $0.string("repository"), tags: try $0.strings("tags"),
                    previous: try $0.stringMap("previous"))
            }
            return .promoted(
                .init(
                    from: try p.string("from"), to: try p.string("to"), tags: try p.optionalStrings("tags"),
                    breakGlass: glass, registry: registry))
        case .rolledBack:
            return .rolledBack(
                .init(
                    environment: try p.string("environment"), from: try p.string("from"),
                    reason: try p.string("reason"),
                    breakGlass: try p.optionalObject("breakGlass").map {
                        Predicates.RollbackBreakGlass(reason: try $0.string("reason"))
                    }))
        }
    }

    private static func roles(_ p: JSONFields) throws -> [Role] {
        try p.strings("roles").enumerated().map { i, name in
            guard let role = Role(rawValue: name) else {
                throw FieldError(path: p.path("roles") + "[\(i)]", reason: "`\(name)` is not a role")
            }
            return role
        }
    }
}
