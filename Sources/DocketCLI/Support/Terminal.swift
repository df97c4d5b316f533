import DocketCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Output helpers: colour only on a terminal, JSON with sorted keys, errors on stderr.
enum Terminal {
    static let isTTY = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    static let stderrIsTTY = isatty(STDERR_FILENO) == 1

    static func error(_ message: String) {
        fflush(nil)  // flush stdout first, so a report printed just before stays in front of its error
        FileHandle.standardError.write(Data("docket: \(message.terminalSafe(keepNewlines: false))\n".utf8))
    }

    /// `docket: warning: …` on stderr: the command still succeeds.
    static func warning(_ message: String) {
        fflush(nil)
        FileHandle.standardError.write(Data("docket: warning: \(message.terminalSafe(keepNewlines: false))\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func green(_ s: String) -> String { isTTY ? "\u{1B}[32m\(s)\u{1B}[0m" : s }
    static func red(_ s: String) -> String { isTTY ? "\u{1B}[31m\(s)\u{1B}[0m" : s }
    static func bold(_ s: String) -> String { isTTY ? "\u{1B}[1m\(s)\u{1B}[0m" : s }
    static func mark(_ ok: Bool) -> String { ok ? green("✓") : red("✗") }

    /// Left-aligned columns.
    static func table(_ rows: [[String]], indent: String = "  ") -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            indent
                + row.enumerated().map { i, cell in
                    i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// A passphrase from the named environment variable, or typed at a terminal.
    static func passphrase(env: String?, prompt: String) throws -> String {
        if let env {
            guard let value = ProcessInfo.processInfo.environment[env], !value.isEmpty else {
                throw CLIError.badInput("environment variable \(env) (from --passphrase-env) is not set")
            }
            return value
        }
        guard isatty(STDIN_FILENO) == 1, let raw = getpass(prompt) else {
            throw CLIError.badInput(
                "a passphrase is needed and there is no terminal: name an environment variable with --passphrase-env")
        }
        return String(cString: raw)
    }

    /// Progress on stderr, only on a terminal.
    static func progress(_ label: String, _ done: Int, _ total: Int) {
        guard stderrIsTTY, total > 0 else { return }
        FileHandle.standardError.write(Data("\r\(label) \(done)/\(total) (\(done * 100 / total)%)".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Errors raised by the command layer itself.
enum CLIError: DocketFailure {
    case badInput(String)
    case no(String)

    var category: FailureCategory {
        switch self {
        case .badInput: .badInput
        case .no: .refused
        }
    }

    var description: String {
        switch self {
        case .badInput(let m), .no(let m): m
        }
    }
}

extension String {
    /// The text with control characters (terminal escapes, NUL, C1 codes) shown as `\u{…}` escapes, so input
    /// quoted in a message cannot rewrite the terminal or forge extra lines. Over-long text is shortened.
    func terminalSafe(keepNewlines: Bool = true, limit: Int = 4000) -> String {
        var out = ""
        for scalar in unicodeScalars {
            if out.unicodeScalars.count >= limit {
                out += "…"
                break
            }
            switch scalar.value {
            case 0x0A where keepNewlines: out.unicodeScalars.append(scalar)
            case 0x0A: out += "\\n"
            case 0x09: out += " "
            case 0x00..<0x20, 0x7F..<0xA0, 0x2028, 0x2029: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
