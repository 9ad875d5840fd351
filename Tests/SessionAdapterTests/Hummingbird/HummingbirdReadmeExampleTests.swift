#if HummingbirdSupport
import Hummingbird
import HummingbirdTesting
import Logging
import SessionHummingbird
import SessionManager
import SessionStores
import SessionTesting
import Testing

/// The README's Hummingbird app, as written there (the store's address aside), served live.
@Suite(.capturedLog) struct HummingbirdReadmeExampleTests {
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func theReadmeCounterCounts() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let logger = Logger(label: "counter")
            var configuration = ManagerConfiguration()
            configuration.memcachedNodes = try StoreNode.parseList("n1:redis://127.0.0.1:\(server.port)")
            configuration.sticky = false
            try configuration.validate()
            let manager = SessionManager(
                configuration: configuration,
                nodes: try SessionStores.makeNodes(for: configuration, logger: logger),
                jvmRoute: "node1",
                logger: logger
            )

            let router = Router(context: BasicClusterSessionRequestContext.self)
            router.add(middleware: ClusterSessionMiddleware(manager: manager))
            router.get("/count") { _, context -> String in
                let session = try await context.session()
                let count = session.update("count", default: 0) { (n: inout Int) -> Int in n += 1; return n }
                return "count=\(count)\n"
            }

            var app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
            app.addServices(manager)
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let first = try await RawHTTPClient.get(port: port, "/count")
                #expect(first.body == "count=1\n")
                let cookie = try #require(first.cookiePair)
                #expect(cookie.hasPrefix("JSESSIONID="))
                #expect(try await RawHTTPClient.get(port: port, "/count", headers: [("Cookie", cookie)]).body == "count=2\n")
            }
        }
    }
}
#endif
