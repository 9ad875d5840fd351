import Foundation

/// A sample executable of this package (`SessionSample`, `HummingbirdSample`) as a user runs it,
/// found next to the test bundle in the build folder.
public struct SampleExecutable: Sendable {
    /// A sample that could not be found or started; the message says why.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The product's name.
    public let name: String

    /// The executable `name`.
    public init(_ name: String) { self.name = name }

    /// The built executable.
    public func url() throws -> URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw Failure("\(name) not found near \(testBinary.path); run `swift build` first")
    }

    /// Starts the sample with the configuration `xml` and waits until it serves `/myapp/plain` on
    /// `port`; with `ulimit`, under that many file descriptors (started through `sh` for it). Its
    /// standard error goes to a file, so that a start that fails says why (a file, not a pipe:
    /// nobody reads a pipe while the sample runs, and a full one would block it).
    public func startServing(_ xml: String, port: Int, ulimit: Int? = nil) async throws -> Process {
        let path = try Self.writeConfig(xml)
        let errorPath = path + ".stderr"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        let limit = ulimit.map { "ulimit -n \($0) && " } ?? ""
        process.arguments = ["-c", "\(limit)exec '\(try url().path)' --config '\(path)' --log-level warning"]
        let errorFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardError = errorFile
        try process.run()
        try errorFile.close()  // the child has its own copy
        for _ in 0..<100 {
            if (try? await RawHTTPClient.get(port: port, "/myapp/plain")) != nil { return process }
            if !process.isRunning { break }  // it stopped: no use waiting
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        throw Failure("\(name) on port \(port) did not start; its standard error: \(stderr.suffix(2000))")
    }

    /// What a process started by ``startServing(_:port:ulimit:)`` wrote to its standard error
    /// so far (kept in a file beside its configuration).
    public static func stderr(of process: Process) throws -> String {
        let command = process.arguments?.last ?? ""
        guard let start = command.range(of: "--config '"), let end = command[start.upperBound...].firstIndex(of: "'") else {
            throw Failure("not started by startServing")
        }
        return try String(contentsOfFile: String(command[start.upperBound..<end]) + ".stderr", encoding: .utf8)
    }

    /// Writes a configuration file to the temporary folder; its path.
    public static func writeConfig(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sm-\(UUID().uuidString).xml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
