import Logging
import MemcachedSessionStore
import RedisSessionStore
import SessionHTTP
import SessionManager
import SessionSampleApp
import SessionTesting
import Testing

/// A request runs on its connection's event loop and its store commands use that loop's store
/// connection, so no command costs a thread hop: counted, not assumed.
@Suite(.capturedLog) struct StoreEventLoopTests {
    func countRequests(store: any SessionStore, port: Int) async throws {
        let cookie = try #require(try await RawHTTPClient.get(port: port, "/myapp/count").cookiePair)
        try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
            for _ in 0..<100 {
                #expect(try await client.get("/myapp/count", headers: [("Cookie", cookie)]).status == 200)
                #expect(try await client.get("/myapp/read", headers: [("Cookie", cookie)]).status == 200)
            }
        }
    }

    func serve(_ store: any SessionStore, _ body: @Sendable (Int) async throws -> Void) async throws {
        var configuration = try SampleServer.defaultConfiguration(port: 0)
        // Non-sticky: every request reads the store. (Sticky mode hands a busy session's later
        // writes to the background work, which may run off the loop by design.)
        configuration.contexts[0].manager.sticky = false
        let server = try SampleServer.makeServer(configuration: configuration, stores: { _ in store }, logger: Logger(label: "test"))
        try await LiveServer.with(server, body)
    }

    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable, "redis-server needed"))
    func redisCommandsOfRequestsNeverHop() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let store = RedisSessionStore(url: RedisURL(host: "127.0.0.1", port: server.port))
            try await serve(store) { port in
                try await countRequests(store: store, port: port)
                #expect(store.commandsFromOtherThreads == 0)
                // The counter can move: a caller on the cooperative pool hops.
                _ = try await store.getAndTouch("sm:none", ttl: .seconds(1))
                #expect(store.commandsFromOtherThreads == 1)
            }
        }
    }

    @Test(.enabled(if: StoreServerProcess.Kind.memcached().isRunnable, "memcached needed"))
    func memcachedCommandsOfRequestsNeverHop() async throws {
        try await StoreServerProcess.with(.memcached()) { server in
            let store = MemcachedSessionStore(host: "127.0.0.1", port: server.port)
            try await serve(store) { port in
                try await countRequests(store: store, port: port)
                #expect(store.commandsFromOtherThreads == 0)
                _ = try await store.getAndTouch("sm:none", ttl: .seconds(1))
                #expect(store.commandsFromOtherThreads == 1)
            }
        }
    }
}
