#if VaporSupport
import Logging
import SessionConfigXML
import SessionHTTP
import SessionManager
import SessionStores
import SessionTesting
import SessionVapor
import Testing
import Vapor
import VaporTesting

/// The README's Vapor app, as written there (the store's address aside), tested with Vapor's
/// testing library.
@Suite(.capturedLog) struct VaporReadmeExampleTests {
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func theReadmeCounterCounts() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let app = try await Application.make(.testing)
            var configuration = ManagerConfiguration()
            configuration.memcachedNodes = try StoreNode.parseList("n1:redis://127.0.0.1:\(server.port)")
            configuration.sticky = false
            try configuration.validate()
            let manager = SessionManager(
                configuration: configuration,
                nodes: try SessionStores.makeNodes(for: configuration, logger: app.logger),
                jvmRoute: "node1",
                logger: app.logger
            )
            app.lifecycle.use(SessionManagersLifecycle(managers: [manager]))  // runs it, stops it after the server

            app.grouped(ClusterSessionMiddleware(manager: manager)).get("count") { req async throws -> String in
                let session = try await req.clusterSession()  // loaded on first use, created if needed
                let count = session.update("count", default: 0) { (n: inout Int) -> Int in n += 1; return n }
                return "count=\(count)\n"
            }

            do {
                let tester = try app.testing()
                let first = try await tester.sendRequest(.GET, "count")
                #expect(first.body.string == "count=1\n")
                let cookie = try #require(first.headers.first(name: .setCookie)?.split(separator: ";").first.map(String.init))
                #expect(cookie.hasPrefix("JSESSIONID="))
                let second = try await tester.sendRequest(.GET, "count", headers: ["Cookie": cookie])
                #expect(second.body.string == "count=2\n")
                #expect(second.headers.first(name: .setCookie) == nil, "an unchanged id sends no cookie")
            } catch {
                try? await app.asyncShutdown()
                throw error
            }
            try await app.asyncShutdown()
        }
    }

    /// The README's lines for an app that keeps `req.session.data`, on the driver.
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func theReadmeSessionDataAppCountsOnTheDriver() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let app = try await Application.make(.testing)
            var manager = ManagerConfiguration(storageKeyPrefix: "sm:/:")
            manager.memcachedNodes = try StoreNode.parseList("n1:redis://127.0.0.1:\(server.port)")
            let configuration = ServerConfiguration(jvmRoute: "node1", contexts: [ContextConfiguration(path: "", app: "myapp", manager: manager)])

            let sessions = try ClusterSessions(configuration: configuration, logger: app.logger)
            app.lifecycle.use(sessions)
            app.sessions.use(.cluster(try sessions.driver(forContext: "/")))  // was: .memory or .redis
            app.sessions.configuration = try sessions.sessionsConfiguration(forContext: "/")
            app.middleware.use(app.sessions.middleware)

            app.get("count") { req -> String in
                let count = (req.session.data["count"].flatMap { Int($0) } ?? 0) + 1
                req.session.data["count"] = String(count)
                return "count=\(count)\n"
            }
            do {
                let tester = try app.testing()
                let first = try await tester.sendRequest(.GET, "count")
                #expect(first.body.string == "count=1\n")
                let setCookie = try #require(first.headers.first(name: .setCookie))
                #expect(setCookie.hasPrefix("JSESSIONID="))
                #expect(setCookie.contains("-n1.node1; Path=/; HttpOnly; SameSite=Lax"), "\(setCookie)")
                let cookie = String(setCookie.split(separator: ";")[0])
                let second = try await tester.sendRequest(.GET, "count", headers: ["Cookie": cookie])
                #expect(second.body.string == "count=2\n")
            } catch {
                try? await app.asyncShutdown()
                throw error
            }
            try await app.asyncShutdown()
        }
    }
}
#endif
