import Foundation
import Testing

@testable import DocketCore

private struct RFC8032File: Decodable {
    struct Vector: Decodable {
        var secretKeyHex: String
        var publicKeyHex: String
        var messageHex: String
        var signatureHex: String
    }
    var vectors: [Vector]
}

private struct WycheproofFile: Decodable {
    struct Group: Decodable {
        struct Key: Decodable { var pk: String }
        struct Case: Decodable {
            var tcId: Int
            var comment: String
            var msg: String
            var sig: String
            var result: String
        }
        var publicKey: Key
        var tests: [Case]
    }
    var testGroups: [Group]
}

private struct DSSEVector: Decodable {
    struct Env: Decodable {
        struct Sig: Decodable {
            var keyid: String
            var sig: String
        }
        var payload: String
        var payloadType: String
        var signatures: [Sig]
    }
    var privateKeySeedHex: String
    var publicKeyHex: String
    var payloadType: String
    var payloadUTF8: String
    var paeHex: String
    var signatureBase64: String
    var envelope: Env
}

private struct CheckpointVector: Decodable {
    var privateKeySeedHex: String
    var verifierKey: String
    var note: String
}

private struct MerkleReference: Decodable {
    var leafInputsHex: [String]
    var rootHexBySize: [String]
}

private struct InclusionCase: Decodable {
    /// UInt64: one case uses 2^64-1, which no index of ours can be.
    var leafIdx: UInt64
    var treeSize: Int
    var root: String
    var leafHash: String
    var proof: [String]?
    var wantErr: Bool
}

private struct ConsistencyCase: Decodable {
    var size1: Int
    var size2: Int
    var root1: String
    var root2: String
    var proof: [String]?
    var wantErr: Bool
}

private func b64(_ s: String) -> Data { Data(base64Encoded: s) ?? Data(s.utf8) }

@Suite("Known-answer vectors")
struct VectorTests {
    @Test("RFC 8032 §7.1: key derivation and signatures")
    func rfc8032() throws {
        let file = try fixture("ed25519/rfc8032.json", as: RFC8032File.self)
        #expect(file.vectors.count == 3)
        for v in file.vectors {
            let key = try SigningKey(seed: Data(hexString: v.secretKeyHex))
            #expect(key.publicKey.raw.hex == v.publicKeyHex)
            let message = Data(hexString: v.messageHex)
            #expect(key.sign(message).hex == v.signatureHex)
            #expect(key.publicKey.isValidSignature(Data(hexString: v.signatureHex), for: message))
            var flipped = Data(hexString: v.signatureHex)
            flipped[5] ^= 0x01
            #expect(!key.publicKey.isValidSignature(flipped, for: message))
        }
    }

    @Test("Wycheproof Ed25519: every case gives its expected result")
    func wycheproof() throws {
        let file = try fixture("ed25519/wycheproof_ed25519_test.json", as: WycheproofFile.self)
        var count = 0
        for group in file.testGroups {
            let raw = Data(hexString: group.publicKey.pk)
            for test in group.tests {
                count += 1
                let valid =
                    (try? PublicKey(raw: raw))?.isValidSignature(
                        Data(hex: test.sig) ?? Data([0]), for: Data(hexString: test.msg)) ?? false
                #expect(valid == (test.result == "valid"), "tcId \(test.tcId): \(test.comment)")
            }
        }
        #expect(count == 151)
    }

