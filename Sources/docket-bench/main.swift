// docket-bench: the in-process half of `tools/bench`. Generates signed ledgers quickly and measures rates
// against baselines taken in the same run. Prints one JSON object per command on stdout.
import CSQLite
import CSodium
import DocketCore
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, default value: String? = nil) -> String {
    if let i = arguments.firstIndex(of: "--" + name), i + 1 < arguments.count { return arguments[i + 1] }
    guard let value else { fatalError("--\(name) is required") }
    return value
}

/// An integer option; a benchmark given nonsense stops with a message instead of a trap.
func intOption(_ name: String, default value: String? = nil) -> Int {
    guard let number = Int(option(name, default: value)) else { fatalError("--\(name) must be an integer") }
    return number
}

/// A benchmark's setup must not fail; if it does, the run stops saying where.
func must<T>(_ body: () throws -> T, _ what: @autoclosure () -> String = "benchmark setup") -> T {
    do {
        return try body()
    } catch {
        fatalError("\(what()) failed: \(error)")
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func emit(_ object: [String: Any]) {
    let data = must { try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }
    print(String(decoding: data, as: UTF8.self))
}

/// Runs `body` on every core over 0..<count, collecting results in order.
func parallelMap<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let workers = ProcessInfo.processInfo.activeProcessorCount
    let buffer = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    buffer.initialize(repeating: nil)
    defer {
        _ = buffer.deinitialize()
        buffer.deallocate()
    }
    nonisolated(unsafe) let shared = buffer  // each worker writes its own slice only
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        for i in (w * count / workers)..<((w + 1) * count / workers) { shared[i] = body(i) }
    }
    return buffer.map { $0.unsafelyUnwrapped }  // every index was written by one worker
}

switch arguments.first {
case "sigs": try signatureBaseline()
case "envelopes": try writeEnvelopes()
case "batch": try batchAppend()
case "batch-ledger": try batchLedger()
case "breakdown": try verifyBreakdown()
case "generate": try generate()
case "append": try appendRates()
case "query": try queryLatency()
case "services": try serviceLatency()
case "digest": try digestLatency()
case "built-envelopes": try writeBuiltEnvelopes()
case "batch-rate": try batchRate()
case "http-load":
    // The load generator is async (AsyncHTTPClient); the rest of the bench is synchronous.
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { try await httpLoad() } catch {
            FileHandle.standardError.write(Data("http-load: \(error)\n".utf8))
            exit(3)
        }
        done.signal()
    }
    done.wait()
default:
    FileHandle.standardError.write(
        Data(
            "usage: docket-bench generate --ledger PATH --entries N | append [--count N] [--batch N] | query --ledger PATH\n"
                .utf8))
    exit(2)
}
