#if VaporSupport
import NIOCore
import SessionHTTP
import Synchronization

/// The task executor of each event loop a middleware has seen (``EventLoopTaskExecutor``), made
/// once per loop: a request's task runs on its own event loop, as the bundled server's do.
final class EventLoopExecutors: Sendable {
    private let executors = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])

    func executor(for eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        let key = ObjectIdentifier(eventLoop)
        return executors.withLock { executors in
            if let executor = executors[key] { return executor }
            let executor = EventLoopTaskExecutor(eventLoop: eventLoop)
            executors[key] = executor
            return executor
        }
    }
}
#endif