    @Test("DSSE v1 envelope: PAE bytes, signature, verification, tampering")
    func dsse() throws {
        let v = try fixture("ed25519/dsse_ed25519.json", as: DSSEVector.self)
        let key = try SigningKey(seed: Data(hexString: v.privateKeySeedHex))
        #expect(key.publicKey.raw.hex == v.publicKeyHex)
        let payload = Data(v.payloadUTF8.utf8)
        #expect(Envelope.pae(payloadType: v.payloadType, payload: payload).hex == v.paeHex)
        let envelope = Envelope.sign(payload: payload, payloadType: v.payloadType, with: key)
        #expect(envelope.signatures[0].sig.base64EncodedString() == v.signatureBase64)
        #expect(envelope.signatures[0].keyID == v.envelope.signatures[0].keyid)
        #expect(envelope.payload.base64EncodedString() == v.envelope.payload)

        let json =
            try JSONEncoder().encode([
                "payloadType": v.envelope.payloadType, "payload": v.envelope.payload,
            ]).dropLast()
            + Data(
                ",\"signatures\":[{\"keyid\":\"\(v.envelope.signatures[0].keyid)\",\"sig\":\"\(v.envelope.signatures[0].sig)\"}]}"
                    .utf8)
        let parsed = try Envelope(parsing: json, source: "vector")
        #expect(parsed.isSigned(by: key.publicKey))

        // URL-safe base64 without padding is accepted on input.
        let urlSafe = v.envelope.signatures[0].sig.replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
        #expect(Data(anyBase64: urlSafe) == Data(base64Encoded: v.signatureBase64))

        var tamperedPayload = parsed
        tamperedPayload.payload[10] ^= 0x01
        #expect(!tamperedPayload.isSigned(by: key.publicKey))
        var tamperedSig = parsed
        tamperedSig.signatures[0].sig[0] ^= 0x01
        #expect(!tamperedSig.isSigned(by: key.publicKey))
        var tamperedKey = key.publicKey.raw
        tamperedKey[3] ^= 0x01
        if let other = try? PublicKey(raw: tamperedKey) { #expect(!parsed.isSigned(by: other)) }
        var tamperedType = parsed
        tamperedType.payloadType = "application/json"
        #expect(!tamperedType.isSigned(by: key.publicKey))
    }

    @Test("RFC 6962 reference roots for every size 0…8, by reference, frontier and stored subtrees")
    func merkleReference() throws {
        let v = try fixture("merkle/reference.json", as: MerkleReference.self)
        let leaves = v.leafInputsHex.map { Merkle.leafHash(Data(hexString: $0)) }
        var store = MemorySubtreeStore()
        var frontier = MerkleFrontier()
        #expect(frontier.root.hex == v.rootHexBySize[0])
        for size in 1...leaves.count {
            store.append(leafHash: leaves[size - 1])
            frontier.append(leafHash: leaves[size - 1])
            #expect(Merkle.root(leafHashes: leaves.prefix(size)).hex == v.rootHexBySize[size])
            #expect(frontier.root.hex == v.rootHexBySize[size])
            #expect(try MerkleTree(store: store).root(size: size).hex == v.rootHexBySize[size])
        }
    }

    @Test("transparency-dev inclusion proof cases")
    func inclusion() throws {
        let files = try fixtureFiles(under: "merkle/inclusion")
        for file in files {
            let c = try fixture(file, as: InclusionCase.self)
            let ok = Merkle.verifyInclusion(
                index: Int(exactly: c.leafIdx) ?? -1, size: c.treeSize, leafHash: b64(c.leafHash),
                proof: (c.proof ?? []).map(b64), root: b64(c.root))
            #expect(ok == !c.wantErr, "\(file.lastPathComponent)")
        }
        let consistencyFiles = try fixtureFiles(under: "merkle/consistency")
        for file in consistencyFiles {
            let c = try fixture(file, as: ConsistencyCase.self)
            let ok = Merkle.verifyConsistency(
                size1: c.size1, size2: c.size2, root1: b64(c.root1), root2: b64(c.root2),
                proof: (c.proof ?? []).map(b64))
            #expect(ok == !c.wantErr, "\(file.lastPathComponent)")
        }
        #expect(files.count + consistencyFiles.count == 196)
    }

    @Test("Generated proofs verify for every index and size up to 40")
    func generatedProofs() throws {
        var store = MemorySubtreeStore()
        var leaves: [Data] = []
        for i in 0..<40 {
            let leaf = Merkle.leafHash(Data("leaf \(i)".utf8))
            leaves.append(leaf)
            store.append(leafHash: leaf)
        }
        let tree = MerkleTree(store: store)
        for size in 1...40 {
            let root = try tree.root(size: size)
            #expect(root == Merkle.root(leafHashes: leaves.prefix(size)))
            for index in 0..<size {
                let proof = try tree.inclusionProof(index: index, size: size)
                #expect(
                    Merkle.verifyInclusion(index: index, size: size, leafHash: leaves[index], proof: proof, root: root))
            }
            for old in 1...size {
                let proof = try tree.consistencyProof(from: old, to: size)
                #expect(
                    Merkle.verifyConsistency(
                        size1: old, size2: size, root1: try tree.root(size: old), root2: root, proof: proof))
                if old < size, !proof.isEmpty {
                    var bad = proof
                    bad[0][0] ^= 1
                    #expect(
                        !Merkle.verifyConsistency(
                            size1: old, size2: size, root1: try tree.root(size: old), root2: root, proof: bad))
                }
            }
        }
    }

    @Test("C2SP checkpoint in a signed note: verifier key, signature, and re-signing")
    func checkpointNote() throws {
        let v = try fixture("checkpoint/checkpoint_note.json", as: CheckpointVector.self)
        let verifier = try NoteVerifierKey(parsing: v.verifierKey)
        let key = try SigningKey(seed: Data(hexString: v.privateKeySeedHex))
        #expect(verifier.publicKey == key.publicKey)
        #expect(NoteVerifierKey(name: verifier.name, publicKey: key.publicKey).text == v.verifierKey)
        let (checkpoint, note) = try Checkpoint.verified(text: v.note, logKey: verifier, source: "vector")
        #expect(checkpoint.size == 8)
        let reference = try fixture("merkle/reference.json", as: MerkleReference.self)
        #expect(checkpoint.root.hex == reference.rootHexBySize[8])
        #expect(checkpoint.signed(with: key).text == v.note)
        #expect(note.text == v.note)
        var edited = v.note
        edited = edited.replacingOccurrences(of: "\n8\n", with: "\n9\n")
        #expect(throws: NoteError.self) { try Checkpoint.verified(text: edited, logKey: verifier, source: "edited") }
    }

    @Test("Cosignature v1 round trip and rejection of a foreign key")
    func cosignature() throws {
        let log = try SigningKey.generate()
        var note = Checkpoint(origin: "o.example", size: 3, root: Data(repeating: 7, count: 32)).signed(with: log)
        let witness = try SigningKey.generate()
        Cosignature.add(to: &note, name: "w.example", key: witness, timestamp: 1_700_000_000)
        let reparsed = try SignedNote(parsing: note.text, source: "note")
        let wkey = NoteVerifierKey(name: "w.example", type: NoteVerifierKey.cosignatureV1, publicKey: witness.publicKey)
        #expect(Cosignature.verifiedTimestamp(on: reparsed, by: wkey) == 1_700_000_000)
        #expect(try NoteVerifierKey(parsing: wkey.text) == wkey)
        let other = NoteVerifierKey(
            name: "w.example", type: NoteVerifierKey.cosignatureV1, publicKey: try SigningKey.generate().publicKey)
        #expect(Cosignature.verifiedTimestamp(on: reparsed, by: other) == nil)
    }
}
