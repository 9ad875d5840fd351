#if HummingbirdSupport
import Foundation
import SessionTesting
import Testing

/// `Samples/cluster/run-local.sh hummingbird-redis`: two Redis, two HummingbirdSample processes and
/// real nginx round-robin; a client that keeps its cookie counts through nginx while the store node
/// holding its session, then an app node, is SIGKILLed.
@Suite(.capturedLog, .serialized) struct HummingbirdClusterWalkthroughTests {
    @Test(.enabled(if: LocalCluster.isRunnable(tools: ["nginx", "redis-server"])))
    func theSessionSurvivesAStoreNodeAndAnAppNodeDying() async throws {
        try await LocalCluster.with("hummingbird-redis", samples: ["HUMMINGBIRD_SAMPLE": try HummingbirdProcess.executable().path]) { cluster in
            let client = LocalCluster.Client(port: cluster.nginxPort)
            let first = try await client.counts(20, from: 1)
            #expect(first.routes == ["node1", "node2"], "round-robin: both Hummingbird nodes serve the one session")
            let store = try #require(first.stores.last)
            try await cluster.run("kill", store)
            let second = try await client.counts(20, from: 21)
            #expect(second.stores.last != store, "the session moved off the dead store node")
            try await cluster.run("kill", "node1")
            let third = try await client.counts(20, from: 41)
            #expect(third.routes == ["node2"])
        }
    }
}
#endif
