import ArgumentParser
import DocketCore
import DocketPostgres
import DocketServer
import Foundation
import Logging

extension Docket {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve a ledger over HTTP(S) to CI runners, approvers and auditors (README: Running a server).",
            discussion: """
                Writes: POST /api/v1/entries (one DSSE envelope); reads: /checkpoint, /tile/…, /api/v1/entries/N, \
                /api/v1/proof/consistency, /api/v1/bundle, /api/v1/{status,gate,history,log,pending,ledger}; \
                operations: /healthz, /readyz, /metrics; the dashboard at /; POST /k8s/admission. SIGTERM or SIGINT: new writes get 503, the queued batch \
                commits, then it exits 0. Every flag has an environment variable (DOCKET_LISTEN, DOCKET_BATCH_SIZE, …).
                """)

        @Option(
            name: .long,
            help:
                "The ledger file to serve, or postgres://USER@HOST[:PORT]/DB shared with other servers (default: $DOCKET_LEDGER, else ./docket.db)."
        )
        var ledger: String?

        @Option(
            name: .long,
            help:
                "The log key file (the secret that signs checkpoints): for postgres://, the same file on every server ($DOCKET_LOG_KEY; default for a file: LEDGER.logkey)."
        )
        var logKey: String?

        @Option(
            name: .long,
            help: "HOST:PORT to listen on; port 0 picks a free one (default: $DOCKET_LISTEN, else 127.0.0.1:8080).")
        var listen: String?

        @Option(name: .long, help: "Most envelopes per group commit ($DOCKET_BATCH_SIZE, default 256).")
        var batchSize: Int?

        @Option(
            name: .long,
            help:
                "Most milliseconds the writer waits for envelopes still being checked before a commit ($DOCKET_BATCH_WAIT_MS, default 5)."
        )
        var batchWaitMs: Int?

        @Option(name: .long, help: "Envelopes waiting at most before 503 ($DOCKET_QUEUE, default 4096).")
        var queue: Int?

        @Option(
            name: .long,
            help: "Appends a second per signing key, bursts twice that; 0: no limit ($DOCKET_KEY_RATE, default 200).")
        var keyRate: Double?

        @Option(
            name: .long,
            help:
                "Writes a second per client address, bursts twice that; 0: no limit ($DOCKET_ADDRESS_RATE, default 2000)."
        )
        var addressRate: Double?

        @Option(
            name: .long,
            help: "Seconds to send a request's headers, and again its body ($DOCKET_REQUEST_TIMEOUT, default 10)."
        )
        var requestTimeout: Int?

        @Option(name: .long, help: "Seconds an idle connection stays open ($DOCKET_IDLE_TIMEOUT, default 60).")
        var idleTimeout: Int?

        @Option(name: .long, help: "A file holding the bearer token reads must carry ($DOCKET_READ_TOKEN_FILE).")
        var readTokenFile: String?

        @Option(name: .long, help: "A file holding the bearer token writes must carry ($DOCKET_WRITE_TOKEN_FILE).")
        var writeTokenFile: String?

        @Option(name: .long, help: "PEM certificate chain: serve HTTPS ($DOCKET_TLS_CERT; with --tls-key).")
        var tlsCert: String?

        @Option(name: .long, help: "PEM private key for --tls-cert ($DOCKET_TLS_KEY).")
        var tlsKey: String?

        @Option(
            name: .long,
            help:
                "A YAML or JSON file with webhooks to notify and the Kubernetes admission rules ($DOCKET_CONFIG; README: Notifications, Admission)."
        )
        var config: String?

        @Option(
            name: .long,
            help: "trace, debug, info, notice, warning, error or critical ($DOCKET_LOG_LEVEL, default info).")
        var logLevel: String?

        func run() throws {
            let env = ProcessInfo.processInfo.environment
            func setting(_ flag: String?, _ variable: String) -> String? {
                flag ?? env[variable].flatMap { $0.isEmpty ? nil : $0 }
            }
            /// A number from its flag or environment variable, within `range` (`what` says the range in words).
            func number<T: LosslessStringConvertible & Comparable>(
                _ flag: T?, _ variable: String, _ name: String, in range: ClosedRange<T>, _ what: String
            ) throws -> T? {
                let given =
                    flag.map { ("\(name) \($0)", Optional($0)) }
                    ?? env[variable].flatMap { $0.isEmpty ? nil : ("\(variable)=\($0)", T($0)) }
                guard let (label, value) = given else { return nil }
                guard let value, range.contains(value) else { throw ValidationError("\(label): give \(what)") }
                return value
            }
            // The configuration file first: a typo in it is reported before the ledger is opened.
            let settings = try setting(config, "DOCKET_CONFIG").map { file in
                let text = String(decoding: try readLimited(file, limit: 1 << 20), as: UTF8.self)
                let settings = try ServerSettings(
                    parsing: text, source: file,
                    directory: URL(fileURLWithPath: file).deletingLastPathComponent().path, environment: env)
                try settings.notifications?.prepareState()
                return settings
            }
            let path = setting(ledger, "DOCKET_LEDGER") ?? "docket.db"
            guard !path.hasPrefix("http://"), !path.hasPrefix("https://") else {
                throw ValidationError("--ledger \(path): serve a ledger file; a server cannot serve another server")
            }
            var configuration = try Self.configuration(ledger: path, logKey: setting(logKey, "DOCKET_LOG_KEY"))
            let address = setting(listen, "DOCKET_LISTEN") ?? "127.0.0.1:8080"
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                (0...65535).contains(port), colon != address.startIndex
            else { throw ValidationError("--listen \(address): give HOST:PORT, such as 127.0.0.1:8080") }
            configuration.host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            configuration.port = port
            if let n = try number(batchSize, "DOCKET_BATCH_SIZE", "--batch-size", in: 1...4096, "1 to 4096") {
                configuration.batchSize = n
            }
            if let n = try number(batchWaitMs, "DOCKET_BATCH_WAIT_MS", "--batch-wait-ms", in: 0...1000, "0 to 1000") {
                configuration.batchLinger = .milliseconds(n)
            }
            if let n = try number(queue, "DOCKET_QUEUE", "--queue", in: 1...Int.max, "at least 1") {
                configuration.queueCapacity = n
            }
            let rate = 0...Double.greatestFiniteMagnitude
            if let r = try number(keyRate, "DOCKET_KEY_RATE", "--key-rate", in: rate, "0 (no limit) or more") {
                (configuration.keyRate, configuration.keyBurst) = (r, 2 * r)
            }
            if let r = try number(
                addressRate, "DOCKET_ADDRESS_RATE", "--address-rate", in: rate, "0 (no limit) or more")
            {
                (configuration.addressRate, configuration.addressBurst) = (r, 2 * r)
            }
            let seconds = "at least 1 second"
            if let n = try number(
                requestTimeout, "DOCKET_REQUEST_TIMEOUT", "--request-timeout", in: 1...86_400, seconds)
            {
                configuration.requestTimeout = .seconds(n)
            }
            if let n = try number(idleTimeout, "DOCKET_IDLE_TIMEOUT", "--idle-timeout", in: 1...86_400, seconds) {
                configuration.idleTimeout = .seconds(n)
            }
            configuration.readToken = try setting(readTokenFile, "DOCKET_READ_TOKEN_FILE").map(Self.token)
            configuration.writeToken = try setting(writeTokenFile, "DOCKET_WRITE_TOKEN_FILE").map(Self.token)
            configuration.tlsCertificate = setting(tlsCert, "DOCKET_TLS_CERT")
            configuration.tlsKey = setting(tlsKey, "DOCKET_TLS_KEY")
            guard (configuration.tlsCertificate == nil) == (configuration.tlsKey == nil) else {
                throw ValidationError("give --tls-cert and --tls-key together")
            }
            for file in [configuration.tlsCertificate, configuration.tlsKey].compactMap({ $0 }) {
                guard FileManager.default.isReadableFile(atPath: file) else {
                    throw CLIError.badInput("cannot read \(file); give a PEM file")
                }
            }
            configuration.summarize = { Render.event($0) }
            configuration.notifications = settings?.notifications
            configuration.admission = settings?.admission
            let levelText = setting(logLevel, "DOCKET_LOG_LEVEL") ?? "info"
            guard let level = Logger.Level(rawValue: levelText) else {
                throw ValidationError(
                    "--log-level \(levelText): give trace, debug, info, notice, warning, error or critical")
            }
            var logger = Logger(label: "docket.serve") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = level
            let scheme = configuration.tlsCertificate == nil ? "http" : "https"
            let host = configuration.host
            let name = configuration.source.name
            let server = DocketServer(configuration: configuration, logger: logger)
            let listening = "\(host):\(configuration.port)"
            try Self.block(listening: listening) {
                try await server.run { port in
                    print("docket serve: listening on \(scheme)://\(host):\(port) (ledger \(name))")
                    fflush(nil)
                }
            }
        }

        /// Where the ledger lives. Opening it here reports a missing or foreign ledger, and a log key that is not
        /// the ledger's, with the CLI's own message and exit code, before anything listens.
        static func configuration(ledger path: String, logKey: String?) throws -> DocketServer.Configuration {
            guard SharedStore.isPostgres(path) else {
                if let logKey, logKey != Ledger.logKeyPath(for: path) {
                    throw ValidationError(
                        "--log-key \(logKey): a ledger file's log key is \(Ledger.logKeyPath(for: path))")
                }
                _ = try Ledger(path: path)
                return DocketServer.Configuration(ledgerPath: path)
            }
            guard let logKey else {
                throw CLIError.badInput(
                    "--ledger \(path): give --log-key FILE (or DOCKET_LOG_KEY), the log key every server of this database shares"
                )
            }
            try SharedStore.ledger(path, logKey: logKey).checkLogKey()
            // The server's own pool, run in its service group (the one above only checked the database).
            let store = PostgresStore(location: try PostgresLocation(parsing: path))
            let source = LedgerSource(
                name: store.location.description,
                open: { _ in try store.ledger(logKeyPath: logKey) }, services: [store.client],
                watchCheckpoints: { onCheckpoint in await store.watchCheckpoints(onCheckpoint) })
            return DocketServer.Configuration(source: source)
        }

        /// A bearer token from its file: one line, at least 16 characters.
        static func token(_ path: String) throws -> String {
            let text = String(decoding: try readLimited(path, limit: 4096), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.count >= 16, !text.contains(where: \.isWhitespace) else {
                throw CLIError.badInput("\(path): a token file holds one token of at least 16 characters, no spaces")
            }
            return text
        }

        /// Runs the server's async work to its end from the synchronous command. A socket that cannot be bound is
        /// said in words, with what to do; the system call's text is not.
        static func block(listening address: String? = nil, _ work: @escaping @Sendable () async throws -> Void)
            throws
        {
            let done = DispatchSemaphore(value: 0)
            let outcome = Outcome()
            Task {
                do { try await work() } catch { outcome.error = "\(error)" }
                done.signal()
            }
            done.wait()
            guard let error = outcome.error else { return }
            guard let address else { throw CLIError.failure(error) }
            if error.contains("Address already in use") {
                throw CLIError.failure(
                    "cannot listen on \(address): the address is already in use (another docket serve?); stop it or give another --listen HOST:PORT"
                )
            }
            if error.contains("Permission denied") || error.contains("errno: 13") {
                throw CLIError.failure(
                    "cannot listen on \(address): permission denied (ports below 1024 need privileges); give another --listen HOST:PORT"
                )
            }
            if error.contains("Cannot assign requested address") || error.contains("errno: 99") {
                throw CLIError.badInput(
                    "cannot listen on \(address): no interface of this machine has that address; give another --listen HOST:PORT"
                )
            }
            throw CLIError.failure("docket serve stopped: \(error)")
        }

        private final class Outcome: @unchecked Sendable {
            var error: String?
        }
    }
}
