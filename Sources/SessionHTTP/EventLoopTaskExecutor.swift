import NIOCore

/// Runs a task's jobs on one NIO event loop.
///
/// A connection's task is given its channel's event loop as executor preference, so reading a
/// request from the channel and writing the response back never hop to another thread: with two
/// cores that hop (and waking the cooperative pool) costs more than the rest of a small request.
/// Work that blocks must not run here; the apps and stores are async and non-blocking.
///
/// Public so that other code can run tasks the way the server runs requests (the store client
/// benchmark does): `Task(executorPreference: EventLoopTaskExecutor(eventLoop: loop)) { … }`.
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the only stored property is an immutable EventLoop reference, which is Sendable.
    private let eventLoop: any EventLoop

    /// An executor running jobs on `eventLoop`.
    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
