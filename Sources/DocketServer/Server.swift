import DocketCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// `docket serve` (DESIGN §8): one process holding the ledger, its log key and its clock, for every CI runner,
/// approver and auditor. Writes go through one ``BatchWriter``; reads through a ``ReaderPool``.
public struct DocketServer: Sendable {
    public struct Configuration: Sendable {
        public var ledgerPath: String
        /// Where the ledger lives: the file at ``ledgerPath`` unless set (a PostgreSQL database, DESIGN §11).
        public var source: LedgerSource
        public var host = "127.0.0.1"
        public var port = 8080
        /// The largest request body (an envelope), in bytes.
        public var bodyLimit = 64 * 1024
        public var batchSize = 256
        /// The longest the writer waits for envelopes still being checked before it commits a batch without them.
        public var batchLinger: Duration = .milliseconds(5)
        public var queueCapacity = 4096
        /// Appends a second (and burst) per signing key, and requests a second per client address; 0 disables.
        public var keyRate = 200.0
        public var keyBurst = 400.0
        public var addressRate = 2000.0
        public var addressBurst = 4000.0
        /// How long a client may take to send a request body, and to stay idle between requests.
        public var requestTimeout: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(60)
        /// Bearer tokens required for reads and for writes, when set.
        public var readToken: String?
        public var writeToken: String?
        /// PEM certificate chain and private key: TLS terminated by the server itself.
        public var tlsCertificate: String?
        public var tlsKey: String?
        /// Webhooks to notify of every entry (DESIGN §12), and the Kubernetes admission webhook's rules.
        public var notifications: NotificationSettings?
        public var admission: AdmissionSettings?
        /// The one-line description of an event that `log` and `history` carry (the CLI's renderer).
        public var summarize: @Sendable (LedgerEvent) -> String = { $0.kind.rawValue }

        public init(ledgerPath: String) {
            self.ledgerPath = ledgerPath
            source = .file(ledgerPath)
        }

        public init(source: LedgerSource) {
            ledgerPath = source.name
            self.source = source
        }
    }

    public let configuration: Configuration
    public var logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT: then new writes get 503, the HTTP server answers the requests in flight,
    /// the writer commits what is queued, and it returns. `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        // The store's own services (a PostgreSQL pool) run first and stop last: the writer needs them to open the
        // ledger and to commit its last batch.
        let store = ServiceGroup(
            configuration: .init(
                services: configuration.source.services.map { .init(service: $0) }, gracefulShutdownSignals: [],
                logger: logger))
        let storeTask = Task { try await store.run() }
        defer { storeTask.cancel() }
        let state = try ServerState(configuration: configuration, logger: logger)
        let app = try application(state: state, onListening: onListening)
        // Shutdown runs in reverse order: first new writes are refused, then the application stops (its HTTP
        // server first, then the writer it runs, which commits the batch in hand).
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: app), .init(service: DrainOnShutdown(state: state)),
        ]
        if let notifications = configuration.notifications {
            services.append(
                .init(
                    service: Notifier(
                        state: state, settings: notifications,
                        positions: DeliveryPositions(source: configuration.source))))
        }
        if let watch = configuration.source.watchCheckpoints {
            services.append(.init(service: CheckpointWatcher(state: state, watch: watch)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        let size = (try? await state.readers.read { try $0.treeSize() }) ?? -1
        logger.info("stopped", metadata: ["entries": "\(size)"])
        await store.triggerGracefulShutdown()
        try? await storeTask.value
    }

    /// The application: the routes, the HTTP(S) server, and the writer as one of its services.
    func application(state: ServerState, onListening: @escaping @Sendable (Int) -> Void = { _ in }) throws
        -> Application<RouterResponder<DocketRequestContext>>
    {
        let router = Router(context: DocketRequestContext.self)
        Routes(state: state).add(to: router)
        let server: HTTPServerBuilder
        let headerTimeout = TimeAmount.nanoseconds(Int64(configuration.requestTimeout / .nanoseconds(1)))
        let metrics = state.metrics
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [
                    HeaderDeadline(timeout: headerTimeout, onExpiry: { metrics.refused("header-timeout") })
                ],
                idleTimeout: .seconds(configuration.idleTimeout.components.seconds)))
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            server = try .tls(http1, tlsConfiguration: tls)
        } else {
            server = http1
        }
        let logger = self.logger
        return Application(
            router: router, server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "docket"),
            services: [WriterService(state: state)],
            onServerRunning: { channel in
                logger.info(
                    "listening", metadata: ["address": "\(channel.localAddress.map(String.init(describing:)) ?? "?")"])
                onListening(channel.localAddress?.port ?? 0)
            },
            logger: logger)
    }
}

/// Everything the routes share.
final class ServerState: Sendable {
    let configuration: DocketServer.Configuration
    let writer: BatchWriter
    let readers: ReaderPool
    let metrics = ServerMetrics()
    let keyLimiter: RateLimiter
    let addressLimiter: RateLimiter
    let logger: Logger
    private let drainingFlag = Atomic(false)

    init(configuration: DocketServer.Configuration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        writer = try BatchWriter(
            ledger: try configuration.source.open(false),
            limits: .init(
                batchSize: configuration.batchSize, batchLinger: configuration.batchLinger,
                queueCapacity: configuration.queueCapacity),
            metrics: metrics)
        readers = ReaderPool(source: configuration.source)
        keyLimiter = RateLimiter(rate: configuration.keyRate, burst: configuration.keyBurst)
        addressLimiter = RateLimiter(rate: configuration.addressRate, burst: configuration.addressBurst)
    }

    var draining: Bool {
        get { drainingFlag.load(ordering: .relaxed) }
    }

    func startDraining() { drainingFlag.store(true, ordering: .relaxed) }
}

/// Runs the writer for the server's lifetime; on shutdown (after the HTTP server has answered the requests in
/// flight) commits what is queued and stops.
private struct WriterService: Service {
    let state: ServerState

    func run() async throws {
        try? await gracefulShutdown()
        await state.writer.drain()
        state.logger.info("writer drained")
    }
}

/// Hears of every checkpoint another server sharing the database commits (PostgreSQL's `LISTEN`), so this one
/// learns of keys they enrolled before an envelope signed by one arrives.
private struct CheckpointWatcher: Service {
    let state: ServerState
    let watch: @Sendable (@escaping @Sendable (Int) -> Void) async -> Void

    func run() async throws {
        let writer = state.writer
        await cancelWhenGracefulShutdown { await watch { size in writer.committedElsewhere(size: size) } }
    }
}

/// The first to hear of shutdown: from then on new writes are answered 503 with `Retry-After`.
private struct DrainOnShutdown: Service {
    let state: ServerState

    func run() async throws {
        try? await gracefulShutdown()
        state.startDraining()
        state.logger.info("shutting down: new writes get 503")
    }
}

/// The request context: Hummingbird's core storage and the client's address (for its rate limit). Bodies are read
/// with the server's own limit (`Configuration.bodyLimit`).
struct DocketRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's address without its port, for rate limits.
    var clientName: String { remoteAddress?.ipAddress ?? "unknown" }
}
