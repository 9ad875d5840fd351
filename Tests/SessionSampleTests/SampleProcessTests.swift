import Foundation
import SessionTesting
import Testing

/// The `SessionSample` executable as a user runs it: configuration errors and their exit status,
/// serving from an XML file, and stopping on SIGTERM.
@Suite(.capturedLog, .serialized) struct SampleProcessTests {
    /// The built executable, next to the test bundle in the build folder.
    static func executable() throws -> URL { try SampleExecutable("SessionSample").url() }

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

    /// Starts the sample with the configuration `xml` and waits until it serves on `port` (see
    /// ``SampleExecutable/startServing(_:port:ulimit:)``).
    static func startServing(_ xml: String, port: Int, ulimit: Int? = nil) async throws -> Process {
        try await SampleExecutable("SessionSample").startServing(xml, port: port, ulimit: ulimit)
    }

    /// What a process started by ``startServing(_:port:ulimit:)`` wrote to its standard error so far.
    static func stderr(of process: Process) throws -> String { try SampleExecutable.stderr(of: process) }

    static func writeConfig(_ text: String) throws -> String { try SampleExecutable.writeConfig(text) }

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
