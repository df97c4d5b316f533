import Foundation

/// Reading statements without `Codable` on the common path: verification and batch appends decode every
/// payload, and Foundation's `JSONDecoder` was a fifth of their cost. The result must equal what `Codable`
/// gives; whenever the payload is anything but plainly well formed, this returns `nil` and `Codable` decides.
extension Statement {
    static func fastDecode(_ payload: Data) -> Statement? {
        guard case .object(let root)? = FastJSON.parse(payload), root["_type"] == .string(Statement.type),
            case .array(let subjects)? = root["subject"], subjects.count == 1, case .object(let subject) = subjects[0],
            case .string(let name)? = subject["name"], case .object(let digests)? = subject["digest"],
            digests.values.allSatisfy({ $0.stringValue != nil }), case .string(let hex)? = digests["sha256"],
            case .string(let type)? = root["predicateType"], let kind = EventKind(predicateType: type), kind != .policy,
            case .object(let p)? = root["predicate"], case .string(let ledger)? = p["ledger"],
            case .string(let time)? = p["time"], case .string(let nonce)? = p["nonce"],
            let predicate = Self.predicate(kind, p)
        else { return nil }
        return Statement(
            subjectName: name, subjectDigest: hex, ledger: ledger, time: time, nonce: nonce, predicate: predicate)
    }

    private static func predicate(_ kind: EventKind, _ object: [String: JSONValue]) -> EventPredicate? {
        var fields = Fields(object)
        return fields.predicate(kind)
    }

    /// Field access with `Codable`'s rules: a required field must be present with its type; an optional one may
    /// be absent or null. A wrong type fails the whole fast path.
    private struct Fields {
        let object: [String: JSONValue]
        var ok = true

        init(_ object: [String: JSONValue]) { self.object = object }

        mutating func required(_ key: String) -> String {
            guard case .string(let s)? = object[key] else {
                ok = false
                return ""
            }
            return s
        }

        mutating func optional(_ key: String) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default:
                ok = false
                return nil
            }
        }

        mutating func strings(_ value: JSONValue?) -> [String]? {
            switch value {
            case nil, .null?: return nil
            case .array(let items)?:
                var out: [String] = []
                for item in items {
                    guard case .string(let s) = item else {
                        ok = false
                        return nil
                    }
                    out.append(s)
                }
                return out
            default:
                ok = false
                return nil
            }
        }

        mutating func nested(_ key: String) -> Fields?? {
            switch object[key] {
            case nil, .null?: return .some(nil)
            case .object(let o)?: return .some(Fields(o))
            default: return nil
            }
        }

        mutating func predicate(_ kind: EventKind) -> EventPredicate? {
            let result: EventPredicate?
            switch kind {
            case .initialized:
                let logKey = required("logKey")
                guard case .array(let list)? = object["admins"] else { return nil }
                var admins: [Predicates.AdminKey] = []
                for item in list {
                    guard case .object(let o) = item else { return nil }
                    var f = Fields(o)
                    let admin = Predicates.AdminKey(
                        identity: f.required("identity"), publicKey: f.required("publicKey"))
                    guard f.ok else { return nil }
                    admins.append(admin)
                }
                result = .initialized(.init(logKey: logKey, admins: admins))
            case .keyEnrolled:
                let identity = required("identity")
                let publicKey = required("publicKey")
                guard let names = strings(object["roles"]) else { return nil }
                let roles = names.compactMap(Role.init(rawValue:))
                guard roles.count == names.count else { return nil }
                result = .keyEnrolled(.init(identity: identity, publicKey: publicKey, roles: roles))
            case .keyRevoked:
                result = .keyRevoked(
                    .init(identity: required("identity"), publicKey: required("publicKey"), reason: required("reason")))
            case .policy:
                return nil
            case .built:
                let tags = strings(object["tags"])
                var source: Predicates.Source? = nil
                switch nested("source") {
                case nil: return nil
                case .some(nil): break
                case .some(var f?):
                    source = Predicates.Source(repository: f.required("repository"), revision: f.required("revision"))
                    guard f.ok else { return nil }
                }
                result = .built(
                    .init(tags: tags, source: source, builder: optional("builder"), buildId: optional("buildId")))
            case .deployed:
                result = .deployed(.init(environment: required("environment"), deployment: optional("deployment")))
            case .check:
                let check = required("check")
                guard let outcome = Predicates.CheckResult(rawValue: required("result")) else { return nil }
                result = .check(.init(check: check, result: outcome, details: optional("details")))
            case .incident:
                let environment = required("environment")
                let incident = required("incident")
                guard let state = Predicates.IncidentState(rawValue: required("state")) else { return nil }
                result = .incident(
                    .init(
                        environment: environment, incident: incident, state: state,
                        severity: optional("severity"), summary: optional("summary")))
            case .approved:
                result = .approved(
                    .init(
                        environment: required("environment"), comment: optional("comment"),
                        expiresAt: optional("expiresAt")))
            case .withdrawn:
                result = .withdrawn(.init(environment: required("environment")))
            case .promoted:
                let from = required("from")
                let to = required("to")
                let tags = strings(object["tags"])
                var glass: Predicates.BreakGlass? = nil
                switch nested("breakGlass") {
                case nil: return nil
                case .some(nil): break
                case .some(var f?):
                    let reason = f.required("reason")
                    guard let rules = f.strings(f.object["failedRules"]), f.ok else { return nil }
                    glass = Predicates.BreakGlass(reason: reason, failedRules: rules)
                }
                result = .promoted(.init(from: from, to: to, tags: tags, breakGlass: glass))
            case .rolledBack:
                result = .rolledBack(
                    .init(environment: required("environment"), from: required("from"), reason: required("reason")))
            }
            return ok ? result : nil
        }
    }
}
