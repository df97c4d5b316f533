import ArgumentParser

/// `docket`: the promotion ledger's command line.
struct Docket: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docket",
        abstract: "A signed, append-only promotion ledger for container images.",
        discussion: """
            Exit codes: 0 success; 1 no (refused, not eligible, violations found); 2 bad input (including a missing, foreign or damaged ledger); 3 other errors.
            The ledger is --ledger PATH or $DOCKET_LEDGER (default ./docket.db), or a server: --ledger http(s)://HOST[:PORT] \
            ($DOCKET_TOKEN, $DOCKET_LOG_KEY, $DOCKET_CA_FILE, $DOCKET_CACHE_DIR). A signing key is --key FILE or $DOCKET_KEY.
            Colour: --color auto|always|never before or after the command (or $DOCKET_COLOR); auto colours a terminal \
            unless NO_COLOR is set and not empty, or TERM is dumb. With --json, a failure is also a JSON object on stdout.
            """,
        version: "0.1.0",
        subcommands: [
            Init.self, Key.self, Trust.self, PolicyCommand.self, Record.self, Approve.self, Withdraw.self, Submit.self,
            Gate.self, Promote.self, Rollback.self, Pending.self, Status.self, History.self, Log.self, Replay.self,
            LedgerCommand.self,
            Verify.self, Export.self, CheckpointCommand.self, Prove.self, VerifyProof.self, Consistency.self,
            Witness.self, Report.self, Serve.self, Notify.self, Migrate.self, Spool.self, Resolve.self,
            RegistryCommand.self, Pin.self,
        ]
    )

    /// Taken out of the arguments before parsing, for every command (`DocketMain`); declared here so `--help` and
    /// the completion scripts show it.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Colour: auto, always or never, before or after the command ($DOCKET_COLOR).", valueName: "when"),
        completion: .list(["auto", "always", "never"]))
    var color: String?
}
