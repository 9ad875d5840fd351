#if VaporSupport
import Foundation
import SessionConfigXML
import SessionHTTP
import SessionManager
import SessionSampleApp
import SessionTesting
import SessionVapor
import Testing
import Vapor
import VaporSampleApp

/// ``ClusterSessionDriver``: an app that keeps Vapor's `req.session.data` behind Vapor's own
/// `SessionsMiddleware`, on our stores.
@Suite(.capturedLog, .serialized) struct SessionDriverTests {
    static var redisRunnable: Bool { StoreServerProcess.Kind.redis().isRunnable }

    /// Serves the sample's `req.session.data` routes under `/myapp` in this process, on the driver
    /// of a context configured by `configure`.
    static func withSessionDataApp(
        configure: (inout ManagerConfiguration) throws -> Void,
        _ body: (_ port: Int) async throws -> Void
    ) async throws {
        var manager = ManagerConfiguration(storageKeyPrefix: "sm:/myapp:")
        try configure(&manager)
        let sessions = try ClusterSessions(
            configuration: ServerConfiguration(jvmRoute: "vapor1", contexts: [ContextConfiguration(path: "/myapp", app: "sample-session-data", manager: manager)]),
            logger: VaporTestApp.logger
        )
        let routes = VaporSampleRoutes(content: try SampleContent(jvmRoute: "vapor1"), contextPath: "/myapp")
        let driver = try sessions.driver(forContext: "/myapp")
        let cookies = try sessions.sessionsConfiguration(forContext: "/myapp")
        try await VaporTestApp.serve(sessions, routes: { app in
            routes.addSessionData(to: app, driver: driver, configuration: cookies)
        }, body)
    }

    @Test(.enabled(if: redisRunnable))
    func sessionDataCountsExpiresWithItsTTLAndAnUnchangedSessionIsNotWritten() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let settings = AdapterContract.settings(AdapterContract.node(.redis(), "n1", server.port), sticky: false) { $0.maxInactiveInterval = 3 }
            try await Self.withSessionDataApp(configure: settings) { port in
                let first = try await AdapterContract.get(port, "/myapp/count")
                #expect(first.fields["count"] == "1")
                let cookie = try #require(first.cookiePair)
                #expect(cookie.hasPrefix("JSESSIONID="))
                #expect(first.value("Set-Cookie")?.contains("Path=/myapp; HttpOnly") == true, "\(first.value("Set-Cookie") ?? "")")
                #expect(cookie.hasSuffix("-n1.vapor1"), "our id, naming its store node and route: \(cookie)")
                #expect(try await AdapterContract.get(port, "/myapp/count", cookie: cookie).fields["count"] == "2")

                // The store keeps it with the context's timeout: it expires by itself.
                let ttls = try await server.redisTTLs(matching: "sm:*")
                #expect(!ttls.isEmpty)
                #expect(ttls.values.allSatisfy { (1...3).contains($0) }, "every key expires within maxInactiveInterval: \(ttls)")

                // Vapor's middleware asks for an update after every request: an unchanged session
                // costs its read only.
                let before = try await server.commandCounts()
                let read = try await AdapterContract.get(port, "/myapp/read", cookie: cookie)
                #expect(read.fields["count"] == "2")
                let after = try await server.commandCounts()
                #expect((after["set"] ?? 0) == (before["set"] ?? 0), "no write for an unchanged session")

                // A forged id is not adopted, and Vapor's empty session for it is not stored.
                let forged = "JSESSIONID=" + String(repeating: "cd", count: 16) + "-n1.vapor1"
                let keysBefore = try await server.redisTTLs(matching: "sm:*").count
                let unknown = try await AdapterContract.get(port, "/myapp/read", cookie: forged)
                #expect(unknown.fields["count"] == "0")
                #expect(unknown.cookiePair != forged)
                #expect(try await server.redisTTLs(matching: "sm:*").count == keysBefore, "an empty session is not stored")

                try await Task.sleep(for: .milliseconds(3600))
                #expect(try await server.redisTTLs(matching: "sm:*").isEmpty, "expired in the store")
                #expect(try await AdapterContract.get(port, "/myapp/read", cookie: cookie).fields["count"] == "0", "gone after its timeout")
            }
        }
    }

    /// `VaporSample` with a `sample-session-data` context on two Redis with backups: the count goes
    /// on across a restart of the app node and the death of the store node holding the session.
    @Test(.enabled(if: redisRunnable), arguments: [false, true])
    func sessionDataSurvivesAnAppNodeRestartAndAStoreNodeKill(sticky: Bool) async throws {
        try await StoreServerProcess.with(.redis()) { n1 in
            try await StoreServerProcess.with(.redis()) { n2 in
                let nodes = "\(AdapterContract.node(.redis(), "n1", n1.port)),\(AdapterContract.node(.redis(), "n2", n2.port))"
                let port = try FreePort.make()
                let xml = AdapterContract.xml(port: port, route: "vapor1", nodes: nodes, extra: #"sticky="\#(sticky)""#, app: "sample-session-data")
                let sample = SampleExecutable("VaporSample")
                var process = try await sample.startServing(xml, port: port)
                defer { process.terminate() }
                var cookie: String?
                func count(_ expected: Int) async throws -> RawHTTPClient.Response {
                    let response = try await AdapterContract.get(port, "/myapp/count", cookie: cookie)
                    #expect(response.fields["count"] == "\(expected)", "sticky=\(sticky): \(response.status) \(response.body)")
                    cookie = response.cookiePair ?? cookie
                    return response
                }
                for expected in 1...3 { _ = try await count(expected) }

                process.terminate()
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
                process = try await sample.startServing(xml, port: port)
                _ = try await count(4)

                let store = try #require(try await AdapterContract.get(port, "/myapp/read", cookie: cookie).fields["store"])
                (store == "n1" ? n1 : n2).kill()
                // The session moves to the other node with a new id (sticky: once its write to the
                // dead node has failed); Vapor's cookie carries the id updateSession returned.
                _ = try await count(5)
                _ = try await count(6)
                let other = store == "n1" ? "n2" : "n1"
                #expect(cookie?.contains("-\(other).vapor1") == true, "sticky=\(sticky): the backup carries the session to \(other): \(cookie ?? "no cookie")")
                _ = try await count(7)
            }
        }
    }
}
#endif
