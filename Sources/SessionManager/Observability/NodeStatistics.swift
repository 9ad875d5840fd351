import CoreMetrics
import Synchronization

/// Counters of one store node, kept by ``SessionStorage``: read by ``SessionManager/nodeAvailability``
/// (the status page) and exported through swift-metrics (``NodeMetrics``).
///
/// Relaxed atomics: each is a statistic read now and then, never a decision.
final class NodeStatistics: Sendable {
    private let loads = Atomic<Int>(0)
    private let writes = Atomic<Int>(0)
    /// Latency of every operation (answered or not); their number is its count.
    let latency = LatencyHistogram()
    let metrics: NodeMetrics

    init(metrics: NodeMetrics) {
        self.metrics = metrics
    }

    /// A session (primary or backup copy) was read from the node.
    func loaded() { loads.add(1, ordering: .relaxed) }
    /// A session's primary copy was written to the node.
    func wrote() { writes.add(1, ordering: .relaxed) }
    /// A session's backup copy was written to the node.
    func wroteBackup() { metrics.backupWritten.increment() }
    /// A backup copy could not be written to the node.
    func backupFailed() { metrics.backupFailed.increment() }

    /// One operation ended after `nanoseconds`: answered, refused (see
    /// ``StoreFailureKind/refused``) or unanswered (unreachable, timed out).
    @inline(__always)
    func operation(nanoseconds: Int, outcome: Outcome) {
        latency.record(nanoseconds: nanoseconds)
        metrics.duration.recordNanoseconds(Int64(nanoseconds))
        switch outcome {
        case .answered: metrics.succeeded.increment()
        case .refused: metrics.refused.increment()
        case .unanswered: metrics.failed.increment()
        }
    }

    /// How an operation on the node ended.
    enum Outcome { case answered, refused, unanswered }

    /// The counters now.
    var snapshot: Snapshot {
        Snapshot(
            loads: loads.load(ordering: .relaxed),
            writes: writes.load(ordering: .relaxed),
            backupWrites: metrics.backupWritten.value,
            refusedCommands: metrics.refused.value,
            failedOperations: metrics.failed.value,
            latency: LatencySnapshot(buckets: latency.snapshot)
        )
    }

    /// The counters at one moment.
    struct Snapshot {
        let loads: Int
        let writes: Int
        let backupWrites: Int
        let refusedCommands: Int
        let failedOperations: Int
        let latency: LatencySnapshot
    }
}
