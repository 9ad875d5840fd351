import Foundation

/// One entry of msm's `memcachedNodes`: a store node with an optional id.
///
/// Accepted forms, separated by commas or spaces (as msm does):
/// `host:port` · `id:host:port` · `[id:]memcached://host:port` (memcached) ·
/// `[id:]memcacheds://host:port` (memcached over TLS, `memcached -Z`) · `[id:]redis://…` (one Redis
/// server) · `[id:]redis-cluster://…` (a Redis Cluster) · `[id:]redis-sentinel://…` (a master
/// Sentinel watches); each Redis form with `rediss` for TLS (`rediss://`, `rediss-cluster://`,
/// `rediss-sentinel://`).
/// Node ids (`[A-Za-z0-9_]{1,32}`) are what msm encodes in session ids; they are required when
/// there are several nodes, and must differ.
public struct StoreNode: Sendable, Hashable {
    /// Where the node is.
    public enum Endpoint: Sendable, Hashable {
        /// A memcached server, over TLS if `tls` (`memcacheds://`).
        case memcached(host: String, port: Int, tls: Bool = false)
        /// A Redis server.
        case redis(RedisURL)
        /// A Redis Cluster, found through its seed nodes.
        case redisCluster(RedisClusterURL)
        /// The master of a Redis replication group, found through its sentinels.
        case redisSentinel(RedisSentinelURL)

        /// Whether this is a Redis node of any form.
        public var isRedis: Bool {
            if case .memcached = self { return false }
            return true
        }

        /// Whether the node is reached over TLS (see ``StoreTLS``).
        public var usesTLS: Bool {
            switch self {
            case .memcached(_, _, let tls): tls
            case .redis(let url): url.tls
            case .redisCluster(let url): url.tls
            case .redisSentinel(let url): url.tls
            }
        }
    }

    /// The node id, if given.
    public var id: String?
    /// The server.
    public var endpoint: Endpoint

    /// Creates a node.
    public init(id: String?, endpoint: Endpoint) {
        self.id = id
        self.endpoint = endpoint
    }

    /// Parses a whole `memcachedNodes` value.
    /// - Throws: ``SessionManagerError`` with `.invalidConfiguration` and a message naming the bad entry.
    public static func parseList(_ text: String) throws -> [StoreNode] {
        let entries = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" })
        guard !entries.isEmpty else { throw SessionManagerError(.invalidConfiguration, "no nodes given") }
        let nodes = try entries.map { try parse(String($0)) }
        if let problem = problem(withList: nodes) { throw SessionManagerError(.invalidConfiguration, problem) }
        return nodes
    }

