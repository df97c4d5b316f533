import Foundation
import Prometheus

/// What `/metrics` reports, in Prometheus text: appends, batch sizes, latency histograms, queue depth, and
/// refusals by reason. One registry per server (no process-wide metrics system to bootstrap).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let appended: Counter
    let duplicates: Counter
    let queueDepth: Gauge
    let batchSizes: ValueHistogram
    let batchDuration: DurationHistogram
    let requestDuration: DurationHistogram
    let writeDuration: DurationHistogram
    let peerCheckpoints: Counter

    private static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "docket", metricName: name, unitName: unit, helpText: help)
    }

    init() {
        appended = registry.makeCounter(descriptor: Self.name("appends", "total", "Entries appended."))
        duplicates = registry.makeCounter(
            descriptor: Self.name("duplicates", "total", "Envelopes answered with an existing entry."))
        queueDepth = registry.makeGauge(
            descriptor: Self.name("write_queue", "depth", "Envelopes waiting for the writer."))
        batchSizes = registry.makeValueHistogram(
            descriptor: Self.name("batch", "size", "Envelopes per group commit."),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
        let latency: [Duration] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000].map { .milliseconds($0) }
        batchDuration = registry.makeDurationHistogram(
            descriptor: Self.name("batch_duration", "seconds", "Time to commit one batch."), buckets: latency)
        requestDuration = registry.makeDurationHistogram(
            descriptor: Self.name("request_duration", "seconds", "Time to answer a request."), buckets: latency)
        writeDuration = registry.makeDurationHistogram(
            descriptor: Self.name("write_duration", "seconds", "Time from a write request to its receipt."),
            buckets: latency)
        peerCheckpoints = registry.makeCounter(
            descriptor: Self.name(
                "peer_checkpoints", "total", "Newer checkpoints committed by other servers sharing the store."))
    }

    /// Counts a notification's delivery attempt by webhook and outcome (`delivered`, `refused`, `unreachable`).
    func notification(_ webhook: String, _ outcome: String) {
        registry.makeCounter(
            descriptor: Self.name("notifications", "total", "Notification delivery attempts, by webhook and outcome."),
            labels: [("webhook", webhook), ("outcome", outcome)]
        ).increment()
    }

    /// How many entries a webhook has still to be sent.
    func notificationBacklog(_ webhook: String, _ entries: Int) {
        registry.makeGauge(
            descriptor: Self.name("notification_backlog", "entries", "Entries not yet delivered, by webhook."),
            labels: [("webhook", webhook)]
        ).set(Int64(entries))
    }

    /// Counts an admission review by its answer (`allowed`, `denied`, `failed-open`, `failed-closed`).
    func admission(_ decision: String) {
        registry.makeCounter(
            descriptor: Self.name("admission_reviews", "total", "Kubernetes admission reviews, by answer."),
            labels: [("decision", decision)]
        ).increment()
    }

    /// Counts an answered error by its stable code.
    func refused(_ code: String) {
        registry.makeCounter(
            descriptor: Self.name("refusals", "total", "Requests refused, by reason."), labels: [("reason", code)]
        ).increment()
    }
}
