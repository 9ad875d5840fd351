import NIOCore

/// One open connection to a store node, with a ``PipelineHandler`` at the end of its pipeline.
public struct StoreConnection<Reply: Sendable>: Sendable {
    /// The channel.
    public let channel: any Channel

    /// Wraps a channel whose pipeline ends in `PipelineHandler<Reply>`.
    public init(channel: any Channel) { self.channel = channel }

    /// Sends one command and waits for its reply, at most `timeout`.
    public func send(_ bytes: ByteBuffer, timeout: Duration) async throws -> Reply {
        let promise = channel.eventLoop.makePromise(of: Reply.self)
        let command = PendingCommand(bytes: bytes, promise: promise, deadline: .now() + TimeAmount(timeout))
        // Not flushed here: the PipelineHandler flushes once per event-loop tick for all the
        // commands written in it (automatic pipelining).
        channel.write(command).whenFailure { error in
            // Closed before the handler saw it; completing twice is a no-op in NIO.
            promise.fail(error as? StoreClientError ?? StoreClientError(.connectionClosed, "write failed: \(error)"))
        }
        return try await promise.futureResult.get()
    }
}
