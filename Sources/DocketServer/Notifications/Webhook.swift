import AsyncHTTPClient
import DocketCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One configured receiver of notifications.
public struct Webhook: Sendable {
    public var name: String
    public var url: URL
    /// The event kinds it wants (`nil`: every kind).
    public var kinds: Set<String>?
    /// The HMAC-SHA-256 key both sides hold.
    public var secret: Data
    /// A new webhook starts at the beginning of the log instead of its end.
    public var fromBeginning: Bool

    public init(name: String, url: URL, kinds: Set<String>? = nil, secret: Data, fromBeginning: Bool = false) {
        self.name = name
        self.url = url
        self.kinds = kinds
        self.secret = secret
        self.fromBeginning = fromBeginning
    }

    func wants(_ kind: String) -> Bool { kinds?.contains(kind) ?? true }
}

/// A notification (DESIGN §12): a CloudEvents 1.0 event in structured JSON mode, whose `data` is the entry's
/// receipt (the entry itself, its leaf hash, its inclusion proof and the checkpoint it is proved against;
/// schemas/server-receipt.schema.json), so a receiver can check it came from the log without asking the server.
/// The whole body is signed: `Docket-Signature: t=UNIX,v1=HEX`, where HEX is HMAC-SHA-256 with the webhook's
/// secret over `UNIX.` followed by the body's bytes (a receiver also refuses an old `t`, against replays).
public struct Notification: Sendable {
    public static let contentType = "application/cloudevents+json; charset=utf-8"
    public static let signatureHeader = "Docket-Signature"

    public let body: Data
    public let id: String
    public let kind: String

    struct CloudEvent: Encodable {
        var specversion = "1.0"
        var type: String
        var source: String
        var id: String
        var time: String
        var subject: String
        var datacontenttype = "application/json"
        var dataschema: String?
        var data: EntryReceipt?
    }

    /// The notification of one ledger entry.
    public init(receipt: EntryReceipt, origin: String) throws {
        let subject = receipt.digest.map { "\(receipt.subject)@\($0)" } ?? receipt.subject
        let event = CloudEvent(
            type: "dev.docket.\(receipt.kind)", source: origin, id: receipt.leafHash, time: receipt.integratedTime,
            subject: subject, dataschema: "https://docket.dev/schemas/server-receipt.schema.json", data: receipt)
        body = try EntryReceipt.encoder.encode(event)
        id = receipt.leafHash
        kind = receipt.kind
    }

    /// `docket notify test`: a `dev.docket.test` event with no data, signed like every other.
    public static func test(origin: String, at time: Timestamp) throws -> Notification {
        let id = SHA256.hash(Data("test \(origin) \(time.rfc3339)".utf8)).hex
        let event = CloudEvent(type: "dev.docket.test", source: origin, id: id, time: time.rfc3339, subject: "test")
        return Notification(body: try EntryReceipt.encoder.encode(event), id: id, kind: "test")
    }

    private init(body: Data, id: String, kind: String) {
        self.body = body
        self.id = id
        self.kind = kind
    }

    /// The signature header's value at `time` (Unix seconds).
    public func signature(secret: Data, time: Int64) -> String {
        let mac = HMAC.sha256(key: secret, message: Data("\(time).".utf8) + body)
        return "t=\(time),v1=\(mac.hex)"
    }
}

/// Sends notifications over one HTTP client that never follows redirects (a receiver is where it is configured).
public final class NotificationSender: Sendable {
    /// What a receiver answered, or why nothing was answered.
    public enum Outcome: Sendable, Equatable {
        case delivered(status: Int)
        case refused(status: Int)
        case unreachable(String)

        public var delivered: Bool { if case .delivered = self { true } else { false } }
    }

    private let client: HTTPClient
    let timeout: TimeAmount

    public init(timeout: TimeAmount = .seconds(10)) {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(5), read: timeout)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = timeout
    }

    public func shutdown() async { try? await client.shutdown() }

    public func send(
        _ notification: Notification, to webhook: Webhook, now: Int64 = Int64(Date().timeIntervalSince1970)
    )
        async -> Outcome
    {
        var request = HTTPClientRequest(url: webhook.url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: Notification.contentType)
        request.headers.add(
            name: Notification.signatureHeader, value: notification.signature(secret: webhook.secret, time: now))
        request.headers.add(name: "User-Agent", value: "docket-notify")
        request.body = .bytes(ByteBuffer(data: notification.body))
        do {
            let response = try await client.execute(request, timeout: timeout)
            // Only the status matters; a large answer is not read.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            return (200..<300).contains(status) ? .delivered(status: status) : .refused(status: status)
        } catch {
            return .unreachable(transportProblem(error, peer: "the receiver"))
        }
    }
}
