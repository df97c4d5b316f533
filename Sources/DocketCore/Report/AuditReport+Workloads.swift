import Foundation

/// The CI workloads that signed without key files (DESIGN.md §14): each key an OIDC token attested, the workload
/// rule its claims matched, the claims themselves (with the run they came from) and when the key stopped signing.
extension AuditReport {
    public struct Workload: Sendable {
        public var index: Int
        public var time: String
        public var identity: String
        public var issuer: String
        public var rule: String
        /// The claims the rule matched on and the token's descriptive ones, by name.
        public var claims: [(name: String, value: String)]
        public var expiresAt: String
    }

    /// The workload a `key-attested` entry enrolled, as the ledger recorded it.
    func workload(_ event: LedgerEvent, _ ledger: Ledger) throws -> Workload? {
        guard case .keyAttested = event.statement.predicate,
            let attestation = try ledger.queries.attestation(keyID: event.signer.keyID)
        else { return nil }
        return Workload(
            index: event.index, time: event.time.rfc3339, identity: event.signer.identity, issuer: attestation.issuer,
            rule: attestation.rule,
            claims: attestation.claims.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) },
            expiresAt: attestation.expiresAt)
    }

    private func claimsText(_ w: Workload) -> String {
        w.claims.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
    }

    var workloadsHTML: HTML {
        guard !workloads.isEmpty else { return .empty }
        let rows = workloads.map { w -> HTML in
            "<tr data-index=\"\(w.index)\"><td>\(w.index)</td><td>\(w.time)</td><td>\(w.identity)</td><td>\(w.rule)</td><td>\(claimsText(w))</td><td>\(w.issuer)</td><td>\(w.expiresAt)</td></tr>"
        }
        return
            "<h2>Workload identities (\(workloads.count))</h2><p>Keys CI jobs enrolled with their OIDC tokens; each signed only until its token expired.</p><table class=\"workloads\"><colgroup><col style=\"width:6%\"><col style=\"width:13%\"><col style=\"width:21%\"><col style=\"width:12%\"><col style=\"width:22%\"><col style=\"width:14%\"><col style=\"width:12%\"></colgroup><thead><tr><th>entry</th><th>time</th><th>workload</th><th>rule</th><th>claims</th><th>issuer</th><th>signs until</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    func workloadsMarkdown(_ md: (String) -> String) -> [String] {
        guard !workloads.isEmpty else { return [] }
        var out = [
            "## Workload identities (\(workloads.count))", "",
            "| entry | time | workload | rule | claims | issuer | signs until |", "|---:|---|---|---|---|---|---|",
        ]
        for w in workloads {
            out.append(
                "| \(w.index) | \(w.time) | \(md(w.identity)) | \(md(w.rule)) | \(md(claimsText(w))) | \(md(w.issuer)) | \(w.expiresAt) |"
            )
        }
        return out + [""]
    }
}
