import Foundation
import SessionTesting
import Testing

/// The sample process under hostile load, as an operator would watch it: its memory under a flood
/// of new sessions, its CPU when it runs out of file descriptors, and SIGTERM with a client that
/// never finishes its request.
@Suite(.capturedLog, .serialized, .timeLimit(.minutes(3))) struct HostileLoadProcessTests {
    /// `count` cookie-less `/myapp/count` requests over `connections` keep-alive connections; the statuses seen.
    static func flood(port: Int, count: Int, connections: Int = 4) async throws -> [Int: Int] {
        try await withThrowingTaskGroup(of: [Int: Int].self) { group in
            for _ in 0..<connections {
                group.addTask {
                    try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws -> [Int: Int] in
                        var statuses: [Int: Int] = [:]
                        for _ in 0..<count / connections { statuses[try await client.get("/myapp/count").status, default: 0] += 1 }
                        return statuses
                    }
                }
            }
            var all: [Int: Int] = [:]
            for try await part in group { all.merge(part, uniquingKeysWith: +) }
            return all
        }
    }

    /// Without a bound, each of these requests kept a session (about 500 bytes) for 30 minutes:
    /// 40 000 of them would add 20 MB. With `maxActiveSessions` the memory stops growing at the limit.
    @Test func aFloodOfNewSessionsLeavesMemoryBounded() async throws {
        let port = try FreePort.make()
        let process = try await SampleProcessTests.startServing(
            """
            <Server><Connector port="\(port)"/><Engine><Context path="/myapp" app="sample">
              <Manager maxActiveSessions="5000"/>
            </Context></Engine></Server>
            """,
            port: port
        )
        defer { process.terminate() }
        let untilFull = try await Self.flood(port: port, count: 8000)
        #expect(untilFull[200] == 5000)
        #expect(untilFull[503] == 3000)
        let atLimit = try ProcessUsage.residentBytes(of: process.processIdentifier)
        let afterLimit = try await Self.flood(port: port, count: 40000)
        #expect(afterLimit == [503: 40000])
        let after = try ProcessUsage.residentBytes(of: process.processIdentifier)
        #expect(after - atLimit < 8 << 20, "RSS grew from \(atLimit >> 20) MiB to \(after >> 20) MiB while every new session was refused")
    }

    /// NIO's server channel spins on `accept` when descriptors run out; the server pauses accepting instead.
    @Test func runningOutOfDescriptorsNeitherSpinsNorStopsServing() async throws {
        let port = try FreePort.make()
        let process = try await SampleProcessTests.startServing(
            """
            <Server><Connector port="\(port)" connectionTimeout="1500"/><Engine><Context path="/myapp" app="sample"/></Engine></Server>
            """,
            port: port,
            ulimit: 64
        )
        defer { process.terminate() }
        // More stalled clients than the server has descriptors: the later ones wait in the backlog.
        var stalled: [Int32] = []
        defer { for fd in stalled { close(fd) } }
        for _ in 0..<100 {
            let fd = try Self.connectRaw(port: port)
            _ = "POST /myapp/count HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n".withCString { send(fd, $0, strlen($0), 0) }
            stalled.append(fd)
        }
        try await Task.sleep(for: .milliseconds(200))
        let before = try ProcessUsage.cpuSeconds(of: process.processIdentifier)
        try await Task.sleep(for: .seconds(1))
        let used = try ProcessUsage.cpuSeconds(of: process.processIdentifier) - before
        #expect(used < 0.3, "the server used \(used) s of CPU in 1 s while out of descriptors")
        // Once the stalled requests time out, their descriptors free up and a normal client is served.
        var served = false
        for _ in 0..<50 where !served {
            served = (try? await RawHTTPClient.get(port: port, "/myapp/plain"))?.status == 200
            if !served { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(served)
    }

    @Test func sigtermWithAStuckClientExitsWithinTheShutdownTimeout() async throws {
        let port = try FreePort.make()
        let process = try await SampleProcessTests.startServing(
            """
            <Server><Connector port="\(port)" connectionTimeout="600000" shutdownTimeout="500"/>
            <Engine><Context path="/myapp" app="sample"/></Engine></Server>
            """,
            port: port
        )
        defer { if process.isRunning { process.terminate() } }
        let fd = try Self.connectRaw(port: port)
        defer { close(fd) }
        _ = "POST /myapp/count HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n".withCString { send(fd, $0, strlen($0), 0) }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning && ContinuousClock.now - start < .seconds(10) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(ContinuousClock.now - start < .seconds(3), "connectionTimeout is 10 minutes: only shutdownTimeout ended it")
    }

    /// A blocking socket connected to the port (kept raw: the test must hold more sockets than the server may).
    static func connectRaw(port: Int) throws -> Int32 { try RawSocket.connect(port: port) }
}
