import DocketCore
import Foundation

/// The Kubernetes validating admission webhook (`POST /k8s/admission`): a Pod, or a workload with a pod template
/// (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob…), is allowed only when every image it would run
/// is pinned to the digest the ledger has current for that repository in the environment its namespace maps to.
/// Reads `admission.k8s.io/v1` `AdmissionReview` requests and answers with one.
struct AdmissionReview {
    /// One image the object would run, and where it is written.
    struct Image: Equatable {
        var container: String
        var field: String
        var text: String
    }

    let uid: String
    let namespace: String?
    let operation: String
    let kind: String
    let name: String
    let images: [Image]

    /// The largest review read (the API server's own request limit is 3 MiB).
    static let bodyLimit = 3 << 20

    /// Parses a review; a body that is not an `AdmissionReview` of `admission.k8s.io/v1` with a request and its
    /// uid is bad input (400, and the API server applies its own failure policy).
    init(parsing body: Data) throws {
        guard let top = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw APIError.badRequest("the body is not a JSON object (an AdmissionReview)")
        }
        guard top["kind"] as? String == "AdmissionReview", top["apiVersion"] as? String == "admission.k8s.io/v1" else {
            throw APIError.badRequest(
                "the body is not an AdmissionReview of admission.k8s.io/v1; configure the webhook with admissionReviewVersions: [v1]"
            )
        }
        guard let request = top["request"] as? [String: Any], let uid = request["uid"] as? String, !uid.isEmpty else {
            throw APIError.badRequest("the AdmissionReview has no request.uid")
        }
        self.uid = uid
        namespace = request["namespace"] as? String
        operation = request["operation"] as? String ?? ""
        kind = (request["kind"] as? [String: Any])?["kind"] as? String ?? ""
        name =
            request["name"] as? String ?? ((request["object"] as? [String: Any])?["metadata"] as? [String: Any])?[
                "name"] as? String ?? ""
        var images: [Image] = []
        if let object = request["object"] { Self.collect(object, path: "", into: &images) }
        self.images = images
    }

    /// Every image field `docket pin` rewrites, at any depth: the `image` of `containers`, `initContainers` and
    /// `ephemeralContainers`, and the `image.reference` of `volumes` (Kubernetes image volumes), in a Pod's spec, a
    /// workload's `spec.template.spec`, a CronJob's `spec.jobTemplate.spec.template.spec`, and custom resources
    /// that embed a pod template. Not checked: images named elsewhere in a custom resource's own fields.
    private static func collect(_ value: Any, path: String, into images: inout [Image]) {
        if let object = value as? [String: Any] {
            for key in object.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                if key == "volumes", let volumes = object[key] as? [Any] {
                    for (i, item) in volumes.enumerated() {
                        guard let volume = item as? [String: Any], let image = volume["image"] as? [String: Any]
                        else { continue }
                        let name = "volume " + (volume["name"] as? String ?? "#\(i)")
                        images.append(
                            Image(
                                container: name, field: "\(child)[\(i)].image.reference",
                                text: image["reference"] as? String ?? ""))
                    }
                } else if ["containers", "initContainers", "ephemeralContainers"].contains(key),
                    let containers = object[key] as? [Any]
                {
                    for (i, item) in containers.enumerated() {
                        guard let container = item as? [String: Any] else { continue }
                        let name = container["name"] as? String ?? "#\(i)"
                        if let image = container["image"] as? String {
                            images.append(Image(container: name, field: "\(child)[\(i)].image", text: image))
                        } else if container["image"] != nil {
                            images.append(Image(container: name, field: "\(child)[\(i)].image", text: ""))
                        }
                    }
                } else if let nested = object[key] {
                    collect(nested, path: child, into: &images)
                }
            }
        } else if let array = value as? [Any] {
            for (i, item) in array.enumerated() { collect(item, path: "\(path)[\(i)]", into: &images) }
        }
    }

    /// Why each image may not run in `environment`, by the ledger's current state; empty when all may.
    func denials(in environment: String, ledger: Ledger, allowUnknownRepositories: Bool) throws -> [String] {
        var reasons: [String] = []
        let known = Set(try ledger.queries.repositories())
        for image in images {
            let owner = image.container.hasPrefix("volume ") ? image.container : "container \(image.container)"
            let label = "image \(image.text.isEmpty ? "(none)" : image.text) of \(owner)"
            guard let parsed = ImageText(image.text) else {
                reasons.append("\(label): not an image reference the ledger can check")
                continue
            }
            guard known.contains(parsed.repository) else {
                if !allowUnknownRepositories {
                    reasons.append(
                        "\(label): the ledger has never seen \(parsed.repository); only promoted images run in \(environment)"
                    )
                }
                continue
            }
            guard let current = try ledger.queries.current(environment: environment, repository: parsed.repository)
            else {
                reasons.append("\(label): the ledger has nothing current for \(parsed.repository) in \(environment)")
                continue
            }
            let expected = "\(parsed.repository)@\(current.digest.description)"
            let source = "\(current.kind.rawValue) at entry \(current.index)"
            guard let digest = parsed.digest else {
                reasons.append(
                    "\(label): not pinned to a digest; the ledger says \(environment) runs \(expected) (\(source))")
                continue
            }
            if digest != current.digest.description {
                reasons.append(
                    "\(label): \(digest) is not the current digest of \(parsed.repository) in \(environment); the ledger says \(expected) (\(source))"
                )
            }
        }
        return reasons
    }

    /// The answering review: allowed, or denied (403) with a message naming each image and what the ledger says.
    static func response(uid: String, allowed: Bool, message: String?, warnings: [String] = []) -> Data {
        var response: [String: Any] = ["uid": uid, "allowed": allowed]
        if let message {
            response["status"] =
                allowed ? ["code": 200, "message": message] : ["code": 403, "reason": "Forbidden", "message": message]
        }
        if !warnings.isEmpty { response["warnings"] = warnings }
        let review: [String: Any] = [
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response,
        ]
        return (try? JSONSerialization.data(withJSONObject: review, options: [.sortedKeys])) ?? Data()
    }
}
