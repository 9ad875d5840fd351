import Synchronization

/// Store work that must not hold up a request: queued jobs (backup touches) run after the
/// response by ``SessionManager/run()`` with bounded concurrency, and ``run(_:timeout:)`` lets a
/// request wait for a job at most a while (backup writes with `sessionBackupAsync="false"`).
/// Every job runs in ``process()``: none outlives the manager's `run()`.
///
/// Bounded: when the queue holds ``capacity`` jobs (the stores cannot keep up, or the manager is
/// not running), the oldest jobs are dropped and counted. A dropped backup touch costs a session
/// its backup's extra time to live until its next write, never a request.
final class BackgroundWork: Sendable {
    typealias Job = @Sendable () async -> Void

    /// Jobs queued at most.
    static let capacity = 10_000
    /// Jobs run at once at most.
    static let concurrency = 64

    private let jobs: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    private let droppedJobs = Atomic<Int>(0)

    init() {
        (jobs, continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingNewest(Self.capacity))
    }

    /// Jobs dropped because the queue was full.
    var droppedCount: Int { droppedJobs.load(ordering: .relaxed) }

    /// Queues a job.
    func submit(_ job: @escaping Job) {
        if case .dropped = continuation.yield(job) { droppedJobs.add(1, ordering: .relaxed) }
    }

    /// Queues a job and waits for it at most `timeout`; after that it goes on unwaited. The job
    /// runs in ``process()`` (the manager's `run()`), like every other background job, so no
    /// task outlives the manager.
    func run(_ job: @escaping Job, timeout: Duration) async {
        let done = StopSignal()
        submit {
            await job()
            done.open()
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await done.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Runs queued jobs until the task is cancelled, then finishes the ones that already started.
    func process() async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await job in jobs {
                if running >= Self.concurrency {
                    await group.next()
                    running -= 1
                }
                group.addTask { await job() }
                running += 1
            }
        }
    }

    /// Ends ``process()`` once the queued jobs ran.
    func finish() {
        continuation.finish()
    }
}
