import Synchronization

/// Counters of one store node, kept by ``SessionStorage`` (plain counters for now: the
/// operability work exports them as metrics).
///
/// Relaxed atomics: each is a statistic read now and then, never a decision.
final class NodeStatistics: Sendable {
    private let loads = Atomic<Int>(0)
    private let writes = Atomic<Int>(0)
    private let backupWrites = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)

    /// A session (primary or backup copy) was read from the node.
    func loaded() { loads.add(1, ordering: .relaxed) }
    /// A session's primary copy was written to the node.
    func wrote() { writes.add(1, ordering: .relaxed) }
    /// A session's backup copy was written to the node.
    func wroteBackup() { backupWrites.add(1, ordering: .relaxed) }
    /// The node answered a command with a refusal (see ``StoreFailureKind/refused``).
    func refused() { refusals.add(1, ordering: .relaxed) }

    /// The counters now.
    var snapshot: (loads: Int, writes: Int, backupWrites: Int, refusedCommands: Int) {
        (loads.load(ordering: .relaxed), writes.load(ordering: .relaxed), backupWrites.load(ordering: .relaxed), refusals.load(ordering: .relaxed))
    }
}
