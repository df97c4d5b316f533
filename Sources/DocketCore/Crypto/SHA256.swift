internal import CLibCrypto
import Foundation

/// SHA-256 through OpenSSL's libcrypto, whose implementation uses the processor's SHA extensions (every entry
/// is hashed twice: its leaf and its payload). The result is the same 32 bytes as any SHA-256; the vector tests
/// check it.
public enum SHA256 {
    public static func hash(_ data: some DataProtocol) -> Data {
        Digester().adding(data).finish()
    }

    /// Hashes the concatenation of several parts without building it.
    public static func hash(parts: [Data]) -> Data {
        var digester = Digester()
        for part in parts { digester = digester.adding(part) }
        return digester.finish()
    }

    /// The algorithm, fetched from libcrypto's provider once (a lookup per hash cost as much as hashing a
    /// small message). libcrypto's fetched algorithms are immutable and safe to share between threads.
    /// Falls back to libcrypto's built-in handle if the provider lookup fails (an unusual `OPENSSL_CONF`).
    nonisolated(unsafe) private static let algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil) ?? EVP_sha256()

    /// One hash in progress. The context is freed by `finish()`.
    private struct Digester {
        let context: OpaquePointer

        init() {
            guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, SHA256.algorithm, nil) == 1 else {
                preconditionFailure("libcrypto could not start a SHA-256 hash")
            }
            self.context = context
        }

        func adding(_ data: some DataProtocol) -> Digester {
            for region in data.regions {
                let ok = region.withUnsafeBytes { raw in EVP_DigestUpdate(context, raw.baseAddress, raw.count) }
                precondition(ok == 1, "libcrypto could not hash")
            }
            return self
        }

        func finish() -> Data {
            defer { EVP_MD_CTX_free(context) }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
                var length: UInt32 = 0
                let ok = EVP_DigestFinal_ex(context, buffer.baseAddress, &length)
                precondition(ok == 1 && length == 32, "libcrypto could not finish a SHA-256 hash")
                return Data(buffer)
            }
        }
    }
}
