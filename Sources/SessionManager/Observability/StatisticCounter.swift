import CoreMetrics
import Synchronization

/// A statistic that is both read in this process (``SessionManager``'s public counters, the status
/// page) and exported through swift-metrics: one call counts both, so no event site keeps an
/// atomic and a metric side by side.
///
/// The in-process count is kept whatever the metrics backend is, or none (`enableStatistics="false"`
/// silences only the export).
final class StatisticCounter: Sendable {
    private let count = Atomic<Int>(0)
    private let exported: Counter

    init(_ exported: Counter) {
        self.exported = exported
    }

    @inline(__always)
    func increment() {
        count.add(1, ordering: .relaxed)
        exported.increment()
    }

    /// The count so far.
    var value: Int { count.load(ordering: .relaxed) }
}
