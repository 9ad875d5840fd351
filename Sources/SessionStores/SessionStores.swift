import Logging
import MemcachedSessionStore
import NIOCore
import NIOPosix
import SessionManager
import SessionStoreNIO

/// Builds the store a `<Manager>` asks for: the memory store without `memcachedNodes`, memcached
/// for `host:port` nodes, Redis for `redis://` nodes.
///
/// Kept apart from the core so that a user of `SessionManager` alone links no store client.
public enum SessionStores {
    /// The store for one context.
    /// - Throws: ``SessionManagerError`` with `.invalidConfiguration` when the nodes cannot be served
    ///   (several nodes, before node failover exists).
    public static func make(
        for manager: ManagerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws -> any SessionStore {
        guard let node = manager.memcachedNodes.first else { return MemorySessionStore() }
        guard manager.memcachedNodes.count == 1 else {
            throw SessionManagerError(.invalidConfiguration, "several store nodes are not supported yet")
        }
        let client = StoreClientConfiguration(operationTimeout: manager.operationTimeout)
        switch node.endpoint {
        case .memcached(let host, let port):
            return MemcachedSessionStore(host: host, port: port, configuration: client, eventLoopGroup: eventLoopGroup, logger: logger)
        case .redis(let url):
            return try makeRedis(url, client: client, eventLoopGroup: eventLoopGroup, logger: logger)
        }
    }
}
