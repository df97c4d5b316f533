import DocketClient
import DocketCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A CI job's ephemeral key, attested by its OIDC token (DESIGN.md §14): made and enrolled (`key-attested`) by the
/// job's first command, then kept (0600) in the runner's temp folder until the token's `exp`, so every later command
/// of the job signs with it and needs no enrolment. Processes of one job sharing the folder take a lock on the
/// token's file, so one enrols and the others wait for its key. Expired keys are removed by the next command.
enum WorkloadKey {
    /// Where the keys are kept: `$RUNNER_TEMP` (GitHub Actions), else the client cache (`$DOCKET_CACHE_DIR`,
    /// `$XDG_CACHE_HOME/docket`, `~/.cache/docket`), in `docket-oidc/`, mode 0700.
    static func folder(_ environment: [String: String]) throws -> String {
        let base =
            environment["RUNNER_TEMP"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["DOCKET_CACHE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 + "/docket" }
            ?? (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/docket"
        let folder = base + "/docket-oidc"
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError.failure("cannot make \(folder) for the job's key (\(error.localizedDescription))")
        }
        return folder
    }

    /// The job's key for `tokenText`: the one kept for this token and ledger, or a new one enrolled now.
    static func load(tokenText: String, client: any LedgerClient, ledger: LedgerIdentity, json: Bool) throws
        -> SigningKey
    {
        let token: WorkloadToken
        let expiry: Int64
        do {
            token = try WorkloadToken(parsing: tokenText)
            expiry = try token.expiry()
        } catch {
            throw CLIError.badInput("--oidc-token: \(error.reason)")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard now < expiry else {
            throw CLIError.badInput(
                "--oidc-token: the token expired at \(Timestamp(milliseconds: expiry).rfc3339); ask the CI system for a fresh one"
            )
        }
        let folder = try folder(ProcessInfo.processInfo.environment)
        sweep(folder, now: now)
        let name = SHA256.hash(Data((ledger.ledgerID + "\n" + tokenText).utf8)).hex.prefix(32)
        let path = "\(folder)/\(expiry / 1000)-\(name).key"
        let lock = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw CLIError.failure("cannot lock \(path).lock: \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else {
            throw CLIError.failure("cannot lock \(path).lock: \(String(cString: strerror(errno)))")
        }
        if FileManager.default.fileExists(atPath: path) {
            return try KeyFileFormat.read(path: path, passphrase: nil).key
        }
        let key = try SigningKey.generate()
        let statement = try Statement.make(
            subjectName: token.string("iss") ?? "", subjectDigest: SHA256.hash(key.publicKey.raw).hex,
            ledger: ledger.origin, ledgerID: ledger.ledgerID,
            predicate: .keyAttested(.init(token: tokenText, publicKey: key.publicKey.base64)))
        let envelope = Envelope.sign(payload: statement.encoded(), with: key)
        let receipt = try client.submit([(envelope.compactJSON, "key-attested event")])[0]
        try KeyFileFormat.write(KeyFile(identity: "oidc", key: key), to: path, passphrase: nil)
        if !json {
            Terminal.note(
                "enrolled this job's key by its OIDC token (entry \(receipt.index)); it signs until \(Timestamp(milliseconds: expiry).rfc3339)"
            )
        }
        return key
    }

    /// Removes the keys (and their locks) of tokens that have expired.
    static func sweep(_ folder: String, now: Int64) {
        for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            guard let dash = file.firstIndex(of: "-"), let seconds = Int64(file[..<dash]), seconds * 1000 <= now
            else { continue }
            try? FileManager.default.removeItem(atPath: "\(folder)/\(file)")
        }
    }
}

/// GitHub Actions' token endpoint: a job with `permissions: id-token: write` has `ACTIONS_ID_TOKEN_REQUEST_URL` and
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; a GET with the audience answers `{"value": TOKEN}`.
enum GitHubRunner {
    static func token(audience: String, environment: [String: String]) throws -> String {
        guard let url = environment["ACTIONS_ID_TOKEN_REQUEST_URL"], !url.isEmpty,
            let bearer = environment["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], !bearer.isEmpty
        else {
            throw CLIError.badInput(
                "--oidc github: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; give the job `permissions: id-token: write`"
            )
        }
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "audience", value: audience)]
        let separator = url.contains("?") ? "&" : "?"
        let body = try WebFetch.get(
            url + separator + (query.percentEncodedQuery ?? ""), headers: [("Authorization", "Bearer \(bearer)")],
            limit: 65536)
        guard let value = (try? JSONValue(strict: body))?["value"]?.stringValue, !value.isEmpty else {
            throw CLIError.failure("--oidc github: the runner's token endpoint answered no `value`")
        }
        return value
    }
}
