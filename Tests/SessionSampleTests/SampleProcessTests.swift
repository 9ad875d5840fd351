import Foundation
import SessionTesting
import Testing

/// The `SessionSample` executable as a user runs it: configuration errors and their exit status,
/// serving from an XML file, and stopping on SIGTERM.
@Suite(.capturedLog, .serialized) struct SampleProcessTests {
    /// The built executable, next to the test bundle in the build folder.
    static func executable() throws -> URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("SessionSample")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw SampleProcessError("SessionSample not found near \(testBinary.path); run `swift build` first")
    }

    struct SampleProcessError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs the sample to completion (it must exit by itself) and returns status and stderr.
    static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            throw SampleProcessError("sample did not exit by itself")
        }
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, text)
    }

    /// Starts the sample with the configuration `xml` and waits until it serves on `port`; with
    /// `ulimit`, under that many file descriptors (started through `sh` for it). Its standard error
    /// goes to a file, so that a start that fails says why (a file, not a pipe: nobody reads a pipe
    /// while the sample runs, and a full one would block it).
    static func startServing(_ xml: String, port: Int, ulimit: Int? = nil) async throws -> Process {
        let path = try writeConfig(xml)
        let errorPath = path + ".stderr"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        let limit = ulimit.map { "ulimit -n \($0) && " } ?? ""
        process.arguments = ["-c", "\(limit)exec '\(try executable().path)' --config '\(path)' --log-level warning"]
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
        throw SampleProcessError("sample on port \(port) did not start; its standard error: \(stderr.suffix(2000))")
    }

    /// What a process started by ``startServing(_:port:ulimit:)`` wrote to its standard error
    /// so far (kept in a file beside its configuration).
    static func stderr(of process: Process) throws -> String {
        let command = process.arguments?.last ?? ""
        guard let start = command.range(of: "--config '"), let end = command[start.upperBound...].firstIndex(of: "'") else {
            throw SampleProcessError("not started by startServing")
        }
        return try String(contentsOfFile: String(command[start.upperBound..<end]) + ".stderr", encoding: .utf8)
    }

    static func writeConfig(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sm-\(UUID().uuidString).xml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: [
        ("<Server>\n  <Connector port=\"8080\" colour=\"red\"/>\n<Engine><Context path=\"/myapp\" app=\"sample\"/></Engine></Server>", 2, "'colour'"),
        ("<Server>\n<Connector port=\"99999\"/>\n<Engine><Context path=\"/myapp\" app=\"sample\"/></Engine></Server>", 2, "'port'"),
        ("<Server><Engine>\n<Context path=\"/myapp\" app=\"sample\">\n<Manager requestUriIgnorePattern=\"[a-\"/>\n</Context></Engine></Server>", 3, "'requestUriIgnorePattern'"),
        ("this is not XML\n", 1, "not an XML document"),
        ("<Server><Engine>\n<Context path=\"/myapp\" app=\"sample\">\n<Manager lockingMode=\"all\"/>\n</Context></Engine></Server>", 3, "locking is for non-sticky mode"),
        ("<Server><Engine>\n<Context path=\"/myapp\" app=\"sample\">\n<Manager memcachedNodes=\"n1:127.0.0.1:x\"/>\n</Context></Engine></Server>", 3, "'memcachedNodes'"),
        ("<Server><Engine>\n<Context path=\"/myapp\" app=\"sample\">\n<Manager transcoderFactoryClass=\"kryo\"/>\n</Context></Engine></Server>", 3, "known: binary, json, plist"),
    ] as [(String, Int, String)])
    func badConfigurationExitsNonZeroWithFileLineAndAttribute(xml: String, line: Int, fragment: String) throws {
        let path = try Self.writeConfig(xml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, stderr) = try Self.run(["--config", path])
        #expect(status != 0)
        #expect(stderr.contains("\(path):\(line):"), "\(stderr)")
        #expect(stderr.contains(fragment), "\(stderr)")
    }

    @Test func missingConfigurationFileExitsNonZero() throws {
        let (status, stderr) = try Self.run(["--config", "/nonexistent/server.xml"])
        #expect(status != 0)
        #expect(stderr.contains("/nonexistent/server.xml:1:"))
        #expect(stderr.contains("cannot read"))
    }

    @Test func servesFromAConfigurationFileAndStopsOnSIGTERM() async throws {
        let port = try FreePort.make()
        let path = try Self.writeConfig(
            """
            <Server>
              <Connector port="\(port)" address="127.0.0.1"/>
              <Engine jvmRoute="node1"><Context path="/myapp" app="sample"/></Engine>
            </Server>
            """
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = ["--config", path, "--log-level", "warning"]
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var response: RawHTTPClient.Response?
        for _ in 0..<100 where response == nil {
            response = try? await RawHTTPClient.get(port: port, "/myapp/count")
            if response == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let first = try #require(response)
        #expect(first.fields["count"] == "1")
        #expect(first.fields["id"]?.hasSuffix(".node1") == true)
        let cookie = try #require(first.cookiePair)
        #expect(try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)]).fields["count"] == "2")
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<100 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
    }
}
