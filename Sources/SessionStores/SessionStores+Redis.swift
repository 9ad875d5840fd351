import Logging
import NIOCore
import RedisSessionStore
import SessionManager
import SessionStoreNIO

extension SessionStores {
    /// The Redis store for a Redis endpoint (one server, a cluster, or a Sentinel-watched master).
    static func makeRedis(
        _ endpoint: StoreNode.Endpoint,
        client: StoreClientConfiguration,
        replicas: Int,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) throws -> any SessionStore {
        switch endpoint {
        case .redis(let url):
            RedisSessionStore(url: url, configuration: client, replicaAcknowledgements: replicas, eventLoopGroup: eventLoopGroup, logger: logger)
        case .redisCluster(let url):
            RedisSessionStore(cluster: url, configuration: client, replicaAcknowledgements: replicas, eventLoopGroup: eventLoopGroup, logger: logger)
        case .redisSentinel(let url):
            RedisSessionStore(sentinel: url, configuration: client, replicaAcknowledgements: replicas, eventLoopGroup: eventLoopGroup, logger: logger)
        case .memcached:
            throw SessionManagerError(.invalidConfiguration, "not a Redis node")
        }
    }
}
