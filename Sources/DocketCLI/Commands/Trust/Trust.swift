import ArgumentParser
import DocketClient
import DocketCore
import Foundation

extension Docket {
    struct Trust: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trust",
            abstract: "Which outside identity providers the ledger trusts (OIDC issuers for CI workloads).",
            subcommands: [OIDC.self])
    }
}

extension Docket.Trust {
    struct OIDC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "oidc",
            abstract: "Trust a CI system's OIDC issuer, refresh its keys, list the issuers.",
            discussion:
                "A trusted issuer's tokens attest a CI job's ephemeral key (`--oidc-token`) when their claims match a workload rule of the policy (`workloads:`). Each change is a signed `oidc-issuer` event.",
            subcommands: [Add.self, Refresh.self, List.self])
    }
}

/// The issuer's key set from `--jwks-file F`, or with `--fetch` from its discovery document's `jwks_uri`.
struct KeySetSource: ParsableArguments {
    @Option(name: .long, help: "The issuer's JSON Web Key Set (JWKS) file.") var jwksFile: String?
    @Flag(name: .long, help: "Fetch the key set from ISSUER/.well-known/openid-configuration's jwks_uri.")
    var fetch = false

    func validate() throws {
        guard (jwksFile == nil) != !fetch else { throw ValidationError("give either --jwks-file FILE or --fetch") }
    }

    /// The key set as a JSON document, checked to hold a key Docket can verify with.
    func load(issuer: String) throws -> JSONValue {
        let (data, source): (Data, String)
        if let jwksFile {
            (data, source) = (try readLimited(jwksFile, limit: 1 << 20), jwksFile)
        } else {
            let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
            let discovery = try WebFetch.get(base + "/.well-known/openid-configuration")
            guard let uri = (try? JSONValue(strict: discovery))?["jwks_uri"]?.stringValue else {
                throw CLIError.badInput("\(base)/.well-known/openid-configuration names no jwks_uri")
            }
            (data, source) = (try WebFetch.get(uri), uri)
        }
        let document: JSONValue
        do {
            document = try JSONValue(strict: data)
        } catch {
            throw CLIError.badInput("\(source): not a JSON key set (\(error))")
        }
        do {
            _ = try JSONWebKeySet(document: document)
        } catch {
            throw CLIError.badInput("\(source): \(error.reason)")
        }
        return document
    }
}

/// Signs and appends one `oidc-issuer` event.
func appendIssuer(
    _ predicate: Predicates.OIDCIssuerSet, options: LedgerOptions, signing: SigningOptions,
    client: any LedgerClient
) throws {
    do {
        _ = try OIDCIssuer(predicate, index: 0)
    } catch {
        throw CLIError.badInput("--issuer \(predicate.issuer): \(error.reason)")
    }
    try EventEmitter(ledgerOptions: options, signing: signing).run(
        subjectName: predicate.issuer, subjectDigest: OIDCIssuer.keySetHash(predicate.jwks),
        predicate: .oidcIssuer(predicate), client: client)
}

extension Docket.Trust.OIDC {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Trust an OIDC issuer's tokens (signed by an admin).")
        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions
        @OptionGroup var keys: KeySetSource
        @Option(name: .long, help: "The issuer URL, exactly as its tokens' `iss` claim spells it.") var issuer: String
        @Option(name: .long, help: "The audience its tokens must name (default: the ledger's origin).")
        var audience: String?
        @Option(name: .long, help: "The algorithms its tokens may use, comma-separated (RS256, ES256).")
        var algorithms = "RS256,ES256"

        func run() throws {
            let client = try options.client()
            if try client.ask(TrustedIssuersQuestion()).contains(where: { $0.issuer == issuer }) {
                throw CLIError.badInput(
                    "--issuer \(issuer) is already trusted; change its keys with `docket trust oidc refresh`")
            }
            let predicate = Predicates.OIDCIssuerSet(
                issuer: issuer, audience: try audience ?? client.identity().origin,
                algorithms: algorithms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                jwks: try keys.load(issuer: issuer))
            try appendIssuer(predicate, options: options, signing: signing, client: client)
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "refresh",
            abstract: "Record a trusted issuer's current key set (a new event only when it changed).")
        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions
        @OptionGroup var keys: KeySetSource
        @Option(name: .long, help: "The trusted issuer's URL.") var issuer: String

        func run() throws {
            let client = try options.client()
            guard let current = try client.ask(TrustedIssuersQuestion()).first(where: { $0.issuer == issuer }) else {
                throw CLIError.badInput("--issuer \(issuer) is not trusted yet; add it with `docket trust oidc add`")
            }
            let jwks = try keys.load(issuer: issuer)
            guard OIDCIssuer.keySetHash(jwks) != current.jwksSHA256 else {
                struct Unchanged: Encodable {
                    var issuer: String
                    var unchanged = true
                    var index: Int
                }
                try options.output(Unchanged(issuer: issuer, index: current.index)) {
                    "the key set of \(issuer) is unchanged since entry \(current.index); nothing appended"
                }
                return
            }
            let predicate = Predicates.OIDCIssuerSet(
                issuer: issuer, audience: current.audience, algorithms: current.algorithms, jwks: jwks)
            try appendIssuer(predicate, options: options, signing: signing, client: client)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the trusted OIDC issuers.")
        @OptionGroup var options: LedgerOptions

        func run() throws {
            let issuers = try options.ask(TrustedIssuersQuestion())
            try options.output(issuers) {
                issuers.isEmpty
                    ? "no OIDC issuer is trusted; add one with `docket trust oidc add --issuer URL --jwks-file F`"
                    : issuers.map {
                        "\($0.issuer)  audience \($0.audience)  \($0.algorithms.joined(separator: ","))  keys \($0.keyIDs.joined(separator: ", "))  (entry \($0.index))"
                    }.joined(separator: "\n")
            }
        }
    }
}
