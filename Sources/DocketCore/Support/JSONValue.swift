import Foundation

/// Any JSON value, for documents carried inside events (the policy) and for reading untrusted JSON.
public enum JSONValue: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try container.encode(Int64(n)) } else { try container.encode(n) }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Compact JSON with sorted keys: the canonical form Docket hashes documents in.
    public var canonicalData: Data {
        // Only a non-finite number fails to encode, and no reader of Docket's makes one (StrictJSON refuses
        // them; the policy reader makes integers only).
        do {
            return try JSONText.encoder().encode(self)
        } catch {
            preconditionFailure("a JSON value failed to encode: \(error)")
        }
    }
}

extension JSONValue {
    /// Reads untrusted JSON with Docket's strict reader (``StrictJSON``): what the ledger would accept inside an
    /// event, refused here with the same reason.
    public init(strict data: Data) throws {
        do {
            self = try StrictJSON.parse(data)
        } catch {
            throw ModelError.badField(field: "JSON", reason: error.description)
        }
    }
}
