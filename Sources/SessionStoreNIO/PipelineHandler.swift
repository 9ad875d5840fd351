import NIOCore

/// Matches replies to commands on one pipelined connection, first in, first out, and enforces
/// each command's deadline.
///
/// A protocol decoder in front of it turns bytes into `Reply` values. When a command's deadline
/// passes, it fails with ``StoreClientError/Code/timeout`` and the **connection is closed**: the
/// late reply, if it ever comes, arrives on a dead socket and can never be matched to a later
/// command. Every other command still waiting fails with ``StoreClientError/Code/connectionClosed``.
/// A reply with no command waiting for it is a protocol error and closes the connection too.
public final class PipelineHandler<Reply: Sendable>: ChannelDuplexHandler {
    public typealias InboundIn = Reply
    public typealias OutboundIn = PendingCommand<Reply>
    public typealias OutboundOut = ByteBuffer

    private struct Waiting {
        let number: UInt64
        let promise: EventLoopPromise<Reply>
        let timer: Scheduled<Void>
    }

    private var waiting = CircularBuffer<Waiting>(initialCapacity: 8)
    private var nextNumber: UInt64 = 0
    private var closed = false

    /// Creates the handler.
    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        guard !closed else {
            command.promise.fail(StoreClientError(.connectionClosed, "connection is closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let number = nextNumber
        nextNumber += 1
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: command.deadline) {
            loopBound.value.timedOut(number, context: contextBound.value)
        }
        waiting.append(Waiting(number: number, promise: command.promise, timer: timer))
        context.write(wrapOutboundOut(command.bytes), promise: promise)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let first = waiting.popFirst() else {
            failAll(StoreClientError(.protocolError, "reply without a command"), context: context)
            return
        }
        first.timer.cancel()
        first.promise.succeed(reply)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure = error as? StoreClientError ?? StoreClientError(.connectionClosed, "connection failed: \(error)")
        failAll(failure, context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        closed = true
        failWaiting(StoreClientError(.connectionClosed, "connection closed by the server"))
        context.fireChannelInactive()
    }

    private func timedOut(_ number: UInt64, context: ChannelHandlerContext) {
        guard let first = waiting.first, first.number <= number else { return }  // already answered
        // Everything before `number` is still waiting too: it is older, so its own timer fires first
        // unless deadlines differ; fail the expired ones as timeouts and the rest as closed.
        while let head = waiting.first, head.number <= number {
            waiting.removeFirst()
            head.timer.cancel()
            head.promise.fail(StoreClientError(.timeout, "no reply within the operation timeout"))
        }
        failAll(StoreClientError(.connectionClosed, "connection closed after another command timed out"), context: context)
    }

    private func failAll(_ error: StoreClientError, context: ChannelHandlerContext) {
        closed = true
        failWaiting(error)
        context.close(promise: nil)
    }

    private func failWaiting(_ error: StoreClientError) {
        while let head = waiting.popFirst() {
            head.timer.cancel()
            head.promise.fail(error)
        }
    }
}

@available(*, unavailable)
extension PipelineHandler: Sendable {}
