import NIOCore
import SessionManager

/// Where a ``RedisSessionStore`` sends a command: one server, the master of a key's slot in a
/// Redis Cluster, or the master Sentinel names. The store builds commands and reads replies; a
/// routing finds the server, follows what the topology does (redirects, failovers), and says
/// whether a failure means the node is down.
protocol RedisRouting: Sendable {
    /// Sends one command about `key` and returns its reply (a Redis error reply is returned, not
    /// thrown, except the redirections and role errors the routing handles itself).
    func send(_ command: ByteBuffer, key: String) async throws -> RedisValue
    /// Sends commands about `key` (all of one slot) back to back on one connection; replies in order.
    func send(_ commands: [ByteBuffer], key: String) async throws -> [RedisValue]
    /// Connects at start (throws for a configuration that can never work), then keeps the
    /// connections (and any topology watch) until cancelled.
    func run() async throws
    /// Closes every connection.
    func shutdown() async
    /// Commands sent from a thread other than their connection's event loop.
    var commandsFromOtherThreads: Int { get }
    /// Ends any reconnect backoff, so that the next command tries the server at once (see
    /// ``SessionStore/probe(key:)``).
    func retryNow()
    /// Sends the reachability of the server to `observer` (see ``ReportsReachability``).
    func reportReachability(to observer: any StoreReachabilityObserver)
    /// The server to subscribe to `channel` on: the one server, the master of the channel's slot
    /// (a cluster forwards publications to every node), or the master Sentinel names now.
    func subscriptionServer(for channel: String) async throws -> RedisURL
}

extension RedisRouting {
    /// A routing that follows a topology reconnects as the topology says.
    func retryNow() {}
    /// A routing over several servers judges their reachability itself.
    func reportReachability(to observer: any StoreReachabilityObserver) {}
}
