import ArgumentParser
import DocketCore
import Foundation

extension Docket.Key {
    struct ImportAllowedSigners: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-allowed-signers",
            abstract: "Enrol the SSH keys of git's allowed_signers file (signed by an admin).",
            discussion: """
                Each line `PRINCIPAL [OPTIONS] KEYTYPE BASE64 [COMMENT]` enrols its ssh-ed25519 or sk-ssh-ed25519 key \
                for the principal, with the roles and teams given. `namespaces=` is honoured (a line for other \
                namespaces only, such as `git`, is skipped); `valid-after=` and `valid-before=` become the key's \
                validity in ledger time. Keys already enrolled are skipped, so the import can be run again. A line \
                with several principals, a wildcard or `cert-authority` is refused.
                """)

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The allowed_signers file (git's gpg.ssh.allowedSignersFile).") var file: String

        @Option(
            name: .long, parsing: .upToNextOption,
            help: ArgumentHelp(
                "The roles of every key imported.", valueName: Role.allValueStrings.joined(separator: "|")),
            transform: Role.argument)
        var role: [Role] = []

        @Option(name: .long, parsing: .upToNextOption, help: "Teams of every key imported.") var team: [String] = []

        func validate() throws {
            guard !role.isEmpty else { throw ValidationError("give at least one --role") }
            try validateTeams(team)
        }

        func run() throws {
            let text = String(decoding: try readLimited(file, limit: 1 << 20), as: UTF8.self)
            let signers = try AllowedSigners(parsing: text, source: file)
            let client = try options.client()
            let enrolled = Swift.Set(try client.ask(KeysQuestion()).map(\.keyID))
            for skipped in signers.skipped { Terminal.note("\(file): skipped \(skipped)") }
            var imported = 0
            for signer in signers.entries where !enrolled.contains(signer.key.key.keyID) {
                try EventEmitter(ledgerOptions: options, signing: signing).run(
                    subjectName: signer.principal, subjectDigest: SHA256.hash(signer.key.key.raw).hex,
                    predicate: .keyEnrolled(
                        .init(
                            identity: signer.principal, publicKey: signer.key.key.base64,
                            roles: Array(Swift.Set(role)).sorted(), teams: team.isEmpty ? nil : team,
                            validAfter: signer.validAfter?.rfc3339, validBefore: signer.validBefore?.rfc3339)),
                    client: client)
                imported += 1
            }
            if !options.json {
                Terminal.note(
                    "\(file): \(imported) key(s) enrolled, \(signers.entries.count - imported) already enrolled")
            }
        }
    }
}

/// git's `allowed_signers` (ssh-keygen(1) "ALLOWED SIGNERS"): what Docket enrols from it.
struct AllowedSigners {
    struct Entry {
        var principal: String
        var key: SSHPublicKey
        var validAfter: Timestamp?
        var validBefore: Timestamp?
    }

    var entries: [Entry] = []
    /// Lines not for Docket (another namespace), with why.
    var skipped: [String] = []

    init(parsing text: String, source: String) throws {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let at = "\(source) line \(number + 1)"
            var fields = Self.fields(line)
            guard fields.count >= 3 else { throw CLIError.badInput("\(at): expected PRINCIPAL [OPTIONS] KEYTYPE KEY") }
            let principal = fields.removeFirst()
            var options: [String: String] = [:]
            if SSHPublicKey.KeyType(rawValue: fields[0]) == nil {
                for option in Self.split(fields.removeFirst(), by: ",") {
                    let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                    options[parts[0].lowercased()] =
                        parts.count > 1 ? parts[1].replacingOccurrences(of: "\"", with: "") : ""
                }
            }
            guard fields.count >= 2 else { throw CLIError.badInput("\(at): expected KEYTYPE KEY after the options") }
            if options["cert-authority"] != nil {
                throw CLIError.badInput("\(at): cert-authority lines name a CA, not a person's key; enrol the keys")
            }
            guard !principal.contains(","), !principal.contains("*"), !principal.contains("?") else {
                throw CLIError.badInput(
                    "\(at): `\(principal)` is not one identity; Docket enrols a key for one principal (split the line)")
            }
            if let namespaces = options["namespaces"],
                !Self.split(namespaces, by: ",").contains(where: { $0 == SSHSignature.namespace || $0 == "*" })
            {
                skipped.append("line \(number + 1) (\(principal)): for namespaces \(namespaces), not docket")
                continue
            }
            let key: SSHPublicKey
            do {
                key = try SSHPublicKey(line: fields[0] + " " + fields[1])
            } catch {
                throw CLIError.badInput("\(at): \(error)")
            }
            entries.append(
                Entry(
                    principal: principal, key: key,
                    validAfter: try options["valid-after"].map { try Self.time($0, at) },
                    validBefore: try options["valid-before"].map { try Self.time($0, at) }))
        }
    }

    /// Whitespace-separated fields, a double-quoted run kept whole.
    static func fields(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        for character in line {
            if character == "\"" { quoted.toggle() }
            if (character == " " || character == "\t") && !quoted {
                if !current.isEmpty { out.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    static func split(_ text: String, by separator: Character) -> [String] {
        fields(text.replacingOccurrences(of: String(separator), with: " ")).map {
            $0.replacingOccurrences(of: "\"", with: "")
        }
    }

    /// `YYYYMMDD[HHMM[SS]][Z]`: UTC with `Z`, else the local time zone (as ssh-keygen reads it).
    static func time(_ text: String, _ at: String) throws -> Timestamp {
        let utc = text.hasSuffix("Z") || text.hasSuffix("z")
        let digits = utc ? String(text.dropLast()) : text
        let formats = [8: "yyyyMMdd", 12: "yyyyMMddHHmm", 14: "yyyyMMddHHmmss"]
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = utc ? TimeZone(identifier: "UTC") : TimeZone.current
        guard digits.allSatisfy(\.isNumber), let format = formats[digits.count] else {
            throw CLIError.badInput("\(at): `\(text)` is not a time of the form YYYYMMDD[HHMM[SS]][Z]")
        }
        formatter.dateFormat = format
        guard let date = formatter.date(from: digits) else {
            throw CLIError.badInput("\(at): `\(text)` is not a date")
        }
        return Timestamp(milliseconds: Int64(date.timeIntervalSince1970 * 1000))
    }
}
