import Synchronization

/// Connection pools a router stopped using (a Redis Cluster master gone from the slot map, a
/// Sentinel master replaced by a failover), shut down by the router's `run()` rather than by a
/// task of their own: every long-lived task of a store belongs to its `run()`, so nothing outlives
/// the store's service.
package final class RetiredPools<Reply: Sendable>: Sendable {
    private let pools = Mutex<[NodeConnectionPool<Reply>]>([])
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    package init() {
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Hands a pool over to be shut down.
    package func retire(_ pool: NodeConnectionPool<Reply>) {
        pools.withLock { $0.append(pool) }
        ring.yield()
    }

    /// Shuts the retired pools down as they come, until the task is cancelled or ``shutDownAll()``.
    package func run() async {
        for await _ in doorbell { await shutDownRetired() }
    }

    /// Shuts down every pool retired so far and ends ``run()``: the router's own shutdown.
    package func shutDownAll() async {
        ring.finish()
        await shutDownRetired()
    }

    private func shutDownRetired() async {
        for pool in pools.withLock({ pools in defer { pools = [] }; return pools }) { await pool.shutdown() }
    }
}
