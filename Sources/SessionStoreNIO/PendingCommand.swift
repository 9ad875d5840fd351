import NIOCore

/// A command on its way to a ``PipelineHandler``: the encoded bytes, the promise of its reply,
/// and its deadline.
public struct PendingCommand<Reply: Sendable>: Sendable {
    /// The encoded command.
    public var bytes: ByteBuffer
    /// Completed with the reply, or failed.
    public var promise: EventLoopPromise<Reply>
    /// When the command times out.
    public var deadline: NIODeadline

    /// Creates a command.
    public init(bytes: ByteBuffer, promise: EventLoopPromise<Reply>, deadline: NIODeadline) {
        self.bytes = bytes
        self.promise = promise
        self.deadline = deadline
    }
}
