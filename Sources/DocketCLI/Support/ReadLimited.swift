import ArgumentParser
import DocketCore
import Foundation

/// Reads a small input file, refusing a huge one before loading it.
func readLimited(_ path: String, limit: Int) throws -> Data {
    if path == "-" {
        let data = FileHandle.standardInput.readData(ofLength: limit + 1)
        guard data.count <= limit else { throw CLIError.badInput("standard input is larger than \(limit) bytes") }
        return data
    }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
        throw CLIError.badInput("cannot read \(path): it is a folder; give the file inside it")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw CLIError.badInput(
            "cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")"
        )
    }
    defer { try? handle.close() }
    let data: Data
    do {
        data = try handle.read(upToCount: limit + 1) ?? Data()
    } catch {
        throw CLIError.badInput("cannot read \(path): \(error.localizedDescription)")
    }
    guard data.count <= limit else { throw CLIError.badInput("\(path) is larger than the \(limit)-byte limit") }
    return data
}
