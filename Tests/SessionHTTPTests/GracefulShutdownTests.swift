import Logging
import NIOCore
import ServiceLifecycle
import SessionTesting
import Testing

@testable import SessionHTTP

/// `/gated` says it has started, then answers only when the test opens the gate; anything else answers at once.
struct GatedApp: HTTPApp {
    let entered: AsyncStream<Void>.Continuation
    let gate: AsyncStream<Void>

    func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        if request.pathInContext == "/gated" {
            entered.yield()
            for await _ in gate { break }
        }
        return .text("ok\n")
    }
}

@Suite(.capturedLog) struct GracefulShutdownTests {
    @Test func inFlightRequestFinishesIdleConnectionsCloseAndRunReturns() async throws {
        // Each step waits for the previous one to be observable (no timing guesses), so a loaded
        // machine cannot reorder them: the request is in the app, then the server is shutting
        // down (it closed the idle connection), then the request finishes.
        let entered = AsyncStream<Void>.makeStream()
        let gate = AsyncStream<Void>.makeStream()
        let server = try HTTPServer(
            configuration: ServerConfiguration(connector: .init(port: 0), contexts: [ContextConfiguration(path: "/myapp", app: "gated")]),
            apps: ["gated": { @Sendable _ in GatedApp(entered: entered.continuation, gate: gate.stream) }],
            logger: Logger(label: "test")
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.localAddress.port ?? 0
            try await RawHTTPClient.withConnection(port: port) { (idle: RawHTTPClient) async throws in
                #expect(try await idle.get("/myapp/x").status == 200)
                try await RawHTTPClient.withConnection(port: port) { (busy: RawHTTPClient) async throws in
                    try await busy.send("GET /myapp/gated HTTP/1.1\r\nHost: x\r\n\r\n")
                    for await _ in entered.stream { break }
                    await group.triggerGracefulShutdown()
                    #expect(try await idle.isClosedByServer(), "idle connections close at once")
                    gate.continuation.yield()
                    let response = try await busy.readResponse()
                    #expect(response.status == 200, "the in-flight request is answered")
                    #expect(response.value("Connection") == "close")
                    #expect(try await busy.isClosedByServer())
                }
            }
            // run() returned by itself: the group finishes without cancellation.
            try await tasks.waitForAll()
        }
    }
}
