import Foundation

/// Who signed an event, as enrolled in the ledger.
public struct Signer: Sendable, Equatable, Codable {
    public var identity: String
    public var keyID: String
    public var roles: [Role]
    /// Teams for approval rules (`security`), as the key held them when it signed.
    public var teams: [String]
    /// For a key an OIDC token attested: the workload, as history shows it ("github:acme/payments@refs/heads/main,
    /// workflow release.yml, run 1234").
    public var workload: String? = nil

    public init(identity: String, keyID: String, roles: [Role], teams: [String] = []) {
        self.identity = identity
        self.keyID = keyID
        self.roles = roles
        self.teams = teams
    }
}

/// An appended, authenticated event: the unit every projection and the gate work on.
public struct LedgerEvent: Sendable {
    public let index: Int
    public let time: Timestamp
    public let signer: Signer
    public let statement: Statement
    /// A security key's flags from the signature (bit 0: user present, bit 2: user verified); nil for a key that
    /// has none (a Docket key, a plain SSH key).
    public var authenticatorFlags: UInt8? = nil

    public init(index: Int, time: Timestamp, signer: Signer, statement: Statement) {
        self.index = index
        self.time = time
        self.signer = signer
        self.statement = statement
    }

    public var kind: EventKind { statement.kind }
    public var digest: Digest? { statement.digest }
    /// The subject's repository, for image events (admission has checked it is in normal form).
    public var repository: String { statement.subjectName }
}
