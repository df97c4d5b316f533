import Foundation

/// Whatever signs a DSSE envelope for a key the ledger knows: a Docket key file (Ed25519 over the PAE), or an SSH
/// key through `ssh-keygen` or ssh-agent (an SSHSIG over it). The signature's own bytes say which it is.
public protocol EnvelopeSigner {
    /// The Ed25519 key the signature verifies under (the envelope's keyid is its SHA-256).
    var publicKey: PublicKey { get }
    /// The DSSE `sig` over the PAE.
    func signature(over pae: Data) throws -> Data
}
