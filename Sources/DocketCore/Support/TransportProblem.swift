/// A network error from SwiftNIO or AsyncHTTPClient in a few words (their descriptions repeat themselves), for
/// the server client and the registry client alike; `peer` names the other side (`the server`, `the registry`).
public func transportProblem(_ error: any Error, peer: String) -> String {
    let text = "\(error)"
    for (needle, words) in [
        ("Connection refused", "connection refused"), ("connectTimeout", "connection timed out"),
        ("readTimeout", "no answer in time"), ("No route", "no route to host"),
        ("certificate", "TLS certificate not trusted (set DOCKET_CA_FILE to its CA)"),
        ("handshake", "TLS handshake failed"), ("remoteConnectionClosed", "\(peer) closed the connection"),
    ] where text.contains(needle) {
        return words
    }
    return text
}
