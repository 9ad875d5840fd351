import Foundation

/// Runs a program to its end from a test (`redis-cli --cluster create`, a script).
public enum ChildProcess {
    /// Runs `executable` with `arguments` (this process's environment plus `environment`, in
    /// `directory` if given) until it exits; its status and its output (standard output and error).
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        directory: String? = nil
    ) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Our copy of the write end closed, the read ends when the process (and whatever it left
        // running, which writes to its own log files) closed theirs.
        try output.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (try await exitStatus(of: process), text)
    }

    /// Waits for `process` to exit and returns its status. Foundation's own exit notice was seen
    /// to miss a script whose children outlive it (the script stayed a zombie and `isRunning`
    /// true), so it is reaped with `waitpid` when Foundation has not.
    public static func exitStatus(of process: Process) async throws -> Int32 {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            if !process.isRunning { return process.terminationStatus }
            var status: Int32 = 0
            if waitpid(process.processIdentifier, &status, WNOHANG) == process.processIdentifier {
                return (status >> 8) & 0xFF
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ClientError("\(process.executableURL?.path ?? "a process") did not exit within 300 s")
    }

    /// The absolute path of an executable on `PATH` or in the sbin folders Debian uses.
    public static func find(_ name: String) -> String? { StoreServerProcess.find(name) }
}
