import NIOCore
import Synchronization

/// The server's end in two steps (SIGTERM): first it **drains** (keeps accepting, answers every
/// request with `Connection: close`, and its sticky managers write every change before its answer
/// and finish the writes after earlier answers), then it **stops accepting** and closes its
/// connections as they go idle.
///
/// Why this order: behind a balancer that retries on another node (nginx `proxy_next_upstream`),
/// the user's next request goes to the other node as soon as this one refuses connections. If it
/// refused at once, a change answered just before the SIGTERM could still be on its way to the
/// store (sticky mode writes after the answer), and the other node would read the copy before it:
/// a lost update. While the node drains, the user's requests still reach it, and once it refuses,
/// the store has everything it answered.
final class ServerDrain: Sendable {
    private let draining = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    /// Completed when the listener is closed: the connections then close as they go idle.
    private let stopped: EventLoopPromise<Void>

    init(eventLoop: any EventLoop) {
        self.stopped = eventLoop.makePromise(of: Void.self)
    }

    deinit {
        finish()
    }

    /// Whether the server drains or has stopped accepting: answers close their connections.
    var isDraining: Bool { draining.load(ordering: .relaxed) }

    func begin() { draining.store(true, ordering: .relaxed) }

    /// The listener is closed (said once; later calls do nothing).
    func finish() {
        draining.store(true, ordering: .relaxed)
        if !finished.exchange(true, ordering: .acquiringAndReleasing) { stopped.succeed(()) }
    }

    /// Runs `body` once the listener is closed (at once if it already is).
    func whenStopped(_ body: @escaping @Sendable () -> Void) {
        stopped.futureResult.whenComplete { _ in body() }
    }
}
