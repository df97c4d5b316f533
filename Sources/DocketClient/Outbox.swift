import DocketCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Envelopes on their way to a server, kept until the server's receipt is proved (DESIGN §13: "a retry after a
/// lost answer resends the same bytes, never a newly signed envelope"). A command killed after its post, or whose
/// answer was lost, is run again by CI; it finds its envelope here by the event it means to append (the signer, the
/// subject and the predicate without its time and nonce) and sends those bytes again, which the server answers as
/// a duplicate instead of appending the event twice. Kept for an hour at most.
struct Outbox {
    static let lifetime: TimeInterval = 3600
    let folder: String

    init(cache: String) { folder = cache + "/outbox" }

    /// What identifies the event an envelope appends: SHA-256 of the signer's key ID and the statement's canonical
    /// JSON without `predicate.time` and `predicate.nonce`. Not the server's address: a retry may reach the same
    /// ledger through another server or address, and the statement already names the ledger (origin and ID).
    static func intent(keyID: String, statement: Data) throws -> String {
        guard case .object(var fields) = try JSONDecoder().decode(JSONValue.self, from: statement),
            case .object(var predicate)? = fields["predicate"]
        else { return SHA256.hash(statement).hex }
        predicate["time"] = nil
        predicate["nonce"] = nil
        fields["predicate"] = .object(predicate)
        return SHA256.hash(parts: [
            Data(keyID.utf8), Data([0]), JSONValue.object(fields).canonicalData,
        ]).hex
    }

    /// The envelope kept for `intent`, if one was kept less than ``lifetime`` ago.
    func pending(_ intent: String) -> Data? {
        let path = folder + "/" + intent + ".json"
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let modified = attributes[.modificationDate] as? Date,
            Date().timeIntervalSince(modified) < Self.lifetime
        else { return nil }
        return FileManager.default.contents(atPath: path)
    }

    /// Keeps `envelope` for `intent` (written whole, then renamed into place).
    func keep(_ envelope: Data, for intent: String) {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/" + intent + ".json"
        let temporary = path + ".\(getpid()).tmp"
        guard (try? envelope.write(to: URL(fileURLWithPath: temporary))) != nil else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }

    func remove(_ intent: String) { unlink(folder + "/" + intent + ".json") }
}

extension ServerClient {
    /// Submits the envelope meant to append the event `statement` describes, or the one kept from an earlier try
    /// of the same event that may have reached the server; the kept one is removed once the server answered for it
    /// (appended, duplicate, or refused).
    public func submit(_ envelope: Data, statement: Data, keyID: String, source: String) throws -> AppendReceipt {
        let outbox = Outbox(cache: cacheFolder)
        let intent = try Outbox.intent(keyID: keyID, statement: statement)
        let bytes = outbox.pending(intent) ?? envelope
        outbox.keep(bytes, for: intent)
        do {
            let receipt = try submit(bytes, source: source)
            outbox.remove(intent)
            return receipt
        } catch let error as RemoteError where error.status == nil || error.category == .failure {
            // Not answered, or not proved: the next try sends the same bytes.
            throw error
        } catch {
            outbox.remove(intent)
            throw error
        }
    }
}
