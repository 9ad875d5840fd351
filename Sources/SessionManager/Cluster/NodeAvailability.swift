import CoreMetrics
import Logging
import Synchronization

/// Whether a store node answers, as the last operations on it found (msm's node availability
/// cache, without its per-decision probe).
///
/// An operation that fails because the node cannot be reached or timed out marks it down; any
/// operation that works marks it up. While a node is down, requests do not send it commands (new
/// sessions go elsewhere, sessions on it are read from their backups) and the manager probes it in
/// the background, at most once per ``probeInterval`` (``SessionManager/run()``), so its return is
/// noticed without a request paying for the probe. Each transition is logged once.
///
/// It is the manager's one notion of a node being down: the storage reports every command's
/// outcome here, and the node's store reports its connection attempts here
/// (``StoreReachabilityObserver``). A context's single node without id has no alternative to
/// route to: its going down is the context's store outage, said as such (``Announcements/soleNode(sticky:)``).
final class NodeAvailability: StoreReachabilityObserver {
    /// What a transition logs.
    struct Announcements: Sendable {
        let down: Logger.Message
        let back: Logger.Message

        /// One of several nodes.
        static let oneOfSeveral = Announcements(
            down: "store node unavailable: its sessions are read from their backups and new sessions go to other nodes until it answers again",
            back: "store node available again"
        )

        /// The context's only node: requests that need the store fail (`503`) meanwhile, except
        /// that sticky sessions are served from memory.
        static func soleNode(sticky: Bool) -> Announcements {
            let consequence = sticky
                ? "sessions kept in memory are served from there and written once it answers; others fail (503)"
                : "requests that need a session fail (503)"
            return Announcements(down: "session store unavailable: \(consequence) until it answers again", back: "session store available again")
        }
    }

    /// The least time between two probes of a down node.
    static let probeInterval = Duration.seconds(1)

    private let up = Atomic<Bool>(true)
    /// When the node was last found not answering (nanoseconds after ``epoch``): an answer to a
    /// command sent before that is older news and does not mark it up again.
    private let lastFailure = Atomic<Int>(Int.min)
    private let name: String
    /// The reference of the times above.
    private static let epoch = ContinuousClock.now
    private let metrics: NodeMetrics
    private let logger: Logger
    private let announcements: Announcements

    init(name: String, metrics: NodeMetrics, logger: Logger, announcements: Announcements = .oneOfSeveral) {
        self.name = name
        self.metrics = metrics
        self.logger = logger
        self.announcements = announcements
    }

    /// `true` unless the last operation on the node failed for want of an answer.
    var isUp: Bool { up.load(ordering: .relaxed) }

    /// How many times the node went down or came back (a statistic for operators).
    var transitionCount: Int { metrics.wentDown.value + metrics.cameBack.value }

    /// An operation sent at `start` worked. One atomic load when the node was already up.
    ///
    /// A node killed under load fails some of its commands while the answers to others, sent a
    /// moment earlier, are still being read: such an answer, completed after the failure, must not
    /// mark the node up again (for a moment a write whose node had just died found its node "up",
    /// was not moved to the other node, and answered 503 in the soak test).
    @inline(__always)
    func worked(startedAt start: ContinuousClock.Instant) {
        guard !up.load(ordering: .relaxed) else { return }
        guard (start - Self.epoch).nanosecondCount >= lastFailure.load(ordering: .acquiring) else { return }
        if up.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            metrics.cameBack.increment()
            logger.notice(announcements.back, metadata: ["sm.node": "\(name)"])
        }
    }

    /// An operation failed because the node could not be reached or timed out.
    func failed(_ error: any Error) {
        lastFailure.store((ContinuousClock.now - Self.epoch).nanosecondCount, ordering: .releasing)
        if up.compareExchange(expected: true, desired: false, ordering: .relaxed).exchanged {
            metrics.wentDown.increment()
            logger.warning(announcements.down, metadata: ["sm.node": "\(name)", "sm.error": "\(error)"])
        }
    }

    // MARK: The store's connections report here (StoreReachabilityObserver)

    func reachable(attemptStartedAt attemptStart: ContinuousClock.Instant) { worked(startedAt: attemptStart) }

    func unreachable(_ error: any Error) { failed(error) }
}
