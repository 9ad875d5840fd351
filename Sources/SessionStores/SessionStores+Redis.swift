import Logging
import NIOCore
import RedisSessionStore
import SessionManager
import SessionStoreNIO

extension SessionStores {
    static func makeRedis(_ url: RedisURL, client: StoreClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) throws -> any SessionStore {
        RedisSessionStore(url: url, configuration: client, eventLoopGroup: eventLoopGroup, logger: logger)
    }
}
