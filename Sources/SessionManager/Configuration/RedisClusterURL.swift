/// A Redis Cluster as one store node: `redis-cluster://[[user]:password@]host:port[+host:port…]`,
/// or `rediss-cluster://…` over TLS (every node of the cluster, also those its slot map names).
///
/// The addresses are seeds: any one that answers gives the cluster's slot map (`CLUSTER SLOTS`),
/// from which every master is found. The login is used on every node of the cluster. Clusters have
/// no databases (always 0).
public struct RedisClusterURL: Sendable, Hashable, CustomStringConvertible {
    /// The seed nodes, in configuration order.
    public var seeds: [RedisAddress]
    /// ACL user name, if any.
    public var user: String?
    /// Password for AUTH on every cluster node, if any.
    public var password: String?
    /// Whether every node is reached over TLS (`rediss-cluster://`). Default `false`.
    public var tls: Bool

    /// Creates a value.
    public init(seeds: [RedisAddress], user: String? = nil, password: String? = nil, tls: Bool = false) {
        self.tls = tls
        self.seeds = seeds
        self.user = user
        self.password = password
    }

    static let form = "redis[s]-cluster://[[user]:password@]host:port[+host:port…]"

    /// Parses `redis-cluster://…`; throws a message saying what is wrong.
    public init(parsing text: String) throws {
        let parts = try RedisURLParts(text, scheme: "redis-cluster", form: Self.form)
        guard !parts.rest.contains("/") else {
            throw SessionManagerError(.invalidConfiguration, "'\(text)': a Redis Cluster has no database or path; expected \(Self.form)")
        }
        self.init(seeds: try RedisURLParts.addresses(parts.rest, form: Self.form), user: parts.user, password: parts.password, tls: parts.tls)
    }

    /// The login for a cluster node at `address`.
    public func server(_ address: RedisAddress) -> RedisURL {
        RedisURL(host: address.host, port: address.port, user: user, password: password, tls: tls)
    }

    public var description: String {
        RedisURLParts.describe(scheme: "redis-cluster", tls: tls, user: user, password: password) + seeds.map(\.description).joined(separator: "+")
    }
}
