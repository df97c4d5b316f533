import DocketCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// The dashboard's pages and the Kubernetes admission webhook: answers read from the ledger for people and for
/// the cluster.
extension Routes {
    // MARK: Kubernetes admission

    /// An `AdmissionReview` answered from the ledger's current state (``AdmissionReview``). Namespaces the
    /// settings do not map are not governed; deletions are always allowed. When the ledger cannot be read the
    /// settings decide: denied (fail closed, the default) or allowed with a warning (fail open).
    func admission(_ request: Request) async throws -> Response {
        guard let settings = state.configuration.admission else {
            throw APIError.notFound(
                "this server has no admission rules; give `docket serve --config FILE` with an admission section")
        }
        let review = try AdmissionReview(parsing: try await collect(request, limit: AdmissionReview.bodyLimit))
        let answer: Data
        if ["DELETE", "CONNECT"].contains(review.operation) || review.images.isEmpty {
            answer = AdmissionReview.response(uid: review.uid, allowed: true, message: nil)
        } else if let namespace = review.namespace, let environment = settings.namespaces[namespace] {
            do {
                let denials = try await state.readers.read { ledger in
                    try review.denials(
                        in: environment, ledger: ledger, allowUnknownRepositories: settings.allowUnknownRepositories)
                }
                let what = "\(review.kind) \(namespace)/\(review.name)"
                answer =
                    denials.isEmpty
                    ? AdmissionReview.response(uid: review.uid, allowed: true, message: nil)
                    : AdmissionReview.response(
                        uid: review.uid, allowed: false,
                        message: "docket denied \(what) in \(environment): " + denials.joined(separator: "; "))
                state.metrics.admission(denials.isEmpty ? "allowed" : "denied")
            } catch {
                let why = "the ledger could not be read (\(APIError(error).message))"
                state.metrics.admission(settings.failOpen ? "failed-open" : "failed-closed")
                answer =
                    settings.failOpen
                    ? AdmissionReview.response(
                        uid: review.uid, allowed: true, message: nil,
                        warnings: ["docket: \(why); allowed (failure: open)"])
                    : AdmissionReview.response(
                        uid: review.uid, allowed: false, message: "docket: \(why); denied (failure: closed)")
            }
        } else {
            answer = AdmissionReview.response(uid: review.uid, allowed: true, message: nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: answer)))
    }

    // MARK: Pages

    /// A dashboard page (404 when `render` finds nothing to show), with a content security policy that allows
    /// only the page's own style sheet and script: should ledger text ever escape its escaping, it cannot run.
    func page(_ request: Request, _ render: @escaping @Sendable (Dashboard) throws -> HTML?) async throws
        -> Response
    {
        try await answer(read: request) {
            let summarize = state.configuration.summarize
            let html = try await state.readers.read { ledger in
                try ledger.read(summarize: summarize) { try render(Dashboard(reader: $0)) }
            }
            guard let html else { throw APIError.notFound("the ledger has no such page: \(request.uri.path)") }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-cache",
                    .contentSecurityPolicy: DashboardStyle.contentSecurityPolicy, .xContentTypeOptions: "nosniff",
                ],
                body: .init(byteBuffer: ByteBuffer(string: html.markup)))
        }
    }
}
