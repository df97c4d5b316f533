import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract:
                "Copy a ledger file into an empty PostgreSQL database and prove the copy (README: Several servers).",
            discussion: """
                Every table is copied row for row in one transaction, and committed only if the Merkle root \
                recomputed from the copied entries, and that of the copied Merkle nodes, equal the file's signed \
                checkpoint. The log key is not copied: give its file (LEDGER.logkey) to every server with --log-key.
                """)

        @Option(name: .long, help: "The ledger file to copy.")
        var from: String

        @Option(name: .long, help: "The empty PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB.")
        var to: String

        @Flag(name: .long, help: "Machine-readable output (JSON; schemas in schemas/).")
        var json = false

        func run() throws {
            guard SharedStore.isPostgres(to) else {
                throw ValidationError("--to \(to): give a postgres://USER@HOST[:PORT]/DATABASE address")
            }
            let source = try Ledger(path: from, readOnly: true)
            let copying = Terminal.progress("copying entries")
            let proving = Terminal.progress("proving the copy")
            let report = try source.migrate(to: try SharedStore.store(to).connection()) { step, done, total in
                (step == "copying entries" ? copying : proving)(done, total)
            }
            if json {
                print(try Terminal.json(report))
            } else {
                Terminal.out(
                    """
                    migrated \(report.entries) entries from \(report.from) to \(report.to)
                      root     \(report.root) (recomputed from the copied entries and from the copied Merkle nodes: equal)
                      log key  \(Ledger.logKeyPath(for: from)) (give it to every server: docket serve --ledger \(report.to) --log-key FILE)
                    """)
            }
        }
    }
}
