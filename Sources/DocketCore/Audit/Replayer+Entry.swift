import Foundation

extension Replayer {
    /// Checks and folds one entry. Entries are replayed at consecutive positions whatever they claim, so a
    /// missing or moved entry is reported once, where the shift starts, and the rest is still checked.
    func replay(_ stored: StoredEntry, _ prepared: Prepared) {
        let position = expectedIndex
        let label = label(position)
        defer {
            // Every line is a leaf, whatever it holds: the tree is over the bytes.
            if frontier.size == position {
                do {
                    try pipeline.addLeaf(prepared.leafHash, to: &frontier)
                } catch {
                    report.problem(position, "merkle", "\(label): its leaf cannot be stored for comparison: \(error)")
                }
            }
            if rootsWanted.contains(frontier.size) { roots[frontier.size] = frontier.root }
            expectedIndex = position + 1
        }
        if let column = stored.column, column.index - position != columnShift {
            if column.index > position + columnShift {
                let first = position + columnShift
                report.problem(
                    first, "order",
                    "entr\(column.index - first == 1 ? "y \(first) is" : "ies \(first)…\(column.index - 1) are") missing: indexes jump from \(first - 1) to \(column.index)"
                )
            } else {
                report.problem(
                    position, "order", "entry \(column.index) appears again after entry \(position + columnShift - 1)")
            }
            columnShift = column.index - position
            // From here positions and the ledger's indexes differ, so the ledger's rows cannot stand in for the
            // scratch copy's bytes: keep them.
            pipeline.storesEntryBytes = true
        }
        guard let entry = prepared.entry else {
            report.problem(position, "entry", prepared.error ?? "\(label): cannot be read")
            return
        }
        let claimed = stored.column?.index ?? position
        if entry.index != claimed, entry.index - position != entryShift {
            report.problem(
                position, "order",
                "\(label) holds the bytes of entry \(entry.index)"
                    + (stored.column == nil
                        ? ": entries are missing, added or out of order from here" : " (moved or reordered)"))
        }
        entryShift = entry.index - position
        let ms = entry.integratedTime.milliseconds
        if ms < lastTime {
            report.problem(
                position, "time",
                "\(label)'s integratedTime \(entry.integratedTime) is before the previous entry's \(Timestamp(milliseconds: lastTime))"
            )
        }
        lastTime = max(lastTime, ms)
        for b in timeBounds.indices where position < timeBounds[b].covers && entry.integratedTime > timeBounds[b].limit
        {
            if timeBounds[b].first == nil { timeBounds[b].first = (position, entry.integratedTime) }
            timeBounds[b].count += 1
        }
        guard let candidate = prepared.candidate else {
            report.problem(position, "entry", prepared.error ?? "\(label): cannot be read")
            return
        }
        let statement = candidate.statement
        if let column = stored.column {
            if column.integratedMilliseconds != ms {
                report.problem(
                    position, "time",
                    "\(label): the stored time column (\(Timestamp(milliseconds: column.integratedMilliseconds))) differs from the entry's integratedTime \(entry.integratedTime)"
                )
            }
            if column.payloadHash != candidate.payloadHash {
                report.problem(position, "entry", "\(label): stored payload hash does not match the payload")
            }
            if column.kind != statement.kind.rawValue {
                report.problem(
                    position, "entry",
                    "\(label): stored kind `\(column.kind)` but the payload is `\(statement.kind.rawValue)`")
            }
        }
        if position == 0, case .initialized(let p) = statement.predicate {
            genesisLogKey = p.logKey
            report.origin = statement.ledger
        }
        let outcome: AppendPipeline.Outcome
        do {
            outcome = try pipeline.integrate(candidate, at: position, source: .stored(entry), frontier: &frontier) {
                refusal in
                if case LedgerError.gateRefused(let verdict) = refusal {
                    report.problem(
                        position, "promotion",
                        "\(label): promotion of \(verdict.digest) to \(verdict.environment) was not eligible and not break-glass: "
                            + verdict.rules.filter { !$0.passed }.map { "\($0.rule): \($0.reason)" }.joined(
                                separator: "; "))
                } else {
                    report.problem(position, "authorization", "\(label): \(Self.message(refusal))")
                }
            }
        } catch let error as LedgerError {
            // Authorisation refuses with `.refused`: the signature or its key. Anything else is the entry's.
            if case .refused = error {
                report.problem(position, "signature", "\(label): \(Self.message(error))")
            } else {
                report.problem(position, "entry", "\(label): cannot be replayed: \(Self.message(error))")
            }
            return
        } catch {
            report.problem(position, "entry", "\(label): cannot be replayed: \(Self.message(error))")
            return
        }
        switch outcome {
        case .duplicate(let earlier, _, _):
            report.problem(
                position, "entry", "\(label) repeats entry \(earlier): the same signed statement appears twice")
        case .integrated(let event, let verdict):
            if keepsVerdicts, let verdict { verdicts[position] = verdict }
            if let column = stored.column, column.signer != event.signer.keyID {
                report.problem(
                    position, "entry", "\(label): stored signer column does not name the key that signed it")
            }
            if event.kind == .promoted { report.promotionsChecked += 1 }
            checkCounter(candidate.envelope, event, label: label)
        }
    }

    /// A security key's signature counter must increase from one signature to the next (both 0: a key that keeps
    /// no counter).
    private func checkCounter(_ envelope: Envelope, _ event: LedgerEvent, label: String) {
        guard let sig = envelope.signatures.first?.sig, sig.count != 64,
            let counter = SSHSignature(blob: sig)?.counter
        else { return }
        let keyID = event.signer.keyID
        if let last = securityKeyCounters[keyID], counter <= last.counter, counter != 0 || last.counter != 0 {
            report.problem(
                event.index, "signature",
                "\(label): the security key of \(event.signer.identity) signed with counter \(counter), not above \(last.counter) at entry \(last.index) (a cloned key?)"
            )
        }
        securityKeyCounters[keyID] = (max(counter, securityKeyCounters[keyID]?.counter ?? 0), event.index)
    }
}
