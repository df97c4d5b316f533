internal import CSodium
import Foundation

/// HMAC-SHA-256 (RFC 2104) through libsodium: what a webhook receiver checks a notification's signature with.
public enum HMAC {
    public static func sha256(key: some DataProtocol, message: some DataProtocol) -> Data {
        let key = Array(key)
        let message = Array(message)
        var state = crypto_auth_hmacsha256_state()
        var mac = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        _ = crypto_auth_hmacsha256_init(&state, key, key.count)
        _ = crypto_auth_hmacsha256_update(&state, message, UInt64(message.count))
        _ = crypto_auth_hmacsha256_final(&state, &mac)
        return Data(mac)
    }
}
