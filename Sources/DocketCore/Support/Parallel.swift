import Foundation

/// Runs `body` for 0..<count on every core and returns the results in order. Small inputs run inline.
func concurrentMap<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    guard count > 64 else { return (0..<count).map(body) }
    // More slices than cores, so a core that is busy elsewhere (the verifier's in-order thread) does not hold
    // everyone up at the end: idle threads take the remaining slices.
    let workers = min(count, ProcessInfo.processInfo.activeProcessorCount * 8)
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer {
        _ = results.deinitialize()  // release what the elements hold, then the memory
        results.deallocate()
    }
    // Each worker writes only its own slice of `results`, so no two threads touch the same element.
    nonisolated(unsafe) let shared = results
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        var i = w * count / workers
        let end = (w + 1) * count / workers
        while i < end {
            shared[i] = body(i)
            i += 1
        }
    }
    // Every index was written by exactly one worker above.
    return results.map { $0.unsafelyUnwrapped }
}
