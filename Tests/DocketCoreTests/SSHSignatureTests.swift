import Foundation
import Testing

@testable import DocketCore

/// SSHSIG (OpenSSH PROTOCOL.sshsig) as a DSSE signature: made here with an Ed25519 key as ssh-agent would, for a
/// plain key and a security key; accepted over the PAE in namespace `docket` only, by the same key only.
@Suite("SSH signatures")
struct SSHSignatureTests {
    let key = try! SigningKey.generate()
    let payload = Data(#"{"statement":"approve"}"#.utf8)

    /// An envelope over `payload` whose sig is an SSHSIG by `key`, in `namespace`, as a security key when `sk`.
    func envelope(namespace: String = "docket", sk: Bool = false, tamper: Bool = false) -> Envelope {
        let pae = Envelope.pae(payloadType: Envelope.inTotoPayloadType, payload: payload)
        let typeName = sk ? "sk-ssh-ed25519@openssh.com" : "ssh-ed25519"
        let keyBlob =
            SSHWire.string(typeName) + SSHWire.string(key.publicKey.raw) + (sk ? SSHWire.string("ssh:") : [])
        let signed =
            SSHSignature.magic + SSHWire.string(namespace) + SSHWire.string([UInt8]()) + SSHWire.string("sha512")
            + SSHWire.string(SSHSignature.sha512(tamper ? pae + Data([0]) : pae))
        var signature: [UInt8]
        if sk {
            let (flags, counter): ([UInt8], [UInt8]) = ([1], SSHWire.uint32(42))
            let message = SHA256.hash(Data("ssh:".utf8)) + Data(flags + counter) + SHA256.hash(Data(signed))
            signature = SSHWire.string(typeName) + SSHWire.string(Array(key.sign(message))) + flags + counter
        } else {
            signature = SSHWire.string(typeName) + SSHWire.string(Array(key.sign(Data(signed))))
        }
        let blob =
            SSHSignature.magic + SSHWire.uint32(1) + SSHWire.string(keyBlob) + SSHWire.string(namespace)
            + SSHWire.string([UInt8]()) + SSHWire.string("sha512") + SSHWire.string(signature)
        return Envelope(
            payloadType: Envelope.inTotoPayloadType, payload: payload,
            signatures: [.init(keyID: key.publicKey.keyID, sig: Data(blob))])
    }

    @Test("A plain and a security key's SSHSIG verify; another namespace, message or key does not")
    func verification() throws {
        #expect(envelope().isSigned(by: key.publicKey))
        #expect(envelope(sk: true).isSigned(by: key.publicKey))
        #expect(SSHSignature(blob: envelope(sk: true).signatures[0].sig)?.counter == 42)
        #expect(!envelope(namespace: "git").isSigned(by: key.publicKey))
        #expect(!envelope(tamper: true).isSigned(by: key.publicKey))
        #expect(!envelope().isSigned(by: try SigningKey.generate().publicKey))
        var flipped = envelope()
        flipped.signatures[0].sig[flipped.signatures[0].sig.count - 3] ^= 1
        #expect(!flipped.isSigned(by: key.publicKey))
        let blob = envelope().signatures[0].sig
        #expect(SSHSignature.dearmored(SSHSignature.armored(blob)) == Array(blob))
    }

    @Test("SSH public key lines: ssh-ed25519 and sk keys read, others refused")
    func publicKeys() throws {
        let blob = SSHWire.string("ssh-ed25519") + SSHWire.string(key.publicKey.raw)
        let line = "ssh-ed25519 \(Data(blob).base64EncodedString()) alice@laptop"
        #expect(try SSHPublicKey(line: line).key == key.publicKey)
        #expect(throws: CryptoError.self) { try SSHPublicKey(line: "ssh-rsa AAAAB3NzaC1yc2E= bob") }
        #expect(throws: CryptoError.self) {
            try SSHPublicKey(line: "ssh-ed25519 \(Data(blob + [0]).base64EncodedString())")
        }
    }
}
