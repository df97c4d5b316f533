import Foundation

/// A DSSE v1 envelope (`payloadType`, base64 `payload`, `signatures`).
public struct Envelope: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public var keyID: String
        public var sig: Data
        public init(keyID: String, sig: Data) {
            self.keyID = keyID
            self.sig = sig
        }
    }

    public static let inTotoPayloadType = "application/vnd.in-toto+json"

    public var payloadType: String
    public var payload: Data
    public var signatures: [Signature]

    public init(payloadType: String, payload: Data, signatures: [Signature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// DSSE's pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
    public static func pae(payloadType: String, payload: Data) -> Data {
        var out = Data("DSSEv1 \(payloadType.utf8.count) \(payloadType) \(payload.count) ".utf8)
        out.append(payload)
        return out
    }

    /// Signs `payload` with one key.
    public static func sign(payload: Data, payloadType: String = inTotoPayloadType, with key: SigningKey) -> Envelope {
        let sig = key.sign(pae(payloadType: payloadType, payload: payload))
        return Envelope(
            payloadType: payloadType, payload: payload,
            signatures: [Signature(keyID: key.publicKey.keyID, sig: sig)])
    }

    /// Signs with any ``EnvelopeSigner`` (a key file, an SSH key, ssh-agent).
    public static func sign(payload: Data, payloadType: String = inTotoPayloadType, with signer: any EnvelopeSigner)
        throws -> Envelope
    {
        let sig = try signer.signature(over: pae(payloadType: payloadType, payload: payload))
        return Envelope(
            payloadType: payloadType, payload: payload,
            signatures: [Signature(keyID: signer.publicKey.keyID, sig: sig)])
    }

    /// The flags of a security key's signature (``SSHSignature/flags``); nil for other signatures.
    public var authenticatorFlags: UInt8? {
        guard let sig = signatures.first?.sig, sig.count != 64 else { return nil }
        return SSHSignature(blob: sig)?.flags
    }

    /// True when some signature verifies under `key`: 64 bytes of Ed25519 over the PAE, or an SSHSIG (namespace
    /// `docket`) by the same key over it (``SSHSignature``). The key id is only a hint and is not trusted.
    public func isSigned(by key: PublicKey) -> Bool {
        let message = Self.pae(payloadType: payloadType, payload: payload)
        return signatures.contains {
            $0.sig.count == 64
                ? key.isValidSignature($0.sig, for: message)
                : SSHSignature(blob: $0.sig)?.verifies(message, by: key) == true
        }
    }

    /// Compact JSON in a fixed key order. All values are base64, hex or the payload type, so the bytes
    /// depend only on the envelope's content.
    public var compactJSON: Data {
        // Written as bytes: every entry is written once at append, and building it as a String cost more than
        // the rest of the entry's bookkeeping.
        var out = Data()
        out.reserveCapacity(payload.count * 4 / 3 + 256)
        out.append(contentsOf: #"{"payloadType":"#.utf8)
        out.append(contentsOf: JSONText.quoted(payloadType).utf8)
        out.append(contentsOf: #","payload":""#.utf8)
        out.append(payload.base64EncodedData())
        out.append(contentsOf: #"","signatures":["#.utf8)
        for (i, signature) in signatures.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"keyid":"#.utf8)
            out.append(contentsOf: JSONText.quoted(signature.keyID).utf8)
            out.append(contentsOf: #","sig":""#.utf8)
            out.append(signature.sig.base64EncodedData())
            out.append(contentsOf: #""}"#.utf8)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}

/// Why an envelope was not accepted as input.
public enum EnvelopeError: DocketFailure, Equatable {
    case tooLarge(source: String, bytes: Int, limit: Int)
    case notJSON(source: String, reason: String)
    case missingField(source: String, field: String)
    case badBase64(source: String, field: String)
    case wrongPayloadType(source: String, found: String)
    case signatureCount(source: String, count: Int)

    public var category: FailureCategory { .badInput }

    public var description: String {
        switch self {
        case .tooLarge(let source, let bytes, let limit):
            "\(source): envelope is \(bytes) bytes, over the \(limit)-byte limit; an event envelope is a few KiB"
        case .notJSON(let source, let reason):
            "\(source): not a DSSE envelope (\(reason))"
        case .missingField(let source, let field): "\(source): DSSE envelope has no `\(field)`"
        case .badBase64(let source, let field): "\(source): `\(field)` is not valid base64"
        case .wrongPayloadType(let source, let found):
            "\(source): payloadType is \(found), expected \(Envelope.inTotoPayloadType)"
        case .signatureCount(let source, let count):
            "\(source): envelope has \(count) signatures; Docket events carry exactly one"
        }
    }
}

extension Envelope {
    /// The largest envelope accepted; bigger input is refused before it is parsed.
    public static let maximumSize = 256 * 1024

    /// Parses and checks the shape of an envelope from untrusted bytes, with the strict reader. `source` names
    /// the input in errors.
    public init(parsing data: Data, source: String) throws {
        guard data.count <= Self.maximumSize else {
            throw EnvelopeError.tooLarge(source: source, bytes: data.count, limit: Self.maximumSize)
        }
        guard !data.isEmpty else { throw EnvelopeError.notJSON(source: source, reason: "the input is empty") }
        // A file written with `--out` ends with a newline: JSON allows whitespace around the value.
        let value: JSONValue
        do {
            value = try StrictJSON.parse(data)
        } catch {
            throw EnvelopeError.notJSON(source: source, reason: "invalid or truncated JSON: \(error)")
        }
        try self.init(json: value, source: source)
    }

    /// The envelope in a JSON value already read (an entry's `envelope`).
    init(json value: JSONValue, source: String) throws {
        guard case .object(let dict) = value else {
            throw EnvelopeError.notJSON(source: source, reason: "not a JSON object")
        }
        guard case .string(let type)? = dict["payloadType"] else {
            throw EnvelopeError.missingField(source: source, field: "payloadType")
        }
        guard type == Self.inTotoPayloadType else { throw EnvelopeError.wrongPayloadType(source: source, found: type) }
        guard case .string(let payloadText)? = dict["payload"] else {
            throw EnvelopeError.missingField(source: source, field: "payload")
        }
        guard let payload = Data(anyBase64: payloadText) else {
            throw EnvelopeError.badBase64(source: source, field: "payload")
        }
        guard case .array(let sigs)? = dict["signatures"] else {
            throw EnvelopeError.missingField(source: source, field: "signatures")
        }
        guard sigs.count == 1 else { throw EnvelopeError.signatureCount(source: source, count: sigs.count) }
        var signatures: [Signature] = []
        for entry in sigs {
            guard case .string(let sigText)? = entry["sig"] else {
                throw EnvelopeError.missingField(source: source, field: "signatures[].sig")
            }
            guard let sig = Data(anyBase64: sigText) else {
                throw EnvelopeError.badBase64(source: source, field: "signatures[].sig")
            }
            signatures.append(Signature(keyID: entry["keyid"]?.stringValue ?? "", sig: sig))
        }
        self.init(payloadType: type, payload: payload, signatures: signatures)
    }
}

extension Envelope {
    /// The id of the key among `keys` that the signature verifies under: the hinted one first.
    func signingKey(among keys: [String: PublicKey]) -> String? {
        let hint = signatures.first?.keyID.lowercased() ?? ""
        if let key = keys[hint], isSigned(by: key) { return hint }
        return keys.first { $0.key != hint && isSigned(by: $0.value) }?.key
    }
}
