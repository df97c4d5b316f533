import DocketCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A full verified replica of a server's log, on request (`--mirror`, `DOCKET_MIRROR=1`; DESIGN §13): every entry
/// replayed through the same append pipeline as a local ledger's, so the replica is the server's log only if the
/// server kept it honestly. Entries are streamed a tile at a time (bounded memory whatever the size); processes
/// sharing the replica file are serialised by SQLite's write lock, and one that finds the replica further along
/// than the checkpoint it was served proves the two consistent instead of raising an alarm.
public final class ServerReplica {
    public let client: ServerClient
    let path: String
    /// Entries committed at a time (16 full tiles): what an interrupted first sync keeps, and the bound on what
    /// one transaction holds in memory.
    static let chunk = 4096

    public init(client: ServerClient, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.client = client
        path = try cacheDirectory(environment) + "/" + client.transport.cacheName + ".mirror.db"
    }

    /// Brings the replica up to the server's latest checkpoint and opens it.
    public func sync() throws -> Ledger {
        let (note, served) = try client.acceptedCheckpoint()
        let logKey = try NoteVerifierKey(parsing: try client.knownState().logKey)
        let fresh = try !FileManager.default.fileExists(atPath: path) && create(origin: served.origin)
        let ledger = try Ledger(path: path)
        do {
            try extend(ledger, to: served, note: note, logKey: logKey)
        } catch let error as MirrorError {
            if fresh { remove() }
            throw client.untrusted("\(error); the replica \(path) was left as it was")
        } catch {
            // A replica that never got its genesis entry is not kept: the next contact starts again.
            if fresh, (try? ledger.treeSize()) ?? 0 == 0 { remove() }
            throw error
        }
        return ledger
    }

    /// Makes the empty replica beside its place and links it in, so a process that finds the file finds it whole
    /// (another process making it at the same moment wins, and this one uses that one). True when this one did.
    private func create(origin: String) throws -> Bool {
        let temporary = path + ".\(getpid()).new"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(temporary + suffix) } }
        for suffix in ["", "-wal", "-shm"] { unlink(temporary + suffix) }
        _ = try Ledger.createMirror(path: temporary, origin: origin)  // closed here: one whole file
        guard link(temporary, path) == 0 else {
            guard errno == EEXIST else {
                throw RemoteError(
                    description: "cannot make the replica \(path): \(String(cString: strerror(errno)))",
                    category: .failure)
            }
            return false
        }
        return true
    }

    private func extend(_ ledger: Ledger, to served: Checkpoint, note: String, logKey: NoteVerifierKey) throws {
        for _ in 0..<3 {
            let size = try ledger.treeSize()
            // A replica interrupted between two chunks holds entries past its last checkpoint (each chunk was
            // proved a prefix of the log before it was committed): it resumes from its last entry.
            var stored: Int? = nil
            if size > 0, let held = try? ledger.currentCheckpoint() {
                // The replica's checkpoint and the served one were both accepted by the client state, which
                // proved them consistent; the entries must still lead to them.
                try client.accept(try ledger.checkpointNote(), checkpoint: held)
                stored = held.size
            }
            if served.size < size || (served.size == size && stored == size) { return }
            var next = size
            var pending: [(index: Int, bytes: Data)] = []
            // Each chunk committed is first proved a prefix of the served log.
            let prove = { (prefix: Int, root: Data) throws in
                guard let hashes = try self.client.consistencyHashes(from: prefix, to: served.size),
                    Merkle.verifyConsistency(
                        size1: prefix, size2: served.size, root1: root, root2: served.root, proof: hashes)
                else { throw MirrorError.rootMismatch(size: served.size) }
            }
            do {
                try ledger.mirror(checkpointNote: note, logKey: logKey, chunk: Self.chunk, provePrefix: prove) {
                    if pending.isEmpty, next < served.size {
                        let tile = next / TileAddress.fullWidth
                        let width = TileAddress.width(level: nil, index: tile, size: served.size)
                        let bundle = try client.transport.get(
                            "/tile/" + TileAddress(level: nil, index: tile, width: width).path)
                        pending = try Self.entries(in: bundle, first: tile * TileAddress.fullWidth, expected: width)
                            .filter { $0.index >= next }
                    }
                    guard !pending.isEmpty else { return nil }
                    let entry = pending.removeFirst()
                    next = entry.index + 1
                    return entry
                }
                return
            } catch MirrorError.shrank {
                // Another process extended the replica past this checkpoint meanwhile: check again.
                continue
            }
        }
    }

    /// The entries of an entry bundle: big-endian 16-bit lengths, each followed by the entry's bytes.
    static func entries(in bundle: Data, first: Int, expected: Int) throws -> [(index: Int, bytes: Data)] {
        var entries: [(index: Int, bytes: Data)] = []
        var i = bundle.startIndex
        while i < bundle.endIndex {
            guard i + 2 <= bundle.endIndex else { break }
            let length = Int(bundle[i]) << 8 | Int(bundle[i + 1])
            guard i + 2 + length <= bundle.endIndex else { break }
            entries.append((first + entries.count, bundle[(i + 2)..<(i + 2 + length)]))
            i += 2 + length
        }
        guard i == bundle.endIndex, entries.count == expected else {
            throw RemoteError(
                description: "the server sent a damaged entry bundle for entries from \(first)", category: .failure)
        }
        return entries
    }

    private func remove() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
