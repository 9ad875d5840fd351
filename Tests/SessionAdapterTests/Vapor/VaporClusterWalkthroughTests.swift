#if VaporSupport
import Foundation
import SessionTesting
import Testing

/// `Samples/cluster/run-local.sh vapor-redis`: two Redis, a VaporSample node and a SessionSample
/// node (the bundled server), real nginx round-robin: one cluster, two frameworks, one session. A
/// client that keeps its cookie counts through nginx while the store node holding its session, then
/// the Vapor node, is SIGKILLed.
@Suite(.capturedLog, .serialized) struct VaporClusterWalkthroughTests {
    @Test(.enabled(if: LocalCluster.isRunnable(tools: ["nginx", "redis-server"])))
    func oneSessionAcrossVaporAndTheBundledServerSurvivesAStoreNodeAndAnAppNodeDying() async throws {
        let samples = ["VAPOR_SAMPLE": try VaporProcess.executable().path, "SESSION_SAMPLE": try SampleExecutable("SessionSample").url().path]
        try await LocalCluster.with("vapor-redis", samples: samples) { cluster in
            let client = LocalCluster.Client(port: cluster.nginxPort)
            let first = try await client.counts(20, from: 1)
            #expect(first.routes == ["node1", "node2"], "round-robin: the Vapor node and the bundled node serve the one session")
            let store = try #require(first.stores.last)
            try await cluster.run("kill", store)
            let second = try await client.counts(20, from: 21)
            #expect(second.stores.last != store, "the session moved off the dead store node")
            try await cluster.run("kill", "node1")
            let third = try await client.counts(20, from: 41)
            #expect(third.routes == ["node2"], "the bundled node goes on with the Vapor node's session")
        }
    }
}
#endif
