import DocketCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Output helpers. Every human line goes out through ``out(_:)``, ``error(_:)``, ``warning(_:)`` or ``note(_:)``,
/// which pass it through the one escaping function (``Swift/String/terminalSafe(keepNewlines:limit:)``) on its way
/// out: text from a ledger, an envelope or a file can never move the cursor, erase a line or reorder what
/// follows. Colour is Docket's own markup (``green(_:)``…), turned into terminal codes only after escaping, and
/// only on a terminal that wants it.
enum Terminal {
    /// Colour on stdout: `--color always` (`DOCKET_COLOR=always`) always, `never` never; `auto` (the default) on
    /// a terminal, with `NO_COLOR` absent or empty (no-color.org) and `TERM` not `dumb`.
    static let isTTY: Bool = {
        let environment = ProcessInfo.processInfo.environment
        switch environment["DOCKET_COLOR"] {
        case "always": return true
        case "never": return false
        default: break
        }
        guard isatty(STDOUT_FILENO) == 1 else { return false }
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }()
    static let stderrIsTTY = isatty(STDERR_FILENO) == 1

    /// Human output on stdout, escaped; colour markup becomes terminal codes on a colour terminal.
    static func out(_ text: String, terminator: String = "\n") {
        print(text.terminalSafe(styled: isTTY), terminator: terminator)
    }

    static func error(_ message: String) {
        fflush(nil)  // flush stdout first, so a report printed just before stays in front of its error
        FileHandle.standardError.write(
            Data("docket: \(message.terminalSafe(keepNewlines: false, styled: false))\n".utf8))
    }

    /// `docket: warning: …` on stderr: the command still succeeds.
    static func warning(_ message: String) {
        fflush(nil)
        FileHandle.standardError.write(
            Data("docket: warning: \(message.terminalSafe(keepNewlines: false, styled: false))\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message.terminalSafe(styled: false))\n".utf8))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Compact JSON (sorted keys) for output streamed page by page (`log`, `history`): one encoder per command,
    /// reused for every item.
    struct CompactJSON {
        private let encoder: JSONEncoder = {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return encoder
        }()

        func callAsFunction<T: Encodable>(_ value: T) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
    }

    /// Colour markup: noncharacters that ``terminalSafe(keepNewlines:limit:styled:)`` turns into SGR codes (or
    /// drops) after escaping everything else. The four in input pass as markup too (at most colouring text);
    /// the other noncharacters U+FDD0-U+FDEF are escaped like controls.
    static func green(_ s: String) -> String { "\(Style.green)\(s)\(Style.reset)" }
    static func red(_ s: String) -> String { "\(Style.red)\(s)\(Style.reset)" }
    static func bold(_ s: String) -> String { "\(Style.bold)\(s)\(Style.reset)" }
    static func mark(_ ok: Bool) -> String { ok ? green("✓") : red("✗") }

    enum Style {
        static let green = Character(Unicode.Scalar(UInt32(0xFDD0)) ?? " ")
        static let red = Character(Unicode.Scalar(UInt32(0xFDD1)) ?? " ")
        static let bold = Character(Unicode.Scalar(UInt32(0xFDD2)) ?? " ")
        static let reset = Character(Unicode.Scalar(UInt32(0xFDDF)) ?? " ")
        static let codes: [UInt32: String] = [
            0xFDD0: "\u{1B}[32m", 0xFDD1: "\u{1B}[31m", 0xFDD2: "\u{1B}[1m", 0xFDDF: "\u{1B}[0m",
        ]
    }

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

    /// Progress on stderr, only on a terminal: a line redrawn at most every quarter second (and at the end)
    /// with the count, the percentage and the rate, so a million-entry export or verify shows it is moving
    /// without writing a million lines. Call the closure with (done, total).
    static func progress(_ label: String) -> (Int, Int) -> Void {
        guard stderrIsTTY else { return { _, _ in } }
        let meter = ProgressMeter(label: label)
        return { meter.update($0, $1) }
    }
}

/// The state of one progress line (``Terminal/progress(_:)``).
final class ProgressMeter {
    let label: String
    private let started = ContinuousClock.now
    private var shown: ContinuousClock.Instant?
    private var finished = false

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        guard total > 0, !finished else { return }
        let now = ContinuousClock.now
        let last = done >= total
        if !last, let shown, now - shown < .milliseconds(250) { return }
        shown = now
        let seconds = Double((now - started).components.attoseconds) / 1e18 + Double((now - started).components.seconds)
        let rate = seconds > 0 ? Int(Double(done) / seconds) : 0
        let line = "\r\(label) \(done)/\(total) (\(done * 100 / total)%, \(rate)/s)\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
        if last {
            finished = true
            FileHandle.standardError.write(Data("\n".utf8))
        }
    }
}

/// Errors raised by the command layer itself.
enum CLIError: DocketFailure {
    case badInput(String)
    case no(String)
    case failure(String)

    var category: FailureCategory {
        switch self {
        case .badInput: .badInput
        case .no: .refused
        case .failure: .failure
        }
    }

    var description: String {
        switch self {
        case .badInput(let m), .no(let m), .failure(let m): m
        }
    }
}

extension String {
    /// The one escaping function for human output: C0 and C1 controls, DEL, line and paragraph separators,
    /// bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and
    /// noncharacters U+FDD0-U+FDEF are shown as `\u{…}` escapes, so input quoted in a message cannot rewrite
    /// the terminal, reorder a line or forge extra lines. A tab is a space; a newline is kept unless
    /// `keepNewlines` is false. Docket's colour markup (``Terminal/Style``) is kept when `styled` is nil (call
    /// sites escape pieces of text early), and becomes SGR codes (`true`) or is dropped (`false`) in the final
    /// pass of ``Terminal/out(_:terminator:)``. Over-long text is shortened.
    func terminalSafe(keepNewlines: Bool = true, limit: Int = 4000, styled: Bool? = nil) -> String {
        var out = ""
        var count = 0
        for scalar in unicodeScalars {
            if count >= limit {
                out += "…"
                break
            }
            count += 1
            let value = scalar.value
            if let code = Terminal.Style.codes[value] {
                // Markup survives early escaping; the final pass styles or drops it (a look-alike in input can
                // at most colour text, never move the cursor).
                if styled == nil { out.unicodeScalars.append(scalar) } else if styled == true { out += code }
                continue
            }
            switch value {
            case 0x0A where keepNewlines: out.unicodeScalars.append(scalar)
            case 0x0A: out += "\\n"
            case 0x09: out += " "
            case 0x00..<0x20, 0x7F..<0xA0, 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069,
                0xFDD0...0xFDEF:
                out += "\\u{\(String(value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
