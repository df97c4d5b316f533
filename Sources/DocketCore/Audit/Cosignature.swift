import Foundation

/// C2SP `cosignature/v1` (Ed25519): a witness's statement that it saw this checkpoint and checked it is
/// consistent with the last one it cosigned.
public enum Cosignature {
    /// The message a witness signs: `cosignature/v1\ntime <t>\n` and the checkpoint body.
    static func message(body: String, timestamp: UInt64) -> Data {
        Data("cosignature/v1\ntime \(timestamp)\n\(body)".utf8)
    }

    /// Adds a cosignature line to `note` by the witness `name` with `key`.
    public static func add(to note: inout SignedNote, name: String, key: SigningKey, timestamp: UInt64) {
        let verifier = NoteVerifierKey(name: name, type: NoteVerifierKey.cosignatureV1, publicKey: key.publicKey)
        var blob = verifier.keyID
        withUnsafeBytes(of: timestamp.bigEndian) { blob.append(contentsOf: $0) }
        blob.append(key.sign(message(body: note.body, timestamp: timestamp)))
        note.signatures.append(SignedNote.Signature(name: name, blob: blob))
    }

    /// The timestamp of a valid cosignature by `witness` on `note`, or nil.
    public static func verifiedTimestamp(on note: SignedNote, by witness: NoteVerifierKey) -> UInt64? {
        guard witness.type == NoteVerifierKey.cosignatureV1 else { return nil }
        for sig in note.signatures
        where sig.name == witness.name && sig.blob.count == 4 + 8 + 64 && sig.blob.prefix(4) == witness.keyID {
            let bytes = [UInt8](sig.blob)
            let timestamp = bytes[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard timestamp < UInt64(1) << 63 else { continue }
            if witness.publicKey.isValidSignature(
                Data(bytes[12...]), for: message(body: note.body, timestamp: timestamp))
            {
                return timestamp
            }
        }
        return nil
    }
}
