import ArgumentParser
import DocketCore
import Foundation

/// One event as `history` and `log` print it in JSON.
struct EventRecord: Encodable {
    var index: Int
    var integratedTime: String
    var kind: String
    var signer: String
    var keyid: String
    var subject: String
    var digest: String?
    var summary: String
    var predicate: JSONValue?

    init(_ event: LedgerEvent) throws {
        index = event.index
        integratedTime = event.time.rfc3339
        kind = event.kind.rawValue
        signer = event.signer.identity
        keyid = event.signer.keyID
        subject = event.statement.subjectName
        digest = event.digest?.description
        summary = Render.event(event)
        predicate = try JSONDecoder().decode([String: JSONValue].self, from: event.statement.encoded())["predicate"]
    }
}