    /// Parses one entry.
    public static func parse(_ entry: String) throws -> StoreNode {
        if let scheme = entry.range(of: "://") {
            // `[id:]scheme://…`: the id, if any, is what precedes the last ':' before the scheme.
            let head = entry[..<scheme.lowerBound]
            let colon = head.lastIndex(of: ":")
            let name = String(colon.map { head[head.index(after: $0)...] } ?? head)
            let id = colon.map { String(head[..<$0]) }
            if let id { try checkID(id, entry) }
            let url = String(entry[(colon.map { head.index(after: $0) } ?? head.startIndex)...])
            switch name {
            case "redis", "rediss": return StoreNode(id: id, endpoint: .redis(try RedisURL(parsing: url)))
            case "redis-cluster", "rediss-cluster": return StoreNode(id: id, endpoint: .redisCluster(try RedisClusterURL(parsing: url)))
            case "redis-sentinel", "rediss-sentinel": return StoreNode(id: id, endpoint: .redisSentinel(try RedisSentinelURL(parsing: url)))
            case "memcached", "memcacheds":
                let address = url.dropFirst(name.count + 3)
                guard !address.contains("/") else {
                    throw SessionManagerError(.invalidConfiguration, "'\(entry)': a memcached node has no path; expected \(name)://host:port")
                }
                let (host, port) = try hostAndPort(address.split(separator: ":", omittingEmptySubsequences: false).map(String.init), entry)
                return StoreNode(id: id, endpoint: .memcached(host: host, port: port, tls: name == "memcacheds"))
            default:
                // Read as host:port these would start and fail on the first request (msm accepts
                // Couchbase `http://` URLs; we serve none).
                throw SessionManagerError(
                    .invalidConfiguration,
                    "'\(entry)': '\(name)://' nodes are not supported; use host:port or memcacheds://host:port (memcached), redis[s]://, redis[s]-cluster:// or redis[s]-sentinel://"
                )
            }
        }
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw SessionManagerError(.invalidConfiguration, "'\(entry)' is not host:port, id:host:port, [id:]memcacheds://host:port or [id:]redis[s]://…, [id:]redis[s]-cluster://…, [id:]redis[s]-sentinel://…")
        }
        let id = parts.count == 3 ? parts[0] : nil
        if let id { try checkID(id, entry) }
        let (host, port) = try hostAndPort(Array(parts.suffix(2)), entry)
        return StoreNode(id: id, endpoint: .memcached(host: host, port: port))
    }

    /// `[host, port]` of a memcached entry, checked.
    private static func hostAndPort(_ parts: [String], _ entry: String) throws -> (String, Int) {
        guard parts.count == 2 else { throw SessionManagerError(.invalidConfiguration, "'\(entry)' needs host:port") }
        let host = parts[0]
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw SessionManagerError(.invalidConfiguration, "'\(entry)' has no host")
        }
        guard let port = Int(parts[1]), (1...65_535).contains(port) else {
            throw SessionManagerError(.invalidConfiguration, "'\(entry)': port must be 1-65535")
        }
        return (host, port)
    }

    /// Parses msm's `failoverNodes` (ids separated by commas or spaces) against the node list.
    /// - Throws: ``SessionManagerError`` with `.invalidConfiguration` for an id not in `nodes`,
    ///   failover nodes with a single node, or every node a failover node (no node for new sessions).
    public static func parseFailoverList(_ text: String, nodes: [StoreNode]) throws -> [String] {
        let ids = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        if let problem = problem(withFailoverNodes: ids, of: nodes) { throw SessionManagerError(.invalidConfiguration, problem) }
        return ids
    }

    /// What is wrong with a node list as a whole (kinds mixed, ids missing or repeated), `nil` if nothing.
    static func problem(withList nodes: [StoreNode]) -> String? {
        guard Set(nodes.map(\.endpoint.isRedis)).count <= 1 else { return "nodes must all be Redis or all be memcached" }
        guard nodes.count > 1 else { return nil }
        guard nodes.allSatisfy({ $0.id != nil }) else { return "with several nodes each needs an id: n1:host:port,n2:host:port" }
        var seen = Set<String>()
        for id in nodes.compactMap(\.id) where !seen.insert(id).inserted {
            return "node id '\(id)' is given twice; node ids must differ"
        }
        return nil
    }

    /// What is wrong with failover node ids against the node list, `nil` if nothing.
    static func problem(withFailoverNodes ids: [String], of nodes: [StoreNode]) -> String? {
        guard !ids.isEmpty else { return nil }
        guard nodes.count > 1 else {
            return "failover nodes need several memcachedNodes; with a single node there is nothing to fail over to"
        }
        let known = nodes.compactMap(\.id)
        for id in ids where !known.contains(id) {
            return "failover node '\(id)' is not in memcachedNodes (\(known.joined(separator: ", ")))"
        }
        guard known.contains(where: { !ids.contains($0) }) else {
            return "every node is a failover node; new sessions need at least one node that is not"
        }
        return nil
    }

    private static func checkID(_ id: String, _ entry: String) throws {
        guard SessionID.isNodeID(id.utf8) else {
            throw SessionManagerError(.invalidConfiguration, "'\(entry)': node id '\(id)' must be 1-32 characters of A-Z a-z 0-9 _")
        }
    }
}
