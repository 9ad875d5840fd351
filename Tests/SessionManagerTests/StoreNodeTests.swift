import Testing

@testable import SessionManager

@Suite struct StoreNodeTests {
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

    @Test(arguments: [
        "", "host", "host:0", "host:99999", "host:port", "n-1:host:1", ":1", "a:b:c:d", "n1:h:1,n1:h:2", "h:1,n2:h:2",
        "n1:h:1,n2:redis://h", "redis://", "redis://h:0", "redis://h/x", "redis://h/70000", "redis://:%zz@h", "bad id:redis://h",
    ])
    func invalidListsAreRejected(text: String) {
        #expect(throws: SessionManagerError.self) { try StoreNode.parseList(text) }
    }
}
