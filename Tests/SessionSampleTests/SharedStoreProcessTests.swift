import Foundation
import SessionTesting
import Testing

/// End to end: two sample processes on different ports share one real store, so a session made
/// on one is continued on the other — what a cluster behind a load balancer relies on.
@Suite(.capturedLog) struct SharedStoreProcessTests {
    /// Starts the sample with a configuration and waits until it serves.
    static func startSample(port: Int, route: String, nodes: String, extra: String = "") async throws -> Process {
        try await SampleProcessTests.startServing(
            """
            <Server>
              <Connector port="\(port)" address="127.0.0.1"/>
              <Engine jvmRoute="\(route)">
                <Context path="/myapp" app="sample"><Manager memcachedNodes="\(nodes)" sticky="false" \(extra)/></Context>
              </Engine>
            </Server>
            """,
            port: port
        )
    }

    func sessionMovesBetweenProcesses(
        _ kind: StoreServerProcess.Kind,
        tls: StoreServerProcess.TLS? = nil,
        memcachedLogin: String? = nil,
        extra: String = "",
        nodes: (Int) -> String
    ) async throws {
        try await StoreServerProcess.with(kind, tls: tls, memcachedLogin: memcachedLogin) { store in
            try await sessionMovesBetweenProcesses(nodes: nodes(store.port), extra: extra) { try await store.sessionCommandCount() }
        }
    }

    /// Two sample processes on the store nodes `nodes`: a session made on one is continued on the
    /// other, and a read costs one store command (`commands()` counts them on the servers).
    func sessionMovesBetweenProcesses(nodes: String, extra: String, commands: () async throws -> Int) async throws {
        let portA = try FreePort.make(), portB = try FreePort.make()
        let a = try await Self.startSample(port: portA, route: "node1", nodes: nodes, extra: extra)
        defer { a.terminate() }
        let b = try await Self.startSample(port: portB, route: "node2", nodes: nodes, extra: extra)
        defer { b.terminate() }

        let first = try await RawHTTPClient.get(port: portA, "/myapp/count")
        #expect(first.fields["count"] == "1")
        let cookie = try #require(first.cookiePair)
        let second = try await RawHTTPClient.get(port: portB, "/myapp/count", headers: [("Cookie", cookie)])
        #expect(second.fields["count"] == "2", "node2 continued node1's session")
        #expect(second.fields["id"] == first.fields["id"])
        #expect(second.fields["route"] == "node2")
        #expect(second.cookiePair == nil, "same id: no new cookie")
        let before = try await commands()
        let read = try await RawHTTPClient.get(port: portA, "/myapp/read", headers: [("Cookie", cookie)])
        #expect(read.fields["count"] == "2", "node1 sees node2's write")
        #expect(try await commands() - before == 1, "a read costs one store command")
    }

    @Test(.enabled(if: StoreServerProcess.Kind.memcached().isRunnable, "\(StoreServerProcess.Kind.memcached().installHint)"))
    func memcachedKeepsASessionAcrossTwoProcesses() async throws {
        try await sessionMovesBetweenProcesses(.memcached()) { "n1:127.0.0.1:\($0)" }
    }
}

extension SharedStoreProcessTests {
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable, "\(StoreServerProcess.Kind.redis().installHint)"))
    func redisKeepsASessionAcrossTwoProcesses() async throws {
        try await sessionMovesBetweenProcesses(.redis()) { "redis://127.0.0.1:\($0)" }
    }

    /// `rediss://` to `redis-server --port 0 --tls-port`, trusting the test CA (`tlsCAFile`).
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable && TestCertificates.isRunnable, "\(StoreServerProcess.Kind.redis().installHint)"))
    func redisOverTLSKeepsASessionAcrossTwoProcesses() async throws {
        let certificates = try await TestCertificates.shared()
        try await sessionMovesBetweenProcesses(.redis(), tls: .init(certificates: certificates), extra: #"tlsCAFile="\#(certificates.caFile)""#) {
            "rediss://127.0.0.1:\($0)"
        }
    }

    /// `memcacheds://` to `memcached -Z`, with a login (`memcached -Y`, msm's username and password).
    @Test(.enabled(if: StoreServerProcess.Kind.memcached().isRunnable && TestCertificates.isRunnable, "\(StoreServerProcess.Kind.memcached().installHint)"))
    func memcachedOverTLSWithALoginKeepsASessionAcrossTwoProcesses() async throws {
        let certificates = try await TestCertificates.shared()
        try await sessionMovesBetweenProcesses(
            .memcached(),
            tls: .init(certificates: certificates),
            memcachedLogin: "app:s3cret",
            extra: #"tlsCAFile="\#(certificates.caFile)" username="app" password="s3cret""#
        ) { "memcacheds://127.0.0.1:\($0)" }
    }

    /// `rediss-cluster://` to a Redis Cluster with `--tls-cluster yes`: the masters' addresses
    /// from its slot map are reached with TLS. Counted on the masters (a replica replays writes).
    @Test(.enabled(if: RedisTestCluster.isRunnable && TestCertificates.isRunnable))
    func aRedisClusterOverTLSKeepsASessionAcrossTwoProcesses() async throws {
        let certificates = try await TestCertificates.shared()
        let cluster = try await RedisTestCluster.start(masters: 3, tls: .init(certificates: certificates))
        do {
            try await sessionMovesBetweenProcesses(nodes: cluster.url, extra: #"tlsCAFile="\#(certificates.caFile)""#) {
                var total = 0
                for node in cluster.nodes { total += try await node.sessionCommandCount() }
                return total
            }
            await cluster.shutdown()
        } catch {
            await cluster.shutdown()
            throw error
        }
    }

    /// `rediss-sentinel://`: the sentinels and the master over TLS. Counted on the master.
    @Test(.enabled(if: RedisTestSentinels.isRunnable && TestCertificates.isRunnable))
    func aSentinelGroupOverTLSKeepsASessionAcrossTwoProcesses() async throws {
        let certificates = try await TestCertificates.shared()
        let group = try await RedisTestSentinels.start(tls: .init(certificates: certificates))
        do {
            try await sessionMovesBetweenProcesses(nodes: group.url, extra: #"tlsCAFile="\#(certificates.caFile)""#) {
                try await group.servers[0].sessionCommandCount()
            }
            await group.shutdown()
        } catch {
            await group.shutdown()
            throw error
        }
    }

    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable, "\(StoreServerProcess.Kind.redis().installHint)"))
    func aWrongRedisPasswordStopsTheSampleWithAClearError() async throws {
        try await StoreServerProcess.with(.redis(password: "right")) { store in
            let path = try SampleProcessTests.writeConfig(
                """
                <Server>
                  <Connector port="\(try FreePort.make())" address="127.0.0.1"/>
                  <Engine><Context path="/myapp" app="sample"><Manager memcachedNodes="redis://:wrong@127.0.0.1:\(store.port)"/></Context></Engine>
                </Server>
                """
            )
            let (status, stderr) = try SampleProcessTests.run(["--config", path])
            #expect(status != 0)
            #expect(stderr.contains("AUTH"), "\(stderr)")
            #expect(!stderr.contains("wrong@"), "the password is not printed")
        }
    }
}
