import SessionTesting
import Testing

@testable import SessionManager

@Suite(.capturedLog) struct StoreNodeTests {
    @Test func memcachedForms() throws {
        #expect(try StoreNode.parseList("127.0.0.1:11211") == [StoreNode(id: nil, endpoint: .memcached(host: "127.0.0.1", port: 11211))])
        #expect(
            try StoreNode.parseList("n1:host1:11211, n2:host2:11212")
                == [
                    StoreNode(id: "n1", endpoint: .memcached(host: "host1", port: 11211)),
                    StoreNode(id: "n2", endpoint: .memcached(host: "host2", port: 11212)),
                ]
        )
        #expect(try StoreNode.parseList("n1:a:1 n2:b:2").count == 2, "msm also separates by spaces")
    }

    @Test func redisForms() throws {
        let plain = try StoreNode.parseList("redis://127.0.0.1")
        #expect(plain == [StoreNode(id: nil, endpoint: .redis(RedisURL(host: "127.0.0.1")))])
        let full = try RedisURL(parsing: "redis://app:s%40cret:x@cache.local:6380/3")
        #expect(full == RedisURL(host: "cache.local", port: 6380, database: 3, user: "app", password: "s@cret:x"))
        #expect(full.description == "redis://app:***@cache.local:6380/3", "the password is never printed")
        #expect(try RedisURL(parsing: "redis://:pw@h").password == "pw")
        #expect(try RedisURL(parsing: "redis://:pw@h").user == nil)
        let list = try StoreNode.parseList("n1:redis://a:6379,n2:redis://:pw@b:6380/1")
        #expect(list.map(\.id) == ["n1", "n2"])
    }

    @Test func clusterAndSentinelForms() throws {
        let cluster = try RedisClusterURL(parsing: "redis-cluster://app:s%40cret@a:7000+b:7001")
        #expect(cluster.seeds == [RedisAddress(host: "a", port: 7000), RedisAddress(host: "b", port: 7001)])
        #expect(cluster.user == "app" && cluster.password == "s@cret")
        #expect(cluster.description == "redis-cluster://app:***@a:7000+b:7001", "the password is never printed")
        #expect(cluster.server(RedisAddress(host: "c", port: 7002)) == RedisURL(host: "c", port: 7002, user: "app", password: "s@cret"))
        let sentinel = try RedisSentinelURL(parsing: "redis-sentinel://:pw@s1:26379+s2:26380/mymaster/3")
        #expect(sentinel.sentinels.map(\.port) == [26379, 26380])
        #expect(sentinel.masterName == "mymaster" && sentinel.database == 3 && sentinel.password == "pw")
        #expect(sentinel.description == "redis-sentinel://:***@s1:26379+s2:26380/mymaster/3")
        #expect(sentinel.master(RedisAddress(host: "m", port: 6379)) == RedisURL(host: "m", port: 6379, database: 3, password: "pw"))
        #expect(try RedisSentinelURL(parsing: "redis-sentinel://s1:26379/m").database == 0)
        let nodes = try StoreNode.parseList("n1:redis-cluster://a:1+b:2,n2:redis://c:3,n3:redis-sentinel://d:4/m")
        #expect(nodes.map(\.id) == ["n1", "n2", "n3"], "the forms mix: all are Redis")
        #expect(try StoreNode.parse("redis-cluster://a:1").id == nil)
    }

    @Test func tlsForms() throws {
        let single = try RedisURL(parsing: "rediss://app:pw@cache.example.com:6380/2")
        #expect(single == RedisURL(host: "cache.example.com", port: 6380, database: 2, user: "app", password: "pw", tls: true))
        #expect(single.description == "rediss://app:***@cache.example.com:6380/2")
        #expect(try RedisURL(parsing: "rediss://h").port == 6379, "the same default port as redis://")
        #expect(try RedisURL(parsing: "redis://h").tls == false)
        let cluster = try RedisClusterURL(parsing: "rediss-cluster://:pw@a:7000+b:7001")
        #expect(cluster.tls && cluster.description == "rediss-cluster://:***@a:7000+b:7001")
        #expect(cluster.server(RedisAddress(host: "10.0.0.9", port: 7005)).tls, "the addresses the cluster gives out are reached with TLS")
        let sentinel = try RedisSentinelURL(parsing: "rediss-sentinel://s1:26379/m")
        #expect(sentinel.tls && sentinel.master(RedisAddress(host: "m", port: 6379)).tls && sentinel.sentinel(sentinel.sentinels[0]).tls)
        #expect(sentinel.description == "rediss-sentinel://s1:26379/m")
        let memcached = try StoreNode.parseList("n1:memcacheds://a:11211,n2:memcached://b:11212,n3:c:11213")
        #expect(memcached.map(\.endpoint) == [.memcached(host: "a", port: 11211, tls: true), .memcached(host: "b", port: 11212), .memcached(host: "c", port: 11213)])
        #expect(memcached.map(\.endpoint.usesTLS) == [true, false, false])
        #expect(try StoreNode.parse("n1:rediss-cluster://a:1").endpoint.usesTLS)
        #expect(throws: SessionManagerError.self) { try StoreNode.parse("memcacheds://a:1/x") }
        #expect(throws: SessionManagerError.self) { try StoreNode.parse("memcacheds://a") }
    }

    @Test func sessionKeysShareTheRandomPartAsAHashTag() throws {
        let id = try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF-n1.route"))
        #expect(id.storeKey(prefix: "p_") == "p_{0123456789ABCDEF0123456789ABCDEF}-n1.route")
        let moved = try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF-n2"))
        #expect(moved.storeKey(prefix: "") == "{0123456789ABCDEF0123456789ABCDEF}-n2")
    }

    @Test(arguments: [
        "", "host", "host:0", "host:99999", "host:port", "n-1:host:1", ":1", "a:b:c:d", "n1:h:1,n1:h:2", "h:1,n2:h:2",
        "n1:h:1,n2:redis://h", "redis://", "redis://h:0", "redis://h/x", "redis://h/70000", "redis://:%zz@h", "bad id:redis://h",
        "redis-cluster://a", "redis-cluster://a:1+", "redis-sentinel://a:1", "redis-sentinel://a:1/", "redis-sentinel:///m",
        "n1:redis-cluster://a:1,n2:b:2", "redis-clustr://a:1",
    ])
    func invalidListsAreRejected(text: String) {
        #expect(throws: SessionManagerError.self) { try StoreNode.parseList(text) }
    }
}
