import SessionTesting
import Testing

/// The README's cluster walk-through with the adapter's nodes.
extension AdapterContract {
    /// `run-local.sh` with the adapter's variant: two Redis, two app nodes (at least one on the
    /// adapter's framework) and real nginx round-robin. A client that keeps its cookie counts
    /// through nginx while the store node holding its session, then app node 1, is SIGKILLed.
    func theSessionSurvivesAStoreNodeAndAnAppNodeDying() async throws {
        try await LocalCluster.with(clusterVariant, samples: try clusterSamples()) { cluster in
            let client = LocalCluster.Client(port: cluster.nginxPort)
            let first = try await client.counts(20, from: 1)
            #expect(first.routes == ["node1", "node2"], "round-robin: both app nodes serve the one session")
            let store = try #require(first.stores.last)
            try await cluster.run("kill", store)
            let second = try await client.counts(20, from: 21)
            #expect(second.stores.last != store, "the session moved off the dead store node")
            try await cluster.run("kill", "node1")
            let third = try await client.counts(20, from: 41)
            #expect(third.routes == ["node2"], "node2 goes on with the session")
        }
    }
}
