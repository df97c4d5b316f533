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
            command = try Docket.parseAsRoot()
        } catch {
            exitForArgumentParser(error)
        }
        do {
            try command.run()
            exit(ExitStatus.success)
        } catch let failure as DocketFailure {
            Terminal.error(Hints.message(for: failure))
            switch failure.category {
            case .refused: exit(ExitStatus.no)
            case .badInput: exit(ExitStatus.badInput)
            case .failure: exit(ExitStatus.failure)
            }
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch let error as ValidationError {
            Terminal.error(error.message)
            exit(ExitStatus.badInput)
        } catch {
            // `docket help SUB`, a bare `docket` and `--help` on a group arrive here from `run()`, as errors
            // ArgumentParser renders itself.
            exitForArgumentParser(error)
        }
    }

    /// Help and version requests print as ArgumentParser prints them (exit 0); usage errors get its message
    /// with the usage line of the subcommand concerned (exit 2); anything else exits 3.
    static func exitForArgumentParser(_ error: Error) -> Never {
        let code = Docket.exitCode(for: error)
        if code == .success { Docket.exit(withError: error) }
        if code == .validationFailure {
            FileHandle.standardError.write(
                Data((Docket.fullMessage(for: error).terminalSafe(styled: false) + "\n").utf8))
            exit(ExitStatus.badInput)
        }
        Terminal.error("\(error)")
        exit(ExitStatus.failure)
    }
}
