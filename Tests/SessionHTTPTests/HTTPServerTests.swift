import Logging
import NIOCore
import NIOHTTP1
import SessionManager
import SessionTesting
import Testing

@testable import SessionHTTP

/// Echoes what the server routed: context path, path in context, body length. `/fail` throws,
/// `/slow` waits 300 ms, `/slower` 1 s.
struct EchoApp: HTTPApp {
    let name: String
    func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        switch request.pathInContext {
        case "/fail": throw CancellationError()
        case "/slow": try await Task.sleep(for: .milliseconds(300))
        case "/slower": try await Task.sleep(for: .seconds(1))
        default: break
        }
        return .text("app=\(name)\ncontext=\(request.contextPath)\npath=\(request.pathInContext)\nbody=\(request.body.readableBytes)\n")
    }
}

func makeServer(connector: ConnectorConfiguration = .init(port: 0), contexts: [(String, String)] = [("/myapp", "a"), ("/myapp/admin", "b"), ("", "root")]) throws -> HTTPServer {
    var connector = connector
    connector.port = 0
    let configuration = ServerConfiguration(
        connector: connector,
        contexts: contexts.map { ContextConfiguration(path: $0.0, app: $0.1) }
    )
    var apps: [String: HTTPAppFactory] = [:]
    for (_, name) in contexts { apps[name] = { @Sendable _ in EchoApp(name: name) } }
    return try HTTPServer(configuration: configuration, apps: apps, logger: Logger(label: "test"))
}

@Suite(.capturedLog) struct HTTPServerTests {
    @Test func aManagerConfigurationBuiltInSwiftIsValidatedAtStart() throws {
        var context = ContextConfiguration(path: "/myapp", app: "a")
        context.manager.lockingMode = .all  // sticky by default: refused, as in a file
        let configuration = ServerConfiguration(connector: .init(port: 0), contexts: [context])
        let error = #expect(throws: SessionManagerError.self) {
            _ = try HTTPServer(configuration: configuration, apps: ["a": { @Sendable _ in EchoApp(name: "a") }], logger: Logger(label: "test"))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("context '/myapp': <Manager> attribute 'lockingMode': locking is for non-sticky mode") == true)
    }

    @Test func routesByLongestPrefixAtSegmentBoundaries() async throws {
        try await LiveServer.with(try makeServer()) { port in
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                #expect(try await client.get("/myapp/x").fields["app"] == "a")
                #expect(try await client.get("/myapp").fields["path"] == "/")
                #expect(try await client.get("/myapp/admin/y").fields["app"] == "b")
                #expect(try await client.get("/myapp/admin/y?q=1").fields["path"] == "/y")
                #expect(try await client.get("/myapplication").fields["app"] == "root")
            }
        }
        try await LiveServer.with(try makeServer(contexts: [("/myapp", "a")])) { port in
            let response = try await RawHTTPClient.get(port: port, "/other")
            #expect(response.status == 404)
        }
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() async throws {
        try await LiveServer.with(try makeServer()) { port in
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                for _ in 0..<5 {
                    let response = try await client.get("/myapp/x")
                    #expect(response.status == 200)
                    #expect(response.value("Connection") == nil)
                }
            }
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await LiveServer.with(try makeServer()) { port in
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                // The slow one first: a server that answered as requests finish would reorder.
                let paths = ["/myapp/slow", "/myapp/1", "/myapp/admin/2", "/3"]
                try await client.send(paths.map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
                for path in ["/slow", "/1", "/2", "/3"] {
                    #expect(try await client.readResponse().fields["path"] == path)
                }
            }
        }
    }

    @Test func connectionCloseIsHonoured() async throws {
        try await LiveServer.with(try makeServer()) { port in
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                let response = try await client.get("/myapp/x", headers: [("Connection", "close")])
                #expect(response.value("Connection") == "close")
                #expect(try await client.isClosedByServer())
            }
        }
    }

    @Test func oversizedHeadersGet431() async throws {
        var connector = ConnectorConfiguration()
        connector.maxHttpHeaderSize = 4096
        try await LiveServer.with(try makeServer(connector: connector)) { port in
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                let response = try await client.get("/myapp/x", headers: [("X-Big", String(repeating: "a", count: 5000))])
                #expect(response.status == 431)
                #expect(response.body.contains("too large"))
                #expect(try await client.isClosedByServer())
            }
            // The server is still fine for the next client.
            #expect(try await RawHTTPClient.get(port: port, "/myapp/x").status == 200)
        }
    }

    @Test func oversizedBodiesGet413() async throws {
        var connector = ConnectorConfiguration()
        connector.maxPostSize = 1000
        try await LiveServer.with(try makeServer(connector: connector)) { port in
            // Declared too large.
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                try await client.send("POST /myapp/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
                #expect(try await client.readResponse().status == 413)
                #expect(try await client.isClosedByServer())
            }
            // Chunked, grows too large.
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                let chunk = String(repeating: "b", count: 600)
                try await client.send("POST /myapp/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n")
                #expect(try await client.readResponse().status == 413)
            }
            // Within the limit.
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                try await client.send("POST /myapp/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "c", count: 1000))
                #expect(try await client.readResponse().fields["body"] == "1000")
            }
        }
    }

    @Test func garbageGets400() async throws {
        try await LiveServer.with(try makeServer()) { port in
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                try await client.send("NOT HTTP AT ALL\r\n\r\n")
                #expect(try await client.readResponse().status == 400)
            }
        }
    }

    @Test func appErrorsBecome500AndTheConnectionSurvives() async throws {
        try await LiveServer.with(try makeServer()) { port in
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                #expect(try await client.get("/myapp/fail").status == 500)
                #expect(try await client.get("/myapp/x").status == 200)
            }
        }
    }

    @Test func idleConnectionsAreClosedButSlowRequestsAreNot() async throws {
        var connector = ConnectorConfiguration()
        // Long enough that a loaded machine sends the first request in time.
        connector.connectionTimeout = .milliseconds(500)
        try await LiveServer.with(try makeServer(connector: connector)) { port in
            try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                // A request longer than the idle timeout is answered.
                #expect(try await client.get("/myapp/slower").status == 200)
                try await Task.sleep(for: .milliseconds(1500))
                #expect(try await client.isClosedByServer())
            }
        }
    }
}
