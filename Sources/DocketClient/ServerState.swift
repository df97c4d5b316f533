import DocketCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a client keeps of one server (DESIGN §13): the log key, origin and ledger ID it verified, and the latest
/// checkpoint note it accepted. Not a copy of the log: a few hundred bytes whatever the ledger's size.
struct ServerState: Codable, Equatable {
    static let format = "docket-client-state/v1"
    var format = ServerState.format
    var url: String
    var origin: String
    var ledgerID: String
    /// The log's verifier key text.
    var logKey: String
    /// The latest checkpoint accepted: signed by the log key and consistent with every one accepted before.
    var checkpoint: String
}

/// The state file of one server, shared by every process of this user (many CI jobs on one machine): read and
/// replaced only under an exclusive `flock` on a lock file beside it, and replaced by writing a new file and
/// renaming it over the old one, so a reader never sees half a state and a killed process leaves the old one.
final class ServerStateFile {
    let path: String
    let lockPath: String

    init(folder: String, name: String) {
        path = folder + "/" + name + ".state.json"
        lockPath = folder + "/" + name + ".lock"
    }

    /// Runs `body` with the state as it is now (nil: none yet) under the exclusive lock; what `body` returns, if
    /// not nil and different, replaces it before the lock is released.
    func update<T>(_ body: (ServerState?) throws -> (ServerState?, T)) throws -> T {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw RemoteError(
                description: "cannot open the client lock \(lockPath): \(String(cString: strerror(errno)))",
                category: .failure)
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw RemoteError(
                    description: "cannot lock \(lockPath): \(String(cString: strerror(errno)))", category: .failure)
            }
        }
        defer { flock(fd, LOCK_UN) }
        let held = read()
        let (next, result) = try body(held)
        if let next, next != held { try write(next) }
        return result
    }

    /// The state as it is, without the lock (a rename makes every read whole). A file that does not decode is
    /// treated as absent: it is this machine's cache, and the next contact checks everything again.
    func read() -> ServerState? {
        guard let data = FileManager.default.contents(atPath: path),
            let state = try? JSONDecoder().decode(ServerState.self, from: data), state.format == ServerState.format
        else { return nil }
        return state
    }

    private func write(_ state: ServerState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let temporary = path + ".\(getpid()).tmp"
        do {
            try encoder.encode(state).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            unlink(temporary)
            throw RemoteError(description: "cannot write \(path): \(error.localizedDescription)", category: .failure)
        }
    }
}
