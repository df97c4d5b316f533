import Foundation
import Testing

@testable import DocketCore

/// The one JSON reader against Foundation's: on thousands of valid and mutated inputs, whatever the strict reader
/// accepts Foundation accepts with the same value, and whatever it refuses that Foundation takes is one of the
/// documented strictness rules (repeated keys, a byte-order mark, unpaired surrogates, invalid UTF-8, depth,
/// out-of-range numbers).
@Suite("Strict JSON reader")
struct StrictJSONTests {
    static let strictOnly = [
        "repeats a key", "byte-order mark", "surrogate", "UTF-8", "nested deeper", "out of range", "NFC",
    ]

    /// Foundation's reading of the same bytes, as a ``JSONValue`` (nil when it refuses them).
    static func foundation(_ data: Data) -> Any? {
        try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    static func same(_ value: JSONValue, _ any: Any) -> Bool {
        switch value {
        case .null: return any is NSNull
        case .bool(let b): return (any as? Bool) == b
        case .number(let n):
            // Foundation reads big integers as decimals and some fractions a last digit off: the same number to
            // within double precision is the same answer.
            guard let other = (any as? NSNumber).flatMap({ Double($0.description) }) else { return false }
            return other == n || abs(other - n) <= abs(n) * 1e-15
        case .string(let s): return (any as? String).map { Array($0.utf8) == Array(s.utf8) } ?? false
        case .array(let items):
            guard let other = any as? [Any], other.count == items.count else { return false }
            return zip(items, other).allSatisfy { same($0, $1) }
        case .object(let members):
            guard let other = any as? [String: Any], other.count == members.count else { return false }
            return members.allSatisfy { key, member in other[key].map { same(member, $0) } ?? false }
        }
    }

    static let seeds: [String] = [
        #"{"index":3,"integratedTime":"2026-01-01T00:00:00.000Z","envelope":{"payloadType":"application/vnd.in-toto+json","payload":"eyJ4Ijoi eSJ9","signatures":[{"keyid":"ab","sig":"AAAA"}]}}"#,
        #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"00"}}],"predicate":{"ledger":"l","nonce":"n","tags":["v1","v2"],"source":null}}"#,
        #"{"a":[1,-2.5e3,0,-0,1E+2,0.125],"b":{"c":true,"d":false,"e":null},"f":"\u00e9\u2603\ud83d\ude00 \n\t\"\\\/"}"#,
        #"[[],{},"",[[[{"x":[]}]]],"ü☃😀"]"#,
        #"  {"policy":{"environments":[{"name":"staging"},{"name":"production","from":"staging","soak":"24h","approvals":{"min":2}}]}}  "#,
        "\"plain\"", "12345678901234567890", "-1.5e-7", "true", "null",
    ]

    /// Seeded mutations: flips, deletions, insertions of JSON's own punctuation, truncations, repeats.
    static func mutations(count: Int) -> [Data] {
        var rng = SeededGenerator(seed: 0x5EED)
        let punctuation =
            Array("{}[],:\"\\u0123456789eE+-. tfn\u{7F}".utf8) + [0x00, 0x0A, 0xC3, 0xFF, 0xED, 0xA0, 0xEF]
        var out: [Data] = []
        for n in 0..<count {
            var bytes = Array(seeds[n % seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(punctuation.randomElement(using: &rng)!, at: at)
                case 3: bytes = Array(bytes.prefix(at))
                case 4: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 8)], at: at)
                default: bytes[at] = punctuation.randomElement(using: &rng)!
                }
            }
            out.append(Data(bytes))
        }
        return out
    }

    @Test("Agrees with Foundation on valid and mutated inputs, refusing more only by its documented rules")
    func differential() throws {
        var accepted = 0
        var refused = 0
        for data in Self.seeds.map({ Data($0.utf8) }) + Self.mutations(count: 4000) {
            let theirs = Self.foundation(data)
            do throws(StrictJSON.Failure) {
                let ours = try StrictJSON.parse(data)
                accepted += 1
                guard let other = theirs else {
                    Issue.record("accepted what Foundation refuses: \(String(decoding: data, as: UTF8.self))")
                    continue
                }
                #expect(Self.same(ours, other), "different values for \(String(decoding: data, as: UTF8.self))")
            } catch {
                refused += 1
                if theirs != nil {
                    #expect(
                        Self.strictOnly.contains { error.reason.contains($0) },
                        "refused what Foundation accepts (\(error)): \(String(decoding: data, as: UTF8.self))")
                }
            }
        }
        #expect(accepted > 300, "too few mutations stayed valid to compare values (\(accepted))")
        #expect(refused > 1000, "too few mutations were invalid (\(refused))")
    }

    @Test(
        "Refuses what parsers disagree on, saying why",
        arguments: [
            (#"{"a":1,"a":2}"#, "repeats a key"),
            (#"{"a":1,"\u0061":2}"#, "repeats a key"),
            (#"{"public\u212Aey":"x"}"#, "NFC"),  // a Kelvin sign: Swift would read it as `publicKey`
            (#"{"K":1,"\u212A":2}"#, "NFC"),
            ("\u{FEFF}{}", "byte-order mark"),
            (#"["\ud800"]"#, "surrogate"),
            (#"["\udc00\ud800"]"#, "surrogate"),
            ("[\"\u{01}\"]", "control character"),
            ("{\"a\":1,}", "expected"),
            ("[1,]", "not a JSON value"),
            ("01", "unexpected text"),
            ("1e999", "out of range"),
            (String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "nested deeper"),
            ("{} x", "unexpected text"),
            ("", "ends early"),
        ])
    func refusals(_ text: String, _ reason: String) {
        let error = #expect(throws: StrictJSON.Failure.self) { try StrictJSON.parse(Data(text.utf8)) }
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test("Invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        for bytes: [UInt8] in [
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22],
        ] {
            let error = #expect(throws: StrictJSON.Failure.self) { try StrictJSON.parse(Data(bytes)) }
            #expect(error?.reason.contains("UTF-8") == true)
        }
    }
}

/// A small deterministic generator (SplitMix64), so mutated inputs are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
