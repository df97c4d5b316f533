import Foundation

extension CanonicalScanner {
    /// `{"payloadType":"application/vnd.in-toto+json","payload":"…","signatures":[{"keyid":"…","sig":"…"}]}`
    mutating func envelope() -> Envelope? {
        guard literal("{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\""),
            let payload = base64String(),
            literal(",\"signatures\":[{\"keyid\":\""), let keyID = string(Self.hex),
            literal(",\"sig\":\""), let sig = base64String(),
            literal("}]}")
        else { return nil }
        return Envelope(
            payloadType: Envelope.inTotoPayloadType, payload: payload, signatures: [.init(keyID: keyID, sig: sig)])
    }
}
