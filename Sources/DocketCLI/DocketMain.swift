import ArgumentParser
import DocketCore
import Foundation

/// The documented exit codes.
public enum ExitStatus {
    /// Success: appended, eligible, verified clean.
    public static let success: Int32 = 0
    /// "No": refused, ineligible, violations found.
    public static let no: Int32 = 1
    /// Bad input: an argument, file, envelope, key or policy that cannot be used.
    public static let badInput: Int32 = 2
    /// Anything else: I/O or database failure.
    public static let failure: Int32 = 3
}

/// The executable's entry point: parses, runs, and maps every error to a documented exit code.
public enum DocketMain {
    public static func run() -> Never {
        var command: ParsableCommand
        do {
            command = try Docket.parseAsRoot(try takeColorOption(Array(CommandLine.arguments.dropFirst())))
        } catch {
            exitForArgumentParser(error)
        }
        do {
            try run(&command)
            exit(ExitStatus.success)
        } catch let failure as DocketFailure {
            let status =
                switch failure.category {
                case .refused: ExitStatus.no
                case .badInput: ExitStatus.badInput
                case .failure: ExitStatus.failure
                }
            fail(Hints.message(for: failure), status: status)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch let error as ValidationError {
            fail(error.message, status: ExitStatus.badInput)
        } catch {
            // `docket help SUB`, a bare `docket` and `--help` on a group arrive here from `run()`, as errors
            // ArgumentParser renders itself.
            exitForArgumentParser(error)
        }
    }

    /// Runs the command, then closes the ledger it opened (a file's last connection folds its write-ahead log
    /// into the file, so a copy of the file alone holds every commit) and the server session, however it ends.
    private static func run(_ command: inout ParsableCommand) throws {
        defer { ClientSession.end() }
        try command.run()
    }

    /// The command the first word was probably meant to be (`statsu` → `status`): at most two edits from one.
    static func misspeltCommand() -> String? {
        guard let word = CommandLine.arguments.dropFirst().first(where: { !$0.hasPrefix("-") }) else { return nil }
        let names = Docket.configuration.subcommands.compactMap { $0.configuration.commandName }
        guard !names.contains(word) else { return nil }
        let scored = names.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    /// `--color auto|always|never` (or `--color=…`) anywhere before `--`, for every command: taken out of the
    /// arguments and handed to ``Terminal`` as `DOCKET_COLOR`, which it reads once, before any output.
    static func takeColorOption(_ arguments: [String]) throws -> [String] {
        var rest: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "--" {
                rest += arguments[i...]
                break
            }
            var value: String? = nil
            if argument == "--color" {
                guard i + 1 < arguments.count else {
                    throw ValidationError("--color needs a value: auto, always or never")
                }
                value = arguments[i + 1]
                i += 1
            } else if argument.hasPrefix("--color=") {
                value = String(argument.dropFirst("--color=".count))
            }
            if let value {
                guard ["auto", "always", "never"].contains(value) else {
                    throw ValidationError("--color `\(value)` is not one of auto, always, never")
                }
                setenv("DOCKET_COLOR", value, 1)
            } else {
                rest.append(argument)
            }
            i += 1
        }
        if let variable = ProcessInfo.processInfo.environment["DOCKET_COLOR"], !variable.isEmpty,
            !["auto", "always", "never"].contains(variable)
        {
            throw ValidationError("DOCKET_COLOR=\(variable) is not one of auto, always, never")
        }
        return rest
    }

    /// True when the command line asks for JSON (`--json` before any `--`).
    static var wantsJSON: Bool { CommandLine.arguments.dropFirst().prefix { $0 != "--" }.contains("--json") }

    /// The one-line error on stderr and the exit; with `--json`, the error as a JSON object on stdout too
    /// (schemas/error.schema.json), so a machine reading stdout never has to parse stderr.
    static func fail(_ message: String, status: Int32) -> Never {
        if wantsJSON {
            struct Failure: Encodable {
                struct Body: Encodable {
                    var exitCode: Int32
                    var kind: String
                    var message: String
                }
                var error: Body
            }
            let kind = status == ExitStatus.no ? "refused" : status == ExitStatus.badInput ? "bad-input" : "failure"
            if let text = try? Terminal.json(Failure(error: .init(exitCode: status, kind: kind, message: message))) {
                print(text)
            }
        }
        Terminal.error(message)
        exit(status)
    }

    /// Help and version requests print as ArgumentParser prints them (exit 0); usage errors get its message
    /// with the usage line of the subcommand concerned (exit 2); anything else exits 3.
    static func exitForArgumentParser(_ error: Error) -> Never {
        let code = Docket.exitCode(for: error)
        if code == .success { Docket.exit(withError: error) }
        if code == .validationFailure {
            let suggestion = misspeltCommand().map { "\ndid you mean `docket \($0)`?" } ?? ""
            if wantsJSON { fail(Docket.message(for: error) + suggestion, status: ExitStatus.badInput) }
            FileHandle.standardError.write(
                Data((Docket.fullMessage(for: error).terminalSafe(styled: false) + suggestion + "\n").utf8))
            exit(ExitStatus.badInput)
        }
        fail("\(error)", status: ExitStatus.failure)
    }
}
