import Logging
import NIOCore
import SessionManager
import SessionStoreNIO

/// The routing to one Redis server: every command goes to its pool.
final class SingleRedisServer: RedisRouting {
    let url: RedisURL
    private let pool: NodeConnectionPool<RedisValue>

    init(url: RedisURL, tls: StoreTLSClient?, configuration: StoreClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.url = url
        self.pool = RedisServerConnector.pool(url, tls: tls, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    func reportReachability(to observer: any StoreReachabilityObserver) {
        pool.reportReachability(to: observer)
    }

    func send(_ command: ByteBuffer, key: String) async throws -> RedisValue {
        try await pool.send(command)
    }

    func send(_ commands: [ByteBuffer], key: String) async throws -> [RedisValue] {
        try await pool.send(commands)
    }

    var commandsFromOtherThreads: Int { pool.commandsFromOtherThreads }

    func retryNow() { pool.retryNow() }

    func subscriptionServer(for channel: String) async throws -> RedisURL { url }

    /// Opens one connection at start so that a wrong password or database stops the service with
    /// a clear error (an unreachable server is only logged: it may come up later); then keeps the
    /// connections until cancelled.
    func run() async throws {
        try await pool.runAfterCheckingAtStart(server: "Redis")
    }

    func shutdown() async {
        await pool.shutdown()
    }
}
