import DocketCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Signs through ssh-agent (`$SSH_AUTH_SOCK`): the agent signs the SSHSIG signed data with a key it holds, so no
/// key file is read. The agent protocol (draft-miller-ssh-agent) is two messages here: list the identities
/// (11 → 12) and sign (13 → 14).
struct SSHAgentSigner: EnvelopeSigner {
    let socket: String
    let key: SSHPublicKey
    var publicKey: PublicKey { key.key }

    func signature(over pae: Data) throws -> Data {
        let data = SSHSignature.signedData(message: pae)
        let request = [UInt8(13)] + SSHWire.string(key.blob) + SSHWire.string(data) + SSHWire.uint32(0)
        var reply = SSHReader(try Self.exchange(socket, request))
        guard reply.byte() == 14, let signature = reply.string() else {
            throw CLIError.failure(
                "ssh-agent refused to sign with \(key.type.rawValue) key \(key.key.keyID.prefix(16))…")
        }
        return Data(SSHSignature.blob(publicKey: key, signature: signature))
    }

    /// The agent's Ed25519 keys (plain and security keys), in its order.
    static func keys(_ socket: String) throws -> [SSHPublicKey] {
        var reply = SSHReader(try exchange(socket, [11]))
        guard reply.byte() == 12, let count = reply.uint32() else {
            throw CLIError.failure("ssh-agent at \(socket) did not list its keys")
        }
        var keys: [SSHPublicKey] = []
        for _ in 0..<min(count, 1000) {
            guard let blob = reply.string(), reply.string() != nil else { break }
            if let key = try? SSHPublicKey(blob: blob) { keys.append(key) }
        }
        return keys
    }

    /// Sends one message and reads the answer (each framed by a `uint32` length).
    static func exchange(_ path: String, _ message: [UInt8]) throws -> [UInt8] {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError.failure("cannot reach ssh-agent: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw CLIError.badInput("SSH_AUTH_SOCK=\(path): the path is too long for a socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            throw CLIError.failure(
                "cannot reach ssh-agent at \(path) (\(String(cString: strerror(errno)))); start one, or sign with --ssh-key FILE"
            )
        }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)  // a security key waits for a touch
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let framed = SSHWire.string(message)
        guard framed.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == framed.count else {
            throw CLIError.failure("ssh-agent at \(path) closed the connection")
        }
        func read(_ count: Int) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                let n = out.withUnsafeMutableBytes { buffer in
                    guard let base = buffer.baseAddress else { return -1 }
                    return recv(fd, base + got, count - got, 0)
                }
                guard n > 0 else { throw CLIError.failure("ssh-agent at \(path) did not answer") }
                got += n
            }
            return out
        }
        let length = try read(4).reduce(0) { $0 << 8 | Int($1) }
        guard length <= 256 * 1024 else { throw CLIError.failure("ssh-agent at \(path) answered \(length) bytes") }
        return try read(length)
    }
}

/// Signs with an SSH private key file through `ssh-keygen -Y sign -n docket` (it prompts for an encrypted key's
/// passphrase, and waits for a security key's touch), as git signs commits with SSH keys.
struct SSHKeyFileSigner: EnvelopeSigner {
    let path: String
    let key: SSHPublicKey
    var publicKey: PublicKey { key.key }

    /// The key file and its public half (`FILE.pub`, else what `ssh-keygen -y` derives).
    init(path: String) throws {
        self.path = path
        let text: String
        if let pub = try? readLimited(path + ".pub", limit: 16384) {
            text = String(decoding: pub, as: UTF8.self)
        } else {
            text = String(decoding: try Self.sshKeygen(["-y", "-f", path], input: nil), as: UTF8.self)
        }
        do {
            key = try SSHPublicKey(line: text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw CLIError.badInput(
                "--ssh-key \(path): \(error); Docket signs with ssh-ed25519 and sk-ssh-ed25519 keys")
        }
    }

    func signature(over pae: Data) throws -> Data {
        let armored = try Self.sshKeygen(["-Y", "sign", "-q", "-n", SSHSignature.namespace, "-f", path], input: pae)
        guard let blob = SSHSignature.dearmored(String(decoding: armored, as: UTF8.self)),
            SSHSignature(blob: blob)?.verifies(pae, by: key.key) == true
        else { throw CLIError.failure("ssh-keygen -Y sign with \(path) gave no signature Docket can verify") }
        return Data(blob)
    }

    static func sshKeygen(_ arguments: [String], input: Data?) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ssh-keygen"] + arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardInput = input == nil ? FileHandle.standardInput : stdin
        do {
            try process.run()
        } catch {
            throw CLIError.failure("cannot run ssh-keygen (install openssh-client): \(error.localizedDescription)")
        }
        if let input {
            try stdin.fileHandleForWriting.write(contentsOf: input)
            try stdin.fileHandleForWriting.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIError.failure("ssh-keygen \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return data
    }
}
