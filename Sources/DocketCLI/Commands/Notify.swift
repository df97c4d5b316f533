import ArgumentParser
import DocketCore
import DocketServer
import Foundation

extension Docket {
    struct Notify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notify",
            abstract: "Check a webhook receiver (README: Notifications).", subcommands: [Test.self])

        struct Test: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "test",
                abstract: "Send a signed dev.docket.test CloudEvent to URL, as the server signs every notification.",
                discussion:
                    "Exit 0 when the receiver answers 2xx, 1 when it answers anything else, 3 when it cannot be reached."
            )

            @Argument(help: "The receiver's http:// or https:// URL.")
            var url: String

            @Option(name: .long, help: "A file holding the webhook's secret (at least 16 bytes).")
            var secretFile: String?

            @Option(name: .long, help: "The environment variable holding the webhook's secret.")
            var secretEnv: String?

            @Option(name: .long, help: "The event's source (default: docket).")
            var source: String = "docket"

            func run() throws {
                guard let target = URL(string: url), target.scheme == "http" || target.scheme == "https",
                    target.host != nil
                else { throw ValidationError("\(url): give an http:// or https:// URL") }
                let secret: Data
                switch (secretFile, secretEnv) {
                case (let file?, nil):
                    secret = Data(
                        String(decoding: try readLimited(file, limit: 4096), as: UTF8.self)
                            .trimmingCharacters(in: .whitespacesAndNewlines).utf8)
                case (nil, let name?):
                    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                        throw CLIError.badInput("environment variable \(name) (from --secret-env) is not set")
                    }
                    secret = Data(value.utf8)
                default:
                    throw ValidationError("give --secret-file FILE or --secret-env NAME (one of them)")
                }
                guard secret.count >= 16 else { throw CLIError.badInput("the secret must be at least 16 bytes") }
                let webhook = Webhook(name: "test", url: target, secret: secret)
                let notification = try Notification.test(origin: source, at: .now())
                let outcome = Outcome()
                try Serve.block {
                    let sender = NotificationSender()
                    outcome.value = await sender.send(notification, to: webhook)
                    await sender.shutdown()
                }
                switch outcome.value {
                case .delivered(let status)?:
                    Terminal.out("delivered \(notification.id.prefix(12))… to \(url): \(status)")
                case .refused(let status)?:
                    throw CLIError.no("\(url) answered \(status) to the test notification; check its secret and path")
                case .unreachable(let why)?:
                    throw CLIError.failure("\(url) could not be reached: \(why)")
                case nil:
                    throw CLIError.failure("the test notification was not sent")
                }
            }

            private final class Outcome: @unchecked Sendable {
                var value: NotificationSender.Outcome?
            }
        }
    }
}
