import NIOCore

/// A command written into a channel whose pipeline ends in a ``PipelineHandler``: the encoded
/// bytes, the promise of its reply, and its deadline. ``StoreConnection`` does not use it (it
/// hands commands to the handler directly on its event loop); it is the way in for code that only
/// has the channel, as tests on an `EmbeddedChannel` do.
package struct PendingCommand<Reply: Sendable>: Sendable {
    /// The encoded command.
    package var bytes: ByteBuffer
    /// Completed with the reply, or failed.
    package var promise: EventLoopPromise<Reply>
    /// When the command times out.
    package var deadline: NIODeadline

    /// Creates a command.
    package init(bytes: ByteBuffer, promise: EventLoopPromise<Reply>, deadline: NIODeadline) {
        self.bytes = bytes
        self.promise = promise
        self.deadline = deadline
    }
}
