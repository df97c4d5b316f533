import Foundation

/// A C2SP tlog-tiles tile (https://c2sp.org/tlog-tiles): a level and index, and its width (256 when full).
public struct TileAddress: Sendable, Equatable {
    public static let fullWidth = 256

    /// The tile level (each level of tiles spans 8 levels of the tree), or nil for an entry bundle.
    public var level: Int?
    public var index: Int
    public var width: Int

    public init(level: Int?, index: Int, width: Int) {
        self.level = level
        self.index = index
        self.width = width
    }

    /// Parses the part of a tile path after `/tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, where N is
    /// written in groups of three digits, all but the last prefixed with `x` (`x001/x234/067`). Nil for anything
    /// else, including a non-canonical spelling of N (tiles are cached forever under one name each).
    public init?(path: String) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        let head = parts.removeFirst()
        if head == "entries" {
            level = nil
        } else {
            guard head.count <= 2, let level = Int(head), String(level) == head, level >= 0, level < 8 else {
                return nil
            }
            self.level = level
        }
        width = Self.fullWidth
        if parts.count >= 2, parts[parts.count - 2].hasSuffix(".p") {
            let w = parts.removeLast()
            guard let width = Int(w), String(width) == w, width >= 1, width < Self.fullWidth else { return nil }
            self.width = width
            parts[parts.count - 1].removeLast(2)
        }
        guard !parts.isEmpty, parts.count <= 7 else { return nil }
        var n = 0
        for (i, part) in parts.enumerated() {
            let last = i == parts.count - 1
            let digits = last ? Substring(part) : (part.hasPrefix("x") ? part.dropFirst() : "")
            guard digits.count == 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else {
                return nil
            }
            n = n * 1000 + value
        }
        index = n
    }

    /// The canonical path after `/tile/`.
    public var path: String {
        var groups: [String] = []
        var n = index
        repeat {
            groups.insert(String(format: "%03d", n % 1000), at: 0)
            n /= 1000
        } while n > 0
        let name = groups.enumerated().map { i, group in i < groups.count - 1 ? "x" + group : group }
            .joined(separator: "/")
        return (level.map(String.init) ?? "entries") + "/" + name
            + (width == Self.fullWidth ? "" : ".p/\(width)")
    }

    /// How wide tile `index` at `level` (nil: the entry bundle) is in a tree of `size` leaves: 256 when full, less
    /// for the rightmost partial tile, 0 past the tree.
    public static func width(level: Int?, index: Int, size: Int) -> Int {
        let nodes = size >> (8 * (level ?? 0))
        return max(0, min(fullWidth, nodes - index * fullWidth))
    }
}
