/// The log tables' rows, as the append pipeline writes them (``Schema/log``).
extension RowShape {
    static let entry = RowShape(
        table: "entries",
        columns: [
            .integer("idx"), .integer("integrated_ms"), .blob("payload_hash"), .text("kind"), .text("signer"),
            .blob("bytes"),
        ],
        key: ["idx"], conflict: .fail)
    static let merkleNode = RowShape(
        table: "merkle", columns: [.integer("level"), .integer("pos"), .blob("hash")], key: ["level", "pos"],
        conflict: .fail)
    static let checkpoint = RowShape(
        table: "checkpoint", columns: [.integer("id"), .integer("size"), .text("note")], key: ["id"],
        conflict: .replace)
    static let cosigned = RowShape(
        table: "cosigned", columns: [.text("witness"), .integer("size"), .text("note")], key: ["witness"],
        conflict: .replace)
}
