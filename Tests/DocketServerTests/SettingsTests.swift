import DocketCore
import Foundation
import Testing

@testable import DocketServer

/// `docket serve --config`: what is accepted, what is refused with its line, and the images an admission review
/// names, for each workload shape.
@Suite struct SettingsTests {
    @Test func acceptsWebhooksAndAdmission() throws {
        let settings = try ServerSettings(
            parsing: """
                notifications:
                  webhooks:
                    - {name: chat, url: 'https://chat.example/hook', kinds: [promoted], secret-env: HOOK}
                admission:
                  namespaces: {prod: production}
                  failure: open
                """, source: "docket.yaml", directory: "/etc/docket", environment: ["HOOK": "0123456789abcdef!"])
        let hook = try #require(settings.notifications?.webhooks.first)
        #expect(hook.name == "chat" && hook.kinds == ["promoted"] && hook.secret == Data("0123456789abcdef!".utf8))
        #expect(settings.notifications?.state == "/etc/docket/notify-state")
        #expect(settings.admission?.namespaces == ["prod": "production"])
        #expect(settings.admission?.failOpen == true && settings.admission?.allowUnknownRepositories == false)
    }

    @Test func refusesWhatItDoesNotKnow() {
        let cases: [(String, String)] = [
            ("admission:\n  namespaces: {prod: production}\n  failur: closed\n", "docket.yaml:3: admission.failur"),
            (
                "notifications:\n  webhooks:\n    - {name: Chat, url: 'http://x/', secret-env: HOOK}\n",
                "notifications.webhooks[0].name"
            ),
            ("notifications:\n  webhooks:\n    - {name: a, url: 'http://x/', secret-env: HOOK}\n", "at least 16"),
            ("notifications:\n  webhooks:\n    - {name: a, url: 'http://x/'}\n", "secret-file or secret-env"),
            (
                "notifications:\n  webhooks:\n    - {name: a, url: 'http://x/', secret-env: HOOK, kinds: [built, nope]}\n",
                "kinds[1]"
            ),
        ]
        for (text, expected) in cases {
            #expect {
                _ = try ServerSettings(
                    parsing: text, source: "docket.yaml", directory: "/", environment: ["HOOK": "short"])
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }

    @Test func admissionFindsEveryContainerImage() throws {
        func review(_ object: String) throws -> AdmissionReview {
            try AdmissionReview(
                parsing: Data(
                    """
                    {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","namespace":"prod",
                    "operation":"CREATE","kind":{"group":"batch","version":"v1","kind":"CronJob"},"object":\(object)}}
                    """.utf8))
        }
        let cronJob = try review(
            """
            {"metadata":{"name":"nightly"},"spec":{"jobTemplate":{"spec":{"template":{"spec":{
            "initContainers":[{"name":"migrate","image":"r.example/db@sha256:\(String(repeating: "a", count: 64))"}],
            "containers":[{"name":"job","image":"r.example/job:1.0"}]}}}}}}
            """)
        #expect(cronJob.uid == "u1" && cronJob.name == "nightly" && cronJob.namespace == "prod")
        #expect(cronJob.images.map(\.container) == ["job", "migrate"])
        #expect(cronJob.images.map(\.field).first == "spec.jobTemplate.spec.template.spec.containers[0].image")
        #expect(throws: APIError.self) { try AdmissionReview(parsing: Data("{\"kind\":\"Pod\"}".utf8)) }
        // Kubernetes image volumes: every field `docket pin` rewrites is checked (issue 30, item 8).
        let pod = try review(
            """
            {"metadata":{"name":"p"},"spec":{"containers":[{"name":"app","image":"r.example/app:1"}],
            "volumes":[{"name":"config","configMap":{"name":"c"}},{"name":"model","image":{"reference":"r.example/model:7"}}]}}
            """)
        #expect(pod.images.map(\.text) == ["r.example/app:1", "r.example/model:7"])
        #expect(pod.images.last?.field == "spec.volumes[1].image.reference")
        #expect(pod.images.last?.container == "volume model")
    }
}
