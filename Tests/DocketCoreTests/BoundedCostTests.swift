import Foundation
import Testing

@testable import DocketCore

/// Issue 10, item 6: what a hostile or mistaken input can cost is bounded.
@Suite("Bounded cost")
struct BoundedCostTests {
    @Test("verify --bundle stops at the header line's limit instead of reading a file with no newline to its end")
    func headerLimit() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("no-newline.jsonl")
        let size = LineReader.maximumHeader + (8 << 20)
        try Data(repeating: UInt8(ascii: "a"), count: size).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: EntryError.self) { try Verifier.verify(bundleAt: path) }
        #expect("\(error!)".contains("no newline in its first 4 MiB"), "\(error!)")
    }
}
