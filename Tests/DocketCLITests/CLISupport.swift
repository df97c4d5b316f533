import Foundation
import Testing

/// The result of running the built `docket` binary.
struct Run {
    var stdout: String
    var stderr: String
    var code: Int32
}

/// Runs the `docket` binary built next to the test bundle, in a temp folder with its own ledger.
final class CLI {
    let directory: String
    var environment: [String: String]

    /// `$DOCKET_BIN` (tools/test points it at the release build the README tells users to make), else the
    /// binary built beside the tests.
    static var binary: String {
        if let chosen = ProcessInfo.processInfo.environment["DOCKET_BIN"], !chosen.isEmpty { return chosen }
        let products = Bundle.main.bundleURL
        let candidate = products.appendingPathComponent("docket").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return products.deletingLastPathComponent().appendingPathComponent("docket").path
    }

    init() throws {
        directory = NSTemporaryDirectory() + "docket-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        environment = ["PATH": "/usr/bin:/bin", "DOCKET_LEDGER": directory + "/ledger.db", "NO_COLOR": "1"]
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { directory + "/" + name }

    @discardableResult
    /// Runs the binary (or `executable`, such as script(1) running it) with `arguments`.
    func run(_ arguments: [String], env extra: [String: String] = [:], stdin: Data? = nil, executable: String? = nil)
        throws -> Run
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment.merging(extra) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
            code: process.terminationStatus)
    }

    /// Runs and requires exit 0, returning stdout.
    @discardableResult
    func ok(_ arguments: [String], env: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation)
        throws -> String
    {
        let result = try run(arguments, env: env)
        #expect(
            result.code == 0, "docket \(arguments.joined(separator: " ")): \(result.stderr)",
            sourceLocation: sourceLocation)
        return result.stdout
    }

    func json(_ arguments: [String]) throws -> [String: Any] {
        let out = try ok(arguments + ["--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    }

    /// Keys for admin, ci, two approvers and a releaser; an initialised ledger with them enrolled and a policy.
    func setUpStory(soak: String = "1s") throws {
        for name in ["admin", "ci", "alice", "bob", "rel"] {
            try ok(["key", "generate", "--identity", "\(name)@example.com", "--out", path("\(name).key")])
        }
        try ok(["init", "--origin", "example.com/app", "--key", path("admin.key")])
        try ok(["key", "enroll", path("ci.key.pub"), "--role", "ci", "checker", "monitor", "--key", path("admin.key")])
        for name in ["alice", "bob"] {
            try ok(["key", "enroll", path("\(name).key.pub"), "--role", "approver", "--key", path("admin.key")])
        }
        try ok(["key", "enroll", path("rel.key.pub"), "--role", "releaser", "--key", path("admin.key")])
        try """
        environments:
          - name: staging
          - name: production
            from: staging
            soak: \(soak)
            approvals:
              min: 2
              roles: [approver]
              separationOfDuties: true
            checks: [security-scan]
            breakGlass: true
        """.write(toFile: path("policy.yaml"), atomically: true, encoding: .utf8)
        try ok(["policy", "set", path("policy.yaml"), "--key", path("admin.key")])
    }
}

let imageA = "registry.example/app@sha256:" + String(repeating: "a", count: 64)
let imageB = "registry.example/app@sha256:" + String(repeating: "b", count: 64)
