import Logging
import NIOCore
import ServiceLifecycle
import SessionTesting
import Testing

@testable import SessionHTTP

@Suite struct GracefulShutdownTests {
    @Test func inFlightRequestFinishesIdleConnectionsCloseAndRunReturns() async throws {
        let server = try makeServer()
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.localAddress.port ?? 0
            try await RawHTTPClient.withConnection(port: port) { (idle: RawHTTPClient) async throws in
                #expect(try await idle.get("/myapp/x").status == 200)
                try await RawHTTPClient.withConnection(port: port) { (busy: RawHTTPClient) async throws in
                    try await busy.send("GET /myapp/slow HTTP/1.1\r\nHost: x\r\n\r\n")
                    try await Task.sleep(for: .milliseconds(100))
                    await group.triggerGracefulShutdown()
                    let response = try await busy.readResponse()
                    #expect(response.status == 200)
                    #expect(response.value("Connection") == "close")
                    #expect(try await busy.isClosedByServer())
                }
                #expect(try await idle.isClosedByServer())
            }
            // run() returned by itself: the group finishes without cancellation.
            try await tasks.waitForAll()
        }
    }
}
