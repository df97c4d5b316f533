import Foundation

/// Field rules every event must meet, whoever built the envelope (the CLI or another tool via `submit`).
extension Statement {
    /// Throws ``ModelError/badField(field:reason:)`` for an empty name, a malformed tag, an environment name
    /// with odd characters, or a `from` digest that is not a digest.
    public func validateFields() throws {
        func nonEmpty(_ value: String, _ field: String) throws {
            guard value.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
                throw ModelError.badField(field: field, reason: "must not be empty")
            }
        }
        /// A name others compare: not empty, and in NFC (``Identifier``).
        func name(_ value: String, _ field: String) throws {
            try nonEmpty(value, field)
            try Identifier.requireNFC(value, field: field)
        }
        func environment(_ value: String, _ field: String) throws {
            try Identifier.requireNFC(value, field: field)
            guard Identifier.isName(value, limit: 128) else {
                throw ModelError.badField(
                    field: field, reason: "`\(value)` is not an environment name (letters, digits, - _ .)")
            }
        }
        func tags(_ values: [String]?) throws {
            for tag in values ?? [] where !Self.isValidTag(tag) {
                throw ModelError.badField(
                    field: "predicate.tags",
                    reason: "`\(tag)` is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})")
            }
        }
        func teams(_ values: [String]) throws {
            for team in values {
                try Identifier.requireNFC(team, field: "predicate.teams")
                guard Identifier.isTeam(team) else {
                    throw ModelError.badField(
                        field: "predicate.teams", reason: "`\(team)` is not a team name (letters, digits, - _ .)")
                }
            }
        }
        func digest(_ value: String, _ field: String) throws {
            do { _ = try Digest(parsing: value) } catch { throw ModelError.badField(field: field, reason: "\(error)") }
        }
        try name(subjectName, "subject.name")
        // 128 random bits, in hex: what makes two otherwise equal statements distinct entries.
        guard nonce.utf8.count == 32,
            nonce.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) })
        else {
            throw ModelError.badField(
                field: "predicate.nonce", reason: "must be 128 random bits in hex (32 hex digits)")
        }
        /// A key event's subject names the identity whose key it is.
        func subjectIsIdentity(_ identity: String) throws {
            guard subjectName.utf8.elementsEqual(identity.utf8) else {
                throw ModelError.badField(
                    field: "subject.name", reason: "`\(subjectName)` must be the key's identity `\(identity)`")
            }
        }
        guard Timestamp(lenient: time) != nil else {
            throw ModelError.badField(field: "predicate.time", reason: "`\(time)` is not an RFC 3339 time")
        }
        switch predicate {
        case .initialized(let p):
            guard !p.admins.isEmpty else {
                throw ModelError.badField(field: "predicate.admins", reason: "must list at least one admin")
            }
            for admin in p.admins { try name(admin.identity, "predicate.admins[].identity") }
        case .keyEnrolled(let p):
            try name(p.identity, "predicate.identity")
            try subjectIsIdentity(p.identity)
            try teams(p.teams ?? [])
            for (field, value) in [("validAfter", p.validAfter), ("validBefore", p.validBefore)] {
                if let value, Timestamp(lenient: value) == nil {
                    throw ModelError.badField(field: "predicate.\(field)", reason: "`\(value)` is not an RFC 3339 time")
                }
            }
        case .keyUpdated(let p):
            try name(p.identity, "predicate.identity")
            try subjectIsIdentity(p.identity)
            try teams(p.teams)
        case .keyRevoked(let p):
            try name(p.identity, "predicate.identity")
            try subjectIsIdentity(p.identity)
            try nonEmpty(p.reason, "predicate.reason")
        case .policy:
            guard subjectName.utf8.elementsEqual("policy".utf8) else {
                throw ModelError.badField(field: "subject.name", reason: "a policy event's subject is `policy`")
            }
        case .oidcIssuer(let p):
            guard subjectName.utf8.elementsEqual(p.issuer.utf8) else {
                throw ModelError.badField(
                    field: "subject.name", reason: "`\(subjectName)` must be the issuer `\(p.issuer)`")
            }
            try nonEmpty(p.audience, "predicate.audience")
        case .keyAttested(let p): try nonEmpty(p.token, "predicate.token")
        case .built(let p): try tags(p.tags)
        case .deployed(let p): try environment(p.environment, "predicate.environment")
        case .check(let p): try name(p.check, "predicate.check")
        case .incident(let p):
            try environment(p.environment, "predicate.environment")
            try name(p.incident, "predicate.incident")
        case .approved(let p):
            try environment(p.environment, "predicate.environment")
            if let expiry = p.expiresAt, Timestamp(lenient: expiry) == nil {
                throw ModelError.badField(field: "predicate.expiresAt", reason: "`\(expiry)` is not an RFC 3339 time")
            }
        case .withdrawn(let p): try environment(p.environment, "predicate.environment")
        case .promoted(let p):
            try environment(p.from, "predicate.from")
            try environment(p.to, "predicate.to")
            try tags(p.tags)
            if let glass = p.breakGlass { try nonEmpty(glass.reason, "predicate.breakGlass.reason") }
            if let registry = p.registry {
                do {
                    _ = try Repository(normalized: registry.repository)
                } catch {
                    throw ModelError.badField(field: "predicate.registry.repository", reason: "\(error)")
                }
                try tags(registry.tags)
                for (tag, previous) in registry.previous {
                    guard registry.tags.contains(tag) else {
                        throw ModelError.badField(
                            field: "predicate.registry.previous", reason: "`\(tag)` is not one of its tags")
                    }
                    try digest(previous, "predicate.registry.previous.\(tag)")
                }
            }
        case .rolledBack(let p):
            try environment(p.environment, "predicate.environment")
            try digest(p.from, "predicate.from")
            try nonEmpty(p.reason, "predicate.reason")
        }
    }

    /// The OCI distribution spec's tag grammar.
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func word(_ c: UInt8) -> Bool {
            (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) || c == 95
        }
        return word(first) && bytes.dropFirst().allSatisfy { word($0) || $0 == 46 || $0 == 45 }
    }
}
