import Logging
import NIOCore
import SessionManager
import SessionStoreNIO

/// The routing to one Redis server: every command goes to its pool.
final class SingleRedisServer: RedisRouting {
    let url: RedisURL
    private let pool: NodeConnectionPool<RedisValue>
    private let logger: Logger

    init(url: RedisURL, tls: StoreTLSClient?, configuration: StoreClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.url = url
        self.logger = logger
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

    /// Opens one connection at start so that a wrong password or database stops the service with
    /// a clear error (an unreachable server is only logged: it may come up later); then keeps the
    /// connections until cancelled.
    func run() async throws {
        do {
            _ = try await pool.connection()
        } catch let error as StoreClientError where error.failureKind == .refused {
            throw error
        } catch {
            logger.warning("Redis not reachable at start; commands fail until it is", metadata: ["sm.node": "\(url)", "sm.error": "\(error)"])
        }
        try await pool.run()
    }

    func shutdown() async {
        await pool.shutdown()
    }
}
