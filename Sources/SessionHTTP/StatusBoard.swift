import SessionManager
import Synchronization

/// What a ``StatusApp`` page shows: the contexts of its server, and the node counters of the last
/// page view at least a second old, so that rates and percentiles cover the last interval (one
/// or two refreshes of the page) rather than the whole uptime.
public final class StatusBoard: Sendable {
    private struct State {
        var contexts: [MountedContext] = []
        var baseline: Sample?
        var latest: Sample?
    }

    /// Every node's counters at one moment, by context path.
    struct Sample {
        let time: ContinuousClock.Instant
        let nodes: [String: [SessionManager.NodeState]]
    }

    private let state = Mutex(State())

    init() {}

    /// Shows these contexts (the server's, handed over when it is made).
    func show(_ contexts: [MountedContext]) {
        let ordered = contexts.sorted { $0.path < $1.path }
        state.withLock { $0.contexts = ordered }
    }

    /// The contexts shown.
    var contexts: [MountedContext] { state.withLock { $0.contexts } }

    /// The contexts now, each with the counters of the interval since the baseline.
    func sample(now: ContinuousClock.Instant = .now) -> [StatusPage.Context] {
        let contexts = self.contexts
        let current = Sample(
            time: now,
            nodes: Dictionary(contexts.map { ($0.path, $0.sessions.manager.nodeAvailability) }, uniquingKeysWith: { first, _ in first })
        )
        let baseline = state.withLock { state -> Sample? in
            if let latest = state.latest, now - latest.time < .seconds(1) { return state.baseline }
            state.baseline = state.latest
            state.latest = current
            return state.baseline
        }
        let seconds = baseline.map { Self.seconds(now - $0.time) }
        return contexts.map { context in
            let manager = context.sessions.manager
            let earlier = baseline?.nodes[context.path] ?? []
            return StatusPage.Context(
                path: context.path.isEmpty ? "/" : context.path,
                nodes: (current.nodes[context.path] ?? []).map { node in
                    StatusPage.Node(node, since: earlier.first { $0.id == node.id }, seconds: seconds)
                },
                sessionsInMemory: manager.sessionsInMemoryCount,
                relocations: manager.relocationCount,
                takeovers: manager.takeoverCount,
                lockFailures: manager.lockCounters.failures,
                rejectedSessions: manager.rejectedSessionCount
            )
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
