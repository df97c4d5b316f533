import Foundation

/// What `docket report` documents (DESIGN §12), from a bundle alone: the verification result, each environment's
/// history per service, and every promotion and rollback with its evidence as the gate saw it at that entry.
public struct AuditReport: Sendable {
    /// One step of a service's history in an environment (oldest first).
    public struct Step: Sendable {
        public var index: Int
        public var time: String
        public var kind: String
        public var digest: String
        public var identity: String
    }

    public struct History: Sendable {
        public var environment: String
        public var repository: String
        public var steps: [Step]
    }

    /// A promotion or a rollback, and the gate's verdict re-evaluated at its own entry under the policy in force.
    public struct Move: Sendable {
        public var index: Int
        public var time: String
        public var kind: String
        public var repository: String
        public var digest: String
        public var from: String?
        public var to: String
        public var identity: String
        public var tags: [String]
        /// The break-glass reason and the rules it overrode, when it was one, and whose break-glass approvals
        /// counted for it (``Gate/breakGlassApprovals(environment:rules:facts:now:promoter:)``, as admission counted).
        public var breakGlass: String?
        public var overriding: [String]
        public var breakGlassApprovers: [String] = []
        /// For a rollback out of drift: the entry where the digest it replaced was observed running (never
        /// promoted there).
        public var driftObserved: Int?
        /// The rollback's stated reason, and the digest it replaced.
        public var reason: String?
        public var replaced: String?
        /// The gate at the entry (promotions only).
        public var verdict: GateVerdict?
        public var policyIndex: Int?
        public var policyHash: String?
    }

    public var bundle: String
    public var generatedAt: String
    public var verification: VerificationReport
    /// Why the history could not be read from the bundle (it is shown only when the entries replay).
    public var historyProblem: String?
    public var histories: [History] = []
    public var moves: [Move] = []
    /// Keys OIDC tokens attested, in log order (``Workload``).
    public var workloads: [Workload] = []
    /// Incidents open at the end of the bundle, in the order they were opened.
    public var openIncidents: [OpenIncident] = []

