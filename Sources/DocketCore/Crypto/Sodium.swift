internal import CSodium
import Foundation

/// Errors from the cryptographic layer.
public enum CryptoError: DocketFailure, Equatable {
    case libraryUnavailable
    case badKeyLength(what: String, expected: Int, got: Int)
    case wrongPassphrase(file: String)
    case malformedKeyFile(file: String, reason: String)
    case insecurePermissions(file: String, mode: String)
    case passphraseRequired(file: String)
    case randomFailure

    public var category: FailureCategory {
        switch self {
        case .libraryUnavailable, .randomFailure: .failure
        default: .badInput
        }
    }

    public var description: String {
        switch self {
        case .libraryUnavailable:
            "libsodium could not be initialised; install libsodium (apt-get install libsodium-dev)"
        case .badKeyLength(let what, let expected, let got): "\(what) must be \(expected) bytes, got \(got)"
        case .wrongPassphrase(let file):
            "cannot decrypt key file \(file): wrong passphrase (or the file was altered)"
        case .malformedKeyFile(let file, let reason):
            "\(file) is not a Docket key file: \(reason)"
        case .insecurePermissions(let file, let mode):
            "key file \(file) is readable by other users (mode \(mode)); run `chmod 600 \(file)` and try again"
        case .passphraseRequired(let file):
            "key file \(file) is encrypted and needs its passphrase"
        case .randomFailure: "the system random number generator failed"
        }
    }
}

/// The single place libsodium is initialised; every entry point into the crypto layer goes through it.
enum Sodium {
    private static let initialized: Bool = sodium_init() >= 0

    static func ensureReady() throws {
        guard initialized else { throw CryptoError.libraryUnavailable }
    }

    static func randomBytes(_ count: Int) throws -> Data {
        try ensureReady()
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, count)
        return Data(bytes)
    }
}
