import Logging
import MemcachedSessionStore
import NIOCore
import NIOPosix
import SessionManager
import SessionStoreNIO

/// Builds the stores a `<Manager>` asks for: the memory store without `memcachedNodes`, memcached
/// for `host:port` and `memcacheds://` nodes, Redis for `redis[s]://`, `redis[s]-cluster://` and
/// `redis[s]-sentinel://` nodes, with the context's TLS settings and memcached login.
///
/// Kept apart from the core so that a user of `SessionManager` alone links no store client.
public enum SessionStores {
    /// The nodes of one context, in configuration order: one memory store without
    /// `memcachedNodes` (or with `enabled="false"`), one memcached or Redis store per node otherwise,
    /// marked as failover nodes as `failoverNodes` says.
    public static func makeNodes(
        for manager: ManagerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws -> [SessionStoreNode] {
        guard manager.enabled, !manager.memcachedNodes.isEmpty else { return [SessionStoreNode(id: nil, store: MemorySessionStore())] }
        let client = StoreClientConfiguration(operationTimeout: manager.operationTimeout, tls: manager.tls)
        let credentials = manager.username.flatMap { username in
            manager.password.map { MemcachedCredentials(username: username, password: $0) }
        }
        return try manager.memcachedNodes.map { node in
            let store: any SessionStore
            switch node.endpoint {
            case .memcached(let host, let port, let tls):
                store = MemcachedSessionStore(
                    host: host, port: port, tls: tls, credentials: credentials, configuration: client, eventLoopGroup: eventLoopGroup, logger: logger
                )
            case .redis, .redisCluster, .redisSentinel:
                store = try makeRedis(node.endpoint, client: client, replicas: manager.waitForReplicas, eventLoopGroup: eventLoopGroup, logger: logger)
            }
            return SessionStoreNode(id: node.id, store: store, isFailover: node.id.map(manager.failoverNodes.contains) ?? false)
        }
    }

    /// The store of a context with at most one node.
    /// - Throws: ``SessionManagerError`` with `.invalidConfiguration` for several nodes (use
    ///   ``makeNodes(for:eventLoopGroup:logger:)``).
    public static func make(
        for manager: ManagerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws -> any SessionStore {
        guard manager.memcachedNodes.count <= 1 else {
            throw SessionManagerError(.invalidConfiguration, "several store nodes: use SessionStores.makeNodes(for:)")
        }
        return try makeNodes(for: manager, eventLoopGroup: eventLoopGroup, logger: logger)[0].store
    }
}
