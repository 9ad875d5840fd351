/// A Redis master watched by Sentinel as one store node:
/// `redis-sentinel://[[user]:password@]host:port[+host:port…]/<masterName>[/<db>]`.
///
/// `rediss-sentinel://…` reaches the sentinels and the master over TLS.
///
/// The addresses are the sentinels', asked for the current master of `masterName`; the login is the
/// master's (sentinels are asked without one).
public struct RedisSentinelURL: Sendable, Hashable, CustomStringConvertible {
    /// The sentinels, in configuration order.
    public var sentinels: [RedisAddress]
    /// The name the sentinels monitor the master under.
    public var masterName: String
    /// Database number for SELECT on the master. Default 0.
    public var database: Int
    /// ACL user name on the master, if any.
    public var user: String?
    /// Password for AUTH on the master, if any.
    public var password: String?
    /// Whether the sentinels and the master are reached over TLS (`rediss-sentinel://`). Default `false`.
    public var tls: Bool

    /// Creates a value.
    public init(sentinels: [RedisAddress], masterName: String, database: Int = 0, user: String? = nil, password: String? = nil, tls: Bool = false) {
        self.tls = tls
        self.sentinels = sentinels
        self.masterName = masterName
        self.database = database
        self.user = user
        self.password = password
    }

    static let form = "redis[s]-sentinel://[[user]:password@]host:port[+host:port…]/<masterName>[/<db>]"

    /// Parses `redis-sentinel://…`; throws a message saying what is wrong.
    public init(parsing text: String) throws {
        let parts = try RedisURLParts(text, scheme: "redis-sentinel", form: Self.form)
        let pieces = parts.rest.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2 || pieces.count == 3 else {
            throw SessionManagerError(.invalidConfiguration, "'\(text)' needs the master's name after the sentinels; expected \(Self.form)")
        }
        let name = pieces[1]
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw SessionManagerError(.invalidConfiguration, "'\(text)': the master name must be non-empty printable ASCII; expected \(Self.form)")
        }
        self.init(
            sentinels: try RedisURLParts.addresses(pieces[0], form: Self.form),
            masterName: String(name),
            database: pieces.count == 3 ? try RedisURLParts.database(pieces[2]) : 0,
            user: parts.user,
            password: parts.password,
            tls: parts.tls
        )
    }

    /// The login for the master at `address`.
    public func master(_ address: RedisAddress) -> RedisURL {
        RedisURL(host: address.host, port: address.port, database: database, user: user, password: password, tls: tls)
    }

    /// A sentinel at `address` (asked without a login, over TLS if the master is).
    public func sentinel(_ address: RedisAddress) -> RedisURL {
        RedisURL(host: address.host, port: address.port, tls: tls)
    }

    public var description: String {
        RedisURLParts.describe(scheme: "redis-sentinel", tls: tls, user: user, password: password) + sentinels.map(\.description).joined(separator: "+")
            + "/\(masterName)" + (database != 0 ? "/\(database)" : "")
    }
}
