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

    /// Where the token comes from: a token given (`--oidc-token`, `$DOCKET_OIDC_TOKEN`), or one to ask the runner
    /// for (`--oidc github`), only when the job has no usable key yet.
    enum Source {
        case given(String)
        case runner(job: String, fetch: () throws -> String)

        /// What names the job's key: the token itself, or the runner's job (each runner request gives a new token).
        var job: String {
            switch self {
            case .given(let token): "token\n" + token
            case .runner(let job, _): "runner\n" + job
            }
        }
    }

    /// How long before its `exp` a key from the runner is replaced by a fresh token's, so an event signed now is
    /// not appended after the key stopped signing.
    static let renewal: Int64 = 30_000

    /// The job's key: the one kept for this job and ledger while its token is valid, or a new one enrolled now.
    static func load(_ source: Source, client: any LedgerClient, ledger: LedgerIdentity, json: Bool) throws
        -> SigningKey
    {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let folder = try folder(ProcessInfo.processInfo.environment)
        sweep(folder, now: now)
        let name = String(SHA256.hash(Data((ledger.ledgerID + "\n" + source.job).utf8)).hex.prefix(32))
        let lockPath = "\(folder)/\(name).lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX) == 0 else {
            throw CLIError.failure("cannot lock \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { close(lock) }
        let margin: Int64 = if case .runner = source { renewal } else { 0 }
        if let kept = kept(folder, name: name, after: now + margin) {
            return try KeyFileFormat.read(path: kept, passphrase: nil).key
        }
        let tokenText: String
        switch source {
        case .given(let text): tokenText = text
        case .runner(_, let fetch): tokenText = try fetch()
        }
        let token: WorkloadToken
        let expiry: Int64
        do {
            token = try WorkloadToken(parsing: tokenText)
            expiry = try token.expiry()
        } catch {
            throw CLIError.badInput("--oidc-token: \(error.reason)")
        }
        guard now < expiry else {
            throw CLIError.badInput(
                "--oidc-token: the token expired at \(Timestamp(milliseconds: expiry).rfc3339); ask the CI system for a fresh one"
            )
        }
        let key = try SigningKey.generate()
        let statement = try Statement.make(
            subjectName: token.string("iss") ?? "", subjectDigest: SHA256.hash(key.publicKey.raw).hex,
            ledger: ledger.origin, ledgerID: ledger.ledgerID,
            predicate: .keyAttested(.init(token: tokenText, publicKey: key.publicKey.base64)))
        let envelope = Envelope.sign(payload: statement.encoded(), with: key)
        let receipt = try client.submit([(envelope.compactJSON, "key-attested event")])[0]
        try KeyFileFormat.write(
            KeyFile(identity: "oidc", key: key), to: "\(folder)/\(expiry / 1000)-\(name).key", passphrase: nil)
        if !json {
            Terminal.note(
                "enrolled this job's key by its OIDC token (entry \(receipt.index)); it signs until \(Timestamp(milliseconds: expiry).rfc3339)"
            )
        }
        return key
    }

    /// The kept key of job `name` that signs longest, if it still signs after `time`.
    static func kept(_ folder: String, name: String, after time: Int64) -> String? {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let candidates = files.compactMap { file -> (Int64, String)? in
            guard file.hasSuffix("-\(name).key"), let dash = file.firstIndex(of: "-"),
                let seconds = Int64(file[..<dash])
            else { return nil }
            return seconds * 1000 > time ? (seconds, file) : nil
        }
        return candidates.max { $0.0 < $1.0 }.map { "\(folder)/\($0.1)" }
    }

    /// Removes the keys of tokens that have expired, and locks no process has used for a day.
    static func sweep(_ folder: String, now: Int64) {
        for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let path = "\(folder)/\(file)"
            if file.hasSuffix(".lock") {
                let touched = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
                if let touched, touched.timeIntervalSince1970 * 1000 < Double(now - 86_400_000) {
                    try? FileManager.default.removeItem(atPath: path)
                }
                continue
            }
            guard let dash = file.firstIndex(of: "-"), let seconds = Int64(file[..<dash]), seconds * 1000 <= now
            else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// GitHub Actions' token endpoint: a job with `permissions: id-token: write` has `ACTIONS_ID_TOKEN_REQUEST_URL` and
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; a GET with the audience answers `{"value": TOKEN}`.
enum GitHubRunner {
    static func endpoint(_ environment: [String: String]) throws -> (url: String, bearer: String) {
        guard let url = environment["ACTIONS_ID_TOKEN_REQUEST_URL"], !url.isEmpty,
            let bearer = environment["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], !bearer.isEmpty
        else {
            throw CLIError.badInput(
                "--oidc github: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; give the job `permissions: id-token: write`"
            )
        }
        return (url, bearer)
    }

    /// What names this job: its token endpoint and request token (one per job), so the job's commands share a key.
    static func job(_ environment: [String: String]) throws -> String {
        let (url, bearer) = try endpoint(environment)
        return url + "\n" + bearer
    }

    static func token(audience: String, environment: [String: String]) throws -> String {
        let (url, bearer) = try endpoint(environment)
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
