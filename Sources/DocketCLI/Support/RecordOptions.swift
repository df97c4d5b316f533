import ArgumentParser
import DocketCore

/// The arguments every `record` subcommand shares.
struct RecordOptions: ParsableArguments {
    @OptionGroup var options: LedgerOptions
    @OptionGroup var signing: SigningOptions
    @OptionGroup var emit: EmitOptions

    @Argument(
        help:
            "The image as REPOSITORY@sha256:… (a tag is not accepted: tags move); approve and withdraw also take a bare sha256:… the ledger knows."
    )
    var image: String

    func emit(_ predicate: EventPredicate, subject: ImageReference? = nil) throws {
        try EventEmitter(ledgerOptions: options, signing: signing, emit: emit).run(
            subject: try subject ?? ImageReference(parsing: image), predicate: predicate)
    }
}
