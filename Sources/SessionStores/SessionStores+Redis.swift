import Logging
import NIOCore
import SessionManager
import SessionStoreNIO

extension SessionStores {
    static func makeRedis(_ url: RedisURL, client: StoreClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) throws -> any SessionStore {
        throw SessionManagerError(.invalidConfiguration, "the Redis store is not built yet")
    }
}