    /// Verifies the bundle, then replays it into a scratch ledger (every entry checked again by the append
    /// pipeline) and reads the history from that. `scratch` is a folder for the temporary ledger file.
    public static func build(
        bundleAt path: String, options: Verifier.Options, scratch: String, progress: ((Int, Int) -> Void)? = nil
    ) throws -> AuditReport {
        let verification = try Verifier.verify(bundleAt: path, options: options, progress: progress)
        var report = AuditReport(bundle: path, generatedAt: options.now.rfc3339, verification: verification)
        let file = scratch + "/report-\(UUID().uuidString).db"
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                try? FileManager.default.removeItem(atPath: file + suffix)
            }
        }
        do {
            let ledger = try replay(bundleAt: path, into: file, logKey: options.pinnedLogKey)
            try report.read(ledger)
        } catch {
            report.historyProblem = "\(error)"
        }
        return report
    }

    /// The bundle's entries into a new mirror ledger, checked against the header's checkpoint.
    private static func replay(bundleAt path: String, into file: String, logKey pinned: NoteVerifierKey?) throws
        -> Ledger
    {
        var reader = try LineReader(path: path)
        guard let first = try reader.header() else {
            throw EntryError.malformed(source: path, reason: "the bundle is empty")
        }
        let header = try JSONDecoder().decode(BundleHeader.self, from: first.line)
        let ledger = try Ledger.createMirror(path: file, origin: header.origin)
        var index = 0
        try ledger.mirror(
            checkpointNote: header.checkpoint, logKey: try pinned ?? NoteVerifierKey(parsing: header.logKey)
        ) {
            guard let (line, _) = try reader.next() else { return nil }
            defer { index += 1 }
            return (index, line)
        }
        return ledger
    }

    private mutating func read(_ ledger: Ledger) throws {
        let policy = try ledger.queries.policy()?.policy
        for repository in try ledger.queries.repositories() {
            let pipeline = (try? Repository(normalized: repository)).flatMap { policy?.pipeline(for: $0) }
            var environments = pipeline?.environmentNames ?? []
            for (environment, _) in try ledger.projector.servicesSeen(repository: repository)
            where !environments.contains(environment) {
                environments.append(environment)
            }
            for environment in environments {
                let steps = try ledger.queries.timeline(
                    environment: environment, repository: repository, limit: 100_000
                )
                .reversed().map {
                    Step(
                        index: $0.index, time: $0.time.rfc3339, kind: $0.kind.rawValue,
                        digest: $0.digest.description, identity: $0.identity)
                }
                histories.append(History(environment: environment, repository: repository, steps: steps))
            }
        }
        var next = 0
        let size = try ledger.treeSize()
        let drift = try ledger.projector.allDrift()  // read once: each rollback looks for what it replaced
        while next < size {
            let events = try ledger.queries.events(from: next, limit: 1024)
            guard let last = events.last else { break }
            for event in events {
                if let move = try move(event, ledger, drift: drift) { moves.append(move) }
                if let workload = try workload(event, ledger) { workloads.append(workload) }
            }
            next = last.index + 1
        }
        openIncidents = try ledger.projector.openIncidents()
    }

    private func move(_ event: LedgerEvent, _ ledger: Ledger, drift: [DriftRecord]) throws -> Move? {
        guard let digest = event.digest else { return nil }
        switch event.statement.predicate {
        case .promoted(let p):
            let verdict = try ledger.queries.gate(
                digest: digest, repository: event.repository, environment: p.to, before: event.index, at: event.time,
                promoter: event.signer.identity)
            let policy = try ledger.queries.policy(before: event.index)
            var move = Move(
                index: event.index, time: event.time.rfc3339, kind: event.kind.rawValue, repository: event.repository,
                digest: digest.description, from: p.from, to: p.to, identity: event.signer.identity,
                tags: p.tags ?? [], breakGlass: p.breakGlass?.reason, overriding: p.breakGlass?.failedRules ?? [],
                reason: nil, replaced: nil, verdict: verdict, policyIndex: policy?.index,
                policyHash: policy?.policy.documentHash)
            // Who counted, as admission counted them (the gate's own rule: standing, fresh, not the promoter).
            if p.breakGlass != nil, let policy = policy?.policy,
                let rules = (try? Repository(normalized: event.repository)).flatMap({
                    policy.environment(p.to, repository: $0)
                })
            {
                let facts = try ledger.projector.gateFacts(
                    digest: digest, repository: event.repository, environment: p.to, policy: policy,
                    before: event.index)
                move.breakGlassApprovers =
                    Gate.breakGlassApprovals(
                        environment: p.to, rules: rules, facts: facts, now: event.time,
                        promoter: event.signer.identity
                    ).counted
            }
            return move
        case .rolledBack(let r):
            let policy = try ledger.queries.policy(before: event.index)
            var move = Move(
                index: event.index, time: event.time.rfc3339, kind: event.kind.rawValue, repository: event.repository,
                digest: digest.description, from: nil, to: r.environment, identity: event.signer.identity, tags: [],
                breakGlass: r.breakGlass?.reason, overriding: r.breakGlass == nil ? [] : ["incidents"],
                reason: r.reason, replaced: r.from, verdict: nil, policyIndex: policy?.index,
                policyHash: policy?.policy.documentHash)
            // Out of drift: what it replaced was observed running, not what the ledger had made current.
            let current = try ledger.projector.current(
                environment: r.environment, repository: event.repository, before: event.index)
            if current?.digest.description != r.from {
                move.driftObserved =
                    drift.last {
                        $0.index < event.index && $0.environment == r.environment && $0.repository == event.repository
                            && $0.digest == r.from
                    }?.index
            }
            return move
        default:
            return nil
        }
    }

    public var promotions: [Move] { moves.filter { $0.kind == EventKind.promoted.rawValue } }
}
