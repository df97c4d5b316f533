import DocketCore
import Foundation

/// What `docket serve --config FILE` reads (YAML or JSON): the webhooks to notify and the Kubernetes admission
/// webhook's rules. Every field is checked; an unknown one is refused with its line, so a typo never silently
/// turns a rule off.
///
/// ```yaml
/// notifications:
///   state: notify-state            # where delivery positions are kept (relative to this file)
///   webhooks:
///     - name: chat
///       url: https://chat.example/hooks/docket
///       kinds: [promoted, rolled-back, incident]   # default: every kind
///       secret-file: chat.secret                   # or secret-env: NAME
///       start: end                                 # or beginning (the whole log); default end
/// admission:
///   namespaces: {prod: production, stage: staging}
///   failure: closed                # open: allow when the ledger cannot be read
///   unknown-repositories: deny     # allow: images of repositories the ledger has never seen
/// ```
public struct ServerSettings: Sendable {
    public var notifications: NotificationSettings?
    public var admission: AdmissionSettings?

    public init(notifications: NotificationSettings? = nil, admission: AdmissionSettings? = nil) {
        self.notifications = notifications
        self.admission = admission
    }

    /// Reads the file's text; relative paths in it are taken from `directory` (the file's folder), secrets from
    /// `environment`.
    public init(parsing text: String, source: String, directory: String, environment: [String: String]) throws {
        let (document, lines) = try YAMLDocument.parse(text, source: source)
        let reader = SettingsReader(source: source, lines: lines)
        let top = try reader.object(document, "", allowed: ["notifications", "admission"])
        if let value = top["notifications"] {
            let fields = try reader.object(value, "notifications", allowed: ["state", "webhooks"])
            let state = try reader.string(fields["state"], "notifications.state") ?? "notify-state"
            guard case .array(let hooks)? = fields["webhooks"], !hooks.isEmpty else {
                throw reader.fail("notifications.webhooks", "give a list of webhooks (name, url, secret-file)")
            }
            var webhooks: [Webhook] = []
            for (i, hook) in hooks.enumerated() {
                let webhook = try reader.webhook(
                    hook, "notifications.webhooks[\(i)]", directory: directory, environment: environment)
                guard !webhooks.contains(where: { $0.name == webhook.name }) else {
                    throw reader.fail("notifications.webhooks[\(i)].name", "\(webhook.name) is given twice")
                }
                webhooks.append(webhook)
            }
            notifications = NotificationSettings(state: Self.resolve(state, in: directory), webhooks: webhooks)
        }
        if let value = top["admission"] {
            let fields = try reader.object(
                value, "admission", allowed: ["namespaces", "failure", "unknown-repositories"])
            var namespaces: [String: String] = [:]
            guard case .object(let map)? = fields["namespaces"], !map.isEmpty else {
                throw reader.fail(
                    "admission.namespaces", "map each namespace to a ledger environment: {prod: production}")
            }
            for (namespace, environment) in map {
                guard case .string(let name) = environment, !name.isEmpty else {
                    throw reader.fail("admission.namespaces.\(namespace)", "give the environment's name")
                }
                namespaces[namespace] = name
            }
            let failure = try reader.choice(fields["failure"], "admission.failure", ["closed", "open"]) ?? "closed"
            let unknown =
                try reader.choice(fields["unknown-repositories"], "admission.unknown-repositories", ["deny", "allow"])
                ?? "deny"
            admission = AdmissionSettings(
                namespaces: namespaces, failOpen: failure == "open", allowUnknownRepositories: unknown == "allow")
        }
    }

    static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: directory).appendingPathComponent(path).path
    }
}

/// Webhooks and where their delivery positions are kept.
public struct NotificationSettings: Sendable {
    /// The folder holding one position file per webhook (`NAME.position`).
    public var state: String
    public var webhooks: [Webhook]

    public init(state: String, webhooks: [Webhook]) {
        self.state = state
        self.webhooks = webhooks
    }
}

/// The admission webhook's rules (`POST /k8s/admission`).
public struct AdmissionSettings: Sendable {
    /// Kubernetes namespace → ledger environment. A namespace not listed is not governed (allowed).
    public var namespaces: [String: String]
    /// Allow when the ledger cannot be read (fail open); by default such a review is denied.
    public var failOpen: Bool
    /// Allow images of repositories the ledger has never seen (sidecars from elsewhere); by default denied.
    public var allowUnknownRepositories: Bool

    public init(namespaces: [String: String], failOpen: Bool = false, allowUnknownRepositories: Bool = false) {
        self.namespaces = namespaces
        self.failOpen = failOpen
        self.allowUnknownRepositories = allowUnknownRepositories
    }
}

/// Reads fields of the settings document, failing with the file, line and field.
private struct SettingsReader: DocumentReader {
    let source: String
    let lines: [String: Int]

    func string(_ value: JSONValue?, _ path: String) throws -> String? {
        guard let value else { return nil }
        guard case .string(let text) = value, !text.isEmpty else { throw fail(path, "give a non-empty string") }
        return text
    }

    func choice(_ value: JSONValue?, _ path: String, _ choices: [String]) throws -> String? {
        guard let text = try string(value, path) else { return nil }
        guard choices.contains(text) else { throw fail(path, "give \(choices.joined(separator: " or "))") }
        return text
    }

    func webhook(_ value: JSONValue, _ path: String, directory: String, environment: [String: String]) throws
        -> Webhook
    {
        let fields = try object(
            value, path, allowed: ["name", "url", "kinds", "secret-file", "secret-env", "start"])
        guard let name = try string(fields["name"], "\(path).name"),
            name.utf8.allSatisfy({
                $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0)
                    || (0x61...0x7A).contains($0)
            }), name.utf8.count <= 64
        else {
            throw fail("\(path).name", "give a name of lower-case letters, digits, - and _ (it names its state file)")
        }
        guard let text = try string(fields["url"], "\(path).url"), let url = URL(string: text),
            url.scheme == "http" || url.scheme == "https", url.host != nil
        else { throw fail("\(path).url", "give an http:// or https:// URL") }
        var kinds: Set<String>? = nil
        if let given = fields["kinds"] {
            guard case .array(let items) = given, !items.isEmpty else {
                throw fail("\(path).kinds", "give a list of event kinds, such as [promoted, rolled-back]")
            }
            let known = EventKind.allCases.map(\.rawValue)
            kinds = []
            for (i, item) in items.enumerated() {
                guard case .string(let kind) = item, known.contains(kind) else {
                    throw fail("\(path).kinds[\(i)]", "give one of \(known.joined(separator: ", "))")
                }
                kinds?.insert(kind)
            }
        }
        let secret: Data
        switch (
            try string(fields["secret-file"], "\(path).secret-file"),
            try string(fields["secret-env"], "\(path).secret-env")
        ) {
        case (let file?, nil):
            let resolved = ServerSettings.resolve(file, in: directory)
            guard let data = FileManager.default.contents(atPath: resolved) else {
                throw fail("\(path).secret-file", "cannot read \(resolved)")
            }
            secret = Data(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        case (nil, let variable?):
            guard let value = environment[variable] else {
                throw fail("\(path).secret-env", "the variable \(variable) is not set")
            }
            secret = Data(value.utf8)
        default:
            throw fail(path, "give secret-file or secret-env (one of them): receivers check every signature")
        }
        guard secret.count >= 16 else { throw fail(path, "the secret must be at least 16 bytes") }
        let start = try choice(fields["start"], "\(path).start", ["end", "beginning"]) ?? "end"
        return Webhook(name: name, url: url, kinds: kinds, secret: secret, fromBeginning: start == "beginning")
    }
}
