import Foundation

extension Verifier {
    /// What else to check while verifying.
    public struct Options {
        public var pinnedLogKey: NoteVerifierKey?
        /// A checkpoint the auditor saved earlier: the ledger must still extend it.
        public var since: String?
        /// Witnesses whose cosignature is required on a checkpoint consistent with the entries.
        public var witnesses: [NoteVerifierKey]
        /// What messages call the `since` checkpoint (the CLI names its flag).
        public var sinceName = "earlier checkpoint"
        /// The verifier's own clock: an entry whose ledger time is later than it (plus the default
        /// `maxClockSkew`) is reported.
        public var now: Timestamp

        public init(
            pinnedLogKey: NoteVerifierKey? = nil, since: String? = nil, witnesses: [NoteVerifierKey] = [],
            now: Timestamp = .now()
        ) {
            self.pinnedLogKey = pinnedLogKey
            self.since = since
            self.witnesses = witnesses
            self.now = now
        }
    }

    /// Verifies a bundle file from its bytes alone: no database of the ledger is read.
    public static func verify(
        bundleAt path: String, options: Options = Options(),
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> VerificationReport {
        var reader = try LineReader(path: path)
        let header: BundleHeader
        let read: (line: Data, terminated: Bool)?
        do {
            read = try reader.header()
        } catch let tooLong as LineReader.LineTooLong {
            throw EntryError.malformed(
                source: "\(path) line 1",
                reason: "not a bundle header (no newline in its first \(tooLong.limit >> 20) MiB)")
        }
        guard let first = read else {
            throw EntryError.malformed(source: path, reason: "the bundle is empty")
        }
        do {
            header = try JSONDecoder().decode(BundleHeader.self, from: first.line)
        } catch {
            throw EntryError.malformed(
                source: "\(path) line 1",
                reason: "not a bundle header (\((error as? DecodingError)?.readable ?? "invalid JSON"))")
        }
        guard header.format == BundleHeader.format else {
            throw EntryError.malformed(
                source: "\(path) line 1", reason: "format `\(header.format)` is not \(BundleHeader.format)")
        }
        let replayer = try Replayer(source: path)
        replayer.readingBundle(firstLine: 2)
        let extra = try prepare(options: options, witnessed: header.witnessed ?? [], replayer: replayer)
        var position = 0
        var chunk: [StoredEntry] = []
        while let (line, terminated) = try reader.next() {
            if !terminated {
                replayer.report.problem(
                    position, "entry", "line \(position + 2) is truncated (the file does not end with a newline)")
            }
            chunk.append(StoredEntry(bytes: line, column: nil))
            position += 1
            if chunk.count == 2048 {
                replayer.replay(chunk)
                chunk.removeAll(keepingCapacity: true)
                progress?(position, header.size)
            }
        }
        replayer.replay(chunk)
        progress?(position, header.size)
        try replayer.finish()
        var report = replayer.report
        if header.size != position {
            report.problem(
                nil, "entry", "the header says \(header.size) entries but the bundle has \(position) entry lines")
        }
        if !report.origin.isEmpty, report.origin != header.origin {
            report.problem(
                nil, "entry",
                "the header names origin `\(header.origin)` but the genesis entry names `\(report.origin)`")
        }
        if let genesis = replayer.genesisLogKey, genesis != header.logKey {
            report.problem(
                nil, "checkpoint",
                "the header's log key \(header.logKey) is not the one in the genesis entry (\(genesis))")
        }
        checkCheckpoint(
            note: header.checkpoint, source: "\(path) line 1 checkpoint", genesisLogKey: replayer.genesisLogKey,
            pinned: options.pinnedLogKey, root: replayer.frontier.root, size: replayer.frontier.size, report: &report)
        finishExtra(extra, replayer: replayer, report: &report)
        replayer.report = report
        try replayer.summarize()
        return replayer.report
    }

    /// Checkpoints to compare against roots recomputed during the replay.
    struct Extra {
        var since: (Checkpoint, SignedNote)?
        var witnessed: [(NoteVerifierKey, Checkpoint?, String?)]
        var sinceName = "earlier checkpoint"
    }

    static func prepare(options: Options, witnessed: [String], replayer: Replayer) throws -> Extra {
        var extra = Extra(witnessed: [], sinceName: options.sinceName)
        let skew = Policy.defaultClockSkew
        replayer.timeBounds.append(
            .init(
                label: "this verifier's clock (\(options.now.rfc3339), plus \(skew))",
                limit: options.now.adding(seconds: skew.seconds), covers: Int.max))
        if let since = options.since {
            let note = try SignedNote(parsing: since, source: options.sinceName)
            let checkpoint = try Checkpoint(note: note, source: options.sinceName)
            extra.since = (checkpoint, note)
            replayer.rootsWanted.insert(checkpoint.size)
        }
        for witness in options.witnesses {
            var found: (Checkpoint, String)? = nil
            for text in witnessed {
                guard let note = try? SignedNote(parsing: text, source: "cosigned checkpoint"),
                    let seconds = Cosignature.verifiedTimestamp(on: note, by: witness),
                    let checkpoint = try? Checkpoint(note: note, source: "cosigned checkpoint")
                else { continue }
                if checkpoint.size > found?.0.size ?? -1 { found = (checkpoint, text) }
                // Every entry this checkpoint covers was there when the witness cosigned it.
                let cosigned = Timestamp(milliseconds: Int64(min(seconds, 253_402_300_799)) * 1000)
                replayer.timeBounds.append(
                    .init(
                        label:
                            "witness \(witness.name)'s cosignature of the checkpoint of size \(checkpoint.size) at \(cosigned.rfc3339) (plus \(skew))",
                        limit: cosigned.adding(seconds: skew.seconds), covers: checkpoint.size))
            }
            if let found { replayer.rootsWanted.insert(found.0.size) }
            extra.witnessed.append((witness, found?.0, found?.1))
        }
        return extra
    }

    static func finishExtra(_ extra: Extra, replayer: Replayer, report: inout VerificationReport) {
        let logKey = try? NoteVerifierKey(parsing: report.logKey)
        if let (old, note) = extra.since {
            if let logKey, !note.isSigned(by: logKey) {
                report.problem(
                    nil, "consistency",
                    "the \(extra.sinceName) is not signed by this ledger's log key \(report.logKey): the history was re-signed, or it is another ledger's checkpoint"
                )
            } else if old.origin != report.origin {
                report.problem(
                    nil, "consistency", "the \(extra.sinceName) is for `\(old.origin)`, not `\(report.origin)`")
            } else if old.size > report.entries {
                report.problem(
                    report.entries, "consistency",
                    "the ledger has \(report.entries) entries but the \(extra.sinceName) covered \(old.size): it was truncated"
                )
            } else if replayer.roots[old.size] != old.root && !(old.size == 0 && old.root == Merkle.emptyRoot) {
                report.problem(
                    nil, "consistency",
                    "the first \(old.size) entries no longer hash to the \(extra.sinceName)'s root: the ledger was rewritten after that checkpoint"
                )
            } else {
                report.notes.append("consistent with the \(extra.sinceName) of size \(old.size)")
            }
        }
        for (witness, checkpoint, text) in extra.witnessed {
            guard let checkpoint, let text else {
                report.problem(
                    nil, "witness",
                    "no checkpoint cosigned by witness \(witness.name) (\(witness.text)): the witness has not cosigned one yet"
                )
                continue
            }
            if let logKey, let note = try? SignedNote(parsing: text, source: "cosigned"), !note.isSigned(by: logKey) {
                report.problem(
                    nil, "witness", "the checkpoint cosigned by \(witness.name) is not signed by the log key")
            } else if checkpoint.size > report.entries || replayer.roots[checkpoint.size] != checkpoint.root {
                report.problem(
                    nil, "witness",
                    "witness \(witness.name) cosigned a checkpoint of size \(checkpoint.size) that these entries do not match: this is a different history from the one the witness saw"
                )
            } else {
                report.notes.append(
                    "witness \(witness.name) cosigned a consistent checkpoint of size \(checkpoint.size)")
            }
        }
    }
}
