import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// File errors with the path and what to do.
public enum FileError: DocketFailure, Equatable {
    case exists(String)
    case cannotWrite(String, reason: String)
    case cannotRead(String, reason: String)

    public var category: FailureCategory { .badInput }

    public var description: String {
        switch self {
        case .exists(let path): "\(path) already exists; choose another path or remove it first"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .cannotRead(let path, let reason): "cannot read \(path): \(reason)"
        }
    }
}

/// File operations for secrets: created exclusively with their final mode, read only when private.
enum SecureFile {
    static func createExclusive(path: String, contents: Data, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw FileError.exists(path) }
            throw FileError.cannotWrite(path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        fchmod(fd, mode)  // the umask may have narrowed it; never widens beyond `mode`
        try contents.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = Glibc.write(fd, base + offset, raw.count - offset)
                guard n > 0 else { throw FileError.cannotWrite(path, reason: String(cString: strerror(errno))) }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw FileError.cannotWrite(path, reason: String(cString: strerror(errno))) }
    }

    /// Reads a file that must not be readable or writable by group or others.
    static func readSecret(path: String) throws -> Data {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileError.cannotRead(path, reason: String(cString: strerror(errno))) }
        if info.st_mode & 0o077 != 0 {
            throw CryptoError.insecurePermissions(file: path, mode: String(info.st_mode & 0o777, radix: 8))
        }
        return try read(path: path, limit: 1 << 20)
    }

    /// Reads at most `limit` bytes; a larger file is an error (never loaded whole).
    static func read(path: String, limit: Int) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError.cannotRead(
                path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw FileError.cannotRead(path, reason: error.localizedDescription)
        }
        guard data.count <= limit else { throw FileError.cannotRead(path, reason: "larger than \(limit) bytes") }
        return data
    }
}
