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

    /// One hash in progress. The context is freed by `finish()`.
    private struct Digester {
        let context: OpaquePointer

        init() {
            guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
                preconditionFailure("libcrypto could not start a SHA-256 hash")
            }
            self.context = context
        }

        func adding(_ data: some DataProtocol) -> Digester {
            for region in data.regions {
                region.withUnsafeBytes { raw in _ = EVP_DigestUpdate(context, raw.baseAddress, raw.count) }
            }
            return self
        }

        func finish() -> Data {
            var out = Data(count: 32)
            var length: UInt32 = 0
            let ok = out.withUnsafeMutableBytes {
                EVP_DigestFinal_ex(context, $0.bindMemory(to: UInt8.self).baseAddress, &length)
            }
            EVP_MD_CTX_free(context)
            precondition(ok == 1 && length == 32, "libcrypto could not finish a SHA-256 hash")
            return out
        }
    }
}
