import Foundation

/// A field that is missing or has the wrong type, by its path (`predicate.environment`).
struct FieldError: Error, CustomStringConvertible {
    var path: String
    var reason: String

    var description: String { path.isEmpty ? reason : "\(reason) at \(path)" }
}

/// One JSON object's fields, read by name with `Codable`'s rules.
struct JSONFields {
    let object: [String: JSONValue]
    /// Where this object is in the document, for messages.
    let location: String

    init(_ value: JSONValue, path: String) throws {
        guard case .object(let object) = value else {
            throw FieldError(path: path, reason: "wrong type, expected an object")
        }
        self.object = object
        self.location = path
    }

    func path(_ key: String) -> String { location.isEmpty ? key : location + "." + key }

    /// A present, non-null value.
    func value(_ key: String) throws -> JSONValue {
        switch object[key] {
        case nil: throw FieldError(path: location, reason: "missing field `\(key)`")
        case .null?: throw FieldError(path: path(key), reason: "missing value")
        case let value?: return value
        }
    }

    /// Absent and null are both "not given".
    func optional(_ key: String) -> JSONValue? {
        switch object[key] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    func string(_ key: String) throws -> String { try Self.string(try value(key), path(key)) }

    func optionalString(_ key: String) throws -> String? { try optional(key).map { try Self.string($0, path(key)) } }

    func strings(_ key: String) throws -> [String] { try Self.strings(try value(key), path(key)) }

    func optionalStrings(_ key: String) throws -> [String]? {
        try optional(key).map { try Self.strings($0, path(key)) }
    }

    /// An object whose values are all strings.
    func stringMap(_ key: String) throws -> [String: String] {
        let fields = try object(key)
        var map: [String: String] = [:]
        for (name, value) in fields.object { map[name] = try Self.string(value, fields.path(name)) }
        return map
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard case .array(let items) = try value(key) else {
            throw FieldError(path: path(key), reason: "wrong type, expected an array")
        }
        return items
    }

    func object(_ key: String) throws -> JSONFields { try JSONFields(try value(key), path: path(key)) }

    func optionalObject(_ key: String) throws -> JSONFields? {
        try optional(key).map { try JSONFields($0, path: path(key)) }
    }

    func optionalBool(_ key: String) throws -> Bool? {
        try optional(key).map { value in
            guard case .bool(let b) = value else {
                throw FieldError(path: path(key), reason: "wrong type, expected a boolean")
            }
            return b
        }
    }

    /// One of a closed set of strings.
    func choice<T: RawRepresentable & CaseIterable>(_ key: String) throws -> T where T.RawValue == String {
        let text = try string(key)
        guard let value = T(rawValue: text) else {
            throw FieldError(
                path: path(key),
                reason: "invalid value `\(text)`, expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return value
    }

    static func string(_ value: JSONValue, _ path: String) throws -> String {
        guard case .string(let text) = value else {
            throw FieldError(path: path, reason: "wrong type, expected a string")
        }
        return text
    }

    static func strings(_ value: JSONValue, _ path: String) throws -> [String] {
        guard case .array(let items) = value else {
            throw FieldError(path: path, reason: "wrong type, expected an array of strings")
        }
        return try items.enumerated().map { i, item in try string(item, path + "[\(i)]") }
    }
}
